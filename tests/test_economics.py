"""Full economics: pay premiums, retainers, campaigns, leakage, claims cost and avoided losses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers import SMALL
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import economics
from sim.execution import RunSpec, run_replication
from sim.figures import figure
from sim.ops.log import Ev, RunRecord
from sim.scenario import load_scenario
from sim.scenario.costs import Costs


def run(plan: str = "baseline", seed: int = 7, hours: int = 24, overrides: dict | None = None) -> dict:
    import json

    return run_replication(RunSpec(str(SMALL), None, plan, seed, hours, None,
                                   json.dumps(overrides) if overrides else None))["figures"]


def test_window_hours_counts_a_window_that_passes_midnight() -> None:
    # clock = simulated time + 6 (start at 06:00); window 22:00-06:00 = simulated [16, 24) each day
    t0 = np.array([0.0, 10.0, 15.0, 20.0])
    t1 = np.array([8.0, 30.0, 17.0, 44.0])
    got = economics.window_hours(t0, t1, 22.0, 6.0, 6.0)
    assert got.tolist() == pytest.approx([0.0, 8.0, 1.0, 8.0])
    assert economics.window_hours(t0, t1, 0.0, 24.0, 6.0).tolist() == pytest.approx((t1 - t0).tolist())


def test_without_a_costs_section_operating_cost_is_staff_and_partner_cost() -> None:
    f = run()
    assert f["cost"] == pytest.approx(f["staff_partner_cost"])
    for k in ("economics.night_premium", "economics.rest_day_premium", "economics.retainers",
              "economics.campaigns", "leakage"):
        assert f[k] == 0.0
    assert f["net_cost"] == pytest.approx(f["cost"] + f["claims_cost"])


def test_night_premium_is_the_night_share_of_round_the_clock_pay() -> None:
    """The approver works 22:00-06:00 (all night pay); the two late phone agents 15:00-23:00 (one night hour)."""
    base = run(overrides={"operations": {"staff": {"tow": {"headcount": {"yc": 0, "sz": 0}}}}})
    night = run(overrides={"costs": {"night_premium": 0.5},
                           "operations": {"staff": {"tow": {"headcount": {"yc": 0, "sz": 0}}}}})
    sf = load_scenario(SMALL)
    staff = sf.resolve().operations.staff
    expected = 0.5 * (staff["approval"].hourly_cost * 8 + staff["phone"].hourly_cost * 2 * 1)
    assert night["economics.night_premium"] == pytest.approx(expected, rel=0.05)
    assert night["cost"] == pytest.approx(base["cost"] + night["economics.night_premium"])


def test_rest_day_premium_follows_the_calendar() -> None:
    # small starts on Thursday 14 Dec 2023: Saturday and Sunday are hours 42-90
    weekday = run(hours=24, overrides={"costs": {"rest_day_factor": 2.0}})
    assert weekday["economics.rest_day_premium"] == 0.0
    weekend = run(hours=90, overrides={"costs": {"rest_day_factor": 2.0}})
    plain = run(hours=90)
    assert weekend["economics.rest_day_premium"] > 0
    holiday = run(hours=24, overrides={"costs": {"holiday_factor": 3.0, "holidays": ["2023-12-14"]}})
    assert holiday["economics.rest_day_premium"] > 0
    assert weekend["cost"] == pytest.approx(plain["cost"] + weekend["economics.rest_day_premium"])
    assert dt.date(2023, 12, 16).weekday() == 5


def test_campaigns_and_retainers_are_priced_from_the_plan() -> None:
    costs = {"campaigns": {"sms_per_message": 0.1, "visit_per_firm": 500},
             "retainer_per_unit_day": {"tow": 100}, "reserve_retainer_per_day": {"assessment": 200}}
    f = run(plan="sms", hours=48, overrides={"costs": costs, "measures": {"risk_visits": {"enabled": True}},
                                             "operations": {"staff": {"assessment": {"surge": {"reserve": 3}}}}})
    drivers, firms = 3000 + 1500, 200 + 100
    sms = 0.1 * 1.0 * drivers                # the sms plan reaches every driver (coverage 1.0)
    visits = 500 * 0.3 * firms               # default visit share 0.3
    assert f["economics.campaigns"] == pytest.approx(sms + visits)
    assert f["economics.retainers"] == pytest.approx(100 * 5 * 2 + 200 * 3 * 2)   # 5 tow units, 2 days


def test_leakage_is_the_share_of_what_waived_and_simplified_claims_cost() -> None:
    ov = {"operations": {"triage": {"waive_survey_max_loss": 1e9}},
          "costs": {"leakage": {"waived_survey_share": 0.1}}}
    waived = run(hours=48, overrides=ov)
    assert waived["leakage"] > 0
    simple = run(hours=48, overrides={"costs": {"simplified_documents": True,
                                                "leakage": {"simplified_documents_share": 0.02}}})
    no_leak = run(hours=48)
    ultimate = no_leak["claims_cost"]
    assert simple["leakage"] == pytest.approx(0.02 * ultimate, rel=1e-9)
    assert simple["claims_cost"] == pytest.approx(ultimate * 1.02, rel=1e-9)


def test_prevention_lowers_losses_under_common_random_numbers() -> None:
    """The SMS plan keeps drivers at home: with the same seeds, fewer incidents and lower incurred losses."""
    for seed in (7, 8, 9):
        base, sms = run(seed=seed), run("sms", seed=seed)
        assert sms["losses"] < base["losses"]
        assert sms["claims_cost"] < base["claims_cost"]


def test_costs_schema_refuses_an_empty_night_window() -> None:
    with pytest.raises(ValueError, match="night window"):
        Costs(night_premium=0.2, night_start_h=6, night_end_h=6)


def test_money_figures_are_declared_once_with_their_direction() -> None:
    for name in ("cost", "claims_cost", "net_cost", "losses", "leakage", "economics.retainers"):
        f = figure(name)
        assert f.unit == "money" and f.better == "lower"
    assert figure("economics.operating_cost") is figure("cost")


def _walk_shifts(events: list[tuple[int, float, bool]], horizon: float) -> list[tuple[int, float, float]]:
    """The plain walk through the log that economics.shift_intervals vectorises (the reference)."""
    out, starts = [], {}
    for s, t, on in events:
        if on:
            starts[s] = t
        elif s in starts:
            out.append((s, starts.pop(s), t))
    return out + [(s, t, horizon) for s, t in starts.items()]


def _walk_days(shifts: list[tuple[int, float, float]], n_staff: int, horizon: float, offset: float) -> np.ndarray:
    n_days = int(np.ceil((horizon + offset) / 24.0)) + 1
    edges = np.arange(n_days + 1) * 24.0 - offset
    out = np.zeros((n_staff, n_days))
    for s, a, b in shifts:
        out[s] += np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0.0, None)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.floats(0, 1), st.booleans()), max_size=60),
       st.sampled_from([0.0, 6.0, 13.5]))
def test_shift_pairing_and_day_hours_match_a_walk_through_the_log(raw, offset) -> None:
    # events in time order, with ends that close nothing and starts that replace a pending start
    horizon = 120.0
    times = np.cumsum([gap * 9.0 for _, gap, _ in raw]).tolist()
    events = [(s, t, on) for (s, _, on), t in zip(raw, times, strict=True) if t < horizon]
    ev = {"code": np.array([int(Ev.SHIFT_START if on else Ev.SHIFT_END) for _, _, on in events], dtype=np.int16),
          "staff_id": np.array([s for s, _, _ in events], dtype=np.int32),
          "t_h": np.array([t for _, t, _ in events], dtype=float)}
    rec = RunRecord(ev, pd.DataFrame(), pd.DataFrame(), horizon, ("r",), offset)
    sid, t0, t1 = economics.shift_intervals(rec)
    want = _walk_shifts(events, horizon)
    assert list(zip(sid.tolist(), t0.tolist(), t1.tolist(), strict=True)) == want  # same shifts, same order
    got_days = economics.day_hours(sid, t0, t1, 5, horizon, offset)
    assert np.array_equal(got_days, _walk_days(want, 5, horizon, offset))  # the same sums, bit for bit
