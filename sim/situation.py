"""The situation board of a tabletop exercise, in plain words: where the claims wait and where the bottleneck is.

Everything is read from the exercise's hourly series and claims table (the same figures the reports use):
claims waiting at each stage and how that changed over the last hours, the stage that is the bottleneck now
(its queue grows, or all its staff are busy while claims wait), staff on duty by role, customers waiting on
the phone, the oldest open claim's age and the money spent so far. Open claims by region and the share of
customers reached within so many hours serve the exercise's objectives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import fmt
from sim.figures import figure
from sim.vocab import ROLE, ROLE_INFO, STAGE_LABELS, STAGE_SHORT, STAGES

if TYPE_CHECKING:
    from sim.exercise import Exercise

WINDOW_H = 3  # "the last hours" of the board
# Stages whose queue staff work (the documents wait on the customer, payment on the bank).
STAFFED: dict[str, tuple[str, ...]] = {}
for _r in ROLE_INFO:
    STAFFED.setdefault(_r.stage, ())
    STAFFED[_r.stage] += (_r.name,)
CLOSED_COLUMNS = ("settled_h", "withdrawn_h", "gave_up_h")
WITHIN_EVENTS = {"first_contact": "first_contact_h", "first_payment": "first_payment_h", "settled": "settled_h"}


@dataclass(frozen=True)
class StageNow:
    stage: str
    label: str
    claims: int
    change: int  # over the board's window


@dataclass(frozen=True)
class RoleNow:
    role: str
    label: str
    on_duty: int
    busy: int
    waiting: int


@dataclass(frozen=True)
class Bottleneck:
    stage: str
    label: str
    reason: str


@dataclass(frozen=True)
class Board:
    """What the room needs to know now, as numbers and as sentences."""

    hour: int
    when: str
    window_h: int
    stages: list[StageNow]
    bottleneck: Bottleneck | None
    staff: list[RoleNow]
    phone_waiting: int
    open_claims: int
    oldest_open_h: float | None
    oldest_reported: str | None
    cost: float | None
    currency: str

    def headline(self) -> str:
        if self.bottleneck is None:
            return "No bottleneck: no queue is growing and no team is fully busy."
        return f"Bottleneck now: {self.bottleneck.label}. {self.bottleneck.reason}"

    def sentences(self) -> list[str]:
        """The board in plain sentences (for the page, the players' window and the report)."""
        out = [self.headline(),
               f"{_count(self.open_claims, 'claim')} open; {_count(self.phone_waiting, 'customer')} waiting on "
               "the phone now."]
        if self.oldest_open_h is not None:
            out.append(f"Oldest open claim: reported {self.oldest_reported}, {fmt.hours(self.oldest_open_h)} ago.")
        out.append(f"Money spent so far: {fmt.money(self.cost, self.currency)} (staff and partner fees).")
        return out


def _count(n: float, thing: str) -> str:
    return f"{fmt.number(n)} {thing}{'' if n == 1 else 's'}"


def _col(series: pd.DataFrame, name: str) -> np.ndarray:
    return series[name].to_numpy(dtype=float) if name in series else np.zeros(len(series))


def bottleneck_at(series: pd.DataFrame, row: int, window_h: int = WINDOW_H) -> Bottleneck | None:
    """The bottleneck stage at the end of hour `row` of the series: among staffed stages where claims wait, the
    one whose queue grew most over the window, or whose staff are all busy (or none on duty); None if none."""
    if row < 0 or row >= len(series):
        return None
    best: tuple[tuple[float, ...], Bottleneck] | None = None
    for stage, roles in STAFFED.items():
        claims = _col(series, f"backlog_{stage}")
        now = claims[row]
        if now <= 0:
            continue
        growth = now - claims[max(row - window_h, 0)] if row > 0 else now
        # roles the scenario staffs (an optional role left out, or a team of none, is no team to name)
        roles = tuple(r for r in roles if (_col(series, f"on_duty_{r}")[: row + 1] > 0).any()
                      or (_col(series, f"waiting_{r}")[: row + 1] > 0).any()) or roles
        on_duty = sum(_col(series, f"on_duty_{r}")[row] for r in roles)
        busy = sum(_col(series, f"busy_{r}")[row] for r in roles)
        waiting = sum(_col(series, f"waiting_{r}")[row] for r in roles)
        saturated = waiting > 0 and (on_duty == 0 or busy >= on_duty)
        if growth <= 0 and not saturated:
            continue
        parts = [f"{fmt.number(now)} claims at this stage"]
        if growth > 0:
            parts[0] += f", up {fmt.number(growth)} in the last {min(window_h, row + 1)} hours"
        if saturated:
            labels = [ROLE[r].label for r in roles]
            parts.append(f"no {' or '.join(labels)} on duty" if on_duty == 0 else
                         f"all {fmt.number(on_duty)} {' and '.join(labels)} on duty are busy")
        parts.append(f"{_count(waiting, 'job')} waiting for them")
        score = (float(saturated and growth > 0), growth, now)
        candidate = Bottleneck(stage, STAGE_SHORT[stage], "; ".join(parts) + ".")
        if best is None or score > best[0]:
            best = (score, candidate)
    return None if best is None else best[1]


def bottlenecks(series: pd.DataFrame, window_h: int = WINDOW_H) -> list[str | None]:
    """The bottleneck stage at the end of every hour of the series (None where there was none)."""
    out = []
    for row in range(len(series)):
        b = bottleneck_at(series, row, window_h)
        out.append(None if b is None else b.stage)
    return out


def board(ex: Exercise, window_h: int = WINDOW_H) -> Board:
    """The situation board of an exercise at its current hour."""
    s = ex.series()
    spec = ex.model.spec
    row = len(s) - 1
    stages = []
    for stage in STAGES:
        col = _col(s, f"backlog_{stage}")
        now = int(col[row]) if row >= 0 else 0
        before = int(col[max(row - window_h, 0)]) if row > 0 else 0
        stages.append(StageNow(stage, STAGE_LABELS[stage], now, now - before if row >= 0 else 0))
    staff = [RoleNow(r, ROLE[r].label, int(_col(s, f"on_duty_{r}")[row]) if row >= 0 else 0,
                     int(_col(s, f"busy_{r}")[row]) if row >= 0 else 0,
                     int(_col(s, f"waiting_{r}")[row]) if row >= 0 else 0)
             for r in spec.operations.staff]
    claims = ex.claims()
    open_mask = _open(claims)
    oldest_h = oldest = None
    if open_mask.any():
        first = float(np.nanmin(claims["reported_h"].to_numpy()[open_mask]))
        oldest_h, oldest = ex.hour - first, fmt.when(spec.start, first)
    figures = ex.figures()
    return Board(hour=ex.hour, when=fmt.when(spec.start, ex.hour), window_h=window_h, stages=stages,
                 bottleneck=bottleneck_at(s, row, window_h), staff=staff,
                 phone_waiting=int(_col(s, "waiting_phone")[row]) if row >= 0 else 0,
                 open_claims=int(open_mask.sum()), oldest_open_h=oldest_h, oldest_reported=oldest,
                 cost=figure("cost").value(figures), currency=spec.currency)


def _open(claims: pd.DataFrame) -> np.ndarray:
    reported = claims["reported_h"].to_numpy(dtype=float)
    closed = np.fmin.reduce([claims[c].to_numpy(dtype=float) for c in CLOSED_COLUMNS])
    return ~np.isnan(reported) & np.isnan(closed)


def open_by_region(claims: pd.DataFrame, hours: int, regions: list[str]) -> pd.DataFrame:
    """Open claims (reported, not yet settled, withdrawn or given up) at the end of each hour, by region."""
    grid = np.arange(1, hours + 1, dtype=float)
    out = {"hour": np.arange(hours)}
    reported = claims["reported_h"].to_numpy(dtype=float)
    closed = np.fmin.reduce([claims[c].to_numpy(dtype=float) for c in CLOSED_COLUMNS])
    region = claims["region"].to_numpy()
    for r in regions:
        mine = region == r
        entry, leave = reported[mine], closed[mine]
        entry, leave = np.sort(entry[~np.isnan(entry)]), np.sort(leave[~np.isnan(leave)])
        out[r] = np.searchsorted(entry, grid, side="right") - np.searchsorted(leave, grid, side="right")
    return pd.DataFrame(out)


def share_within(claims: pd.DataFrame, event: str, within_h: float, now: float) -> tuple[float | None, int]:
    """The share of customers whose claim reached `event` (first_contact, first_payment, settled) within
    `within_h` hours of its report, over the claims reported at least `within_h` hours before `now` (each had
    the whole time; one not reached counts against); and how many claims that is (None when none)."""
    reported = claims["reported_h"].to_numpy(dtype=float)
    at = claims[WITHIN_EVENTS[event]].to_numpy(dtype=float)
    due = ~np.isnan(reported) & (reported <= now - within_h)
    n = int(due.sum())
    if n == 0:
        return None, 0
    reached = (at[due] - reported[due]) <= within_h  # NaN (not yet) compares False
    return float(reached.mean()), n


@dataclass(frozen=True)
class Mark:
    """An inject (I1, I2, ...) or a decision (D1, D2, ...) at the hour it took effect, for charts and timelines."""

    code: str
    hour: int
    kind: str  # inject or decision
    title: str


def marks(ex: Exercise) -> list[Mark]:
    """The injects fired and the decisions taken so far, numbered in the order they took effect."""
    out = [Mark(f"I{i + 1}", hour, "inject", inject.title) for i, (hour, inject, _) in enumerate(ex.fired)]
    decisions = [a for a in ex.actions if a.kind == "decision" and a.decision is not None]
    out += [Mark(f"D{i + 1}", a.hour, "decision", a.decision.title)  # type: ignore[union-attr]
            for i, a in enumerate(decisions)]
    return sorted(out, key=lambda m: (m.hour, m.kind != "inject", int(m.code[1:])))


def mark_rows(items: list[Mark], hours_apart: float, rows: int = 3) -> list[int]:
    """A row (0..rows-1) for each mark's label so that labels closer than `hours_apart` do not overlap."""
    last: list[float] = [-1e9] * rows
    out = []
    for m in items:
        row = next((r for r in range(rows) if m.hour - last[r] >= hours_apart), min(range(rows), key=lambda r: last[r]))
        last[row] = m.hour
        out.append(row)
    return out
