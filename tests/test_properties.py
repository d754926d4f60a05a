"""Properties of every run of random small scenarios: causal timestamps, a complete partition of
incidents into outcomes, no claim lost or duplicated, and determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from helpers import SMALL, build, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import runner
from sim.scenario import load_scenario
from sim.vocab import REQUIRED_ROLES, ROLES, STAGES

OUTCOMES = {"paid", "closed_without_payment", "withdrawn", "abandoned", "open", "unreported"}

# ---------------------------------------------------------------- random small scenarios

ROSTERS = {
    "h24": {"shifts": [{"start": 0, "end": 24}]},
    "office": {"shifts": [{"start": 8, "end": 17}]},
    "two": {"shifts": [{"start": 7, "end": 15, "share": 0.5}, {"start": 15, "end": 23, "share": 0.5}]},
    "night": {"shifts": [{"start": 22, "end": 30}]},
}


@st.composite
def keyframes(draw) -> list[dict]:
    hours = sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=5)))
    frames = []
    for i, h in enumerate(hours):
        frame: dict = {"h": h + draw(st.sampled_from([0, 0.5]))}
        if i == 0 or draw(st.booleans()):
            frame["temp_c"] = draw(st.integers(-30, 6))
        if draw(st.booleans()):
            frame["snowfall_cm_h"] = draw(st.sampled_from([0, 0.2, 1, 2.5, 5]))
        if draw(st.integers(0, 4)) == 0:
            frame["rain_mm_h"] = draw(st.sampled_from([0, 25, 60]))
        if draw(st.integers(0, 4)) == 0:
            frame["wind_ms"] = draw(st.sampled_from([5, 20]))
        if draw(st.integers(0, 5)) == 0:
            frame["ice_mm_h"] = draw(st.sampled_from([0.5, 2]))
        frames.append(frame)
    return frames


@st.composite
def scenarios(draw) -> dict:
    n_regions = draw(st.integers(1, 2))
    ids = ["north", "south"][:n_regions]
    regions = []
    for rid in ids:
        regions.append({
            "id": rid, "name": rid.title(), "service_radius_km": draw(st.sampled_from([5, 20, 60])),
            "road_speed_kmh": draw(st.sampled_from([20, 50])),
            "portfolio": {
                "drivers": {"count": draw(st.integers(0, 1500))},
                "firms": {"count": draw(st.integers(0, 200)),
                          "roof_types": {"light_steel": 0.5, "concrete": 0.5}},
                "farmers": {"count": draw(st.integers(0, 80)), "greenhouse_share": draw(st.sampled_from([0, 0.5])),
                            "crops": {"wheat": 0.5, "vegetables": 0.5}},
                "households": {"count": draw(st.integers(0, 1000))},
            }})
    if sum(r["portfolio"][t]["count"] for r in regions for t in ("drivers", "firms", "farmers", "households")) == 0:
        regions[0]["portfolio"]["drivers"]["count"] = 500
    staff = {}
    for role in ROLES:
        optional = role not in REQUIRED_ROLES
        if optional and draw(st.booleans()):
            continue  # an optional role left out: not modelled as a queue
        roster = draw(st.sampled_from(sorted(ROSTERS)))
        if optional:
            headcount = draw(st.integers(1, 3))
        elif role in ("field_survey", "tow") and draw(st.booleans()):
            headcount: int | dict = {rid: draw(st.integers(0, 3)) for rid in ids}
        else:
            headcount = draw(st.integers(0, 4) if role != "phone" else st.integers(0, 8))
        staff[role] = {"headcount": headcount, "roster": roster, "hourly_cost": 50,
                       "leave_share": draw(st.sampled_from([0, 0.2]))}
    staff["video_survey"]["concurrent_cases"] = draw(st.integers(1, 3))
    channels = draw(st.sampled_from([{"phone": 1.0}, {"phone": 0.6, "app": 0.3, "video": 0.1}, {"app": 1.0}]))
    day, hour, minute = draw(st.integers(1, 9)), draw(st.integers(0, 23)), draw(st.sampled_from([0, 30]))
    doc = {
        "name": "prop",
        "start": f"2024-01-0{day}T{hour:02d}:{minute:02d}:00",
        "duration_h": draw(st.integers(12, 36)),
        "seed": 0,
        "regions": regions,
        "hazard": {rid: {"interpolation": draw(st.sampled_from(["linear", "step"])),
                         "first_snow_of_season": draw(st.booleans()), "keyframes": draw(keyframes())}
                   for rid in ids},
        "behaviour": {"drivers": {"channels": channels},
                      "firms": {"report_delay_h": {"dist": "exponential", "mean": draw(st.sampled_from([0.5, 4]))}}},
        "operations": {
            "rosters": ROSTERS,
            "staff": staff,
            "phone": {"patience_min": draw(st.sampled_from([None, {"dist": "exponential", "mean": 3}])),
                      "max_attempts": draw(st.integers(1, 4)), "retry_share": draw(st.sampled_from([0, 0.7, 1])),
                      "fallback_to_app_share": draw(st.sampled_from([0, 0.3]))},
            "triage": {"large_loss_min": draw(st.sampled_from([50_000, 200_000]))},
            "prepayment": {"enabled": draw(st.booleans()), "min_loss": 50_000},
            "outcomes": {"deductible": draw(st.sampled_from([0, 500])), "withdraw_share": 0.1},
        },
        "measures": {"sms_warning": {"enabled": draw(st.booleans())},
                     "risk_visits": {"enabled": draw(st.booleans())}},
        "vulnerability": {"drivers": {"crash_per_vehicle_h": draw(st.sampled_from([1e-4, 5e-4, 2e-3])),
                                      "battery_per_vehicle_h": 5e-5}},
    }
    if draw(st.booleans()):  # quick paperwork, so that many claims get paid within the run
        quick = {"dist": "exponential", "mean": 1.0}
        doc["operations"]["service"] = {
            "documents_h": {t: quick for t in ("fast_track", "video", "field", "large_loss")},
            "payment_lag_h": quick}
        doc["behaviour"]["farmers"] = {"report_delay_h": quick, "report_after_storm": draw(st.booleans())}
    return doc


# ---------------------------------------------------------------- the properties


def check_order(c: pd.DataFrame, earlier: str, later: str) -> None:
    a, b = c[earlier].to_numpy(), c[later].to_numpy()
    both = ~np.isnan(a) & ~np.isnan(b)
    bad = both & (a > b + 1e-9)
    assert not bad.any(), f"{earlier} > {later} for claims {c.loc[bad, 'claim_id'].tolist()[:5]}"


def check_implies(c: pd.DataFrame, present: str, required: str) -> None:
    bad = c[present].notna() & c[required].isna()
    assert not bad.any(), f"{present} without {required} for claims {c.loc[bad, 'claim_id'].tolist()[:5]}"


ORDER = [
    ("incident_h", "reported_h"), ("reported_h", "answered_h"), ("answered_h", "registered_h"),
    ("reported_h", "registered_h"), ("registered_h", "triaged_h"), ("reported_h", "first_contact_h"),
    ("triaged_h", "tow_start_h"), ("tow_start_h", "tow_end_h"), ("tow_end_h", "survey_start_h"),
    ("triaged_h", "survey_start_h"), ("survey_start_h", "surveyed_h"), ("surveyed_h", "assessment_start_h"),
    ("tow_end_h", "assessment_start_h"), ("triaged_h", "assessment_start_h"),
    ("assessment_start_h", "assessed_h"), ("assessed_h", "approval_start_h"), ("approval_start_h", "approved_h"),
    ("assessed_h", "approved_h"), ("approved_h", "documents_complete_h"), ("assessed_h", "documents_complete_h"),
    ("registered_h", "documents_complete_h"), ("documents_complete_h", "paid_h"), ("registered_h", "paid_h"),
    ("assessed_h", "paid_h"), ("surveyed_h", "prepayment_h"), ("first_payment_h", "paid_h"),
    ("assessed_h", "closed_no_payment_h"), ("assessed_h", "withdrawn_h"), ("reported_h", "gave_up_h"),
    ("reported_h", "settled_h"),
]

IMPLIES = [
    ("answered_h", "reported_h"), ("registered_h", "reported_h"), ("triaged_h", "registered_h"),
    ("registered_h", "triaged_h"), ("tow_end_h", "tow_start_h"), ("surveyed_h", "survey_start_h"),
    ("assessed_h", "assessment_start_h"), ("approved_h", "approval_start_h"), ("paid_h", "documents_complete_h"),
    ("paid_h", "assessed_h"), ("closed_no_payment_h", "assessed_h"), ("withdrawn_h", "assessed_h"),
    ("documents_complete_h", "assessed_h"), ("first_contact_h", "reported_h"), ("gave_up_h", "reported_h"),
    ("prepayment_h", "triaged_h"), ("first_payment_h", "registered_h"),
]


def check_run(r, horizon: float) -> None:
    c = r.claims
    n = len(c)
    # every incident is one claim: ids 0..n-1, none lost or duplicated
    assert list(c["claim_id"]) == list(range(n))
    assert n == r.model.claim_count
    logged = np.unique(r.events["claim_id"][r.events["claim_id"] >= 0])
    assert set(logged.tolist()) <= set(range(n))
    incident_events = r.events["claim_id"][r.events["code"] == 0]
    assert sorted(incident_events.tolist()) == list(range(n))
    # timestamps in causal order, none after the horizon
    times = [col for col in c.columns if col.endswith("_h")]
    for col in times:
        v = c[col].to_numpy(dtype=float)
        assert np.all(np.isnan(v) | ((v >= 0) & (v <= horizon + 1e-9))), col
    # a re-inspection (a supplement's survey) comes after the first assessment: leave those claims out of the
    # front line's order
    front = c[~c["reinspected"].to_numpy(dtype=bool)]
    for earlier, later in ORDER:
        check_order(front if "survey" in earlier or "surveyed" in later else c, earlier, later)
    for present, required in IMPLIES:
        check_implies(c, present, required)
    fp = np.fmin(c["prepayment_h"], c["paid_h"])
    assert np.array_equal(np.isnan(fp), np.isnan(c["first_payment_h"]))
    assert np.allclose(fp.dropna(), c["first_payment_h"].dropna())
    settled = np.fmin(c["paid_h"], c["closed_no_payment_h"])
    assert np.array_equal(np.isnan(settled), c["settled_h"].isna())
    assert np.allclose(settled.dropna(), c["settled_h"].dropna())
    # tracks: surveys only where the track has one, and every assessed survey track was surveyed first
    tracked = c[c["track"].notna()]
    assert set(tracked["track"]) <= {"fast_track", "video", "field", "large_loss"}
    # a fast-track claim is surveyed only if a supplement sends a surveyor back (re-inspection)
    assert c.loc[(c["track"] == "fast_track") & ~c["reinspected"], "survey_start_h"].isna().all()
    surveyed_tracks = tracked[tracked["track"] != "fast_track"]
    assert not (surveyed_tracks["assessment_start_h"].notna() & surveyed_tracks["surveyed_h"].isna()).any()
    # outcomes: a partition of the incidents
    assert set(c["outcome"]) <= OUTCOMES
    ends = c[["paid_h", "closed_no_payment_h", "withdrawn_h", "gave_up_h"]].notna().sum(axis=1)
    assert (ends <= 1).all()
    reopened_open = c["reopened_h"].notna() & ~(c["final_closed_h"] > c["reopened_h"])
    expect = np.select(
        [reopened_open, c["paid_h"].notna(), c["closed_no_payment_h"].notna(), c["withdrawn_h"].notna(),
         c["gave_up_h"].notna(), c["reported_h"].isna()],
        ["open", "paid", "closed_without_payment", "withdrawn", "abandoned", "unreported"], "open")
    assert list(c["outcome"]) == list(expect)
    counts = c["outcome"].value_counts().to_dict()
    assert sum(counts.values()) == n
    f = r.figures
    assert f["incidents_total"] == n
    assert f["claims_total"] == n - counts.get("unreported", 0) == int(c["reported_h"].notna().sum())
    assert f["claims_paid"] == counts.get("paid", 0)
    assert f["claims_closed_without_payment"] == counts.get("closed_without_payment", 0)
    assert f["claims_settled"] == f["claims_paid"] + f["claims_closed_without_payment"]
    assert f["claims_abandoned_reporting"] == counts.get("abandoned", 0)
    assert f["claims_open"] == counts.get("open", 0)
    assert f["incidents_unreported"] == counts.get("unreported", 0)
    assert (f["claims_settled"] + f["claims_withdrawn"] + f["claims_open"] + f["incidents_unreported"]
            == f["incidents_total"])
    # no negative latency
    for key in ("settlement_latency_hours", "first_contact_hours", "first_payment_hours"):
        s = f[key]
        if s["n"]:
            assert s["p50"] >= 0 and s["mean"] >= 0 and s["p50"] <= s["p90"] <= s["p99"]
    # phone figures agree with the claims table
    ph = f["phone"]
    assert ph["calls"] == int(c["calls"].sum())
    assert ph["abandoned"] == int(c["calls_abandoned"].sum())
    assert ph["answered"] == int(c["answered_h"].notna().sum())
    if ph["abandonment_rate"] is not None:
        assert 0 <= ph["abandonment_rate"] <= 1 and 0 <= ph["service_level_20s"] <= 1
    # money
    paid = c["outcome"] == "paid"
    advanced = c["prepayment_h"].notna() | c["reopened_h"].notna() | (c["track"] == "large_loss")
    assert (c.loc[~paid & ~advanced, "paid_amount"] == 0).all()
    assert (c.loc[paid, "paid_amount"] > 0).all() or (c.loc[paid, "loss_amount"] <= 500).any()
    assert (c["paid_amount"] >= 0).all()
    # backlog: every open claim is in exactly one stage at each hour's end
    b = r.backlog
    assert len(b) == int(horizon)
    stages = b[[f"backlog_{s}" for s in STAGES]]
    assert (stages >= 0).all().all()
    assert (stages.sum(axis=1) == b["backlog_open"]).all()
    assert b["incidents"].sum() == n
    assert b["reports"].sum() == f["claims_total"]
    assert b["settled"].sum() == f["claims_settled"]
    # queues: what they say is waiting is what is in them
    for q in r.model.ops.queues.values():
        assert len(q) == len(q.jobs())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_claims_table_invariants(doc: dict, seed: int) -> None:
    sc = build(doc)
    r = run(sc, seed=seed)
    check_run(r, sc.duration_h)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=scenarios(), seed=st.integers(0, 2**32 - 1), cut=st.integers(1, 11))
def test_invariants_hold_when_paused(doc: dict, seed: int, cut: int) -> None:
    """A run read before its horizon (hours=) is a consistent run of its own."""
    sc = build(doc)
    r = run(sc, seed=seed, hours=cut)
    check_run(r, cut)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_same_scenario_and_seed_give_the_same_claims(doc: dict, seed: int) -> None:
    sc = build(doc)
    a = run(sc, seed=seed)
    b = run(build(doc), seed=seed)
    pd.testing.assert_frame_equal(a.claims, b.claims)
    assert a.figures == b.figures


def test_small_scenario_invariants_every_plan() -> None:
    sf = load_scenario(SMALL)
    for plan in sf.plans:
        sc = sf.resolve(plan)
        for seed in (1, 2):
            check_run(run(sc, seed=seed), sc.duration_h)


def test_claims_parquet_byte_identical(tmp_path: Path) -> None:
    sf = load_scenario(SMALL)
    for plan in ("baseline", "prepay"):
        a = runner.write(runner.simulate(sf, plan, seed=3), tmp_path / "a" / plan)
        b = runner.write(runner.simulate(sf, plan, seed=3), tmp_path / "b" / plan)
        for name in ("claims.parquet", "events.parquet", "series.parquet"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), (plan, name)
        claims = pq.read_table(a / "claims.parquet").to_pandas()
        assert len(claims) > 50
    c = runner.write(runner.simulate(sf, "baseline", seed=4), tmp_path / "c")
    assert (c / "claims.parquet").read_bytes() != (tmp_path / "a" / "baseline" / "claims.parquet").read_bytes()
