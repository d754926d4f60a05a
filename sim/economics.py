"""The full economics of one run: operating cost with pay premiums, retainers and campaigns; claims cost.

Called from `sim.metrics.figures` (the `economics` block of summary.json; figures declared in
sim/figures.py). Everything comes from the event log, the claim facts and the scenario's `costs:` section
(sim/scenario/costs.py), in the scenario's currency:

- operating cost = staff pay with overtime (sim.metrics.staff_figures) + night premium + rest-day and holiday
  premium + partner fees per job + retainers + SMS and visit campaigns;
- claims cost = payments made (PREPAYMENT, PAYMENT) + the expected payment of claims still open or not yet
  reported at the end of the run (their loss less the deductible, times the covered share) + leakage (the
  documented overpayment share of claims settled without a survey, on the fast track, or with simplified
  documents);
- net cost = operating cost + claims cost. Losses a prevention measure avoids show as a lower `loss_total`
  (losses incurred) under common random numbers; compare reports them against the baseline.

Counting open and unreported claims at their expected payment keeps a faster plan from looking dearer
only because it paid more within the horizon.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.ops.log import Ev, RunRecord
from sim.scenario.costs import WEEKDAYS

if TYPE_CHECKING:
    from sim.scenario import Scenario


def shift_intervals(rec: RunRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(staff id, start, end) of every shift, from SHIFT_START/SHIFT_END events (open ones end at the horizon).

    Each end closes its person's pending start (an end with none pending is ignored; a second start replaces
    the first). Shifts come in the order of their ends, then the open ones in the order they opened (the order
    a walk through the log would give them; sums over them are then the same to the last bit). Vectorised: a
    million-claim run has millions of shifts."""
    ev = rec.events
    code = ev["code"]
    both = np.flatnonzero((code == int(Ev.SHIFT_START)) | (code == int(Ev.SHIFT_END)))
    if not len(both):
        empty = np.zeros(0)
        return empty.astype(np.int64), empty, empty.copy()
    s = ev["staff_id"][both].astype(np.int64)
    t = ev["t_h"][both].astype(float)
    is_on = code[both] == int(Ev.SHIFT_START)
    order = np.lexsort((np.arange(len(s)), s))          # by person, then as logged
    s_o, on_o = s[order], is_on[order]
    same_prev = np.zeros(len(order), dtype=bool)
    same_prev[1:] = s_o[1:] == s_o[:-1]
    # an end closes a shift when the person's previous event is a start
    closes = ~on_o & same_prev & np.roll(on_o, 1)
    end_pos = order[closes]
    start_pos = order[np.flatnonzero(closes) - 1]
    # open at the horizon: a person whose last event is a start; it opened (for the order) at the first start
    # of that final run of starts
    last = np.ones(len(order), dtype=bool)
    last[:-1] = s_o[:-1] != s_o[1:]
    open_last = np.flatnonzero(last & on_o)
    first_of_run = open_last.copy()
    for k in range(len(first_of_run)):  # runs of starts without an end are rare and short
        j = first_of_run[k]
        while j > 0 and same_prev[j] and on_o[j - 1]:
            j -= 1
        first_of_run[k] = j
    by_opening = np.argsort(order[first_of_run], kind="stable")
    open_pos = order[open_last][by_opening]
    by_end = np.argsort(end_pos, kind="stable")
    sid = np.concatenate((s[end_pos[by_end]], s[open_pos]))
    t0 = np.concatenate((t[start_pos[by_end]], t[open_pos]))
    t1 = np.concatenate((t[end_pos[by_end]], np.full(len(open_pos), float(rec.horizon_h))))
    return sid, t0, t1


def window_hours(t0: np.ndarray, t1: np.ndarray, start_h: float, end_h: float, clock_offset_h: float) -> np.ndarray:
    """Hours of each interval [t0, t1) (simulated hours) inside the daily clock window [start_h, end_h).

    The window may pass midnight (end_h <= start_h: 22 to 6).
    """
    length = (end_h - start_h) % 24.0 or 24.0
    out = np.zeros(len(t0))
    if not len(t0):
        return out
    first = math.floor((float(t0.min()) + clock_offset_h) / 24.0) - 1
    last = math.floor((float(t1.max()) + clock_offset_h) / 24.0) + 1
    for day in range(first, last + 1):
        ws = day * 24.0 + start_h - clock_offset_h
        out += np.clip(np.minimum(t1, ws + length) - np.maximum(t0, ws), 0.0, None)
    return out


def day_hours(sid: np.ndarray, t0: np.ndarray, t1: np.ndarray, n_staff: int, horizon: float,
              clock_offset_h: float) -> np.ndarray:
    """Hours each person worked on each clock day (day 0 is the scenario's start date), from their shifts.

    Each shift's hours are added day by day in the order of the shifts (the same sums, to the last bit, as
    adding the shifts one after the other)."""
    n_days = int(math.ceil((horizon + clock_offset_h) / 24.0)) + 1
    edges = np.arange(n_days + 1) * 24.0 - clock_offset_h
    out = np.zeros((n_staff, n_days))
    if not len(sid):
        return out
    first = np.clip(np.floor((t0 + clock_offset_h) / 24.0).astype(np.int64), 0, n_days - 1)
    last = np.clip(np.floor((t1 + clock_offset_h) / 24.0).astype(np.int64), 0, n_days - 1)
    span = np.maximum(last - first, 0) + 1
    rows, days, hours, keys = [], [], [], []
    for k in range(int(span.max())):
        m = np.flatnonzero(span > k)
        day = first[m] + k
        rows.append(sid[m])
        days.append(day)
        hours.append(np.clip(np.minimum(edges[day + 1], t1[m]) - np.maximum(edges[day], t0[m]), 0.0, None))
        keys.append(m * (int(span.max()) + 1) + k)
    order = np.argsort(np.concatenate(keys), kind="stable")
    np.add.at(out, (np.concatenate(rows)[order], np.concatenate(days)[order]), np.concatenate(hours)[order])
    return out


def _headcount(value: int | dict[str, int]) -> int:
    return int(sum(value.values())) if isinstance(value, dict) else int(value)


def economics(rec: RunRecord, claims: pd.DataFrame, scenario: Scenario, staff_cost: dict[str, Any]) -> dict[str, Any]:
    """The economics block of a run's figures (see the module docstring); `staff_cost` is staff_figures' cost."""
    costs = scenario.costs
    staff = rec.staff
    rate = staff["hourly_cost"].to_numpy(dtype=float) if len(staff) else np.zeros(0)
    sid, t0, t1 = shift_intervals(rec)
    # night premium
    night = 0.0
    if costs.night_premium > 0 and len(sid):
        hours = window_hours(t0, t1, costs.night_start_h, costs.night_end_h, rec.clock_offset_h)
        night = float((rate[sid] * hours).sum() * costs.night_premium)
    # rest-day and holiday premium: the day's hours at the day's factor, instead of regular plus overtime pay
    rest = 0.0
    if (costs.rest_day_factor > 1 or costs.holiday_factor > 1) and len(sid):
        days = day_hours(sid, t0, t1, len(staff), rec.horizon_h, rec.clock_offset_h)
        first = scenario.start.date()
        factor = np.ones(days.shape[1])
        for k in range(days.shape[1]):
            date = first + dt.timedelta(days=k)
            if date in costs.holidays:
                factor[k] = costs.holiday_factor
            elif WEEKDAYS[date.weekday()] in costs.rest_days:
                factor[k] = costs.rest_day_factor
        std = staff["standard_hours_per_day"].to_numpy(dtype=float)[:, None]
        ot = staff["overtime_factor"].to_numpy(dtype=float)[:, None]
        usual = np.minimum(days, std) + np.clip(days - std, 0.0, None) * ot
        extra = np.clip(days * factor[None, :] - usual, 0.0, None) * (factor[None, :] > 1)
        rest = float((rate[:, None] * extra).sum())
    # retainers, per day of the run
    run_days = rec.horizon_h / 24.0
    retainers = 0.0
    for role, price in costs.retainer_per_unit_day.items():
        retainers += price * _headcount(scenario.operations.staff[role].headcount) * run_days
    for role, price in costs.reserve_retainer_per_day.items():
        surge = scenario.operations.staff[role].surge
        if surge is not None:
            retainers += price * _headcount(surge.reserve) * run_days
    # campaigns
    m = scenario.measures
    sms = (costs.campaigns.sms_per_message * m.sms_warning.coverage * scenario.policyholders("drivers")
           if m.sms_warning.enabled else 0.0)
    visits = ((costs.campaigns.visit_per_firm * m.risk_visits.firm_share * scenario.policyholders("firms")
               + costs.campaigns.visit_per_farm * m.risk_visits.farm_share * scenario.policyholders("farmers"))
              if m.risk_visits.enabled else 0.0)
    # claims cost: payments, the expected payment of what is still open or unreported, leakage
    outcomes = scenario.operations.outcomes
    paid = claims["paid_amount"].to_numpy(dtype=float) if len(claims) else np.zeros(0)
    paid = np.nan_to_num(paid)
    loss = claims["loss_amount"].to_numpy(dtype=float) if len(claims) else np.zeros(0)
    pending = claims["outcome"].isin(["open", "unreported"]).to_numpy() if len(claims) else np.zeros(0, bool)
    expected = np.clip(loss - outcomes.deductible, 0.0, None) * (1.0 - outcomes.not_covered_share)
    ultimate = np.where(pending, np.maximum(expected, paid), paid)
    outstanding = float((ultimate - paid).sum())
    waived_ids = rec.events["claim_id"][rec.events["code"] == int(Ev.SURVEY_WAIVED)]
    waived = np.isin(claims["claim_id"].to_numpy(), waived_ids) if len(claims) else np.zeros(0, bool)
    fast = (claims["track"] == "fast_track").to_numpy() if len(claims) else np.zeros(0, bool)
    lk = costs.leakage
    leakage = float(lk.waived_survey_share * ultimate[waived].sum() + lk.fast_track_share * ultimate[fast].sum()
                    + (lk.simplified_documents_share * ultimate.sum() if costs.simplified_documents else 0.0))
    operating = float(staff_cost.get("total", 0.0)) + night + rest + retainers + sms + visits
    claims_cost = float(paid.sum()) + outstanding + leakage
    return {
        "currency": scenario.currency,
        "staff_and_partners": float(staff_cost.get("total", 0.0)),
        "night_premium": night,
        "rest_day_premium": rest,
        "retainers": retainers,
        "sms": sms,
        "visits": visits,
        "campaigns": sms + visits,
        "operating_cost": operating,
        "payments": float(paid.sum()),
        "outstanding": outstanding,
        "leakage": leakage,
        "claims_cost": claims_cost,
        "net_cost": operating + claims_cost,
        "claims_waived_survey": int(waived.sum()),
    }
