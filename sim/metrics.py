"""Figures from the event log (DESIGN rule 6): the claims table, hourly series and headline figures.

Every figure here is computed from the ordered event log (plus the static facts of each claim and
each staff member), so any number in a report can be traced back to the claims behind it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.economics import day_hours, economics, shift_intervals
from sim.ops.log import CLOSING, JOB_ENDS, JOB_STARTS, SURVEY_REINSPECTION, Ev, RunRecord
from sim.stages import backlog_by_stage, progress, stage_intervals
from sim.stats import censored_quantiles
from sim.vocab import DISPUTE_ROUTES, ROLES, SEGMENT_OF, SERVICE_LEVEL_S, TRACKS

if TYPE_CHECKING:
    from sim.scenario import Scenario

PERCENTILES = (50, 90, 99)
# The surge is "cleared" once the open backlog is back within 10% of the way from the run's normal level
# (median over its last day) to its peak; a run whose end is its peak never clears.
CLEARED_SHARE = 0.1


def _first(ev: dict[str, np.ndarray], n: int, code: Ev, value: float | None = None) -> np.ndarray:
    """Time of each claim's first event of a kind (NaN where it never happened)."""
    out = np.full(n, np.nan)
    mask = ev["code"] == int(code)
    if value is not None:
        mask &= ev["value"] == value
    np.fmin.at(out, ev["claim_id"][mask], ev["t_h"][mask])
    return out


def _value_of_first(ev: dict[str, np.ndarray], n: int, code: Ev) -> np.ndarray:
    out = np.full(n, np.nan)
    mask = ev["code"] == int(code)
    ids = ev["claim_id"][mask][::-1]           # assign in reverse so the first occurrence wins
    out[ids] = ev["value"][mask][::-1]
    return out


def _last(ev: dict[str, np.ndarray], n: int, codes: tuple[Ev, ...]) -> np.ndarray:
    """Time of each claim's last event of these kinds (NaN where none)."""
    out = np.full(n, np.nan)
    mask = np.isin(ev["code"], [int(c) for c in codes]) & (ev["claim_id"] >= 0)
    np.fmax.at(out, ev["claim_id"][mask], ev["t_h"][mask])
    return out


def _sum(ev: dict[str, np.ndarray], n: int, codes: tuple[Ev, ...]) -> np.ndarray:
    """Sum of the values of each claim's events of these kinds (amounts paid, supplements)."""
    mask = np.isin(ev["code"], [int(c) for c in codes]) & (ev["claim_id"] >= 0)
    return np.bincount(ev["claim_id"][mask], weights=np.nan_to_num(ev["value"][mask]), minlength=n)


def _count_value(ev: dict[str, np.ndarray], n: int, code: Ev, value: float) -> np.ndarray:
    mask = (ev["code"] == int(code)) & (ev["value"] == value) & (ev["claim_id"] >= 0)
    return np.bincount(ev["claim_id"][mask], minlength=n)


def _count(ev: dict[str, np.ndarray], n: int, code: Ev) -> np.ndarray:
    mask = ev["code"] == int(code)
    return np.bincount(ev["claim_id"][mask], minlength=n).astype(np.int32)


def claims_table(rec: RunRecord) -> pd.DataFrame:
    """One row per claim: its facts, every timestamp of its life (hours since start), and its outcome."""
    ev = rec.events
    df = rec.claims.copy()
    n = len(df)
    t = {
        "reported_h": np.fmin(_first(ev, n, Ev.CALL_PLACED), _first(ev, n, Ev.APP_REPORT)),
        "answered_h": _first(ev, n, Ev.CALL_ANSWERED),
        "first_contact_h": _first(ev, n, Ev.FIRST_CONTACT),
        "registered_h": _first(ev, n, Ev.REGISTERED),
        "triaged_h": _first(ev, n, Ev.TRIAGED),
        "tow_start_h": _first(ev, n, Ev.TOW_START),
        "tow_end_h": _first(ev, n, Ev.TOW_END),
        "survey_start_h": _first(ev, n, Ev.SURVEY_START),
        "surveyed_h": _first(ev, n, Ev.SURVEY_END),
        "assessment_start_h": _first(ev, n, Ev.ASSESSMENT_START),
        "assessed_h": _first(ev, n, Ev.ASSESSMENT_END),
        "approval_start_h": _first(ev, n, Ev.APPROVAL_START),
        "approved_h": _first(ev, n, Ev.APPROVAL_END),
        "documents_complete_h": _first(ev, n, Ev.DOCUMENTS_COMPLETE),
        "prepayment_h": _first(ev, n, Ev.PREPAYMENT),
        "paid_h": _first(ev, n, Ev.PAYMENT),
        "closed_no_payment_h": _first(ev, n, Ev.CLOSED_NO_PAYMENT),
        "withdrawn_h": _first(ev, n, Ev.WITHDRAWN),
        "gave_up_h": _first(ev, n, Ev.GAVE_UP),
        "came_back_h": _first(ev, n, Ev.CAME_BACK),
        "total_loss_h": _first(ev, n, Ev.TOTAL_LOSS),
        "repair_start_h": _first(ev, n, Ev.REPAIR_START),
        "repaired_h": _last(ev, n, (Ev.REPAIR_END,)),
        "dispute_h": _first(ev, n, Ev.DISPUTE),
        "reopened_h": _first(ev, n, Ev.REOPENED),
        "final_closed_h": _last(ev, n, CLOSING),
    }
    t["first_payment_h"] = np.fmin(t["prepayment_h"], t["paid_h"])
    t["settled_h"] = np.fmin(t["paid_h"], t["closed_no_payment_h"])
    t["closed_h"] = np.fmin.reduce([t["settled_h"], t["withdrawn_h"], t["gave_up_h"]])
    for key, col in t.items():
        df[key] = col
    df["calls"] = _count(ev, n, Ev.CALL_PLACED)
    df["calls_abandoned"] = _count(ev, n, Ev.CALL_ABANDONED)
    track = _value_of_first(ev, n, Ev.TRIAGED)
    df["track"] = [TRACKS[int(x)] if not math.isnan(x) else None for x in track]
    df["prepayment_amount"] = _value_of_first(ev, n, Ev.PREPAYMENT)
    df["paid_amount"] = _sum(ev, n, (Ev.PAYMENT, Ev.PARTIAL_PAYMENT, Ev.PREPAYMENT))
    df["supplements"] = _count(ev, n, Ev.SUPPLEMENT)
    df["supplement_amount"] = _sum(ev, n, (Ev.SUPPLEMENT,))
    df["reinspected"] = _count_value(ev, n, Ev.SURVEY_START, SURVEY_REINSPECTION) > 0
    df["document_chases"] = _count(ev, n, Ev.DOCUMENT_CHASE)
    route = _value_of_first(ev, n, Ev.DISPUTE)
    df["dispute_route"] = [DISPUTE_ROUTES[int(x)] if not math.isnan(x) else None for x in route]
    df["dispute_amount"] = _sum(ev, n, (Ev.DISPUTE_RESOLVED,))
    df["salvage_amount"] = _sum(ev, n, (Ev.SALVAGE,))
    outcome = np.full(n, "open", dtype=object)
    outcome[np.isnan(t["reported_h"])] = "unreported"
    outcome[~np.isnan(t["gave_up_h"])] = "abandoned"
    outcome[~np.isnan(t["withdrawn_h"])] = "withdrawn"
    outcome[~np.isnan(t["closed_no_payment_h"])] = "closed_without_payment"
    outcome[~np.isnan(t["paid_h"])] = "paid"
    # a reopened claim is open again until it closes once more
    reopened = ~np.isnan(t["reopened_h"]) & ~(t["final_closed_h"] > t["reopened_h"])
    outcome[reopened] = "open"
    df["outcome"] = outcome
    return df


def _summary(x: np.ndarray) -> dict[str, float | int | None]:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "mean": None}
    q = np.percentile(x, PERCENTILES)
    return {"n": int(x.size), "p50": float(q[0]), "p90": float(q[1]), "p99": float(q[2]),
            "mean": float(x.mean())}


def backlog_series(claims: pd.DataFrame, ev: dict[str, np.ndarray], hours: int) -> pd.DataFrame:
    """Claims waiting in each stage at the end of each hour, all open claims, and hourly flows."""
    out: dict[str, np.ndarray] = {"hour": np.arange(hours)}
    out.update(backlog_by_stage(stage_intervals(ev, float(hours)), hours))
    n = len(claims)
    reported = claims["reported_h"].to_numpy()

    def per_hour(times: np.ndarray) -> np.ndarray:
        times = times[~np.isnan(times)]
        return np.bincount(np.floor(times).astype(int).clip(0, hours - 1), minlength=hours)[:hours] \
            if times.size else np.zeros(hours, dtype=int)

    out["incidents"] = per_hour(claims["incident_h"].to_numpy()) if n else np.zeros(hours, dtype=int)
    out["reports"] = per_hour(reported)
    out["settled"] = per_hour(claims["settled_h"].to_numpy())
    return pd.DataFrame(out)


def staff_figures(rec: RunRecord) -> dict[str, Any]:
    """Utilisation and cost per role from shift and job events in the log."""
    ev, staff, horizon = rec.events, rec.staff, rec.horizon_h
    if staff.empty:  # nobody on any staff list: the same figures, all zero
        return {"utilisation": {role: None for role in ROLES}, "staff_hours": {role: 0.0 for role in ROLES},
                "overtime_hours": 0.0, "cost": {"staff": 0.0, "overtime_premium": 0.0, "partner_fees": 0.0,
                                                "by_role": {role: 0.0 for role in ROLES}, "total": 0.0}}
    sid = ev["staff_id"]
    n_staff = len(staff)
    # Each shift start paired with the next end of the same person (or the horizon); the hours worked on each
    # clock day: overtime is what a day holds beyond the standard day.
    worked = day_hours(*shift_intervals(rec), n_staff, horizon, rec.clock_offset_h)
    shift_hours = worked.sum(axis=1)
    std = staff["standard_hours_per_day"].to_numpy()
    overtime_hours = np.clip(worked - std[:, None], 0.0, None).sum(axis=1)
    # Busy time: job start and end events carry the staff id.
    busy = np.zeros(n_staff)
    start_codes = [int(c) for c in JOB_STARTS]
    end_codes = [int(c) for c in JOB_ENDS]
    job_start = np.isin(ev["code"], start_codes) & (sid >= 0)
    job_end = np.isin(ev["code"], end_codes) & (sid >= 0)
    np.add.at(busy, sid[job_end], ev["t_h"][job_end])
    np.subtract.at(busy, sid[job_start], ev["t_h"][job_start])
    # jobs still in hand at the horizon count up to the horizon
    open_jobs = np.bincount(sid[job_start], minlength=n_staff) - np.bincount(sid[job_end], minlength=n_staff)
    busy += open_jobs * horizon
    fees = np.bincount(sid[job_end], minlength=n_staff) * staff["fee_per_job"].to_numpy()
    regular = shift_hours - overtime_hours
    cost = staff["hourly_cost"].to_numpy() * (regular + overtime_hours * staff["overtime_factor"].to_numpy())
    util: dict[str, float | None] = {}
    cost_by_role: dict[str, float] = {}
    hours_by_role: dict[str, float] = {}
    for role in ROLES:
        m = (staff["role"] == role).to_numpy()
        capacity = float((shift_hours[m] * staff["slots"].to_numpy()[m]).sum())
        util[role] = float(busy[m].sum() / capacity) if capacity > 0 else None
        cost_by_role[role] = float(cost[m].sum() + fees[m].sum())
        hours_by_role[role] = float(shift_hours[m].sum())
    return {
        "utilisation": util,
        "staff_hours": hours_by_role,
        "overtime_hours": float(overtime_hours.sum()),
        "cost": {
            "staff": float(cost.sum()),
            "overtime_premium": float((staff["hourly_cost"].to_numpy() * overtime_hours
                                       * (staff["overtime_factor"].to_numpy() - 1)).sum()),
            "partner_fees": float(fees.sum()),
            "by_role": cost_by_role,
            "total": float(cost.sum() + fees.sum()),
        },
    }


def phone_figures(ev: dict[str, np.ndarray]) -> dict[str, float | int | None]:
    """Phone line: calls offered, abandonment, service level within 20 s and waits, per call attempt."""
    placed = ev["code"] == int(Ev.CALL_PLACED)
    answered = ev["code"] == int(Ev.CALL_ANSWERED)
    abandoned = ev["code"] == int(Ev.CALL_ABANDONED)
    n_calls = int(placed.sum())
    if n_calls == 0:
        return {"calls": 0, "answered": 0, "abandoned": 0, "abandonment_rate": None,
                "service_level_20s": None, "mean_wait_min": None}
    # A call's wait: from its placing to its answer or abandonment. Calls of one claim are sequential,
    # so the k-th placed call of a claim pairs with its k-th answer-or-abandonment.
    keys_p = ev["claim_id"][placed]
    t_p = ev["t_h"][placed]
    fin = answered | abandoned
    keys_f, t_f, is_ans = ev["claim_id"][fin], ev["t_h"][fin], answered[fin]
    op = np.lexsort((t_p, keys_p))
    of = np.lexsort((t_f, keys_f))
    keys_p, t_p = keys_p[op], t_p[op]
    keys_f, t_f, is_ans = keys_f[of], t_f[of], is_ans[of]
    # calls still waiting at the horizon have no finish; align by (claim, rank)
    rank_p = np.arange(len(keys_p)) - np.searchsorted(keys_p, keys_p, side="left")
    rank_f = np.arange(len(keys_f)) - np.searchsorted(keys_f, keys_f, side="left")
    idx = {(int(k), int(r)): i for i, (k, r) in enumerate(zip(keys_p, rank_p, strict=True))}
    waits = np.full(len(keys_p), np.nan)
    answered_flag = np.zeros(len(keys_p), dtype=bool)
    for k, r, t, a in zip(keys_f, rank_f, t_f, is_ans, strict=True):
        i = idx[(int(k), int(r))]
        waits[i] = t - t_p[i]
        answered_flag[i] = a
    within = answered_flag & (waits * 3600.0 <= SERVICE_LEVEL_S + 1e-9)
    n_ans, n_ab = int(answered.sum()), int(abandoned.sum())
    finished = n_ans + n_ab
    return {
        "calls": n_calls,
        "answered": n_ans,
        "abandoned": n_ab,
        "abandonment_rate": n_ab / finished if finished else None,
        "service_level_20s": float(within.sum() / finished) if finished else None,
        "mean_wait_min": float(np.nanmean(waits[answered_flag]) * 60.0) if answered_flag.any() else None,
        "p_wait": float(np.mean(waits[~np.isnan(waits)] > 1e-12)) if finished else None,
    }


def figures(rec: RunRecord, claims: pd.DataFrame, backlog: pd.DataFrame, scenario: Scenario | None = None
            ) -> dict[str, Any]:
    """The headline figures of one run (with the scenario: its full economics too, sim/economics.py)."""
    reported = claims["reported_h"].notna()
    settled = claims["settled_h"].notna()
    outcome = claims["outcome"]
    latency = (claims["settled_h"] - claims["reported_h"]).to_numpy()
    exit_h = np.fmin.reduce([claims[c].to_numpy() for c in ("settled_h", "withdrawn_h", "gave_up_h")])
    # Censored view: reported claims that are settled (observed) or still open (censored at the horizon).
    # Withdrawn and abandoned claims will never settle: a competing outcome, left out here.
    r = (reported & (settled | (outcome == "open"))).to_numpy()
    dur = np.where(np.isnan(exit_h), rec.horizon_h, exit_h)[r] - claims["reported_h"].to_numpy()[r]
    obs = settled.to_numpy()[r]

    settled_np = settled.to_numpy()
    settled_latency = pd.Series(latency[settled_np])

    def by(column: str) -> dict[str, Any]:
        # the latencies grouped by the column's values (not a copy of every column of the settled claims)
        keys = claims[column].to_numpy()[settled_np]
        return {str(key): _summary(grp.to_numpy()) for key, grp in settled_latency.groupby(keys)}

    peak_idx = int(backlog["backlog_open"].to_numpy().argmax()) if len(backlog) else 0
    peak = int(backlog["backlog_open"].iloc[peak_idx]) if len(backlog) else 0
    after = backlog["backlog_open"].to_numpy()[peak_idx:]
    open_series = backlog["backlog_open"].to_numpy()
    normal = float(np.median(open_series[-24:])) if len(open_series) else 0.0
    cleared = np.flatnonzero(after <= normal + CLEARED_SHARE * (peak - normal)) if peak > normal \
        else np.zeros(0, dtype=int)
    staff = staff_figures(rec)
    phone = phone_figures(rec.events)
    first_contact = (claims["first_contact_h"] - claims["reported_h"]).to_numpy()
    first_payment = (claims["first_payment_h"] - claims["reported_h"]).to_numpy()
    n_rep = int(reported.sum())
    paid = claims["paid_h"].notna()
    within_7d = ((claims["first_payment_h"] - claims["reported_h"]) <= 168).sum()
    return {
        **claim_life_figures(claims, rec.horizon_h),
        "incidents_total": len(claims),
        "claims_total": n_rep,
        "claims_settled": int(settled.sum()),
        "claims_paid": int(paid.sum()),
        "claims_closed_without_payment": int((outcome == "closed_without_payment").sum()),
        "claims_withdrawn": int(outcome.isin(["withdrawn", "abandoned"]).sum()),
        "claims_abandoned_reporting": int((outcome == "abandoned").sum()),
        "claims_open": int((outcome == "open").sum()),
        "incidents_unreported": int((outcome == "unreported").sum()),
        "abandonment_rate": phone["abandonment_rate"],
        "service_level_20s": phone["service_level_20s"],
        "phone": phone,
        "settlement_latency_hours": _summary(latency),
        "settlement_latency_censored_hours": censored_quantiles(dur, obs, PERCENTILES) if r.any() else None,
        "time_to_settle_restricted_hours": {"mean": restricted_latency(claims, rec.horizon_h)},
        "survey_job_hours": {"mean": survey_mean(claims)},
        "settlement_latency_by_agent_type": by("agent_type"),
        "settlement_latency_by_track": by("track"),
        "first_contact_hours": _summary(first_contact),
        "first_payment_hours": _summary(first_payment),
        "paid_or_prepaid_within_7d_share": float(within_7d / n_rep) if n_rep else None,
        "loss_total": float(claims["loss_amount"].sum()),
        "paid_total": float(claims["paid_amount"].sum()),
        "backlog": {"peak": peak, "peak_hour": peak_idx + 1 if peak else None, "normal_level": normal,
                    "cleared_hour": int(peak_idx + cleared[0] + 1) if cleared.size and peak else None},
        "utilisation": staff["utilisation"],
        "staff_hours": staff.get("staff_hours", {}),
        "overtime_hours": staff.get("overtime_hours", 0.0),
        "cost": staff["cost"],
        **({"economics": economics(rec, claims, scenario, staff["cost"])} if scenario is not None else {}),
    }


def restricted_latency(claims: pd.DataFrame, horizon: float) -> float | None:
    """Mean hours from report to settlement, counting a claim never settled by the horizon to the horizon.

    Withdrawn and abandoned claims never settle, so they count to the horizon too: fewer staff can then
    never look better by losing customers.
    """
    rep = claims["reported_h"].to_numpy()
    settled = claims["settled_h"].to_numpy()
    r = ~np.isnan(rep)
    if not r.any():
        return None
    return float(np.where(np.isnan(settled), horizon, settled)[r].mean() - rep[r].mean())


def survey_mean(claims: pd.DataFrame) -> float | None:
    """Mean hours of a survey job (field: travel and on site; video: the call), over surveys finished."""
    d = (claims["surveyed_h"] - claims["survey_start_h"]).to_numpy(dtype=float)
    d = d[~np.isnan(d)]
    return float(d.mean()) if d.size else None


PROGRESS_DAYS = (7, 14, 30, 60, 90)


def claim_life_figures(claims: pd.DataFrame, horizon_h: float) -> dict[str, Any]:
    """How claims lived after the survey: rates of each turn (per claim reported), closing progress by day, and
    the median time to close by line of business (Kaplan-Meier: claims still open count as censored)."""
    reported = claims["reported_h"].notna().to_numpy()
    n = int(reported.sum())

    def share(mask: np.ndarray) -> float | None:
        return float((mask & reported).sum() / n) if n else None

    closed_paid = claims["outcome"].isin(["paid"]).to_numpy()
    closed_nothing = claims["outcome"].isin(["closed_without_payment"]).to_numpy()
    closes = int((closed_paid | closed_nothing).sum())
    curve = progress(claims, np.array(PROGRESS_DAYS, dtype=float))
    every = curve[curve["segment"] == "all"]
    start = claims["reported_h"].to_numpy()
    close = claims["settled_h"].to_numpy()
    by_segment: dict[str, float | None] = {}
    segment = claims["agent_type"].map(SEGMENT_OF).to_numpy()
    for seg in dict.fromkeys(SEGMENT_OF.values()):
        m = reported & (segment == seg) & ~claims["outcome"].isin(["withdrawn", "abandoned"]).to_numpy()
        if not m.any():
            by_segment[seg] = None
            continue
        observed = ~np.isnan(close[m])
        duration = np.where(observed, close[m], horizon_h) - start[m]
        by_segment[seg] = censored_quantiles(duration, observed, (50,))["p50"]
    return {
        "claim_life": {
            "reopened_share": share(claims["reopened_h"].notna().to_numpy()),
            "supplement_share": share((claims["supplements"] > 0).to_numpy()),
            "reinspection_share": share(claims["reinspected"].to_numpy()),
            "dispute_share": share(claims["dispute_route"].notna().to_numpy()),
            "total_loss_share": share(claims["total_loss_h"].notna().to_numpy()),
            "document_chase_share": share((claims["document_chases"] > 0).to_numpy()),
            "closed_without_payment_share": float(closed_nothing.sum() / closes) if closes else None,
            "came_back_share": share(claims["came_back_h"].notna().to_numpy()),
        },
        "closed_share": {f"d{int(r.day)}": (None if np.isnan(r.closed_share) else float(r.closed_share))
                         for r in every.itertuples()},
        "time_to_close_p50_hours": by_segment,
    }
