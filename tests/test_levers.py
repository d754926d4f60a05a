"""Plan levers: each one moves the figure it is meant to move, in the right direction.

Every test runs two arms of a small scenario with the SAME seed (common random numbers: the same storm,
the same incidents and the same per-claim draws), differing only in the lever, and asserts the direction
of the effect and that it is not trivially zero. Waits still open at the horizon count up to the horizon
(a lower bound), so an understaffed arm is never flattered by the claims it has not reached.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import build, minimal_doc, run

from sim.ops.claim import Slot
from sim.ops.log import Ev
from sim.vocab import ROLE_STAGE

TRACKS = ("fast_track", "video", "field", "large_loss")
# Enough of every role that none is a bottleneck unless a test makes it one.
AMPLE = {"phone": 30, "video_survey": 10, "field_survey": 15, "tow": 15, "assessment": 15, "approval": 8}
SEED = 1


def lever_doc(drivers: int = 20000, crash: float = 5e-4, duration_h: int = 72, snow_cm_h: float = 2.0,
              snow_until_h: float = 12, headcounts: dict[str, Any] | None = None,
              documents_mean_h: float = 2.0) -> dict[str, Any]:
    """One region of 20,000 drivers (about 13 crashes an hour), 12 h of snow, staff ample unless overridden,
    short documents (so that settlement latency shows the insurer's own work)."""
    doc = minimal_doc(drivers=drivers, duration_h=duration_h,
                      keyframes=[{"h": 0, "temp_c": -5, "snowfall_cm_h": snow_cm_h},
                                 {"h": snow_until_h, "snowfall_cm_h": 0}],
                      headcounts={**AMPLE, **(headcounts or {})})
    doc["hazard"]["r1"]["interpolation"] = "step"
    doc["vulnerability"]["drivers"] |= {"crash_per_vehicle_h": crash}
    doc["operations"]["service"] = {"documents_h": {t: {"dist": "exponential", "mean": documents_mean_h}
                                                    for t in TRACKS}}
    return doc


def two_region_doc(busy: int = 20000, quiet: int = 2000, **kw: Any) -> dict[str, Any]:
    """`lever_doc` with a second, quiet region r2 (same storm, a tenth of the policyholders)."""
    doc = lever_doc(drivers=busy, **kw)
    second = copy.deepcopy(doc["regions"][0])
    second.update({"id": "r2", "name": "Region two"})
    second["portfolio"]["drivers"]["count"] = quiet
    doc["regions"].append(second)
    doc["hazard"]["r2"] = copy.deepcopy(doc["hazard"]["r1"])
    return doc


def arms(base: dict[str, Any], lever: dict[str, Any], seed: int = SEED):
    """Run the baseline and the baseline with `lever` (top-level keys deep-merged), same seed."""
    from sim.scenario import deep_merge

    return run(build(base), seed=seed), run(build(deep_merge(base, lever)), seed=seed)


# ---------------------------------------------------------------- reading a run


def first(r, code: Ev, value: float | None = None) -> np.ndarray:
    """Time of each claim's first event of a kind (NaN if none), indexed by claim id."""
    ev = r.events
    out = np.full(len(r.claims), np.nan)
    mask = (ev["code"] == int(code)) & (ev["claim_id"] >= 0)
    if value is not None:
        mask &= ev["value"] == value
    np.fmin.at(out, ev["claim_id"][mask], ev["t_h"][mask])
    return out


def waits(r, role: str) -> np.ndarray:
    """Per claim, hours from joining `role`'s queue to being picked up (still waiting: up to the horizon)."""
    stage = ROLE_STAGE[role]
    start = {"tow": Ev.TOW_START, "field_survey": Ev.SURVEY_START, "video_survey": Ev.SURVEY_START,
             "assessment": Ev.ASSESSMENT_START, "approval": Ev.APPROVAL_START}[role]
    queued = first(r, Ev.QUEUED, stage)
    picked = np.where(np.isnan(first(r, start)), float(r.model.hour), first(r, start))
    w = picked - queued
    if role in ("field_survey", "video_survey"):  # one stage code for both kinds of survey
        field = r.claims["track"].isin(["field", "large_loss"]).to_numpy()
        w = np.where(field == (role == "field_survey"), w, np.nan)
    return w


def waiting(r, role: str, at: np.ndarray) -> np.ndarray:
    """Jobs waiting in `role`'s queue at the times `at` (queued and not yet picked; no job of these roles is
    ever cancelled)."""
    stage = ROLE_STAGE[role]
    start = {"tow": Ev.TOW_START, "assessment": Ev.ASSESSMENT_START, "approval": Ev.APPROVAL_START}[role]
    queued = np.sort(first(r, Ev.QUEUED, stage))
    picked = np.sort(first(r, start))
    return (np.searchsorted(queued[~np.isnan(queued)], at, side="right")
            - np.searchsorted(picked[~np.isnan(picked)], at, side="right"))


def latency(r) -> pd.Series:
    """Settlement latency (h) of settled claims, indexed by claim id."""
    c = r.claims
    return (c["settled_h"] - c["reported_h"]).dropna()


def paired_latency(a, b, mask: np.ndarray | None = None) -> tuple[float, float, int]:
    """Mean settlement latency in each arm over the claims settled in both (optionally only `mask`)."""
    la, lb = latency(a), latency(b)
    common = la.index.intersection(lb.index)
    if mask is not None:
        common = common[mask[common]]
    return float(la[common].mean()), float(lb[common].mean()), len(common)


def count_events(r, code: Ev) -> int:
    return int((r.events["code"] == int(code)).sum())


def same_incidents(a, b) -> None:
    cols = ["incident_h", "agent_id", "incident_type", "loss_amount"]
    pd.testing.assert_frame_equal(a.claims[cols], b.claims[cols])


# ---------------------------------------------------------------- staffing


# role -> (low headcount, high headcount, headcounts of other roles that make this role the bottleneck)
BOTTLENECKS: dict[str, tuple[int, int, dict[str, Any]]] = {
    "tow": (3, 8, {}),
    "field_survey": (5, 12, {"video_survey": 0}),
    "video_survey": (2, 6, {}),
    "assessment": (4, 9, {}),
    "approval": (1, 3, {}),
}


@pytest.mark.parametrize("role", list(BOTTLENECKS))
def test_more_staff_of_a_role_lowers_its_stage_wait(role: str) -> None:
    low, high, others = BOTTLENECKS[role]
    base = lever_doc(headcounts={**others, role: low})
    short, more = arms(base, {"operations": {"staff": {role: {"headcount": high}}}})
    same_incidents(short, more)
    w_short, w_more = np.nanmean(waits(short, role)), np.nanmean(waits(more, role))
    assert np.isfinite(w_short) and np.isfinite(w_more)
    assert w_more < w_short, (role, w_short, w_more)
    assert w_more < 0.5 * w_short and w_short > 0.5, (role, w_short, w_more)  # a real queue, and it shrinks


def test_more_phone_staff_lowers_the_call_wait_and_abandonment() -> None:
    base = lever_doc(headcounts={"phone": 2})
    short, more = arms(base, {"operations": {"staff": {"phone": {"headcount": 5}}}})
    p_short, p_more = short.figures["phone"], more.figures["phone"]
    assert p_short["abandonment_rate"] > 0.1 and p_short["mean_wait_min"] > 0.3   # impatient callers hang up
    assert p_more["mean_wait_min"] < 0.5 * p_short["mean_wait_min"]
    assert p_more["abandonment_rate"] < 0.5 * p_short["abandonment_rate"]
    assert p_more["service_level_20s"] > p_short["service_level_20s"]


def test_cancelled_leave_lowers_latency() -> None:
    base = lever_doc(headcounts={"assessment": 7})
    base["operations"]["staff"]["assessment"]["leave_share"] = 0.3   # 7 - 2 on leave = 5 at work
    on_leave, cancelled = arms(base, {"operations": {"staff": {"assessment": {"leave_share": 0.0}}}})
    assert sum(s.role == "assessment" for s in on_leave.model.ops.staff) == 5
    assert sum(s.role == "assessment" for s in cancelled.model.ops.staff) == 7
    assert np.nanmean(waits(cancelled, "assessment")) < 0.5 * np.nanmean(waits(on_leave, "assessment"))
    slow, fast, n = paired_latency(on_leave, cancelled)
    assert n > 300
    assert fast < slow - 1.0, (slow, fast)
    assert cancelled.figures["settlement_latency_hours"]["mean"] < on_leave.figures["settlement_latency_hours"]["mean"]


def night_reports(r) -> np.ndarray:
    """Claims reported outside office hours (17:00-08:00 on the clock; the scenario starts at midnight)."""
    hod = np.floor(r.claims["reported_h"].to_numpy()) % 24
    return (hod >= 17) | (hod < 8)


@pytest.mark.parametrize("duty", ["h24", "day_and_night"])
def test_round_the_clock_phones_answer_night_reports_sooner(duty: str) -> None:
    base = lever_doc(headcounts={"phone": 6})
    ops = base["operations"]
    ops["rosters"]["office"] = {"shifts": [{"start": 8, "end": 17}]}
    ops["rosters"]["day_and_night"] = {"shifts": [{"start": 8, "end": 17, "share": 0.5},
                                                  {"start": 17, "end": 32, "share": 0.5}]}
    ops["staff"]["phone"]["roster"] = "office"
    ops["phone"] = {"patience_min": None}   # night callers hold on until someone answers
    behaviour = {"channels": {"phone": 1.0}, "report_delay_h": {"dist": "exponential", "mean": 0.2}}
    base["behaviour"] = {"drivers": behaviour}
    office, night = arms(base, {"operations": {"staff": {"phone": {"roster": duty}}}})
    contact = {k: (r.claims["first_contact_h"] - r.claims["reported_h"]).to_numpy() for k, r in
               (("office", office), ("night", night))}
    at_night = night_reports(office)
    assert at_night.sum() > 200
    assert np.nanmean(contact["office"][at_night]) > 4.0   # waiting for the morning
    assert np.nanmean(contact["night"][at_night]) < 0.4 * np.nanmean(contact["office"][at_night])
    assert night.figures["first_contact_hours"]["mean"] < office.figures["first_contact_hours"]["mean"]


def test_overtime_is_paid_beyond_the_standard_day() -> None:
    base = lever_doc(headcounts={"assessment": 10}, duration_h=48)
    ops = base["operations"]
    for spec in ops["staff"].values():   # everyone else on 24-hour duty paid as a 24-hour day: no overtime
        spec["standard_hours_per_day"] = 24
    ops["rosters"]["day"] = {"shifts": [{"start": 8, "end": 16}]}
    ops["rosters"]["long_day"] = {"shifts": [{"start": 7, "end": 19}]}
    ops["staff"]["assessment"].update({"roster": "day", "hourly_cost": 100.0, "overtime_factor": 1.5,
                                       "standard_hours_per_day": 8})
    day, long_day = arms(base, {"operations": {"staff": {"assessment": {"roster": "long_day"}}}})
    _, standard_12 = arms(base, {"operations": {"staff": {"assessment": {
        "roster": "long_day", "standard_hours_per_day": 12}}}})
    cost = {k: r.figures["cost"]["by_role"]["assessment"] for k, r in
            (("day", day), ("long", long_day), ("std12", standard_12))}
    # 10 assessors x 2 days: 8 h at 100 an hour; 12 h of which 4 at 1.5 x 100; 12 h paid straight
    assert 16_000 <= cost["day"] < 16_000 * 1.15     # (plus the jobs in hand finished after 16:00)
    assert cost["long"] >= 10 * 2 * (8 + 4 * 1.5) * 100
    assert 24_000 <= cost["std12"] < 24_000 * 1.15 < cost["long"]
    assert long_day.figures["overtime_hours"] >= 10 * 2 * 4
    assert day.figures["overtime_hours"] < 20 and standard_12.figures["overtime_hours"] < 20   # overruns only
    assert long_day.figures["cost"]["overtime_premium"] >= 10 * 2 * 4 * 100 * 0.5
    assert long_day.figures["cost"]["total"] > standard_12.figures["cost"]["total"] > day.figures["cost"]["total"]


# ---------------------------------------------------------------- surge call-out


SURGE = {"reserve": 6, "trigger_per_person": 5, "delay_h": 2, "hourly_cost": 150.0}


def surge_base() -> dict[str, Any]:
    base = lever_doc(headcounts={"assessment": 3})
    base["operations"]["staff"]["assessment"]["hourly_cost"] = 100.0
    return base


def call_outs(r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ev = r.events
    m = ev["code"] == int(Ev.CALL_OUT)
    return ev["t_h"][m], ev["claim_id"][m], ev["value"][m]


def test_surge_call_out_lowers_the_backlog_and_shows_in_cost() -> None:
    without, surge = arms(surge_base(), {"operations": {"staff": {"assessment": {"surge": SURGE}}}})
    same_incidents(without, surge)
    assert len(call_outs(without)[0]) == 0
    t, cid, value = call_outs(surge)
    assert len(t) == 1 and cid[0] == -1 and value[0] == 6
    # the call-out came at the first quarter-hour check with more than 5 waiting per person on duty (3) ...
    checks = np.arange(0.25, t[0] + 1e-9, 0.25)
    queue = waiting(without, "assessment", checks)
    assert checks[-1] == t[0] and queue[-1] > 15
    assert np.all(queue[:-1][checks[:-1] < 24] <= 15)   # (at 24:00 some assessors are between shifts)
    # ... and the six reserve assessors clock in `delay_h` later
    reserve = [s for s in surge.model.ops.staff if s.role == "assessment" and s.hourly_cost == 150.0]
    assert len(reserve) == 6
    ev = surge.events
    shift_start = ev["code"] == int(Ev.SHIFT_START)
    first_shift = [ev["t_h"][shift_start & (ev["staff_id"] == s.staff_id)].min() for s in reserve]
    assert np.allclose(first_shift, t[0] + 2.0)
    # backlog and latency lower, the reserve's hours in the cost
    assert np.nanmean(waits(surge, "assessment")) < 0.5 * np.nanmean(waits(without, "assessment"))
    assert surge.backlog["backlog_assessment"].max() < without.backlog["backlog_assessment"].max()
    assert surge.figures["settlement_latency_hours"]["mean"] < without.figures["settlement_latency_hours"]["mean"]
    hours_gained = surge.figures["staff_hours"]["assessment"] - without.figures["staff_hours"]["assessment"]
    assert hours_gained == pytest.approx(6 * (72 - t[0] - 2.0), rel=0.02)
    cost_gained = surge.figures["cost"]["by_role"]["assessment"] - without.figures["cost"]["by_role"]["assessment"]
    assert cost_gained >= 0.95 * hours_gained * 150.0


def test_no_call_out_when_the_trigger_is_never_reached() -> None:
    quiet, surge = arms(surge_base(), {"operations": {"staff": {"assessment": {
        "surge": {**SURGE, "trigger_per_person": 1e6}}}}})
    assert len(call_outs(surge)[0]) == 0
    assert sum(s.role == "assessment" for s in surge.model.ops.staff) == 3
    assert surge.figures["cost"]["total"] == pytest.approx(quiet.figures["cost"]["total"])
    pd.testing.assert_frame_equal(quiet.claims, surge.claims)


def test_surge_by_region_calls_out_only_the_pool_over_its_trigger() -> None:
    base = two_region_doc(headcounts={"field_survey": {"r1": 3, "r2": 3}, "video_survey": 0})
    _, surge = arms(base, {"operations": {"staff": {"field_survey": {"surge": {
        "reserve": {"r1": 4, "r2": 4}, "trigger_per_person": 3, "delay_h": 1}}}}})
    t, _, value = call_outs(surge)
    assert len(t) == 1 and value[0] == 4   # the busy region r1 only; quiet r2 never passes 3 a person
    pools = [s.pool for s in surge.model.ops.staff if s.role == "field_survey"]
    assert pools.count("r1") == 7 and pools.count("r2") == 3


# ---------------------------------------------------------------- moves between regions


MOVE = {"from_region": "r2", "to_region": "r1", "count": 4, "at_h": 2.0, "travel_h": 1.0}


def move_base() -> dict[str, Any]:
    return two_region_doc(headcounts={"field_survey": {"r1": 3, "r2": 6}, "video_survey": 0})


def test_moving_surveyors_to_the_busy_region_lowers_its_survey_wait() -> None:
    stay, moved = arms(move_base(), {"operations": {"staff": {"field_survey": {"moves": [MOVE]}}}})
    same_incidents(stay, moved)
    in_r1 = (stay.claims["region"] == "r1").to_numpy()
    w_stay, w_moved = waits(stay, "field_survey"), waits(moved, "field_survey")
    assert np.nanmean(w_moved[in_r1]) < 0.5 * np.nanmean(w_stay[in_r1])
    assert np.nanmean(w_stay[in_r1]) > 2.0
    ev = moved.events
    m = ev["code"] == int(Ev.STAFF_MOVED)
    assert ev["t_h"][m].tolist() == [2.0] and ev["claim_id"][m].tolist() == [-1] and ev["value"][m].tolist() == [4]
    pools = [s.pool for s in moved.model.ops.staff if s.role == "field_survey" and not s.retired]
    assert pools.count("r1") == 7 and pools.count("r2") == 2


def test_moved_surveyors_stop_serving_the_source_region() -> None:
    _, moved = arms(move_base(), {"operations": {"staff": {"field_survey": {"moves": [MOVE]}}}})
    staff = moved.model.ops.staff
    gone = {s.staff_id for s in staff if s.retired}
    arrived = {s.staff_id for s in staff[-4:]}   # the movers start over in r1 as the last four staff
    assert all(s.role == "field_survey" and s.pool == "r1" for s in staff[-4:])
    assert len(gone) == 4 and len(arrived) == 4
    ev, region = moved.events, moved.claims["region"].to_numpy()
    start = (ev["code"] == int(Ev.SURVEY_START)) & (ev["claim_id"] >= 0)
    # the people who left take no new survey after 2.0 h, anywhere
    assert not np.any(start & np.isin(ev["staff_id"], list(gone)) & (ev["t_h"] >= 2.0))
    # once there they survey only r1 claims, from 3.0 h (2.0 + 1.0 of travel)
    theirs = start & np.isin(ev["staff_id"], list(arrived))
    assert theirs.sum() > 10
    assert np.all(ev["t_h"][theirs] >= 3.0)
    assert set(region[ev["claim_id"][theirs]]) == {"r1"}
    # r2 claims after the move are surveyed only by the two who stayed
    r2_after = start & (ev["t_h"] >= 2.0) & (region[np.maximum(ev["claim_id"], 0)] == "r2")
    stayed = {s.staff_id for s in staff if s.role == "field_survey" and s.pool == "r2" and not s.retired}
    assert r2_after.sum() > 0 and set(ev["staff_id"][r2_after].tolist()) <= stayed


def test_a_moved_surveyor_finishes_the_job_in_hand_before_travelling() -> None:
    # r1's surveyors are always busy (3 h on site, a long queue), r2 has none until the movers arrive
    base = two_region_doc(headcounts={"field_survey": {"r1": 6, "r2": 0}, "video_survey": 0})
    base["operations"]["service"]["field_onsite_min"] = {"dist": "fixed", "value": 180}
    move = {"from_region": "r1", "to_region": "r2", "count": 3, "at_h": 9.5, "travel_h": 1.0}
    _, moved = arms(base, {"operations": {"staff": {"field_survey": {"moves": [move]}}}})
    staff = moved.model.ops.staff
    gone, arrived = [s for s in staff if s.retired], staff[-3:]
    assert len(gone) == 3 and all(s.pool == "r2" for s in arrived)
    ev = moved.events
    def shifts(people: list) -> list:
        return sorted((s.roster.start_h, s.roster.end_h) for s in people)

    assert shifts(arrived) == shifts(gone)
    # people arrive in the order they finish: pair the i-th to finish with the i-th to start in r2
    old_ends = sorted(ev["t_h"][(ev["code"] == int(Ev.SURVEY_END)) & (ev["staff_id"] == s.staff_id)].max()
                      for s in gone)
    new_starts = sorted(ev["t_h"][(ev["code"] == int(Ev.SURVEY_START)) & (ev["staff_id"] == s.staff_id)].min()
                        for s in arrived)
    for old_end, new_start in zip(old_ends, new_starts, strict=True):
        # the job in hand at 9.5 h ends after 9.5 h; only then the hour on the road, then work in r2
        assert old_end > 9.5
        assert new_start >= old_end + 1.0 - 1e-9, (old_end, new_start)


# ---------------------------------------------------------------- hand-offs, dispatch, chains


def test_shorter_hand_offs_lower_settlement_latency() -> None:
    base = lever_doc()
    base["operations"]["handoff_h"] = {"assessment": 4, "approval": {"dist": "exponential", "mean": 6}}
    slow, fast = arms(base, {"operations": {"handoff_h": {"assessment": 0.5, "approval": 1}}})
    same_incidents(slow, fast)
    c = slow.claims
    # the hand-off is a wait before the queue: assessment starts no earlier than 4 h after the survey
    ready = np.fmax.reduce([c[k].fillna(-1).to_numpy() for k in ("registered_h", "tow_end_h", "surveyed_h")])
    started = c["assessment_start_h"].notna().to_numpy()
    assert np.all(c["assessment_start_h"].to_numpy()[started] >= ready[started] + 4 - 1e-9)
    before, after, n = paired_latency(slow, fast)
    assert n > 500
    assert after < before - 3.0, (before, after)
    closed = (c["outcome"] == "closed_without_payment").to_numpy()  # they settle at the end of assessment
    before_c, after_c, n_c = paired_latency(slow, fast, closed)
    assert n_c > 100 and after_c < before_c - 3.0


def test_a_plan_can_change_the_family_of_a_hand_off(scenario_file) -> None:
    from sim.scenario import load_scenario

    doc = lever_doc()
    doc["operations"]["handoff_h"] = {"assessment": {"dist": "lognormal", "mean": 2, "cv": 0.5}, "approval": 4}
    doc["plans"] = {"quick": {"operations": {"handoff_h": {"assessment": {"dist": "exponential", "mean": 0.5}}}}}
    sf = load_scenario(scenario_file(doc))
    assert sf.resolve("quick").operations.handoff_h["assessment"].mean == 0.5


def test_a_hand_off_given_for_assessment_alone_leaves_approval_at_zero() -> None:
    base = lever_doc(duration_h=24)
    base["operations"]["handoff_h"] = {"assessment": 3}
    r = run(build(base), seed=SEED)
    c = r.claims
    approved = c["approval_start_h"].notna()
    assert approved.sum() > 50
    assert (c.loc[approved, "approval_start_h"] >= c.loc[approved, "assessed_h"]).all()


def dispatch_doc() -> dict[str, Any]:
    """Field surveyors are the bottleneck (no video track, 7 of them); a wide region, so trips vary."""
    doc = lever_doc(headcounts={"field_survey": 7, "video_survey": 0}, duration_h=96)
    doc["regions"][0]["service_radius_km"] = 40
    return doc


def distance_share(r) -> np.ndarray:
    """Each claim's distance from the branch as a share of the service radius (what dispatch ranks on)."""
    return np.sqrt(np.array([cl.draw(Slot.DISTANCE_R) for cl in r.model.claims]))


def test_nearest_first_dispatch_lowers_the_mean_field_survey_wait() -> None:
    fcfs, nearest = arms(dispatch_doc(), {"operations": {"dispatch": "nearest"}})
    same_incidents(fcfs, nearest)
    w_fcfs, w_near = np.nanmean(waits(fcfs, "field_survey")), np.nanmean(waits(nearest, "field_survey"))
    assert w_fcfs > 2.0
    assert w_near < 0.9 * w_fcfs, (w_fcfs, w_near)
    # shortest trips first: the near half waits less than the far half
    d = distance_share(nearest)
    w = waits(nearest, "field_survey")
    assert np.nanmean(w[d < 0.5]) < 0.2 * np.nanmean(w[d >= 0.5])


def test_remote_first_dispatch_lowers_the_wait_of_far_claims() -> None:
    fcfs, remote = arms(dispatch_doc(), {"operations": {"dispatch": "remote_first"}})
    d = distance_share(fcfs)
    far = d >= 0.7
    w_fcfs, w_remote = waits(fcfs, "field_survey"), waits(remote, "field_survey")
    assert np.isfinite(w_fcfs[far]).sum() > 50
    assert np.nanmean(w_remote[far]) < 0.75 * np.nanmean(w_fcfs[far])
    assert np.nanmean(w_remote[~far]) > np.nanmean(w_fcfs[~far])  # someone waits longer: the near claims


def durations(r, start: str, end: str) -> pd.Series:
    c = r.claims
    return (c[end] - c[start]).dropna()


def test_snow_chains_shorten_survey_and_tow_trips_in_snow() -> None:
    base = lever_doc(headcounts={"video_survey": 0}, snow_cm_h=3.0, snow_until_h=72, duration_h=48)
    none, chains = arms(base, {"operations": {"snow_chains": 1.0}})
    assert none.model.hazard.road_index.min() > 0.5   # snow on the roads all along
    for start, end in (("survey_start_h", "surveyed_h"), ("tow_start_h", "tow_end_h")):
        d_none, d_chains = durations(none, start, end), durations(chains, start, end)
        both = d_none.index.intersection(d_chains.index)
        assert len(both) > 100
        # the same trip (same claim, same distance and time on site) is never slower with chains ...
        assert np.all(d_chains[both].to_numpy() <= d_none[both].to_numpy() + 1e-9)
        # ... and with chains fitted it runs at the normal road speed (40 km/h), snow or not
        c = chains.model.claims
        slot = Slot.DISTANCE_R if start == "survey_start_h" else Slot.TOW_DISTANCE_R
        onsite_min = {"survey_start_h": 45, "tow_start_h": 30}[start]
        travel = np.array([15 * np.sqrt(c[i].draw(slot)) * 1.3 / 40 for i in both])
        assert np.all(d_chains[both].to_numpy() >= travel)
        assert d_chains[both].mean() < d_none[both].mean() - 0.1, (start, d_none[both].mean(), d_chains[both].mean())
        assert d_chains[both].mean() == pytest.approx(travel.mean() + onsite_min / 60, rel=0.1)
    # half the chains, half the slow-down won back: in between
    _, half = arms(base, {"operations": {"snow_chains": 0.5}})
    d_half = durations(half, "survey_start_h", "surveyed_h").mean()
    assert durations(chains, "survey_start_h", "surveyed_h").mean() < d_half
    assert d_half < durations(none, "survey_start_h", "surveyed_h").mean()


# ---------------------------------------------------------------- triage and service


def test_waived_surveys_skip_the_survey_and_settle_sooner() -> None:
    base = lever_doc(headcounts={"field_survey": 6, "video_survey": 0})
    surveyed, waived = arms(base, {"operations": {"triage": {"waive_survey_max_loss": 20000}}})
    same_incidents(surveyed, waived)
    c = waived.claims
    estimate = np.array([cl.estimate for cl in waived.model.claims])
    # claims that got as far as the survey stage (a claim still waiting for its tow has not been graded yet)
    towing = ~np.isnan(first(waived, Ev.QUEUED, ROLE_STAGE["tow"])) & c["tow_end_h"].isna().to_numpy()
    registered = c["registered_h"].notna().to_numpy() & ~towing
    needs_survey = c["track"].isin(["video", "field", "large_loss"]).to_numpy()
    expected = registered & needs_survey & (estimate <= 20000)
    w = ~np.isnan(first(waived, Ev.SURVEY_WAIVED))
    assert expected.sum() > 100
    assert np.array_equal(w, expected)   # exactly the surveyed tracks at or below the limit
    assert c.loc[w, "survey_start_h"].isna().all() and c.loc[w, "surveyed_h"].isna().all()
    assert c.loc[~w & needs_survey & registered, "survey_start_h"].notna().mean() > 0.9
    assert count_events(waived, Ev.SURVEY_WAIVED) == w.sum()
    before, after, n = paired_latency(surveyed, waived, w)
    assert n > 100 and after < before - 2.0, (before, after)
    assert waived.figures["settlement_latency_hours"]["mean"] < surveyed.figures["settlement_latency_hours"]["mean"]
    # the claims still surveyed wait less too: the surveyors have fewer trips
    rest = registered & needs_survey & ~w
    assert np.nanmean(waits(waived, "field_survey")[rest]) < np.nanmean(waits(surveyed, "field_survey")[rest])


def test_weather_certificate_delays_documents_of_surveyed_claims_only() -> None:
    base = lever_doc()
    base["operations"]["triage"] = {"waive_survey_max_loss": 8000}
    without, cert = arms(base, {"operations": {"service": {"weather_certificate_h": 24}}})
    c0, c1 = without.claims, cert.claims
    w = ~np.isnan(first(cert, Ev.SURVEY_WAIVED))
    surveyed = (c1["track"].isin(["video", "field", "large_loss"]).to_numpy() & ~w)
    done = (c0["documents_complete_h"].notna() & c1["documents_complete_h"].notna()).to_numpy()
    d0, d1 = c0["documents_complete_h"].to_numpy(), c1["documents_complete_h"].to_numpy()
    # fast track and waived claims: untouched, to the hour
    untouched = done & ~surveyed
    assert untouched.sum() > 200 and w[done].sum() > 20
    assert np.array_equal(d0[untouched], d1[untouched])
    # surveyed claims: later, by up to the 24 h of the certificate (less where approval was the later one)
    s = done & surveyed
    assert s.sum() > 100
    assert np.all(d1[s] >= d0[s] - 1e-9) and np.all(d1[s] <= d0[s] + 24 + 1e-9)
    assert np.mean(d1[s] - d0[s]) > 15
    before, after, _ = paired_latency(without, cert, surveyed)
    assert after > before + 10


def test_green_channel_shorter_documents_lower_latency() -> None:
    base = lever_doc(documents_mean_h=1.0, duration_h=120)
    documents = lambda means: {t: {"dist": "lognormal", "mean": m, "cv": 1.0}  # noqa: E731
                               for t, m in zip(TRACKS, means, strict=True)}
    base["operations"]["service"]["documents_h"] = documents((4, 24, 48, 120))   # the schema defaults
    green = documents((1, 8, 24, 72))
    slow, fast = arms(base, {"operations": {"service": {"documents_h": green}}})
    before, after, n = paired_latency(slow, fast)
    assert n > 800
    assert after < min(before - 3.0, 0.8 * before), (before, after)
    assert fast.figures["claims_settled"] > slow.figures["claims_settled"]
    assert fast.figures["settlement_latency_hours"]["p90"] < slow.figures["settlement_latency_hours"]["p90"]


def test_higher_fast_track_limit_puts_more_claims_on_the_fast_track() -> None:
    base = lever_doc(headcounts={"video_survey": 2}, documents_mean_h=2.0)
    base["operations"]["service"]["documents_h"]["video"] = {"dist": "exponential", "mean": 24}
    base["operations"]["triage"] = {"fast_track": {"max_loss": 5000, "incident_types": ["crash", "battery"]}}
    narrow, wide = arms(base, {"operations": {"triage": {"fast_track": {"max_loss": 20000}}}})
    n_narrow = int((narrow.claims["track"] == "fast_track").sum())
    n_wide = int((wide.claims["track"] == "fast_track").sum())
    assert n_wide > 1.3 * n_narrow
    moved = ((narrow.claims["track"] != "fast_track") & (wide.claims["track"] == "fast_track")).to_numpy()
    before, after, n = paired_latency(narrow, wide, moved)
    assert n > 100 and after < before - 5.0, (before, after)
    assert wide.figures["settlement_latency_hours"]["mean"] < narrow.figures["settlement_latency_hours"]["mean"]


def video_doc() -> dict[str, Any]:
    doc = lever_doc(headcounts={"video_survey": 1, "field_survey": 6})
    doc["operations"]["staff"]["video_survey"]["concurrent_cases"] = 1
    return doc


@pytest.mark.parametrize("more", [{"concurrent_cases": 4}, {"headcount": 4}], ids=["concurrent_cases", "headcount"])
def test_more_video_capacity_lowers_the_video_survey_wait(more: dict[str, int]) -> None:
    one, bigger = arms(video_doc(), {"operations": {"staff": {"video_survey": more}}})
    same_incidents(one, bigger)
    w_one, w_big = np.nanmean(waits(one, "video_survey")), np.nanmean(waits(bigger, "video_survey"))
    assert w_one > 2.0
    assert w_big < 0.3 * w_one, (w_one, w_big)


def test_video_track_lowers_the_survey_wait_when_field_surveyors_are_short() -> None:
    base = lever_doc(headcounts={"video_survey": 4, "field_survey": 6})
    base["operations"]["triage"] = {"video": {"enabled": False, "max_loss": 30000,
                                              "incident_types": ["crash", "flooded_vehicle", "burst_pipe"]}}
    field_only, video = arms(base, {"operations": {"triage": {"video": {"enabled": True}}}})
    assert (field_only.claims["track"] == "video").sum() == 0
    assert (video.claims["track"] == "video").sum() > 200
    survey_wait = lambda r: np.nanmean(np.fmin(waits(r, "field_survey"), waits(r, "video_survey")))  # noqa: E731
    assert survey_wait(video) < 0.5 * survey_wait(field_only)
    assert np.nanmean(waits(video, "field_survey")) < np.nanmean(waits(field_only, "field_survey"))


def test_large_loss_priority_lowers_large_loss_latency() -> None:
    base = lever_doc(headcounts={"assessment": 5, "field_survey": 6, "video_survey": 0})
    base["operations"]["triage"] = {"large_loss_min": 20000}
    equal, graded = arms(base, {"operations": {"triage": {"priority": {
        "large_loss": 0, "fast_track": 1, "video": 1, "field": 1}}}})
    large = (equal.claims["track"] == "large_loss").to_numpy()
    assert large.sum() > 30
    before, after, n = paired_latency(equal, graded, large)
    assert n > 20 and after < before - 2.0, (before, after)
    assert (graded.figures["settlement_latency_by_track"]["large_loss"]["mean"]
            < equal.figures["settlement_latency_by_track"]["large_loss"]["mean"])
    # the others pay for it
    others = ~large
    o_before, o_after, _ = paired_latency(equal, graded, others)
    assert o_after >= o_before


def test_prepayment_brings_the_first_payment_of_large_losses_forward() -> None:
    base = lever_doc(headcounts={"field_survey": 8, "video_survey": 0}, duration_h=120)
    base["operations"]["triage"] = {"large_loss_min": 20000}
    base["operations"]["service"]["documents_h"]["large_loss"] = {"dist": "lognormal", "mean": 72, "cv": 1.0}
    without, pre = arms(base, {"operations": {"prepayment": {"enabled": True, "share": 0.5, "min_loss": 20000}}})
    c = pre.claims
    prepaid = c["prepayment_h"].notna().to_numpy()
    assert prepaid.sum() > 20 and (c.loc[prepaid, "track"] == "large_loss").all()
    both = prepaid & c["paid_h"].notna().to_numpy()
    assert both.sum() > 10
    # the advance comes first (or, when it took longer than documents and payment, with the balance)
    assert (c.loc[both, "prepayment_h"] <= c.loc[both, "paid_h"]).all()
    assert (c.loc[both, "prepayment_h"] < c.loc[both, "paid_h"]).mean() > 0.8
    assert (c.loc[both, "first_payment_h"] == c.loc[both, "prepayment_h"]).all()
    fp0 = (without.claims["first_payment_h"] - without.claims["reported_h"]).to_numpy()
    fp1 = (c["first_payment_h"] - c["reported_h"]).to_numpy()
    paired = prepaid & ~np.isnan(fp0)
    assert paired.sum() > 10 and np.nanmean(fp1[paired]) < np.nanmean(fp0[paired]) - 12
    assert pre.figures["first_payment_hours"]["mean"] < without.figures["first_payment_hours"]["mean"]


# ---------------------------------------------------------------- channels and partners


def test_steering_reports_to_the_app_lowers_calls_and_abandonment() -> None:
    base = lever_doc(headcounts={"phone": 2})
    base["behaviour"] = {"drivers": {"channels": {"phone": 0.8, "app": 0.2}}}
    phone, app = arms(base, {"behaviour": {"drivers": {"channels": {"phone": 0.3, "app": 0.6, "video": 0.1}}}})
    same_incidents(phone, app)
    assert app.figures["phone"]["calls"] < 0.5 * phone.figures["phone"]["calls"]
    assert app.figures["abandonment_rate"] < 0.5 * phone.figures["abandonment_rate"]
    assert app.figures["claims_abandoned_reporting"] < phone.figures["claims_abandoned_reporting"]


def test_more_tow_units_lower_the_rescue_wait() -> None:
    base = two_region_doc(headcounts={"tow": {"r1": 3, "r2": 2}})
    few, many = arms(base, {"operations": {"staff": {"tow": {"headcount": {"r1": 8}}}}})
    in_r1 = (few.claims["region"] == "r1").to_numpy()
    w_few, w_many = waits(few, "tow"), waits(many, "tow")
    assert np.nanmean(w_few[in_r1]) > 1.0
    assert np.nanmean(w_many[in_r1]) < 0.3 * np.nanmean(w_few[in_r1])
    # r2's pool is unchanged, and so are its waits
    assert np.allclose(w_few[~in_r1], w_many[~in_r1], equal_nan=True)


def test_free_towing_means_more_tow_jobs_and_partner_fees() -> None:
    base = lever_doc()
    base["operations"]["staff"]["tow"]["fee_per_job"] = 300.0
    base["operations"]["rescue_share"] = {"crash": 0.3, "battery": 1.0}
    some, more = arms(base, {"operations": {"rescue_share": {"crash": 0.8, "battery": 1.0}}})
    jobs_some, jobs_more = count_events(some, Ev.TOW_END), count_events(more, Ev.TOW_END)
    assert jobs_more > 1.8 * jobs_some
    assert more.figures["cost"]["partner_fees"] == pytest.approx(300.0 * jobs_more)
    assert some.figures["cost"]["partner_fees"] == pytest.approx(300.0 * jobs_some)
    # the same claims towed, and more: a claim towed at 0.3 is towed at 0.8 (one uniform per claim)
    towed = lambda r: set(r.claims.loc[r.claims["tow_start_h"].notna(), "claim_id"])  # noqa: E731
    assert towed(some) <= towed(more)


# ---------------------------------------------------------------- risk reduction


def test_sms_warning_lowers_driver_crashes() -> None:
    base = lever_doc(duration_h=48)
    without, sms = arms(base, {"measures": {"sms_warning": {"enabled": True, "sent_h": 0, "coverage": 0.9,
                                                            "compliance": 0.5, "lasts_h": 48}}})
    crashes = lambda r: int((r.claims["incident_type"] == "crash").sum())  # noqa: E731
    assert crashes(without) > 300
    assert crashes(sms) < 0.8 * crashes(without)
    # common random numbers: a crash with the warning is a crash of the baseline, unless the baseline's car
    # had already crashed earlier (once off the road, it cannot crash again)
    crash_keys = lambda r: set(zip(*(r.claims.loc[r.claims["incident_type"] == "crash", k]  # noqa: E731
                                     for k in ("agent_id", "incident_h")), strict=True))
    first_crash = {}
    for agent, t in sorted(crash_keys(without), key=lambda k: k[1]):
        first_crash.setdefault(agent, t)
    extra = crash_keys(sms) - crash_keys(without)
    assert len(extra) < 0.1 * crashes(sms)
    assert all(agent in first_crash and first_crash[agent] < t for agent, t in extra)


def test_sms_warning_leaves_dead_batteries_alone() -> None:
    base = lever_doc(duration_h=48)
    without, sms = arms(base, {"measures": {"sms_warning": {"enabled": True, "sent_h": 0, "coverage": 0.9,
                                                            "compliance": 0.5, "lasts_h": 48}}})
    # the warning keeps cars off the road, not batteries alive: the same cars fail to start at the same time
    batteries = lambda r: set(zip(*(r.claims.loc[r.claims["incident_type"] == "battery", k]  # noqa: E731
                                    for k in ("agent_id", "incident_h")), strict=True))
    assert len(batteries(without)) > 0
    assert batteries(sms) == batteries(without)


def test_risk_visits_lower_roof_collapses_and_frost_claims() -> None:
    doc = minimal_doc(drivers=0, firms=800, farmers=800, duration_h=48, keyframes=[
        {"h": 0, "temp_c": -9, "snowfall_cm_h": 2.5}, {"h": 12, "snowfall_cm_h": 0}])
    doc["hazard"]["r1"]["interpolation"] = "step"
    doc["regions"][0]["portfolio"]["farmers"].update({"crops": {"vegetables": 1.0}, "greenhouse_share": 0.0})
    without, visited = arms(doc, {"measures": {"risk_visits": {"enabled": True, "firm_share": 0.5,
                                                               "farm_share": 0.5}}})
    kinds = lambda r, k: set(r.claims.loc[r.claims["incident_type"] == k, "agent_id"])  # noqa: E731
    for kind in ("roof_collapse", "crop_frost"):
        before, after = kinds(without, kind), kinds(visited, kind)
        assert len(before) > 30, kind
        assert len(after) < 0.85 * len(before), (kind, len(before), len(after))
        assert after <= before   # a visit only helps: nobody is hit because of it
