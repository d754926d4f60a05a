"""Where each claim is at any time, from the event log: stage intervals, the backlog by stage, progress curves.

A claim is always in exactly one state: in a stage (reporting, rescue, survey, assessment, ... see
sim.vocab.STAGES) or closed. The log marks every move: a job queued for a role (QUEUED, its stage), a wait
with no job queued (STAGE), documents awaited (AWAITING_DOCUMENTS), a reopening (REOPENED), and closing
(final PAYMENT, CLOSED_NO_PAYMENT, WITHDRAWN, GAVE_UP). So the claims in the stages at any hour add up to
the open claims (conservation), and Little's law can be checked stage by stage.

Progress curves are what regulators publish after a catastrophe: the share of claims reported so far that
are closed (or paid, pre-payments counting) by each day, by line of business (segment).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.ops.log import CLOSING, Ev
from sim.vocab import SEGMENT_OF, SEGMENTS, STAGE_CODES, STAGES

CLOSED = -1
REPORTING = STAGE_CODES["reporting"]
DOCUMENTS = STAGE_CODES["documents"]
REOPENED = STAGE_CODES["reopened"]


def stage_intervals(ev: dict[str, np.ndarray], horizon: float) -> pd.DataFrame:
    """Every stay of every claim in a stage: claim_id, stage code, entered, left (inf if still there). `ev`: the log
    in time order, ties in the order logged (`RunRecord.events`)."""
    code, cid = ev["code"], ev["claim_id"]
    first_report = np.zeros(code.size, dtype=bool)
    report = ((code == int(Ev.CALL_PLACED)) | (code == int(Ev.APP_REPORT))) & (cid >= 0)
    if report.any():
        idx = np.flatnonzero(report)
        _, first = np.unique(cid[idx], return_index=True)
        first_report[idx[first]] = True
    stage = np.full(code.size, -2, dtype=np.int16)            # -2: not a move
    stage[first_report] = REPORTING
    moves = (code == int(Ev.QUEUED)) | (code == int(Ev.STAGE))
    stage[moves] = ev["value"][moves].astype(np.int16)
    stage[code == int(Ev.AWAITING_DOCUMENTS)] = DOCUMENTS
    stage[code == int(Ev.REOPENED)] = REOPENED
    stage[np.isin(code, [int(c) for c in CLOSING])] = CLOSED
    keep = np.flatnonzero((stage > -2) & (cid >= 0))
    # by claim, then time, then log order (the log is in time order already, ties in log order: a stable sort by
    # claim keeps both, with a quarter of a three-key sort's memory; a million-claim run sorts tens of millions)
    keep = keep[np.argsort(cid[keep], kind="stable")]
    c, t, s = cid[keep], ev["t_h"][keep], stage[keep]
    del keep, stage
    left = np.full(c.size, np.inf)                            # still there at the end of the log
    same = c[1:] == c[:-1]
    left[:-1][same] = t[1:][same]
    del same
    # each column cut to the stays and its full version let go at once (a million claims: ~10 M moves)
    stay = s >= 0
    out = {"claim_id": c[stay]}
    del c
    out["stage"] = s[stay]
    del s
    out["entered"] = t[stay]
    del t
    out["left"] = left[stay]
    del left
    return pd.DataFrame(out, copy=False)


def occupancy(entered: np.ndarray, left: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """How many intervals [entered, left) contain each grid time."""
    return (np.searchsorted(np.sort(entered), grid, side="right")
            - np.searchsorted(np.sort(left), grid, side="right"))


def backlog_by_stage(intervals: pd.DataFrame, hours: int) -> dict[str, np.ndarray]:
    """Claims in each stage at the end of each hour (`backlog_<stage>`), and all open claims (`backlog_open`)."""
    grid = np.arange(1, hours + 1, dtype=float)
    out: dict[str, np.ndarray] = {}
    stage, entered, left = (intervals[k].to_numpy() for k in ("stage", "entered", "left"))
    for code, name in enumerate(STAGES):
        m = stage == code
        out[f"backlog_{name}"] = occupancy(entered[m], left[m], grid)
    out["backlog_open"] = occupancy(entered, left, grid)
    return out


def closed_at(claims: pd.DataFrame, t: float) -> np.ndarray:
    """Whether each claim is closed at time t: closed once and not reopened, or reclosed after a reopening."""
    first, reopened, last = (claims[k].to_numpy(dtype=float) for k in ("closed_h", "reopened_h", "final_closed_h"))
    closed = first <= t
    reopen_open = (reopened <= t) & ~(last <= t) & (last > reopened)
    reopen_open |= (reopened <= t) & np.isnan(last)
    return closed & ~reopen_open


def progress(claims: pd.DataFrame, days: np.ndarray, day0_h: float = 0.0) -> pd.DataFrame:
    """Progress curves: per day and segment, the share of claims reported so far that are closed, and paid or
    pre-paid; and the share of all claims the run reports that are reported by then.

    `day0_h`: the hour of the run that is day 0 of the event (observed curves count days from the event).
    """
    rows = []
    segment = claims["agent_type"].map(SEGMENT_OF).to_numpy()
    reported = claims["reported_h"].to_numpy(dtype=float)
    paid = claims["first_payment_h"].to_numpy(dtype=float)
    for seg in SEGMENTS:
        m = np.ones(len(claims), dtype=bool) if seg == "all" else segment == seg
        total = int((~np.isnan(reported[m])).sum())
        for d in days:
            t = day0_h + 24.0 * float(d)
            rep = m & (reported <= t)
            n = int(rep.sum())
            closed = int((closed_at(claims, t) & rep).sum())
            rows.append({"day": float(d), "segment": seg, "reported": n,
                         "reported_share": n / total if total else np.nan,
                         "closed_share": closed / n if n else np.nan,
                         "paid_share": int((rep & (paid <= t)).sum()) / n if n else np.nan})
    return pd.DataFrame(rows)
