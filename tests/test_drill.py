"""Exercise files, objectives, the situation board, branches, what decisions were worth, and the shipped exercise:
objectives are measured as stated, the board's numbers are the claims table's, decisions with no effect are
"no detectable difference", and the shipped exercise replays into a report with objectives and an improvement
plan."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, SMALL

from sim.branches import Branches
from sim.errors import InputError
from sim.exercise import Exercise
from sim.exercise_file import Objective, load_exercise
from sim.injects import effect_text, inject_text
from sim.levers import LEVERS, build_decision, lever_text
from sim.objectives import MET, NOT_MET, PARTLY, UNMEASURED, evaluate, strengths_and_areas
from sim.scenario import Inject, load_scenario
from sim.scenario.events import CallOut, Decision
from sim.situation import STAFFED, board, bottleneck_at, marks, open_by_region, share_within
from sim.worth import ALL_DECISIONS, NO_DIFFERENCE, decision_worth

SF = load_scenario(SMALL)
SHIPPED = REPO / "scenarios" / "exercises" / "city-blizzard-morning"
EXERCISE = """\
name: small-drill
title: Small drill
scenario: {scenario}
seed: 4
hours: 24
injects:
  - {{at_h: 3, id: M1, title: Snow band, effect: {{type: hazard, region: yc, factor: 3, hours: 6}},
     expected_actions: [Call out surveyors]}}
objectives:
  - {{id: O1, title: few lost calls, figure: abandonment, at_most: 0.9}}
  - {{id: O2, title: backlog, series: backlog_open, per_region: true, at_most: 1, partly: 100000}}
  - {{id: O3, title: reached, within: {{event: first_contact, hours: 6}}, at_least: 1.01,
     partly: 1.005}}
  - {{id: O4, title: settled in a year, within: {{event: settled, hours: 8000}}, at_least: 0.5}}
"""


def write_exercise(tmp_path: Path, text: str = EXERCISE) -> Path:
    path = tmp_path / "exercise.yaml"
    path.write_text(text.format(scenario=SMALL), encoding="utf-8")
    return path


def test_an_exercise_file_loads_with_its_msel_and_objectives(tmp_path: Path) -> None:
    drill = load_exercise(write_exercise(tmp_path))
    assert drill.spec.title == "Small drill" and [i.id for i in drill.injects] == ["M1"]
    assert drill.injects[0].expected_actions == ["Call out surveyors"]
    assert [o.id for o in drill.spec.objectives] == ["O1", "O2", "O3", "O4"]
    shipped = load_exercise(SHIPPED / "exercise.yaml")
    assert len(shipped.injects) == 7 and all(i.id and i.expected_actions for i in shipped.injects)
    assert {o.id for o in shipped.spec.objectives} == {"O1", "O2", "O3", "O4", "O5"}
    assert "video" in shipped.lever_words


@pytest.mark.parametrize("change, where, message", [
    ("figure: abandonment, at_most: 0.9", "objectives[0].figure", "unknown figure 'happiness'"),
    ("figure: abandonment, at_most: 0.9", "objectives[0]", "exactly one target"),
    ("series: backlog_open, per_region: true, at_most: 1, partly: 100000", "objectives[1]", "looser"),
    ("series: backlog_open, per_region: true", "objectives[1].series", "backlog_pen"),
    ("seed: 4", "seed", "greater than or equal to 0"),
    ("region: yc", "injects[0].effect.region", "no region has id 'mars'"),
])
def test_a_bad_exercise_file_is_one_line(tmp_path: Path, change: str, where: str, message: str) -> None:
    bad = {
        "figure: abandonment, at_most: 0.9": "figure: happiness, at_most: 0.9" if "figure" in where else
        "figure: abandonment, at_most: 0.9, at_least: 0.1",
        "series: backlog_open, per_region: true, at_most: 1, partly: 100000": "series: backlog_open, per_region: "
                                                                              "true, at_most: 10, partly: 1",
        "series: backlog_open, per_region: true": "series: backlog_pen, per_region: true",
        "seed: 4": "seed: -4",
        "region: yc": "region: mars",
    }[change]
    path = write_exercise(tmp_path, EXERCISE.replace(change, bad, 1))
    with pytest.raises(InputError) as err:
        load_exercise(path)
    line = err.value.one_line()
    assert line.startswith(str(path) + ":") and where in line and "\n" not in line
    assert message in line or (message == "backlog_pen" and "backlog_open" in line), line


def test_objectives_are_met_partly_met_not_met_or_not_measured(tmp_path: Path) -> None:
    drill = load_exercise(write_exercise(tmp_path))
    ex = Exercise(drill.scenario, "baseline", 4, drill.injects, 24)
    ex.run_to(24)
    r = {x.objective.id: x for x in evaluate(ex, drill.spec.objectives)}
    assert r["O1"].status == MET and r["O1"].value == pytest.approx(ex.figures()["abandonment_rate"])
    by_region = open_by_region(ex.claims(), ex.hour, ex.model.spec.region_ids)
    assert r["O2"].value == by_region[["yc", "sz"]].to_numpy().max() > 1 and r["O2"].status == PARTLY
    assert r["O2"].where.startswith(("yc, at", "sz, at"))
    assert r["O3"].status == NOT_MET  # at least 101%: never
    assert r["O4"].status == UNMEASURED and r["O4"].value is None  # nobody reported 8,000 h before the end
    strengths, areas = strengths_and_areas(ex, list(r.values()))
    assert any(s.startswith("Objective O1") for s in strengths) and any(a.startswith("Objective O3") for a in areas)
    partly = Objective(id="X", title="x", figure="cost", at_most=100.0)
    assert partly.partly_bound == pytest.approx(120.0)
    assert Objective(id="Y", title="y", figure="paid_7d", at_least=0.5).partly_bound == pytest.approx(0.4)


def test_open_claims_by_region_add_up_to_the_backlog_and_share_within_counts_the_late_against() -> None:
    ex = Exercise(SF, "baseline", 2, [], hours=30)
    ex.run_to(30)
    claims = ex.claims()
    regions = open_by_region(claims, ex.hour, ex.model.spec.region_ids)
    assert np.array_equal(regions[["yc", "sz"]].sum(axis=1).to_numpy(), ex.series()["backlog_open"].to_numpy())
    value, n = share_within(claims, "first_contact", 6, ex.hour)
    due = claims[claims["reported_h"] <= ex.hour - 6]
    assert n == len(due) > 0
    assert value == pytest.approx(((due["first_contact_h"] - due["reported_h"]) <= 6).mean())
    synthetic = pd.DataFrame({"reported_h": [0.0, 1.0, 2.0, 9.0], "first_contact_h": [0.5, np.nan, 5.0, 9.1],
                              "first_payment_h": np.nan, "settled_h": np.nan})
    assert share_within(synthetic, "first_contact", 2, 10) == (pytest.approx(1 / 3), 3)
    assert share_within(synthetic, "first_contact", 20, 10) == (None, 0)


def test_the_bottleneck_is_the_growing_queue_or_the_fully_busy_team() -> None:
    zeros = {f"{k}_{r}": [0, 0, 0, 0] for r in ("phone", "video_survey", "field_survey", "tow", "assessment",
                                                 "approval") for k in ("waiting", "on_duty", "busy")}
    base = {"hour": [0, 1, 2, 3], **{f"backlog_{s}": [0, 0, 0, 0] for s in STAFFED}, **zeros}
    calm = pd.DataFrame(base)
    assert bottleneck_at(calm, 3) is None
    growing = pd.DataFrame({**base, "backlog_survey": [5, 10, 20, 40], "waiting_field_survey": [5, 9, 19, 39],
                            "backlog_assessment": [30, 30, 30, 30], "waiting_assessment": [1, 1, 1, 1],
                            "on_duty_assessment": [2, 2, 2, 2], "busy_assessment": [1, 1, 1, 1]})
    b = bottleneck_at(growing, 3)
    assert b is not None and b.stage == "survey" and "up 35 in the last 3 hours" in b.reason
    assert "no field surveyors on duty" in b.reason  # video surveyors were never on duty: not named
    busy = pd.DataFrame({**base, "backlog_assessment": [30, 30, 30, 30], "waiting_assessment": [8, 8, 8, 8],
                         "on_duty_assessment": [4, 4, 4, 4], "busy_assessment": [4, 4, 4, 4]})
    b = bottleneck_at(busy, 3)
    assert b is not None and b.stage == "assessment" and "all 4 loss assessors on duty are busy" in b.reason


def test_the_board_reads_the_same_numbers_as_the_series_and_the_claims() -> None:
    ex = Exercise(SF, "baseline", 5, [], hours=20)
    ex.run_to(14)
    b = board(ex)
    s = ex.series()
    assert {st.stage: st.claims for st in b.stages}["survey"] == s["backlog_survey"].iloc[-1]
    assert {st.stage: st.change for st in b.stages}["survey"] == s["backlog_survey"].iloc[-1] - s[
        "backlog_survey"].iloc[-4]
    assert {r.role: r.on_duty for r in b.staff}["tow"] == s["on_duty_tow"].iloc[-1]
    assert b.phone_waiting == s["waiting_phone"].iloc[-1] and b.open_claims == ex.figures()["claims_open"]
    c = ex.claims()
    open_ = c[c["reported_h"].notna() & c[["settled_h", "withdrawn_h", "gave_up_h"]].isna().all(axis=1)]
    assert b.oldest_open_h == pytest.approx(14 - open_["reported_h"].min())
    assert b.cost == pytest.approx(ex.figures()["cost"]["total"])
    assert any("Money spent so far: CNY" in line for line in b.sentences())


def test_marks_number_injects_and_decisions_in_order() -> None:
    ex = Exercise(SF, "baseline", 1, [Inject(at_h=2, title="band")], hours=10)
    ex.run_to(3)
    ex.decide(Decision(title="call", call_out=[CallOut(role="phone", count=1)]))
    ex.fire(Inject(at_h=0, title="news"))
    assert [(m.code, m.hour, m.title) for m in marks(ex)] == [("I1", 2, "band"), ("I2", 3, "news"),
                                                              ("D1", 3, "call")]


def test_every_lever_and_inject_type_explains_itself() -> None:
    spec = SF.resolve()
    for lever in LEVERS:
        for role in ("", "phone", "field_survey"):
            text = lever_text(lever, spec, role)
            assert text.description.endswith(".") and len(text.expected_effect) > 20, (lever, role)
    from sim.levers import INJECT_TYPES, inject_type_text

    for kind in INJECT_TYPES:
        text = inject_type_text(kind, {"yc": "Yinchuan"})
        assert text.description and text.expected_effect
    own = Inject.model_validate({"at_h": 1, "title": "t", "effect": {"type": "phone_outage", "share": 0.4},
                                 "description": "  The switchboard fails.  "})
    assert inject_text(own).description == "The switchboard fails."
    assert inject_text(own).expected_effect == effect_text(own.effect).expected_effect


def test_branches_fork_undo_go_back_and_compare_at_the_same_hour() -> None:
    tree = Branches(Exercise(SF, "baseline", 8, [], hours=24))
    main = tree["main"]
    main.run_to(6)
    main.decide(Decision(title="early call-out", call_out=[CallOut(role="assessment", count=3)]))
    main.run_to(16)
    b = tree.fork("main", 6, "without")
    assert tree[b].hour == 6 and not tree[b].actions
    tree[b].run_to(12)
    c = tree.compare("main", b)
    assert c.hour == 12 and len(c.series_a) == len(c.series_b) == 12
    same = Exercise(SF, "baseline", 8, [], hours=24)
    same.run_to(6)
    same.decide(Decision(title="early call-out", call_out=[CallOut(role="assessment", count=3)]))
    same.run_to(12)
    assert {r.figure.key: r.a for r in c.rows} == {r.figure.key: r.figure.value(same.figures()) for r in c.rows}
    assert tree.compare("main", b, 6).rows[0].difference == 0
    with pytest.raises(InputError, match="both branches have reached"):
        tree.compare("main", b, 13)
    assert tree.undo("main") == "early call-out" and tree["main"].hour == 16 and not tree["main"].actions
    kept = tree.rewind(b, 3)
    assert kept is None and tree[b].hour == 3  # nothing was done after hour 3 there
    tree[b].decide(build_decision("sms", tree[b].model.spec))
    tree[b].run_to(5)
    kept = tree.rewind(b, 2)
    assert kept == "without (to hour 5)" and len(tree[kept].actions) == 1 and not tree[b].actions
    with pytest.raises(InputError, match="already a branch"):
        tree.fork("main", 1, "without")
    assert tree.counterfactual("main") == "no decisions 1"
    tree.close(kept)
    assert kept not in tree
    with pytest.raises(InputError, match="stays"):
        tree.close("main")


def test_a_decision_with_no_effect_is_no_detectable_difference_and_a_strong_one_is_detected() -> None:
    ex = Exercise(SF, "baseline", 3, [], hours=20)
    ex.run_to(2)
    # leave is cancelled for a role with none on leave: nothing changes, whatever the seed
    ex.decide(Decision(title="nothing", changes={"operations": {"staff": {"phone": {"leave_share": 0}}}}))
    ex.run_to(4)
    ex.decide(Decision(title="many assessors", call_out=[CallOut(role="assessment", count=20)]))
    ex.run_to(20)
    worth = decision_worth(ex.log(), ex.file, 3)
    assert [w.title for w in worth] == ["nothing", "many assessors", "All decisions together"]
    nothing, many, together = worth
    assert all(e.verdict == NO_DIFFERENCE and e.interval.mean == 0 for e in nothing.effects)
    cost = next(e for e in many.effects if e.figure.name == "cost")
    assert cost.verdict == "worse" and cost.interval.low > 0 and cost.interval.n == 3
    assert together.index == ALL_DECISIONS and nothing.seeds == [3, 4, 5]
    assert "(" in cost.shown() and "to" in cost.shown()
    single = decision_worth(ex.log(), ex.file, 1)
    assert all(e.verdict == NO_DIFFERENCE and math.isnan(e.interval.low) for w in single for e in w.effects)


def test_the_shipped_exercise_replays_into_a_report_with_objectives_and_an_improvement_plan(tmp_path: Path) -> None:
    out = tmp_path / "drill"
    r = subprocess.run([sys.executable, "-m", "sim", "tabletop", "--replay", str(SHIPPED / "log.yaml"), "--out",
                        str(out), "--seeds", "1"], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path),
                            "MPLCONFIGDIR": str(tmp_path / "mpl")})
    assert r.returncode == 0, r.stderr
    assert "O1 90% of customers reached within 24 h" in r.stdout
    md = (out / "report.md").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    for part in ("## Objectives", "## Strengths", "## Areas for improvement", "## Master scenario events list",
                 "## What the decisions were worth", "## Hot wash: what the room said", "## Improvement plan",
                 "| action | owner | due date | objective |", "claims director", "2027-01-15"):
        assert part in md, part
    assert "<h2>Objectives</h2>" in html and "<h2>Improvement plan</h2>" in html and "@media print" in html
    statuses = {o["id"]: o["status"] for o in json.loads((out / "figures.json").read_text())["objectives"]}
    assert set(statuses) == {"O1", "O2", "O3", "O4", "O5"} and set(statuses.values()) <= {
        MET, PARTLY, NOT_MET, UNMEASURED}
    for name in ("open-claims.png", "settled.png", "phone-waiting.png", "stages.png", "staff.png", "storm.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
    assert "no detectable difference" in md  # one seed says nothing about any difference
