"""The tabletop page rendered without a browser: clock, board, levers and injects with their texts, decisions and
undo, branches (fork, compare at the same hour, go back), play, the players' window, downloads, per-tab state."""

from __future__ import annotations

import html as htmllib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ipyvuetify as v
import pytest
import solara
import solara.widgets
from helpers import SMALL

from sim import fmt, palette
from sim.errors import InputError
from sim.exercise import Exercise
from sim.levers import INJECT_TYPES, LEVERS, build_decision
from sim.scenario import load_scenario
from sim.tabletop import page as tabletop
from sim.tabletop.board_view import chart_specs
from sim.tabletop.page import Page, PlayersApp
from sim.tabletop.session import Session, find_session, take_snapshot
from sim.tabletop.setup import Setup, setup_from_env
from sim.tabletop.style import SMALL_PX
from sim.tabletop.vega import VegaChart, shipped_libraries

INJECTS = """\
injects:
  - at_h: 10
    id: M1
    title: Second snow band over Yinchuan
    effect: {type: hazard, region: yc, factor: 3, hours: 6}
    expected_actions: [Call out reserve surveyors]
  - at_h: 20
    title: Tow partner pulls out in Shizuishan
    effect: {type: staff_absence, role: tow, count: 1, region: sz}
"""
EXERCISE = """\
name: small-drill
title: Small drill
scenario: {scenario}
seed: 5
hours: 24
msel: injects.yaml
evaluation: {{seeds: 2}}
objectives:
  - {{id: O1, title: Few calls lost, figure: abandonment, at_most: 0.5}}
  - {{id: O2, title: No region above 500 open claims, series: backlog_open, per_region: true, at_most: 500}}
levers:
  sms: {{description: Text every customer., expected_effect: Fewer drivers out.}}
"""


@pytest.fixture
def injects_file(tmp_path: Path) -> Path:
    path = tmp_path / "injects.yaml"
    path.write_text(INJECTS, encoding="utf-8")
    return path


@pytest.fixture
def page_env(monkeypatch: pytest.MonkeyPatch, injects_file: Path) -> None:
    for name in ("CLAIMSIM_TABLETOP_PLAN", "CLAIMSIM_TABLETOP_SEED", "CLAIMSIM_TABLETOP_HOURS",
                 "CLAIMSIM_TABLETOP_EXERCISE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAIMSIM_TABLETOP_SCENARIO", str(SMALL))
    monkeypatch.setenv("CLAIMSIM_TABLETOP_INJECTS", str(injects_file))


@pytest.fixture
def drill_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, injects_file: Path) -> Path:
    exercise = tmp_path / "exercise.yaml"
    exercise.write_text(EXERCISE.format(scenario=SMALL), encoding="utf-8")
    for name in ("CLAIMSIM_TABLETOP_PLAN", "CLAIMSIM_TABLETOP_SEED", "CLAIMSIM_TABLETOP_HOURS",
                 "CLAIMSIM_TABLETOP_INJECTS", "CLAIMSIM_TABLETOP_SCENARIO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAIMSIM_TABLETOP_EXERCISE", str(exercise))
    return exercise


@pytest.fixture
def render() -> Iterator[Callable[..., Any]]:
    """Render a fresh Page (as a new browser tab would); closes every render context at the end."""
    contexts = []

    def make(element: Any = None) -> Any:
        _box, rc = solara.render(element if element is not None else Page(), handle_error=False)
        contexts.append(rc)
        return rc

    yield make
    for rc in contexts:
        rc.close()


def spans(finder: Any, cls: str) -> list[str]:
    """The text of every <span> with the CSS class `cls` under `finder`."""
    return [w.children[0] for w in finder.find(v.Html, tag="span").widgets if cls in (w.class_ or "").split()]


def html_text(finder: Any, cls: str = "") -> str:
    """Every raw-HTML block under `finder` (with the CSS class `cls`, if given), as plain text."""
    blocks = [w.unsafe_innerHTML or "" for w in finder.find(solara.widgets.HTML).widgets
              if not cls or cls in (w.attributes or {}).get("class", "").split()]
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", " ".join(blocks))).replace("  ", " ")


def view(rc: Any) -> Any:
    return rc.find(meta_ref="view-main")


def clock(rc: Any) -> str:
    (text,) = spans(view(rc), "tabletop-clock")
    return text


def button(finder: Any, label: str) -> Any:
    return finder.find(v.Btn, children=[label])


def click(finder: Any, label: str) -> None:
    button(finder, label).widget.click()


def set_input(finder: Any, label: str, value: Any) -> None:
    """Type into a text field and leave it (the page reads text fields on focus-out)."""
    field = finder.find(v.TextField, label=label).widget
    field.v_model = str(value)
    field.fire_event("focusout", None)


def select(finder: Any, label: str, value: str) -> None:
    finder.find(v.Select, label=label).widget.v_model = value


def alerts(finder: Any) -> list[str]:
    return [str(w.children[0]) for w in finder.find(v.Alert).widgets]


def open_tab(rc: Any, name: str) -> Any:
    rc.find(v.Tabs).widget.v_model = tabletop.TABS.index(name)
    return view(rc)


def feed(rc: Any) -> list[str]:
    open_tab(rc, "Feed")
    return spans(view(rc), "tabletop-feed-line")


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.05)


def test_step_and_run_advance_the_clock_and_the_board_speaks_plainly(page_env: None,
                                                                     render: Callable[..., Any]) -> None:
    rc = render()
    assert clock(rc) == "Thu 14 Dec 2023 06:00 - hour 0 of 48"
    click(view(rc), "Step")
    assert clock(rc) == "Thu 14 Dec 2023 07:00 - hour 1 of 48"
    set_input(view(rc), "Run to hour", 12)
    click(view(rc), "Run")
    assert clock(rc) == "Thu 14 Dec 2023 18:00 - hour 12 of 48"
    board = rc.find(meta_ref="board")
    text = html_text(board) + " ".join(spans(board, "tabletop-board-line") + spans(board, "tabletop-headline"))
    assert "claims waiting at" in text and "survey" in text and "phone agents" in text
    assert "Money spent so far: CNY" in text and "waiting on the phone now" in text
    assert any("inject: Second snow band over Yinchuan" in line for line in feed(rc))


def test_a_lever_shows_what_it_does_where_it_is_chosen_and_lands_in_the_feed(page_env: None,
                                                                            render: Callable[..., Any]) -> None:
    rc = render()
    click(view(rc), "Step")
    decisions = rc.find(meta_ref="decisions")
    explain = lambda: " ".join(html_text(rc.find(meta_ref="decisions"), "tabletop-lever-explain").split())  # noqa: E731
    assert "What it does: Bring in reserve phone agents" in explain()
    select(decisions, "Role", "field surveyors")
    assert "What it does: Bring in reserve field surveyors" in explain()
    assert "Expected effect: More field surveyors on duty" in explain()
    select(decisions, "Lever", LEVERS["move"])
    set_input(decisions, "How many", 1)
    set_input(decisions, "Proposed by (role)", "claims director")
    set_input(decisions, "Why", "Shizuishan has the longer queue")
    click(decisions, "Decide")
    assert feed(rc)[0] == ("h  1 decision: Move 1 field surveyor from Yinchuan to Shizuishan (claims director): "
                           "1 field surveyors moving yc -> sz")
    open_tab(rc, "Decide")
    decisions = rc.find(meta_ref="decisions")
    select(decisions, "Lever", LEVERS["fast_track"])
    assert "Open the green channel or raise its limit" in explain()
    set_input(decisions, "Fast-track limit (max loss)", 50000)
    click(decisions, "Decide")
    assert feed(rc)[0].startswith("h  1 decision: Open the green channel: fast track up to 50,000")
    taken = " ".join(html_text(open_tab(rc, "Decide"), "tabletop-taken-line").split())
    assert "D2 Thu 14 Dec 07:00: Open the green channel" in taken and "D1" in taken
    assert "What it does: Open the green channel" in " ".join(html_text(view(rc), "tabletop-explain").split())


def test_a_bad_decision_is_one_line_and_changes_nothing(page_env: None, render: Callable[..., Any]) -> None:
    rc = render()
    set_input(view(rc), "How many", 0)
    click(view(rc), "Decide")
    (message,) = alerts(view(rc))
    assert "\n" not in message and "greater than or equal to 1" in message
    assert feed(rc) == []


def test_undo_takes_back_the_last_decision_only(page_env: None, render: Callable[..., Any]) -> None:
    rc = render()
    click(view(rc), "Step")
    click(view(rc), "Decide")
    click(view(rc), "Step")
    select(rc.find(meta_ref="decisions"), "Lever", LEVERS["video"])
    click(view(rc), "Decide")
    assert [line for line in feed(rc) if "decision" in line][0].startswith("h  2 decision: Switch on video survey")
    open_tab(rc, "Decide")
    click(view(rc), "Undo the last decision")
    assert clock(rc).endswith("hour 2 of 48")
    assert any("undone: Switch on video survey" in t for t in spans(view(rc), "tabletop-message") +
               [str(w.children[0]) for w in view(rc).find(v.Alert).widgets])
    lines = [line for line in feed(rc) if "decision" in line]
    assert len(lines) == 1 and "Call out 2 reserve phone agents" in lines[0]


def test_injects_still_to_come_carry_their_texts_and_fire_early(page_env: None, render: Callable[..., Any]) -> None:
    rc = render()
    panel = open_tab(rc, "Injects").find(meta_ref="injects")
    text = html_text(panel)
    assert "M1 Thu 14 Dec 16:00: Second snow band over Yinchuan" in text
    assert "What it does: The storm is stronger than forecast over Yinchuan: intensity x3 for 6 hours" in text
    assert "Expected of the players: Call out reserve surveyors" in text
    assert len(button(view(rc), "Fire now")) == 2
    button(view(rc), "Fire now")[0].widget.click()
    assert len(button(view(rc), "Fire now")) == 1
    assert feed(rc)[0].startswith("h  0 inject: Second snow band over Yinchuan: storm x3 in yc")


def test_a_custom_inject_says_what_it_will_do(page_env: None, render: Callable[..., Any]) -> None:
    rc = render()
    click(view(rc), "Step")
    v_ = open_tab(rc, "Injects")
    select(v_, "Inject type", INJECT_TYPES["staff_absence"])
    select(v_, "Role", "field surveyors")
    select(v_, "Region", "Shizuishan")
    set_input(v_, "Count", 2)
    assert "What it does: 2 field surveyors in Shizuishan unavailable for 6 hours" in html_text(v_)
    set_input(v_, "Inject title", "Surveyors off sick")
    click(v_, "Fire inject")
    assert feed(rc)[0] == "h  1 inject: Surveyors off sick: 2 field surveyors away until hour 7 (by hand)"
    v_ = open_tab(rc, "Injects")  # (a tab's form starts afresh when the tab is opened again)
    select(v_, "Inject type", INJECT_TYPES["staff_absence"])
    set_input(v_, "Count", 0)  # not a valid inject: one line, nothing fired
    click(v_, "Fire inject")
    assert any("count" in a and "greater than or equal to 1" in a for a in alerts(view(rc)))
    assert len(feed(rc)) == 1


def test_branches_fork_compare_at_the_same_hour_and_go_back(page_env: None, render: Callable[..., Any]) -> None:
    rc = render()
    for _ in range(4):
        click(view(rc), "Step")
    branches = open_tab(rc, "Branches").find(meta_ref="branches")
    set_input(branches, "Fork at hour", 2)
    set_input(branches, "New branch name", "plan B")
    click(branches, "Fork")
    assert clock(rc) == "Thu 14 Dec 2023 08:00 - hour 2 of 48"  # the new branch is on screen
    click(open_tab(rc, "Decide"), "Decide")
    click(view(rc), "Step")
    branches = open_tab(rc, "Branches").find(meta_ref="branches")
    select(branches, "First branch", "main")
    select(branches, "Second branch", "plan B")
    click(branches, "Compare")
    comparison = rc.find(meta_ref="comparison")
    text = html_text(comparison)
    assert "main and plan B at the same hour: Thu 14 Dec 09:00 (hour 3)" in text
    assert "figure main plan B plan B - main" in " ".join(text.split())
    assert len(comparison.find(VegaChart).widgets) == 3

    set_input(branches, "Fork at hour", 9)  # not yet reached: one line, nothing new
    click(branches, "Fork")
    assert any("fork at an hour between 0 and 3" in a for a in alerts(view(rc)))

    branches = open_tab(rc, "Branches").find(meta_ref="branches")
    set_input(branches, "Go back to hour", 1)
    click(branches, "Go back")
    assert clock(rc).endswith("hour 1 of 48")
    assert "plan B (to hour 3)" in html_text(branches)
    click(branches, "Same storm, no decisions")
    assert "no decisions 1" in html_text(open_tab(rc, "Branches").find(meta_ref="branches"))
    click(view(rc), "Close this branch")
    assert clock(rc).endswith("hour 4 of 48")  # back on main


def test_two_pages_have_independent_exercises(page_env: None, render: Callable[..., Any]) -> None:
    a, b = render(), render()
    click(view(a), "Step")
    click(view(a), "Decide")
    assert clock(a).endswith("hour 1 of 48") and clock(b).endswith("hour 0 of 48")
    assert feed(b) == []
    click(view(b), "Step")
    assert clock(b).endswith("hour 1 of 48") and clock(a).endswith("hour 1 of 48")


def test_start_again(page_env: None, render: Callable[..., Any]) -> None:
    rc = render()
    click(view(rc), "Step")
    click(view(rc), "Decide")
    open_tab(rc, "Feed")
    click(view(rc), "Start again from hour 0")
    assert clock(rc).endswith("hour 0 of 48")
    assert feed(rc) == []


def test_play_runs_to_the_horizon_and_pause_stops(page_env: None, monkeypatch: pytest.MonkeyPatch,
                                                  render: Callable[..., Any]) -> None:
    monkeypatch.setenv("CLAIMSIM_TABLETOP_HOURS", "12")
    rc = render()
    select(view(rc), "Hours per second", "100")
    click(view(rc), "Play")
    wait_until(lambda: clock(rc).endswith("hour 12 of 12 (end)"))
    wait_until(lambda: len(button(view(rc), "Play")) == 1)  # stopped by itself at the horizon
    assert button(view(rc), "Play").widget.disabled

    rc2 = render()
    select(view(rc2), "Hours per second", "5")
    click(view(rc2), "Play")
    wait_until(lambda: not clock(rc2).endswith("hour 0 of 12"))
    click(view(rc2), "Pause")
    time.sleep(0.3)  # a step in flight finishes
    stopped = clock(rc2)
    time.sleep(0.6)
    assert clock(rc2) == stopped and not stopped.endswith("(end)")


def test_the_players_window_follows_and_hides_the_injects_to_come(page_env: None,
                                                                   render: Callable[..., Any]) -> None:
    rc = render()
    for _ in range(10):
        click(view(rc), "Step")  # the snow band (hour 10) fired; the tow partner (hour 20) is still to come
    session = find_session()
    assert session is not None
    players = render(PlayersApp(session.id))
    mine = players.find(meta_ref="view-players")
    text = html_text(mine) + " ".join(spans(mine, "tabletop-clock"))
    assert "Thu 14 Dec 2023 16:00 - hour 10 of 48" in text
    assert "Second snow band over Yinchuan" in text and "Tow partner pulls out" not in text
    assert "What you can ask for" in text and "Send SMS warnings" in text
    assert len(mine.find(VegaChart).widgets) == 4
    assert not mine.find(v.Btn).widgets  # read-only
    click(view(rc), "Step")
    wait_until(lambda: "hour 11 of 48" in " ".join(spans(players.find(meta_ref="view-players"), "tabletop-clock")))
    # without a session id: the facilitator's session most recently active
    assert find_session("") is session
    assert find_session("no-such-session") is None


def test_downloads_make_the_report_and_the_log_of_the_exercise_on_screen(drill_env: Path,
                                                                         render: Callable[..., Any]) -> None:
    rc = render()
    for _ in range(3):
        click(view(rc), "Step")
    click(view(rc), "Decide")
    click(view(rc), "Step")
    debrief = open_tab(rc, "Debrief").find(meta_ref="debrief")
    assert "O1 Few calls lost at most 50.0%" in " ".join(html_text(debrief).split())
    set_input(debrief, "Note", "The room hesitated on the call-out.")
    set_input(debrief, "By", "evaluator")
    click(debrief, "Keep note")
    set_input(view(rc), "Action", "Write the call-out list")
    set_input(view(rc), "Owner", "duty manager")
    set_input(view(rc), "Due date (YYYY-MM-DD)", "2027-01-31")
    click(view(rc), "Add to the plan")
    set_input(view(rc), "Action", "Something vague")
    set_input(view(rc), "Due date (YYYY-MM-DD)", "next week")  # not a date: one line, nothing added
    click(view(rc), "Add to the plan")
    assert any("due" in a for a in alerts(view(rc))), alerts(view(rc))

    def download(name: str) -> str:
        (w,) = [w for w in rc.find(meta_ref="downloads-main").find(
            solara.components.file_download.FileDownloadWidget).widgets if w.filename == name]
        w.request_download = True
        wait_until(lambda: w.bytes is not None, 60)
        return w.bytes.decode("utf-8")

    report = download("after-action-report.html")
    assert report.startswith("<!DOCTYPE html>")
    for part in ("<h2>Objectives</h2>", "Few calls lost", "<h2>Improvement plan</h2>", "Write the call-out list",
                 "2027-01-31", "The room hesitated on the call-out.", "What the decisions were worth"):
        assert part in report, part
    log = download("exercise-log.yaml")
    assert "reached_h: 4" in log and "Write the call-out list" in log and "evaluator" in log
    assert "Something vague" not in log
    assert "exercise:" in log


def test_chart_specs_have_dates_marks_large_text_and_safe_colours() -> None:
    setup = Setup(load_scenario(SMALL), seed=3)
    session = Session(setup)
    ex = session.exercise
    ex.run_to(6)
    ex.decide(build_decision("sms", ex.model.spec))
    ex.run_to(12)
    specs = chart_specs(take_snapshot(session))
    assert set(specs) == {"stages", "phone", "staff", "storm"}
    for name, spec in specs.items():
        json.dumps(spec, allow_nan=False)
        assert spec["config"]["axis"]["labelFontSize"] >= 16 and spec["config"]["legend"]["labelFontSize"] >= 16
        assert spec["config"]["title"]["fontSize"] >= 16
        x = spec["layer"][-1]["encoding"]["x"] if name != "storm" else spec["layer"][0]["encoding"]["x"]
        main = next(layer for layer in spec["layer"] if layer["mark"]["type"] in ("line", "area"))
        axis = main["encoding"]["x"]["axis"]
        assert axis["values"][0] == 0 and x["field"] == "t"
        labels = json.loads(axis["labelExpr"].rsplit("[", 1)[0])
        assert labels["0"] == ["Thu 14 Dec", "06:00"] and labels["24"] == ["Fri 15 Dec", "06:00"]
        assert set(main["encoding"]["color"]["scale"]["range"]) <= set(palette.COLOURS)
        texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
        assert [d["code"] for t in texts for d in t["data"]["values"]] == ["D1"]
        assert all(t["mark"]["fontSize"] >= 16 for t in texts)
        points = main["data"]["values"]
        assert points and all(p["when"] == fmt.when(setup.file.resolve().start, p["t"]) for p in points[:5])
    assert SMALL_PX >= 16
    assert set(shipped_libraries()) == {"vega", "vega-lite", "vega-embed"}
    assert all(re.fullmatch(r"[a-z-]+@\d+\.\d+\.\d+/build/[a-z-]+\.min\.js", p) for p in shipped_libraries().values())


def test_without_a_scenario_the_page_says_so(monkeypatch: pytest.MonkeyPatch, render: Callable[..., Any]) -> None:
    monkeypatch.delenv("CLAIMSIM_TABLETOP_SCENARIO", raising=False)
    monkeypatch.delenv("CLAIMSIM_TABLETOP_EXERCISE", raising=False)
    rc = render()
    (message,) = alerts(rc)
    assert "CLAIMSIM_TABLETOP_SCENARIO" in message


def test_setup_from_env_reads_every_variable(injects_file: Path, tmp_path: Path) -> None:
    env = {"CLAIMSIM_TABLETOP_SCENARIO": str(SMALL), "CLAIMSIM_TABLETOP_PLAN": "sms",
           "CLAIMSIM_TABLETOP_SEED": "11", "CLAIMSIM_TABLETOP_INJECTS": str(injects_file),
           "CLAIMSIM_TABLETOP_HOURS": "12"}
    ex = setup_from_env(env).new_exercise()
    assert (ex.plan, ex.seed, ex.horizon, len(ex.pending_injects)) == ("sms", 11, 12, 2)
    with pytest.raises(InputError, match="CLAIMSIM_TABLETOP_SEED"):
        setup_from_env({**env, "CLAIMSIM_TABLETOP_SEED": "seven"})
    exercise = tmp_path / "exercise.yaml"
    exercise.write_text(EXERCISE.format(scenario=SMALL), encoding="utf-8")
    setup = setup_from_env({"CLAIMSIM_TABLETOP_EXERCISE": str(exercise)})
    ex = setup.new_exercise()
    assert (setup.title, ex.seed, ex.horizon, len(ex.pending_injects)) == ("Small drill", 5, 24, 2)
    assert ex.exercise_path == str(exercise) and setup.lever_words["sms"].description == "Text every customer."


def test_every_preset_is_a_decision_the_exercise_takes() -> None:
    ex = Exercise(load_scenario(SMALL), seed=3)
    ex.run_to(2)
    spec = ex.model.spec
    for lever in LEVERS:
        role = "field_survey" if lever in ("call_out", "move") else "assessment"
        decision = build_decision(lever, spec, role=role, count=1, by="ops lead", why="test")
        assert decision.title and decision.by == "ops lead" and decision.description and decision.expected_effect
        assert ex.decide(decision)
    assert [a.kind for a in ex.actions] == ["decision"] * len(LEVERS)
    assert build_decision("call_out", spec, role="field_survey", region="sz", count=2).call_out[0].region == "sz"
    assert build_decision("call_out", spec, role="phone", region="sz", count=2).call_out[0].region is None
    roster = build_decision("roster", spec, role="assessment", roster="h24")
    assert roster.changes == {"operations": {"staff": {"assessment": {"roster": "h24"}}}}


def test_a_tab_that_plays_and_one_that_acts_share_one_lock() -> None:
    session = Session(Setup(load_scenario(SMALL), seed=1, hours=12))
    ex = session.exercise
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(6):
                with session.lock:
                    ex.step()
                    take_snapshot(session)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and ex.hour == 12
