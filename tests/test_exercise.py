"""Tabletop exercises: injects and decisions change nothing before their hour, do what they say after it,
replay exactly, fork cleanly, and bad ones get one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import SMALL, cli, write_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.exercise import Exercise, read_injects, read_log
from sim.exercise_log import log_yaml
from sim.scenario import load_scenario
from sim.scenario.events import CallOut, Decision, Inject, MoveStaff

ROOT = Path(__file__).resolve().parents[1]
SF = load_scenario(SMALL)


def inject(at: float, effect: dict, title: str = "event") -> Inject:
    return Inject.model_validate({"at_h": at, "title": title, "effect": effect})


def events_before(ex: Exercise, h: float) -> dict[str, np.ndarray]:
    """The event log strictly before hour h, tabletop markers left out."""
    a = ex.model.log.arrays()
    keep = (a["t_h"] < h) & (a["code"] < 30)
    return {k: v[keep] for k, v in a.items()}


def same_before(a: Exercise, b: Exercise, h: float) -> None:
    ea, eb = events_before(a, h), events_before(b, h)
    for k in ea:
        assert np.array_equal(ea[k], eb[k], equal_nan=True), k


def figures_json(ex: Exercise) -> str:
    return json.dumps(ex.figures(), sort_keys=True)


EFFECTS = [
    {"type": "hazard", "region": "yc", "factor": 3.0, "hours": 6},
    {"type": "hazard", "factor": 0.0, "hours": 4},
    {"type": "road_closure", "region": "sz", "travel_factor": 3.0, "hours": 8},
    {"type": "phone_outage", "share": 0.75, "hours": 3},
    {"type": "staff_absence", "role": "assessment", "count": 2, "hours": 6},
    {"type": "staff_absence", "role": "tow", "count": 1, "region": "yc"},
    {"type": "reporting_surge", "agent_types": ["drivers"], "factor": 3.0, "hours": 6},
]
DECISIONS = [
    Decision(title="call out", call_out=[CallOut(role="assessment", count=3)]),
    Decision(title="tow", call_out=[CallOut(role="tow", count=2, region="sz", delay_h=1.5)]),
    Decision(title="leave", changes={"operations": {"staff": {"assessment": {"leave_share": 0}}}}),
    Decision(title="24h", changes={"operations": {"staff": {"assessment": {"roster": "h24"}}}}),
    Decision(title="green", changes={"operations": {"triage": {"fast_track": {"enabled": True, "max_loss": 30000}}}}),
    Decision(title="sms", changes={"measures": {"sms_warning": {"enabled": True}}}),
    Decision(title="move", move=[MoveStaff(role="field_survey", from_region="yc", to_region="sz", count=2)]),
    Decision(title="prepay", changes={"operations": {"prepayment": {"enabled": True, "min_loss": 1000}}}),
]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(effect=st.sampled_from(EFFECTS), hour=st.integers(1, 20), seed=st.integers(0, 50))
def test_an_inject_changes_nothing_before_its_hour(effect: dict, hour: int, seed: int) -> None:
    plain = Exercise(SF, "baseline", seed, [], hours=30)
    hit = Exercise(SF, "baseline", seed, [inject(hour, effect)], hours=30)
    plain.run_to(30)
    hit.run_to(30)
    same_before(plain, hit, hour)
    assert hit.fired and hit.fired[0][0] == hour


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decision=st.sampled_from(DECISIONS), hour=st.integers(0, 20), seed=st.integers(0, 50))
def test_a_decision_changes_nothing_before_its_hour_and_replays_exactly(decision: Decision, hour: int,
                                                                         seed: int) -> None:
    plain = Exercise(SF, "baseline", seed, [], hours=30)
    ex = Exercise(SF, "baseline", seed, [], hours=30)
    plain.run_to(30)
    ex.run_to(hour)
    ex.decide(decision)
    ex.run_to(30)
    same_before(plain, ex, hour)
    again = Exercise.replay(ex.log(), SF)
    assert again.hour == 30 and figures_json(again) == figures_json(ex)
    assert [f.line() for f in again.feed] == [f.line() for f in ex.feed]


def test_a_fork_with_no_new_decision_equals_its_parent_and_a_new_one_differs() -> None:
    ex = Exercise(SF, "baseline", 4, [inject(3, EFFECTS[0], "snow band")], hours=36)
    ex.run_to(4)
    ex.decide(DECISIONS[0])
    ex.run_to(10)
    ex.fire(inject(0, EFFECTS[3], "outage"))
    ex.run_to(36)
    for at in (11, 20, 36):
        branch = ex.fork(at)
        assert branch.hour == at
        branch.run_to(36)
        assert figures_json(branch) == figures_json(ex), at
    at_ten = ex.fork(10)  # a fork at an hour leaves out what the room did at that hour (the outage)
    assert len(at_ten.fired) == 1
    at_ten.run_to(36)
    assert figures_json(at_ten) != figures_json(ex)
    # forking at 4 drops the decision taken at 4: that branch is the counterfactual until 10
    branch = ex.fork(4)
    assert not [a for a in branch.actions if a.kind == "decision"]
    branch.decide(Decision(title="something else", call_out=[CallOut(role="phone", count=4)]))
    branch.run_to(36)
    same_before(branch, ex, 4)
    assert figures_json(branch) != figures_json(ex)
    with pytest.raises(InputError, match="fork at an hour between 0 and 36"):
        ex.fork(40)


def test_counterfactual_keeps_injects_drops_decisions() -> None:
    ex = Exercise(SF, "baseline", 2, [inject(2, EFFECTS[0])], hours=30)
    ex.run_to(5)
    ex.fire(inject(0, EFFECTS[6], "media"))
    ex.decide(DECISIONS[0])
    ex.run_to(30)
    cf = ex.counterfactual()
    assert cf.hour == 30 and len(cf.fired) == 2 and not [a for a in cf.actions if a.kind == "decision"]
    no_decision = Exercise(SF, "baseline", 2, [inject(2, EFFECTS[0])], hours=30)
    no_decision.run_to(5)
    no_decision.fire(inject(0, EFFECTS[6], "media"))
    no_decision.run_to(30)
    assert figures_json(cf) == figures_json(no_decision)


def test_effects_do_what_they_say() -> None:
    def run(injects: list[Inject] | None = None, decision: Decision | None = None, at: int = 6,
            seed: int = 1) -> Exercise:
        ex = Exercise(SF, "baseline", seed, injects or [], hours=30)
        ex.run_to(at)
        if decision:
            ex.decide(decision)
        ex.run_to(30)
        return ex

    base = run()
    s0 = base.series()
    # more snow in yc: more incidents from hour 6 on
    snow = run([inject(6, {"type": "hazard", "region": "yc", "factor": 4.0, "hours": 12})])
    assert snow.series()["incidents"].iloc[6:18].sum() > s0["incidents"].iloc[6:18].sum()
    assert snow.storm()["yc"].iloc[6:18].sum() > base.storm()["yc"].iloc[6:18].sum()
    assert np.array_equal(snow.storm()["sz"], base.storm()["sz"])
    # a phone outage takes agents off duty for its hours only
    out = run([inject(6, {"type": "phone_outage", "share": 0.5, "hours": 4})]).series()
    assert (out["busy_phone"].iloc[6:10] <= 2).all()
    assert out["on_duty_phone"].iloc[6:10].max() < s0["on_duty_phone"].iloc[6:10].max() or \
        s0["on_duty_phone"].iloc[6:10].max() == 0
    assert out["on_duty_phone"].iloc[14:].max() == s0["on_duty_phone"].iloc[14:].max()
    # a reporting surge raises incidents of that type only
    surge = run([inject(6, {"type": "reporting_surge", "agent_types": ["drivers"], "factor": 5.0, "hours": 12})])
    assert len(surge.claims()) > len(base.claims())
    # a road closure makes field surveys in yc take longer
    closed = run([inject(0, {"type": "road_closure", "region": "yc", "travel_factor": 4.0, "hours": 30})])
    c0, c1 = base.claims(), closed.claims()
    d0 = (c0["surveyed_h"] - c0["survey_start_h"])[(c0["region"] == "yc") & (c0["track"] == "field")]
    d1 = (c1["surveyed_h"] - c1["survey_start_h"])[(c1["region"] == "yc") & (c1["track"] == "field")]
    assert d0.notna().sum() > 3 and d1.notna().sum() > 3
    assert d1.mean() > d0.mean()
    # decisions: call-out raises staff on duty; a higher fast-track limit puts more claims on the fast track
    more = run(decision=DECISIONS[0]).series()
    assert more["on_duty_assessment"].iloc[6:].sum() > s0["on_duty_assessment"].iloc[6:].sum()
    green = run(decision=Decision(title="g", changes={"operations": {"triage": {"fast_track": {
        "enabled": True, "max_loss": 1e9, "incident_types": ["crash", "battery", "stranding"]}}}}), at=0)
    assert (green.claims()["track"] == "fast_track").sum() > (base.claims()["track"] == "fast_track").sum()


@pytest.mark.parametrize("decision, key, message", [
    (Decision(title="x", changes={"regions": []}), "changes.regions", "may change only"),
    (Decision(title="x", changes={"operations": {"triage": {"fast_trak": {}}}}), "changes.operations.triage",
     "unknown key"),
    (Decision(title="x", changes={"operations": {"staff": {"phone": {"headcount": -3}}}}),
     "changes.operations.staff.phone.headcount", "greater than or equal to 0"),
    (Decision(title="x", changes={"measures": {"risk_visits": {"enabled": True}}}), "changes.measures.risk_visits",
     "before the storm"),
    (Decision(title="x", call_out=[CallOut(role="tow", count=1)]), "call_out[0].region", "regional pools"),
    (Decision(title="x", call_out=[CallOut(role="phone", count=1, region="yc")]), "call_out[0].region",
     "one shared pool"),
    (Decision(title="x", move=[MoveStaff(role="field_survey", from_region="yc", to_region="mars", count=1)]),
     "move[0].to_region", "unknown region"),
    (Decision(title="x", call_out=[CallOut(role="phone", count=1, roster="never")]), "call_out[0].roster",
     "unknown roster"),
])
def test_a_bad_decision_is_refused_with_its_key_and_changes_nothing(decision: Decision, key: str,
                                                                    message: str) -> None:
    ex = Exercise(SF, "baseline", 1, [], hours=12)
    ex.run_to(3)
    with pytest.raises(InputError) as err:
        ex.decide(decision)
    assert key in err.value.one_line() and message in err.value.one_line()
    assert not ex.actions
    ex.run_to(12)
    plain = Exercise(SF, "baseline", 1, [], hours=12)
    plain.run_to(12)
    assert figures_json(ex) == figures_json(plain)


@pytest.mark.parametrize("text, where, message", [
    ("injects:\n  - {at_h: 2, title: x, effect: {type: hazard, region: mars}}\n", "injects.yaml:2: injects[0]",
     "no region has id 'mars'"),
    ("injects:\n  - {at_h: 2, title: x, effect: {type: quake}}\n", "injects.yaml:2: injects[0].effect", "quake"),
    ("injects:\n  - at_h: 99\n    title: late\n", "injects.yaml:2: injects[0].at_h", "after the end"),
    ("injects:\n  - {at_h: 2, effect: {type: note}}\n", "injects.yaml:2: injects[0].title",
     "missing required key 'title'"),
    ("injects:\n  - {at_h: 2, title: x, effect: {type: phone_outage, share: 2}}\n", "injects[0].effect",
     "less than or equal to 1"),
    ("injectz: []\n", "injects.yaml:1: injectz", "unknown key"),
    ("injects: [\n", "injects.yaml", "malformed YAML"),
])
def test_a_bad_injects_file_is_one_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = tmp_path / "injects.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_injects(path, SF)
    line = err.value.one_line()
    assert where in line and message in line and "\n" not in line


def test_the_shipped_drill_injects_load() -> None:
    drill = ROOT / "scenarios" / "tabletop-city-blizzard.yaml"
    sf = load_scenario(drill)
    assert len(sf.resolve().injects) >= 5
    extra = read_injects(ROOT / "scenarios" / "injects" / "city-blizzard-surprises.yaml", sf)
    assert extra


def test_replay_from_the_command_line_gives_byte_identical_figures(tmp_path: Path) -> None:
    ex = Exercise(SF, "baseline", 5, [inject(2, EFFECTS[0], "Second snow band")], hours=24)
    ex.run_to(3)
    ex.decide(Decision(title="Call out assessors", by="claims manager", why="backlog rising",
                       call_out=[CallOut(role="assessment", count=2)]))
    ex.run_to(12)
    log = tmp_path / "exercise-log.yaml"
    log.write_text(ex.log_yaml())
    changed = tmp_path / "small.yaml"
    changed.write_text(SMALL.read_text() + "\n# edited\n")
    for folder in ("a", "b"):
        done = cli("tabletop", SMALL, "--replay", log, "--out", tmp_path / folder, "--seeds", "1")
        assert done.code == 0, done.err
    a, b = tmp_path / "a", tmp_path / "b"
    for name in ("figures.json", "report.md", "report.html", "open-claims.png", "storm.png", "stages.png"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    data = json.loads((a / "figures.json").read_text())
    assert data["reached_h"] == 12 and data["figures"] == json.loads(figures_json(ex))
    md = (a / "report.md").read_text()
    assert "Second snow band" in md and "Call out assessors" in md and "claims manager" in md
    assert "<img" in (a / "report.html").read_text()
    # a changed scenario is refused, in one line
    with pytest.raises(InputError, match="has changed since the exercise"):
        read_log(log, changed)
    line = cli("tabletop", changed, "--replay", log, "--out", tmp_path / "c").error_line()
    assert f"{log}:" in line and "scenario_sha256" in line and not (tmp_path / "c").exists()


def test_tabletop_cli_checks_injects_before_serving(tmp_path: Path) -> None:
    bad = tmp_path / "injects.yaml"
    bad.write_text("injects:\n  - {at_h: 1, title: x, effect: {type: staff_absence, role: cook}}\n")
    line = cli("tabletop", SMALL, "--injects", bad).error_line()  # refused before any server starts
    assert "injects.yaml:2" in line and "role" in line


def test_undo_takes_back_the_last_decision_and_keeps_the_rest() -> None:
    ex = Exercise(SF, "baseline", 6, [inject(2, EFFECTS[0])], hours=20)
    ex.run_to(3)
    ex.decide(DECISIONS[0])
    ex.run_to(5)
    ex.fire(inject(0, EFFECTS[3], "outage"))
    ex.decide(DECISIONS[4])
    ex.run_to(12)
    ex.note("hot wash", by="evaluator")
    again, undone = ex.undo()
    assert undone.title == DECISIONS[4].title and again.hour == 12
    assert [a.kind for a in again.actions] == ["decision", "inject"] and again.notes is ex.notes
    same = Exercise(SF, "baseline", 6, [inject(2, EFFECTS[0])], hours=20)
    same.run_to(3)
    same.decide(DECISIONS[0])
    same.run_to(5)
    same.fire(inject(0, EFFECTS[3], "outage"))
    same.run_to(12)
    assert figures_json(again) == figures_json(same)
    first, _ = again.undo()
    with pytest.raises(InputError, match="no decision to undo"):
        first.undo()


def test_figures_at_a_past_hour_are_those_the_exercise_had_then() -> None:
    ex = Exercise(SF, "baseline", 2, [], hours=30)
    ex.run_to(8)
    at_eight = json.dumps(ex.figures(), sort_keys=True)
    ex.decide(DECISIONS[0])  # taken at 8: the figures "at 8" are those before the room acted
    ex.run_to(20)
    assert json.dumps(ex.figures_at(8), sort_keys=True) == at_eight
    fresh = Exercise(SF, "baseline", 2, [], hours=30)
    fresh.run_to(8)
    fresh.decide(DECISIONS[0])
    fresh.run_to(14)
    assert json.dumps(ex.figures_at(14), sort_keys=True) == figures_json(fresh)
    assert ex.figures_at(20) == ex.figures()
    s = ex.series_at(11)
    assert list(s["hour"]) == list(range(11)) and s.equals(ex.series().iloc[:11])
    with pytest.raises(InputError):
        ex.figures_at(21)


def test_notes_and_the_improvement_plan_travel_in_the_log(tmp_path: Path) -> None:
    ex = Exercise(SF, "baseline", 1, [], hours=10)
    ex.run_to(4)
    ex.note("  phones swamped  ", by="facilitator", branch="main")
    ex.plan_improvement("Write the call-out list", owner="duty manager", due="2027-01-31", objective="O2")
    with pytest.raises(Exception, match="date"):
        ex.plan_improvement("x", due="soon")
    ex.run_to(6)
    path = tmp_path / "log.yaml"
    path.write_text(ex.log_yaml())
    log, _ = read_log(path)
    again = Exercise.replay(log)
    assert [(n.hour, n.text, n.by) for n in again.notes] == [(4, "phones swamped", "facilitator")]
    assert again.improvements[0].due.isoformat() == "2027-01-31" and again.improvements[0].owner == "duty manager"
    assert figures_json(again) == figures_json(ex)
    # a log of the first version (no notes, no plan) still reads
    data = json.loads(log.model_dump_json(exclude_none=True, exclude={"notes", "improvements", "branch", "exercise"}))
    write_yaml({**data, "version": 1}, tmp_path / "v1.yaml")
    old, _ = read_log(tmp_path / "v1.yaml")
    assert old.notes == [] and old.improvements == [] and old.version == 1
    assert figures_json(Exercise.replay(old)) == figures_json(ex)


def test_a_log_names_its_scenario_relative_to_its_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "drill"
    folder.mkdir()
    ex = Exercise(SF, "baseline", 3, [], hours=8)
    ex.run_to(5)
    log = ex.log(relative_to=folder)
    assert not Path(log.scenario).is_absolute() and log.scenario.endswith("tests/data/small.yaml")
    (folder / "log.yaml").write_text(log_yaml(log))
    again, file = read_log(folder / "log.yaml")  # found beside the log, wherever the reader stands
    assert file.sha256 == SF.sha256 and figures_json(Exercise.replay(again, file)) == figures_json(ex)
