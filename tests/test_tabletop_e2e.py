"""The tabletop page end to end: the real server in a subprocess, headless Debian chromium, and no network.

Every browser request that does not go to the local server is blocked and recorded (the test fails if there
was any); the server is pointed at a dead local address for CDN assets, so an asset missing from the local
copy would show up in its log instead of being fetched.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from helpers import SMALL

from sim.tabletop.server import start

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
TEST_ENV = {"SOLARA_ASSETS_CDN": "http://127.0.0.1:9/npm/"}
INJECTS = """\
injects:
  - at_h: 10
    title: Second snow band over Yinchuan
    effect: {type: hazard, region: yc, factor: 3, hours: 6}
  - at_h: 30
    title: Tow partner pulls out in Shizuishan
    effect: {type: staff_absence, role: tow, count: 1, region: sz}
"""
DECISION_TITLE = "Call out the reserve call-centre team"
TIMEOUT_MS = 30_000


def cdn_cache_files() -> set[str]:
    cache = Path(sys.prefix) / "share" / "solara" / "cdn"
    return {str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()}


class OfflineGuard:
    """Let requests to the local server through; abort and record everything else."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.websockets: list[str] = []

    def route(self, route: Any) -> None:
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("data", "blob") or parsed.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")


def test_tabletop_in_a_browser(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the "
                    "end-to-end test of the tabletop page")
    from playwright.sync_api import expect, sync_playwright

    t0 = time.monotonic()
    injects = tmp_path / "injects.yaml"
    injects.write_text(INJECTS, encoding="utf-8")
    cache_before = cdn_cache_files()
    env = {**TEST_ENV, "SOLARA_HOME": str(tmp_path / "solara-home")}
    server = start(SMALL, tmp_path / "server.log", seed=5, injects=injects, env=env)
    guard = OfflineGuard()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(accept_downloads=True)
                context.route("**/*", guard.route)
                page = context.new_page()
                page.on("websocket", lambda ws: guard.websockets.append(ws.url))
                page.goto(server.url, wait_until="domcontentloaded")

                main = page.locator(".tabletop-main")
                clock = main.locator(".tabletop-clock")
                feed = main.locator(".tabletop-feed-line")
                step = main.get_by_role("button", name="Step", exact=True)
                expect(step).to_be_visible(timeout=TIMEOUT_MS)
                expect(clock).to_have_text("Thu 14 Dec 2023 06:00 - hour 0 of 48")
                chart = main.locator("img[src^='blob:'], img[src^='data:image']").first
                expect(chart).to_be_visible()
                src0 = chart.get_attribute("src")

                for hour in (1, 2, 3):
                    step.click()
                    expect(clock).to_have_text(f"Thu 14 Dec 2023 {6 + hour:02d}:00 - hour {hour} of 48")
                expect(chart).not_to_have_attribute("src", src0 or "")

                # fire the scheduled snow band now
                pending = main.locator(".tabletop-pending")
                expect(pending).to_have_count(2)
                pending.first.get_by_role("button", name="Fire now").click()
                expect(pending).to_have_count(1)
                expect(feed.first).to_contain_text("h  3 inject: Second snow band over Yinchuan: storm x3 in yc")

                # take the preset decision (call out reserve phone staff) with a title, who and why
                decisions = main.locator(".tabletop-decisions")
                decisions.get_by_label("Decision title (optional)").fill(DECISION_TITLE)
                decisions.get_by_label("Proposed by (role)").fill("duty manager")
                decisions.get_by_label("Why").fill("calls are piling up after the snow band")
                decisions.get_by_role("button", name="Decide").click()
                expect(feed.first).to_have_text(f"h  3 decision: {DECISION_TITLE} (duty manager): "
                                                "2 phone agents called out")
                expect(main.locator(".tabletop-message")).to_contain_text(f"decided: {DECISION_TITLE}")

                # fork at hour 2: a branch with its own clock and controls, and the comparison
                page.get_by_label("Fork at hour").fill("2")
                page.get_by_role("button", name="Fork", exact=True).click()
                branch = page.locator(".tabletop-branch")
                expect(branch.locator(".tabletop-clock")).to_have_text("Thu 14 Dec 2023 08:00 - hour 2 of 48",
                                                                       timeout=TIMEOUT_MS)
                expect(page.locator(".tabletop-comparison")).to_contain_text("settlement latency p50")
                branch.get_by_role("button", name="Step", exact=True).click()
                expect(branch.locator(".tabletop-clock")).to_have_text("Thu 14 Dec 2023 09:00 - hour 3 of 48")
                expect(clock).to_have_text("Thu 14 Dec 2023 09:00 - hour 3 of 48")
                expect(branch.locator(".tabletop-feed-line", has_text="decision")).to_have_count(0)

                lines = feed.all_text_contents()
                assert lines[:2] == [f"h  3 decision: {DECISION_TITLE} (duty manager): 2 phone agents called out",
                                     "h  3 inject: Second snow band over Yinchuan: storm x3 in yc for hours 3-9 "
                                     "(by hand)"], lines

                # the after-action report, computed when asked for
                with page.expect_download(timeout=TIMEOUT_MS) as dl:
                    main.get_by_role("button", name="Report (Markdown)").click()
                assert dl.value.suggested_filename == "after-action-report.md"
                report = Path(dl.value.path()).read_text(encoding="utf-8")
                assert report.startswith("# After-action report: small")
                assert "Second snow band over Yinchuan" in report
                assert DECISION_TITLE in report and "duty manager" in report
                with page.expect_download(timeout=TIMEOUT_MS) as dl:
                    main.get_by_role("button", name="Report (HTML)").click()
                assert dl.value.suggested_filename == "after-action-report.html"
                page_html = Path(dl.value.path()).read_text(encoding="utf-8")
                assert page_html.startswith("<!DOCTYPE html>") and DECISION_TITLE in page_html
                assert "<img" in page_html and 'src="data:image/png;base64,' in page_html
                with page.expect_download(timeout=TIMEOUT_MS) as dl:
                    main.get_by_role("button", name="Exercise log (YAML)").click()
                log = Path(dl.value.path()).read_text(encoding="utf-8")
                assert dl.value.suggested_filename == "exercise-log.yaml"
                assert "reached_h: 3" in log and DECISION_TITLE in log
                context.close()
            finally:
                browser.close()
    finally:
        code = server.stop()
        output = server.output()
    assert guard.blocked == [], f"requests off this machine were attempted: {guard.blocked}"
    assert guard.websockets and all(urlparse(u).hostname in LOCAL_HOSTS for u in guard.websockets), guard.websockets
    assert cdn_cache_files() - cache_before == set(), "the server fetched assets from a CDN"
    assert "Could not load URL" not in output, output
    assert "Traceback" not in output, output
    assert code == 0, output
    assert time.monotonic() - t0 < 90
