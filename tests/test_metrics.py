"""Figures from the event log against cases that can be checked by hand or by identity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import build, minimal_doc, run

from sim import metrics
from sim.ops.log import Ev, RunRecord, ordered_events
from sim.stats import censored_quantiles

# ---------------------------------------------------------------- a hand-written event log

NAN = float("nan")


def record(events: list[tuple], claims: list[dict], horizon: float, staff: pd.DataFrame | None = None) -> RunRecord:
    t, cid, code, sid, value = zip(*[e + (-1, NAN)[len(e) - 3:] for e in events], strict=True)
    raw = {"t_h": np.array(t, float), "claim_id": np.array(cid, np.int64), "code": np.array(code, np.int16),
           "staff_id": np.array(sid, np.int32), "value": np.array(value, float)}
    facts = pd.DataFrame({
        "claim_id": np.arange(len(claims), dtype=np.int64),
        "agent_type": [c.get("agent_type", "driver") for c in claims],
        "agent_id": np.arange(len(claims), dtype=np.int64),
        "region": ["r1"] * len(claims),
        "incident_type": [c.get("incident_type", "crash") for c in claims],
        "loss_amount": [c.get("loss", 1000.0) for c in claims],
        "channel": [c.get("channel", "phone") for c in claims],
        "incident_h": [c["incident_h"] for c in claims],
    })
    if staff is None:
        staff = pd.DataFrame(columns=["staff_id", "role", "pool", "slots", "hourly_cost", "overtime_factor",
                                      "standard_hours_per_day", "fee_per_job"])
    return RunRecord(ordered_events(raw), facts, staff, horizon, ("r1",))


def hand_log() -> RunRecord:
    """Claim 0: phone, answered at once, fast track, paid. Claim 1: two calls (one abandoned), field survey,
    closed without payment. Claim 2: gave up reporting. Claim 3: not yet reported. Claim 4: app, withdrawn.
    Claim 5: app, still waiting for assessment at the horizon."""
    E = Ev
    ev = [
        (0.2, 0, E.INCIDENT), (0.5, 0, E.CALL_PLACED, -1, 0), (0.5, 0, E.FIRST_CONTACT, 0),
        (0.5, 0, E.CALL_ANSWERED, 0),
        (0.6, 0, E.CALL_ENDED, 0), (0.6, 0, E.REGISTERED), (0.6, 0, E.TRIAGED, -1, 0),
        (0.6, 0, E.QUEUED, -1, 3), (1.5, 0, E.ASSESSMENT_START, 5), (1.7, 0, E.ASSESSMENT_END, 5),
        (1.7, 0, E.AWAITING_DOCUMENTS), (3.0, 0, E.DOCUMENTS_COMPLETE), (4.25, 0, E.PAYMENT, -1, 800.0),
        (0.3, 1, E.INCIDENT), (1.0, 1, E.CALL_PLACED, -1, 0), (1.05, 1, E.CALL_ABANDONED, -1, 0),
        (1.5, 1, E.CALL_PLACED, -1, 1), (1.6, 1, E.FIRST_CONTACT, 0), (1.6, 1, E.CALL_ANSWERED, 0),
        (1.7, 1, E.CALL_ENDED, 0), (1.7, 1, E.REGISTERED), (1.7, 1, E.TRIAGED, -1, 2),
        (1.7, 1, E.QUEUED, -1, 2), (2.2, 1, E.SURVEY_START, 3, 1), (3.4, 1, E.SURVEY_END, 3),
        (3.4, 1, E.QUEUED, -1, 3), (3.5, 1, E.ASSESSMENT_START, 5), (4.5, 1, E.ASSESSMENT_END, 5),
        (4.5, 1, E.CLOSED_NO_PAYMENT),
        (0.4, 2, E.INCIDENT), (0.9, 2, E.CALL_PLACED, -1, 0), (0.95, 2, E.CALL_ABANDONED, -1, 0),
        (0.95, 2, E.GAVE_UP),
        (0.8, 3, E.INCIDENT),
        (1.1, 4, E.INCIDENT), (1.2, 4, E.APP_REPORT), (1.2, 4, E.REGISTERED), (1.2, 4, E.TRIAGED, -1, 0),
        (1.2, 4, E.QUEUED, -1, 3), (2.0, 4, E.FIRST_CONTACT, 5), (2.0, 4, E.ASSESSMENT_START, 5),
        (2.1, 4, E.ASSESSMENT_END, 5), (2.1, 4, E.AWAITING_DOCUMENTS), (3.9, 4, E.WITHDRAWN),
        (2.5, 5, E.INCIDENT), (2.7, 5, E.APP_REPORT), (2.7, 5, E.REGISTERED), (2.7, 5, E.TRIAGED, -1, 0),
        (2.7, 5, E.QUEUED, -1, 3),
    ]
    claims = [{"incident_h": t} for t in (0.2, 0.3, 0.4, 0.8, 1.1, 2.5)]
    claims[0]["loss"] = 800.0
    return record(ev, claims, 5.0)


def test_claims_table_from_a_hand_written_log() -> None:
    rec = hand_log()
    c = metrics.claims_table(rec)
    assert list(c["outcome"]) == ["paid", "closed_without_payment", "abandoned", "unreported", "withdrawn", "open"]
    assert [None if pd.isna(t) else t for t in c["track"]] == [
        "fast_track", "field", None, None, "fast_track", "fast_track"]
    assert c.loc[0, "reported_h"] == 0.5 and c.loc[0, "settled_h"] == 4.25 and c.loc[0, "paid_h"] == 4.25
    assert c.loc[0, "paid_amount"] == 800.0 and c.loc[0, "first_payment_h"] == 4.25
    assert c.loc[1, "reported_h"] == 1.0 and c.loc[1, "answered_h"] == 1.6 and c.loc[1, "registered_h"] == 1.7
    assert c.loc[1, "first_contact_h"] == 1.6 and c.loc[1, "surveyed_h"] == 3.4 and c.loc[1, "settled_h"] == 4.5
    assert list(c["calls"]) == [1, 2, 1, 0, 0, 0]
    assert list(c["calls_abandoned"]) == [0, 1, 1, 0, 0, 0]
    assert c.loc[2, "gave_up_h"] == 0.95 and math.isnan(c.loc[2, "registered_h"])
    assert math.isnan(c.loc[3, "reported_h"])
    assert c.loc[4, "reported_h"] == 1.2 and c.loc[4, "withdrawn_h"] == 3.9 and math.isnan(c.loc[4, "settled_h"])
    assert c.loc[1, "paid_amount"] == 0


def test_figures_from_a_hand_written_log() -> None:
    rec = hand_log()
    c = metrics.claims_table(rec)
    backlog = metrics.backlog_series(c, rec.events, 5)
    f = metrics.figures(rec, c, backlog)
    assert f["incidents_total"] == 6
    assert f["claims_total"] == 5
    assert f["claims_settled"] == 2 and f["claims_paid"] == 1 and f["claims_closed_without_payment"] == 1
    assert f["claims_abandoned_reporting"] == 1
    assert f["claims_withdrawn"] == 2  # withdrawn, plus gave up reporting
    assert f["claims_open"] == 1 and f["incidents_unreported"] == 1
    lat = f["settlement_latency_hours"]
    assert lat["n"] == 2
    assert lat["mean"] == pytest.approx(((4.25 - 0.5) + (4.5 - 1.0)) / 2)
    assert f["first_contact_hours"]["n"] == 3
    assert f["first_contact_hours"]["p50"] == pytest.approx(0.6)  # 0, 0.6 and 0.8 hours
    assert f["paid_or_prepaid_within_7d_share"] == pytest.approx(1 / 5)
    assert f["loss_total"] == pytest.approx(800 + 5 * 1000)
    assert f["paid_total"] == pytest.approx(800)
    ph = f["phone"]
    assert (ph["calls"], ph["answered"], ph["abandoned"]) == (4, 2, 2)
    assert f["abandonment_rate"] == pytest.approx(0.5)
    # answered within 20 s: claim 0 (0 s); claim 1's second call waited 6 minutes
    assert f["service_level_20s"] == pytest.approx(1 / 4)
    assert ph["mean_wait_min"] == pytest.approx((0 + 6) / 2)
    assert ph["p_wait"] == pytest.approx(3 / 4)


def test_backlog_by_stage_from_a_hand_written_log() -> None:
    rec = hand_log()
    c = metrics.claims_table(rec)
    b = metrics.backlog_series(c, rec.events, 5).set_index("hour")
    # end of hour 0 (t=1): claim 0 waits for assessment; claim 1's first call is placed at 1.0
    assert b.loc[0, "backlog_assessment"] == 1 and b.loc[0, "backlog_reporting"] == 1
    assert b.loc[0, "backlog_open"] == 2
    # t=2: claim 0 in documents, claim 1 waits for its survey, claim 4 waits for assessment
    assert (b.loc[1, "backlog_documents"], b.loc[1, "backlog_survey"], b.loc[1, "backlog_assessment"]) == (1, 1, 1)
    assert b.loc[1, "backlog_open"] == 3
    # t=5: only claim 5 is open, waiting for assessment
    assert b.loc[4, "backlog_open"] == 1 and b.loc[4, "backlog_assessment"] == 1
    stages = [col for col in b.columns if col.startswith("backlog_") and col != "backlog_open"]
    assert (b[stages].sum(axis=1) == b["backlog_open"]).all()
    assert list(b["incidents"]) == [4, 1, 1, 0, 0]
    assert list(b["reports"]) == [2, 2, 1, 0, 0]
    assert list(b["settled"]) == [0, 0, 0, 0, 2]


def test_backlog_peak_and_cleared_hour() -> None:
    rec = hand_log()
    c = metrics.claims_table(rec)
    backlog = metrics.backlog_series(c, rec.events, 48)
    # ordinary load of 5 open claims, a surge to 20 at hour 11, back to normal from hour 17
    backlog["backlog_open"] = [5] * 10 + [20] + [12] * 5 + [5] * 32
    b = metrics.figures(rec, c, backlog)["backlog"]
    assert (b["peak"], b["peak_hour"], b["normal_level"], b["cleared_hour"]) == (20, 11, 5.0, 17)
    # 10% of the way from the normal level to the peak still counts as cleared: 5 + 1.5 = 6.5
    backlog["backlog_open"] = [5] * 10 + [20] + [12] * 5 + [6] + [5] * 31
    assert metrics.figures(rec, c, backlog)["backlog"]["cleared_hour"] == 17
    # a run that ends at its peak never clears
    backlog["backlog_open"] = list(range(48))
    b = metrics.figures(rec, c, backlog)["backlog"]
    assert (b["peak"], b["peak_hour"], b["cleared_hour"]) == (47, 48, None)
    # no claim ever open: no peak hour
    backlog["backlog_open"] = [0] * 48
    b = metrics.figures(rec, c, backlog)["backlog"]
    assert (b["peak"], b["peak_hour"], b["cleared_hour"]) == (0, None, None)


# ---------------------------------------------------------------- Kaplan-Meier


def test_km_quantiles_without_censoring_are_plain_percentiles() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 7, 100, 1001):
        d = rng.exponential(10.0, n)
        q = censored_quantiles(d, np.ones(n, dtype=bool))
        for p in (50, 90, 99):
            assert q[f"p{p}"] == pytest.approx(float(np.percentile(d, p, method="inverted_cdf")))
            if n >= 100:  # and close to the interpolated percentile
                assert q[f"p{p}"] == pytest.approx(float(np.percentile(d, p)), rel=0.05)


def test_km_quantiles_with_censoring_by_hand() -> None:
    d = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    obs = np.array([True, True, False, True, True])
    # S: 0.8 after 1, 0.6 after 2, censored at 3, 0.3 after 4, 0 after 5
    assert censored_quantiles(d, obs) == {"p50": 4.0, "p90": 5.0, "p99": 5.0}
    # counting the censored one as done would understate the median
    assert np.percentile(d[obs], 50) < 4.0


def test_km_quantiles_not_reached() -> None:
    d = np.arange(1.0, 11.0)
    obs = np.zeros(10, dtype=bool)
    obs[:3] = True
    q = censored_quantiles(d, obs)
    assert q == {"p50": None, "p90": None, "p99": None}
    assert censored_quantiles(d, np.zeros(10, dtype=bool)) == {"p50": None, "p90": None, "p99": None}
    obs[:6] = True
    assert censored_quantiles(d, obs)["p50"] == 5.0 and censored_quantiles(d, obs)["p90"] is None


# ---------------------------------------------------------------- figures of whole runs


def ample_doc(hours: int = 48) -> dict:
    doc = minimal_doc(drivers=3000, duration_h=hours, headcounts={
        "phone": 60, "video_survey": 30, "field_survey": 30, "tow": 60, "assessment": 60, "approval": 30})
    doc["vulnerability"]["drivers"] |= {"crash_per_vehicle_h": 3e-4}
    return doc


def test_ample_staff_no_abandonment_full_service_level() -> None:
    r = run(build(ample_doc()), seed=5)
    f = r.figures
    assert f["phone"]["calls"] > 20
    assert f["abandonment_rate"] == 0.0
    assert f["service_level_20s"] == 1.0
    assert f["phone"]["p_wait"] == 0.0 and f["phone"]["mean_wait_min"] == 0.0
    assert f["claims_abandoned_reporting"] == 0
    c = r.claims
    called = c[c["calls"] > 0]
    assert (called["answered_h"] == called["reported_h"]).all()
    assert (called["calls"] == 1).all()
    # nobody waits for staff: a fast-tracked claim with no tow is assessed as soon as it is triaged
    direct = c[(c["track"] == "fast_track") & c["tow_start_h"].isna()].dropna(subset=["assessment_start_h"])
    assert len(direct) > 10
    assert np.allclose(direct["assessment_start_h"], direct["triaged_h"])


def test_littles_law_on_the_backlog() -> None:
    """L = lambda W: the time-average of open claims equals the report rate times the mean time in system
    (each claim counted up to the horizon). The backlog is sampled at hour ends, so they agree closely."""
    hours = 240
    doc = minimal_doc(drivers=20000, duration_h=hours, keyframes=[{"h": 0, "temp_c": -8, "snowfall_cm_h": 0.3}],
                      headcounts={"phone": 6, "video_survey": 3, "field_survey": 4, "tow": 5, "assessment": 6,
                                  "approval": 2})
    doc["hazard"]["r1"]["interpolation"] = "step"
    doc["vulnerability"]["drivers"] |= {"crash_per_vehicle_h": 3e-4}
    r = run(build(doc), seed=8)
    c = r.claims
    reported = c["reported_h"].to_numpy()
    exit_h = np.fmin.reduce([c[k].to_numpy() for k in ("settled_h", "withdrawn_h", "gave_up_h")])
    rep = ~np.isnan(reported)
    time_in_system = np.where(np.isnan(exit_h), hours, exit_h)[rep] - reported[rep]
    assert rep.sum() > 1000
    lam = rep.sum() / hours
    w = time_in_system.mean()
    big_l = r.backlog["backlog_open"].mean()
    assert big_l == pytest.approx(lam * w, rel=0.02)
    # the same identity per stage: claims in reporting. Reporting takes minutes, so each claim is seen at
    # an hour end or not at all: the sampled count is about Poisson, sd = sqrt(claim-hours) / hours.
    rep_exit = np.fmin(c["registered_h"].to_numpy(), c["gave_up_h"].to_numpy())
    in_rep = (np.where(np.isnan(rep_exit), hours, rep_exit)[rep] - reported[rep]).sum()
    sd = max(np.sqrt(in_rep), 1.0) / hours
    assert r.backlog["backlog_reporting"].mean() == pytest.approx(in_rep / hours, abs=5 * sd)


def cost_doc(hours: int) -> dict:
    """Every claim is fast-tracked and needs no tow, so survey and approval staff have no work."""
    doc = minimal_doc(drivers=2000, duration_h=hours, headcounts={
        "phone": 4, "video_survey": 2, "field_survey": 3, "tow": 2, "assessment": 4, "approval": 1})
    ops = doc["operations"]
    ops["rosters"]["office"] = {"shifts": [{"start": 8, "end": 16}]}
    ops["rosters"]["long"] = {"shifts": [{"start": 6, "end": 18}]}
    ops["staff"]["field_survey"].update({"roster": "office", "hourly_cost": 70})
    ops["staff"]["approval"].update({"roster": "office", "hourly_cost": 90})
    ops["staff"]["video_survey"].update({"roster": "long", "hourly_cost": 60, "concurrent_cases": 3,
                                         "overtime_factor": 2.0})
    ops["staff"]["tow"].update({"fee_per_job": 300})
    ops["triage"] = {"fast_track": {"max_loss": 1e12, "incident_types": ["crash", "battery"]},
                     "large_loss_min": 1e12}
    ops["rescue_share"] = {"battery": 1.0}
    doc["vulnerability"]["drivers"] |= {"battery_per_vehicle_h": 2e-4}
    return doc


def test_staff_cost_is_headcount_times_hours_times_rate() -> None:
    r = run(build(cost_doc(36)), seed=2)  # starts at midnight: shifts of day 1 are cut at the 36 h horizon
    f = r.figures
    assert set(r.claims["track"].dropna()) == {"fast_track"}
    # office 08-16: 8 h on day 0, 4 h (32-36) on day 1
    assert f["staff_hours"]["field_survey"] == pytest.approx(3 * 12)
    assert f["cost"]["by_role"]["field_survey"] == pytest.approx(3 * 12 * 70)
    assert f["cost"]["by_role"]["approval"] == pytest.approx(1 * 12 * 90)
    assert f["utilisation"]["field_survey"] == 0.0 and f["utilisation"]["approval"] == 0.0
    # 06-18 is 12 h against a standard 8 h day: 4 h of overtime at double rate on day 0, 6 h (30-36) on day 1
    assert f["staff_hours"]["video_survey"] == pytest.approx(2 * 18)
    assert f["cost"]["by_role"]["video_survey"] == pytest.approx(2 * 60 * (8 + 4 * 2.0 + 6))
    # tow partners are paid by the job
    tows = int(r.claims["tow_end_h"].notna().sum())
    assert tows > 10
    assert f["cost"]["by_role"]["tow"] == pytest.approx(300 * tows)
    assert f["cost"]["partner_fees"] == pytest.approx(300 * tows)
    assert f["cost"]["total"] == pytest.approx(sum(f["cost"]["by_role"].values()))
    assert f["cost"]["total"] == pytest.approx(f["cost"]["staff"] + f["cost"]["partner_fees"])


def test_utilisation_of_busy_roles_is_a_share() -> None:
    r = run(build(cost_doc(48)), seed=3)
    util = r.figures["utilisation"]
    for role in ("phone", "assessment"):
        assert 0 < util[role] <= 1
    # busy time of the assessors is the sum of their jobs' durations (jobs still open count to the horizon)
    c = r.claims
    done = (c["assessed_h"] - c["assessment_start_h"]).sum()
    in_hand = (48 - c.loc[c["assessment_start_h"].notna() & c["assessed_h"].isna(), "assessment_start_h"]).sum()
    capacity = r.figures["staff_hours"]["assessment"]
    assert util["assessment"] == pytest.approx((done + in_hand) / capacity)


def test_series_covers_every_hour(small_yaml) -> None:
    from sim.runner import simulate
    from sim.scenario import load_scenario

    res = simulate(load_scenario(small_yaml), "baseline", seed=1, hours=20)
    s = res.series
    assert len(s) == 20 and list(s["hour"]) == list(range(20))
    for col in ("backlog_open", "incidents", "reports", "settled", "temp_c.yc", "snow_depth_cm.sz",
                "on_duty_phone", "busy_assessment", "waiting_field_survey"):
        assert col in s.columns, col
    assert s["incidents"].sum() == len(res.claims)
    assert res.summary["hours"] == 20 and res.summary["horizon_h"] == 20


def test_idle_surveyor_costs_the_same_whatever_the_concurrent_cases() -> None:
    costs = {}
    for slots in (1, 3):
        doc = minimal_doc(drivers=10, duration_h=72, headcounts={"phone": 1, "video_survey": 1})
        doc["operations"]["staff"]["video_survey"].update({"concurrent_cases": slots, "hourly_cost": 10})
        f = run(build(doc), seed=1).figures
        assert f["utilisation"]["video_survey"] == 0.0
        costs[slots] = f["cost"]["by_role"]["video_survey"]
    # three 24-hour days: 8 regular and 16 overtime hours a day at 1.5 x 10
    assert costs[1] == pytest.approx(3 * (8 * 10 + 16 * 15))
    assert costs[3] == pytest.approx(costs[1])
