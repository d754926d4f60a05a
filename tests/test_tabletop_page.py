"""The tabletop page rendered without a browser: clock, injects, decisions, forks, play, downloads, per-tab state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ipyvuetify as v
import pytest
import solara
from helpers import SMALL

from sim.exercise import Exercise
from sim.scenario import load_scenario
from sim.tabletop import page as tabletop
from sim.tabletop.page import LEVERS, Page

INJECTS = """\
injects:
  - at_h: 10
    title: Second snow band over Yinchuan
    effect: {type: hazard, region: yc, factor: 3, hours: 6}
  - at_h: 20
    title: Tow partner pulls out in Shizuishan
    effect: {type: staff_absence, role: tow, count: 1, region: sz}
"""


@pytest.fixture
def injects_file(tmp_path: Path) -> Path:
    path = tmp_path / "injects.yaml"
    path.write_text(INJECTS, encoding="utf-8")
    return path


@pytest.fixture
def page_env(monkeypatch: pytest.MonkeyPatch, injects_file: Path) -> None:
    for name in ("CLAIMSIM_TABLETOP_PLAN", "CLAIMSIM_TABLETOP_SEED", "CLAIMSIM_TABLETOP_HOURS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAIMSIM_TABLETOP_SCENARIO", str(SMALL))
    monkeypatch.setenv("CLAIMSIM_TABLETOP_INJECTS", str(injects_file))


@pytest.fixture
def render() -> Iterator[Callable[[], Any]]:
    """Render a fresh Page (as a new browser tab would); closes every render context at the end."""
    contexts = []

    def make() -> Any:
        _box, rc = solara.render(Page(), handle_error=False)
        contexts.append(rc)
        return rc

    yield make
    for rc in contexts:
        rc.close()


def texts(finder: Any, cls: str) -> list[str]:
    """The text of every <span> with the CSS class `cls` under `finder`."""
    return [w.children[0] for w in finder.find(v.Html, tag="span").widgets if cls in (w.class_ or "").split()]


def view(rc: Any, name: str = "main") -> Any:
    return rc.find(meta_ref=f"view-{name}")


def injects(rc: Any, name: str = "main") -> Any:
    return view(rc, name).find(meta_ref="injects")


def decisions(rc: Any, name: str = "main") -> Any:
    return view(rc, name).find(meta_ref="decisions")


def clock(rc: Any, name: str = "main") -> str:
    (text,) = texts(view(rc, name), "tabletop-clock")
    return text


def feed(rc: Any, name: str = "main") -> list[str]:
    return texts(view(rc, name), "tabletop-feed-line")


def button(finder: Any, label: str) -> Any:
    return finder.find(v.Btn, children=[label])


def set_input(finder: Any, label: str, value: Any) -> None:
    """Type into a text field and leave it (the page reads text fields on focus-out)."""
    field = finder.find(v.TextField, label=label).widget
    field.v_model = str(value)
    field.fire_event("focusout", None)


def select(finder: Any, label: str, value: str) -> None:
    finder.find(v.Select, label=label).widget.v_model = value


def alerts(finder: Any) -> list[str]:
    return [str(w.children[0]) for w in finder.find(v.Alert).widgets]


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.05)


def test_step_advances_the_clock(page_env: None, render: Callable[[], Any]) -> None:
    rc = render()
    assert clock(rc) == "Thu 14 Dec 2023 06:00 - hour 0 of 48"
    step = button(view(rc), "Step")
    step.widget.click()
    assert clock(rc) == "Thu 14 Dec 2023 07:00 - hour 1 of 48"
    step.widget.click()
    step.widget.click()
    assert clock(rc) == "Thu 14 Dec 2023 09:00 - hour 3 of 48"

    set_input(view(rc), "Run to hour", 12)
    button(view(rc), "Run").widget.click()
    assert clock(rc) == "Thu 14 Dec 2023 18:00 - hour 12 of 48"
    # the scheduled inject at hour 10 fired on the way
    assert any("inject: Second snow band over Yinchuan" in line for line in feed(rc))


def test_fire_scheduled_inject_adds_a_feed_line(page_env: None, render: Callable[[], Any]) -> None:
    rc = render()
    fire = button(view(rc), "Fire now")
    assert len(fire) == 2
    assert feed(rc) == []
    fire[0].widget.click()
    lines = feed(rc)
    assert len(lines) == 1
    assert lines[0].startswith("h  0 inject: Second snow band over Yinchuan: storm x3 in yc")
    assert lines[0].endswith("(by hand)")
    assert len(button(view(rc), "Fire now")) == 1  # it will not fire again


def test_custom_inject(page_env: None, render: Callable[[], Any]) -> None:
    rc = render()
    button(view(rc), "Step").widget.click()
    select(injects(rc), "Inject type", tabletop.INJECT_TYPES["staff_absence"])
    select(injects(rc), "Role", "field_survey")
    select(injects(rc), "Region", "sz")
    set_input(injects(rc), "Count", 1)
    set_input(injects(rc), "Inject title", "Surveyor off sick")
    button(view(rc), "Fire inject").widget.click()
    assert feed(rc)[0] == "h  1 inject: Surveyor off sick: 1 field surveyors away until hour 7 (by hand)"

    set_input(injects(rc), "Count", 0)  # not a valid inject: one line, nothing fired
    button(view(rc), "Fire inject").widget.click()
    assert any("count" in a and "greater than or equal to 1" in a for a in alerts(view(rc)))
    assert len(feed(rc)) == 1


def test_preset_decision_appears_in_the_feed(page_env: None, render: Callable[[], Any]) -> None:
    rc = render()
    for _ in range(2):
        button(view(rc), "Step").widget.click()
    select(decisions(rc), "Lever", LEVERS["move"])
    select(decisions(rc), "Role", "field_survey")
    set_input(decisions(rc), "How many", 1)
    set_input(decisions(rc), "Proposed by (role)", "claims director")
    set_input(decisions(rc), "Why", "Shizuishan has the longer queue")
    button(view(rc), "Decide").widget.click()
    assert feed(rc)[0] == ("h  2 decision: Move 1 field_survey staff from yc to sz (claims director): "
                           "1 field surveyors moving yc -> sz")

    select(decisions(rc), "Lever", LEVERS["fast_track"])
    set_input(decisions(rc), "Fast-track limit (max loss)", 50000)
    button(view(rc), "Decide").widget.click()
    assert feed(rc)[0].startswith("h  2 decision: Open the green channel: fast track up to 50,000")
    assert "max_loss = 50000" in feed(rc)[0]


def test_a_bad_decision_is_one_line_and_changes_nothing(page_env: None, render: Callable[[], Any]) -> None:
    rc = render()
    set_input(view(rc), "How many", 0)
    button(view(rc), "Decide").widget.click()
    (message,) = alerts(view(rc))
    assert "\n" not in message and "greater than or equal to 1" in message
    assert feed(rc) == []


def test_every_preset_is_a_decision_the_exercise_takes() -> None:
    file = load_scenario(SMALL)
    ex = Exercise(file, seed=3)
    ex.run_to(2)
    spec = ex.model.spec
    for lever in LEVERS:
        role = "field_survey" if lever in ("call_out", "move") else "assessment"
        decision = tabletop.build_decision(lever, spec, role=role, count=1, by="ops lead", why="test")
        assert decision.title and decision.by == "ops lead"
        assert ex.decide(decision)
    assert [a.kind for a in ex.actions] == ["decision"] * len(LEVERS)
    call_out = tabletop.build_decision("call_out", spec, role="field_survey", region="sz", count=2)
    assert call_out.call_out[0].region == "sz"
    shared = tabletop.build_decision("call_out", spec, role="phone", region="sz", count=2)
    assert shared.call_out[0].region is None
    roster = tabletop.build_decision("roster", spec, role="assessment", roster="h24")
    assert roster.changes == {"operations": {"staff": {"assessment": {"roster": "h24"}}}}


def test_fork_creates_a_branch_view(page_env: None, render: Callable[[], Any]) -> None:
    rc = render()
    for _ in range(3):
        button(view(rc), "Step").widget.click()
    view(rc, "branch").assert_empty()
    set_input(rc, "Fork at hour", 2)
    button(rc, "Fork").widget.click()
    view(rc, "branch").assert_single()
    assert clock(rc, "branch") == "Thu 14 Dec 2023 08:00 - hour 2 of 48"
    assert clock(rc) == "Thu 14 Dec 2023 09:00 - hour 3 of 48"
    rc.find(meta_ref="comparison").assert_single()

    # the branch has its own controls and decisions
    button(view(rc, "branch"), "Step").widget.click()
    button(view(rc, "branch"), "Step").widget.click()
    set_input(view(rc, "branch"), "Proposed by (role)", "deputy")
    button(view(rc, "branch"), "Decide").widget.click()
    assert clock(rc, "branch") == "Thu 14 Dec 2023 10:00 - hour 4 of 48"
    assert clock(rc) == "Thu 14 Dec 2023 09:00 - hour 3 of 48"
    assert feed(rc, "branch")[0].startswith("h  4 decision: Call out 2 reserve phone staff (deputy)")
    assert not any("decision" in line for line in feed(rc))

    set_input(rc, "Fork at hour", 9)  # not yet reached: one line, the branch stays
    button(rc, "Fork").widget.click()
    assert any("fork at an hour between 0 and 3" in a for a in alerts(rc))
    button(view(rc, "branch"), "Close branch").widget.click()
    view(rc, "branch").assert_empty()

    set_input(rc, "Fork at hour", "")  # empty: fork now
    button(rc, "Fork").widget.click()
    assert clock(rc, "branch") == clock(rc) == "Thu 14 Dec 2023 09:00 - hour 3 of 48"

    button(view(rc), "Decide").widget.click()
    button(rc, "Same storm, no decisions").widget.click()  # the counterfactual, as a branch
    assert clock(rc, "branch") == clock(rc)
    assert any("decision" in line for line in feed(rc))
    assert not any("decision" in line for line in feed(rc, "branch"))


def test_two_pages_have_independent_exercises(page_env: None, render: Callable[[], Any]) -> None:
    a, b = render(), render()
    button(view(a), "Step").widget.click()
    button(view(a), "Step").widget.click()
    button(view(a), "Decide").widget.click()
    assert clock(a).endswith("hour 2 of 48")
    assert clock(b).endswith("hour 0 of 48")
    assert feed(b) == []
    button(view(b), "Step").widget.click()
    assert clock(b).endswith("hour 1 of 48")
    assert clock(a).endswith("hour 2 of 48")
    assert len(button(view(a), "Fire now")) == 2 and len(button(view(b), "Fire now")) == 2


def test_reset_starts_again(page_env: None, render: Callable[[], Any]) -> None:
    rc = render()
    for _ in range(2):
        button(view(rc), "Step").widget.click()
    button(view(rc), "Fire now")[0].widget.click()
    button(view(rc), "Reset").widget.click()
    assert clock(rc).endswith("hour 0 of 48")
    assert feed(rc) == []
    assert len(button(view(rc), "Fire now")) == 2


def test_play_runs_to_the_horizon_and_pause_stops(page_env: None, monkeypatch: pytest.MonkeyPatch,
                                                  render: Callable[[], Any]) -> None:
    monkeypatch.setenv("CLAIMSIM_TABLETOP_HOURS", "6")
    monkeypatch.setattr(tabletop, "draw_dashboard", lambda fig, snap: fig.subplots().plot([0, snap.hour]))
    rc = render()
    assert clock(rc).endswith("hour 0 of 6")
    set_input(view(rc), "Hours per second", 20)
    button(view(rc), "Play").widget.click()
    wait_until(lambda: clock(rc).endswith("hour 6 of 6 (end)"))
    wait_until(lambda: len(button(view(rc), "Play")) == 1)  # stopped by itself at the horizon
    assert button(view(rc), "Play").widget.disabled

    rc2 = render()
    set_input(view(rc2), "Hours per second", 4)
    button(view(rc2), "Play").widget.click()
    wait_until(lambda: not clock(rc2).endswith("hour 0 of 6"))
    button(view(rc2), "Pause").widget.click()
    time.sleep(0.3)  # a step in flight finishes
    stopped = clock(rc2)
    time.sleep(0.8)
    assert clock(rc2) == stopped and not stopped.endswith("(end)")


def test_downloads_call_the_report_with_this_exercise(page_env: None, monkeypatch: pytest.MonkeyPatch,
                                                      render: Callable[[], Any]) -> None:
    import sim.aar

    called = threading.Event()
    seen: list[int] = []

    def fake_markdown(ex: Exercise) -> str:
        seen.append(ex.hour)
        called.set()
        return f"# report at hour {ex.hour}\n"

    monkeypatch.setattr(sim.aar, "report_markdown", fake_markdown)
    rc = render()
    button(view(rc), "Step").widget.click()
    (md,) = [w for w in rc.find(meta_ref="downloads-main").find(solara.components.file_download.FileDownloadWidget)
             .widgets if w.filename == "after-action-report.md"]
    md.request_download = True
    assert called.wait(10)
    assert seen == [1]
    wait_until(lambda: md.bytes == b"# report at hour 1\n")


def test_without_a_scenario_the_page_says_so(monkeypatch: pytest.MonkeyPatch, render: Callable[[], Any]) -> None:
    monkeypatch.delenv("CLAIMSIM_TABLETOP_SCENARIO", raising=False)
    rc = render()
    (message,) = alerts(rc)
    assert "CLAIMSIM_TABLETOP_SCENARIO" in message


def test_setup_from_env_reads_every_variable(injects_file: Path) -> None:
    env = {"CLAIMSIM_TABLETOP_SCENARIO": str(SMALL), "CLAIMSIM_TABLETOP_PLAN": "sms",
           "CLAIMSIM_TABLETOP_SEED": "11", "CLAIMSIM_TABLETOP_INJECTS": str(injects_file),
           "CLAIMSIM_TABLETOP_HOURS": "12"}
    setup = tabletop.setup_from_env(env)
    ex = setup.new_exercise()
    assert (ex.plan, ex.seed, ex.horizon, len(ex.pending_injects)) == ("sms", 11, 12, 2)
    with pytest.raises(tabletop.InputError, match="CLAIMSIM_TABLETOP_SEED"):
        tabletop.setup_from_env({**env, "CLAIMSIM_TABLETOP_SEED": "seven"})
