"""The tabletop page end to end: the real server in a subprocess, headless Debian chromium at 1920x1080, no network.

One browser session plays the shipped exercise (scenarios/exercises/city-blizzard-morning) as a facilitator
would: it measures every visible text (no chart or page text under 16 px), reads the dates on the charts' time
axes, decides, undoes, forks, compares two branches at the same hour, goes back to an hour, writes hot-wash notes
and the improvement plan, downloads the report, plays, and opens the players' window (which must not show the
injects still to come). Every browser request that does not go to the served origin is blocked and recorded
(the test fails if there was any); the server is pointed at a dead local address for CDN assets, so an asset
missing from the local copy would show in its log instead of being fetched.

With CLAIMSIM_SCREENSHOTS=docs/img the screenshots of docs/TABLETOP.md are written there (else into a temporary
folder).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from helpers import REPO

from sim.tabletop.server import start

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
TEST_ENV = {"SOLARA_ASSETS_CDN": "http://127.0.0.1:9/npm/"}
EXERCISE = REPO / "scenarios" / "exercises" / "city-blizzard-morning" / "exercise.yaml"
SCENARIO = REPO / "scenarios" / "tabletop-city-blizzard.yaml"
TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1920, "height": 1080}
MIN_PX = 16.0
DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$")
CLOCK = re.compile(r"^\d\d:\d\d$")

# Every rendered text of the page with its size as drawn: the computed font size times any scaling (an SVG's
# transform, a CSS transform such as Vuetify's shrunken labels).
TEXT_SIZES_JS = """
() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || el.closest('script,style,noscript,title')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rect = range.getBoundingClientRect();
    if (rect.width < 1 || rect.height < 1) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none') continue;
    let hidden = false;
    for (let a = el; a; a = a.parentElement) {
      if (parseFloat(getComputedStyle(a).opacity) === 0) { hidden = true; break; }
    }
    if (hidden) continue;
    let size = parseFloat(cs.fontSize);
    if (el instanceof SVGElement) {
      const m = el.getScreenCTM();
      if (m) size *= Math.sqrt(m.a * m.a + m.b * m.b);
    } else {
      const box = el.getBoundingClientRect();
      if (el.offsetHeight > 0 && box.height > 0) size *= box.height / el.offsetHeight;
    }
    out.push([size, text.slice(0, 60), el.tagName + '.' + (el.getAttribute('class') || '')]);
  }
  return out;
}
"""
AXIS_LABELS_JS = """
(chart) => Array.from(chart.querySelectorAll('g.role-axis')).map(axis =>
  Array.from(axis.querySelectorAll('g.role-axis-label text')).map(t => {
    const lines = Array.from(t.querySelectorAll('tspan')).map(s => s.textContent);
    return lines.length ? lines : [t.textContent];
  }))
"""


class OfflineGuard:
    """Let requests to the served origin through; abort and record everything else."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.blocked: list[str] = []
        self.seen: list[str] = []
        self.websockets: list[str] = []

    def route(self, route: Any) -> None:
        url = route.request.url
        self.seen.append(url)
        if url.startswith(("data:", "blob:")) or url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


def cdn_cache_files() -> set[str]:
    cache = Path(sys.prefix) / "share" / "solara" / "cdn"
    return {str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()}


class Room:
    """The facilitator's browser page and what the test measured on it."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.smallest: list[tuple[float, str, str, str]] = []

    def measure(self, where: str) -> float:
        """The smallest text drawn now (fails below 16 px, naming the text)."""
        sizes = self.page.evaluate(TEXT_SIZES_JS)
        assert sizes, where
        size, text, tag = min(sizes)
        self.smallest.append((size, text, tag, where))
        small = [s for s in sizes if s[0] < MIN_PX - 0.05]
        assert not small, f"{where}: text under {MIN_PX} px: {small[:8]}"
        return size

    def shot(self, name: str, locator: Any | None = None) -> None:
        if locator is None:
            self.page.screenshot(path=str(self.shots / name))
        else:
            locator.scroll_into_view_if_needed()
            locator.screenshot(path=str(self.shots / name))

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()


def choose(page: Any, scope: Any, label: str, option: str) -> None:
    """Pick an option of a Vuetify select by its label."""
    field = scope.get_by_label(label, exact=True)
    field.scroll_into_view_if_needed()
    field.click(force=True)
    page.locator(".v-menu__content.menuable__content__active").get_by_role("option", name=option, exact=True).click()


def axis_dates(page: Any, chart: Any) -> list[list[str]]:
    """The tick labels of each axis of a chart (each label's lines)."""
    return page.evaluate(AXIS_LABELS_JS, chart.element_handle())


def check_time_axes(page: Any, scope: Any, expected_charts: int) -> None:
    """Every chart's time axis labels its ticks with a day and date over a clock time."""
    from playwright.sync_api import expect

    charts = scope.locator(".tabletop-chart")
    expect(charts).to_have_count(expected_charts, timeout=TIMEOUT_MS)
    for i in range(expected_charts):
        chart = charts.nth(i)
        expect(chart.locator("svg g.role-axis").first).to_be_attached(timeout=TIMEOUT_MS)
        axes = axis_dates(page, chart)
        dated = [ax for ax in axes if ax and all(len(lab) == 2 and DATE.match(lab[0]) and CLOCK.match(lab[1])
                                                 for lab in ax)]
        assert len(dated) == 1 and len(dated[0]) >= 2, (i, axes)


def test_a_facilitator_runs_the_shipped_exercise_in_a_browser(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the "
                    "end-to-end test of the tabletop page")
    from playwright.sync_api import expect, sync_playwright

    t0 = time.monotonic()
    shots = Path(os.environ.get("CLAIMSIM_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    cache_before = cdn_cache_files()
    env = {**TEST_ENV, "SOLARA_HOME": str(tmp_path / "solara-home")}
    server = start(SCENARIO, tmp_path / "server.log", exercise=EXERCISE, env=env)
    guard = OfflineGuard(server.url)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
                context.route("**/*", guard.route)
                page = context.new_page()
                page.on("websocket", lambda ws: guard.websockets.append(ws.url))
                page.goto(server.page_url, wait_until="domcontentloaded")
                room = Room(page, shots)
                facilitator_session(page, room, expect, tmp_path)
                players = context.new_page()
                players.on("websocket", lambda ws: guard.websockets.append(ws.url))
                players_window(page, players, room, expect, server.url)
                context.close()
            finally:
                browser.close()
    finally:
        code = server.stop()
        output = server.output()
    smallest = min(room.smallest)
    print(f"\nsmallest text drawn: {smallest[0]:.1f} px ({smallest[1]!r}, {smallest[2]}, {smallest[3]})")
    assert guard.blocked == [], f"requests off the served origin were attempted: {guard.blocked}"
    assert all(u.startswith(server.url) or u.startswith(("data:", "blob:")) for u in guard.seen)
    assert guard.websockets and all(urlparse(u).hostname in LOCAL_HOSTS for u in guard.websockets)
    assert cdn_cache_files() - cache_before == set(), "the server fetched assets from a CDN"
    assert "Could not load URL" not in output, output
    assert "Traceback" not in output, output
    assert code == 0, output
    assert time.monotonic() - t0 < 90


def facilitator_session(page: Any, room: Room, expect: Any, tmp_path: Path) -> None:
    main = page.locator(".tabletop-main")
    clock = main.locator(".tabletop-clock")
    step = main.get_by_role("button", name="Step", exact=True)
    expect(step).to_be_visible(timeout=TIMEOUT_MS)
    expect(clock).to_have_text("Mon 11 Dec 2023 06:00 - hour 0 of 72")
    for hour in (1, 2):
        step.click()
        expect(clock).to_have_text(f"Mon 11 Dec 2023 {6 + hour:02d}:00 - hour {hour} of 72")

    # the board speaks plain words, and the MSEL's first inject (hour 2) has fired
    board = main.locator(".tabletop-board")
    expect(board).to_contain_text("claims waiting at")
    expect(board).to_contain_text("Money spent so far: CNY")

    # decide: the lever's description and expected effect are shown where it is chosen
    room.tab("Decide")
    decisions = main.locator(".tabletop-decisions")
    choose(page, decisions, "Lever", "Send SMS warnings")
    expect(decisions.locator(".tabletop-lever-explain")).to_contain_text("Expected effect: Fewer crashes")
    decisions.get_by_label("Proposed by (role)").fill("duty manager")
    decisions.get_by_label("Why").fill("orange warning")
    decisions.get_by_role("button", name="Decide").click()
    taken = main.locator(".tabletop-taken-line")
    expect(taken).to_have_count(1)
    expect(taken.first).to_contain_text("D1 Mon 11 Dec 08:00: Send SMS warnings")

    main.get_by_label("Run to hour").fill("14")
    main.get_by_role("button", name="Run", exact=True).click()
    expect(clock).to_contain_text("hour 14 of 72", timeout=TIMEOUT_MS)
    choose(page, decisions, "Lever", "Call out reserve staff")
    decisions.get_by_label("How many").fill("4")
    decisions.get_by_label("Decision title (optional)").fill("Call out four phone agents")
    decisions.get_by_role("button", name="Decide").click()
    expect(taken).to_have_count(2)
    expect(taken.first).to_contain_text("D2 Mon 11 Dec 20:00: Call out four phone agents")
    room.measure("facilitator, decide tab")
    check_time_axes(page, main, 4)
    room.shot("tabletop-decide.png", main.locator(".tabletop-tab-decide"))

    # undo the last decision: the call-out is gone, the SMS stays
    main.get_by_role("button", name="Undo the last decision").click()
    expect(taken).to_have_count(1)
    expect(main.locator(".tabletop-message")).to_contain_text("undone: Call out four phone agents")
    expect(clock).to_contain_text("hour 14 of 72")

    # the injects still to come, with their texts and expected actions; the facilitator fires one early
    room.tab("Injects")
    pending = main.locator(".tabletop-pending")
    expect(pending.first).to_contain_text("M3 Tue 12 Dec 04:00: Expressway closed north of the city")
    expect(pending.first.locator(".tabletop-explain")).to_contain_text("What it does: Roads closed or jammed in "
                                                                       "Rural county")
    expect(pending.first.locator(".tabletop-expected")).to_contain_text("Switch on video survey")
    count = pending.count()
    pending.first.get_by_role("button", name="Fire now").click()
    expect(pending).to_have_count(count - 1)
    room.measure("facilitator, injects tab")
    room.shot("tabletop-injects.png", main.locator(".tabletop-injects"))

    main.get_by_label("Run to hour").fill("30")
    main.get_by_role("button", name="Run", exact=True).click()
    expect(clock).to_contain_text("hour 30 of 72", timeout=TIMEOUT_MS)

    # fork at hour 20 into a named branch: it is on screen, at hour 20, and decides otherwise
    room.tab("Branches")
    branches = main.locator(".tabletop-branches")
    branches.get_by_label("Fork at hour").fill("20")
    branches.get_by_label("New branch name").fill("assessors round the clock")
    branches.get_by_role("button", name="Fork", exact=True).click()
    expect(clock).to_contain_text("hour 20 of 72", timeout=TIMEOUT_MS)
    expect(main.locator(".tabletop-message")).to_contain_text("new branch assessors round the clock")
    room.tab("Decide")
    choose(page, decisions, "Lever", "Extend shifts / 24-hour duty")
    choose(page, decisions, "Role", "loss assessors")
    decisions.get_by_role("button", name="Decide").click()
    expect(taken).to_have_count(2)  # the SMS from before the fork, and this one
    expect(taken.first).to_contain_text("D2 Tue 12 Dec 02:00: Put the loss assessors on roster h24")
    main.get_by_label("Run to hour").fill("26")
    main.get_by_role("button", name="Run", exact=True).click()
    expect(clock).to_contain_text("hour 26 of 72", timeout=TIMEOUT_MS)

    # compare main (hour 30) and the branch (hour 26) at the same hour: 26; the night shift of assessors shows
    room.tab("Branches")
    choose(page, branches, "First branch", "main")
    choose(page, branches, "Second branch", "assessors round the clock")
    branches.get_by_role("button", name="Compare").click()
    comparison = main.locator(".tabletop-comparison")
    expect(comparison).to_contain_text("main and assessors round the clock at the same hour: Tue 12 Dec 08:00 "
                                       "(hour 26)", timeout=TIMEOUT_MS)
    expect(comparison.locator("th")).to_contain_text(["figure", "main", "assessors round the clock",
                                                      "assessors round the clock - main"])
    settled = comparison.locator("tr", has_text="claims settled").locator("td")
    assert int(settled.nth(2).inner_text()) > int(settled.nth(1).inner_text())
    check_time_axes(page, comparison, 3)
    legend = comparison.locator(".tabletop-chart").first.locator("svg g.role-legend text")
    expect(legend).to_contain_text(["main", "assessors round the clock"])
    room.measure("facilitator, branch comparison")
    room.shot("tabletop-branches.png", comparison)

    # go back to hour 18 of the branch: its decision (hour 20) is not taken yet there, and kept in another branch
    branches.get_by_label("Go back to hour").fill("18")
    branches.get_by_role("button", name="Go back").click()
    expect(clock).to_contain_text("hour 18 of 72", timeout=TIMEOUT_MS)
    expect(main.locator(".tabletop-message")).to_contain_text("kept as branch assessors round the clock (to hour 26)")
    expect(branches.locator(".tabletop-branch-table")).to_contain_text("assessors round the clock as it was before")
    choose(page, main, "Branch on screen", "main")
    expect(clock).to_contain_text("hour 30 of 72", timeout=TIMEOUT_MS)
    page.evaluate("document.querySelector('.tabletop-clockbar').scrollIntoView({block: 'start'})")
    room.shot("tabletop.png")

    # debrief: objectives so far, a hot-wash note and a line of the improvement plan, then the report
    room.tab("Debrief")
    debrief = main.locator(".tabletop-debrief")
    expect(debrief.locator(".tabletop-objectives")).to_contain_text("O1")
    debrief.get_by_label("Note", exact=True).fill("The room asked for survey capacity twice.")
    debrief.get_by_role("button", name="Keep note").click()
    expect(debrief.locator(".tabletop-notes")).to_contain_text("survey capacity twice")
    main.get_by_label("Action", exact=True).fill("Pre-contract loss adjusters for the county")
    main.get_by_label("Owner").fill("claims director")
    main.get_by_label("Due date (YYYY-MM-DD)").fill("2027-02-01")
    main.get_by_role("button", name="Add to the plan").click()
    expect(main.locator(".tabletop-plan")).to_contain_text("2027-02-01")
    room.measure("facilitator, debrief tab")
    room.shot("tabletop-debrief.png", main.locator(".tabletop-tab-debrief"))
    # the log carries them (the report made from it: tests/test_tabletop_page.py and the replay tests)
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        main.get_by_role("button", name="Exercise log (YAML)").click()
    assert dl.value.suggested_filename == "exercise-log.yaml"
    log = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "reached_h: 30" in log and "Send SMS warnings" in log and "Call out four phone agents" not in log
    assert "survey capacity twice" in log and "Pre-contract loss adjusters for the county" in log
    assert "due: '2027-02-01'" in log or "due: 2027-02-01" in log


def players_window(page: Any, players: Any, room: Room, expect: Any, origin: str) -> None:
    """The players' window follows the facilitator's exercise and never shows the injects still to come."""
    main = page.locator(".tabletop-main")
    players.set_viewport_size(VIEWPORT)
    players.goto(origin + "/?view=players", wait_until="domcontentloaded")
    view = players.locator(".tabletop-players")
    expect(view.locator(".tabletop-clock")).to_have_text("Tue 12 Dec 2023 12:00 - hour 30 of 72",
                                                         timeout=TIMEOUT_MS)
    text = view.inner_text()
    assert "Expressway closed north of the city" in text  # fired early, at hour 14
    for future in ("Flu: three assessors", "tow partner in the city pulls out", "Evening news"):
        assert future not in text, future
    expect(view.locator(".tabletop-options")).to_contain_text("What it does")
    check_time_axes(players, view, 4)
    room.page = players
    room.measure("players' window")
    room.shot("tabletop-players.png")
    room.page = page

    # the facilitator plays on: the players' window follows, and the next inject reaches it only once fired
    choose(page, main, "Hours per second", "50")
    started = time.monotonic()
    main.get_by_role("button", name="Play").click()
    expect(main.locator(".tabletop-clock")).to_have_text("Thu 14 Dec 2023 06:00 - hour 72 of 72 (end)",
                                                         timeout=TIMEOUT_MS)
    played = time.monotonic() - started
    # a loose bound, with the players' window drawing too and other tests running: benchmarks/tabletop_play.py
    # measures the speed itself (docs/PERFORMANCE.md)
    assert 42 / played >= 5, f"played 42 simulated hours in {played:.1f} s"
    expect(view.locator(".tabletop-clock")).to_contain_text("hour 72 of 72 (end)", timeout=TIMEOUT_MS)
    expect(view).to_contain_text("Flu: three assessors")
