"""The event log: every state change of every claim and every shift, in order (DESIGN rule 6)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pandas as pd


class Ev(IntEnum):
    """Event codes of the log. `value` carries the number named in the comment."""

    INCIDENT = 0
    CALL_PLACED = 1          # value: attempt number (0 first)
    CALL_ANSWERED = 2
    CALL_ABANDONED = 3
    CALL_ENDED = 4
    APP_REPORT = 5           # app or video self-report submitted
    GAVE_UP = 6              # stopped trying to report
    REGISTERED = 7
    TRIAGED = 8              # value: track code
    TOW_START = 9
    TOW_END = 10
    SURVEY_START = 11        # value: 1 field, 2 video
    SURVEY_END = 12
    PREPAYMENT = 13          # value: amount
    ASSESSMENT_START = 14
    ASSESSMENT_END = 15
    APPROVAL_START = 16
    APPROVAL_END = 17
    DOCUMENTS_COMPLETE = 18
    PAYMENT = 19             # value: amount (the balance after any pre-payment)
    CLOSED_NO_PAYMENT = 20
    WITHDRAWN = 21
    SHIFT_START = 22         # staff event
    SHIFT_END = 23
    FIRST_CONTACT = 24
    QUEUED = 25              # value: stage code (see STAGES)
    AWAITING_DOCUMENTS = 26
    CALL_OUT = 27            # operation event (claim -1): value = reserve staff called out, staff_id = -1
    STAFF_MOVED = 28         # operation event (claim -1): value = staff leaving for another region
    SURVEY_WAIVED = 29
    INJECT = 30              # tabletop (claim -1): value = index of the inject among those fired
    DECISION = 31            # tabletop (claim -1): value = index of the action in the exercise log


class EventLog:
    """Columnar, append-only log. Times are hours since the scenario start."""

    def __init__(self) -> None:
        self.t: list[float] = []
        self.claim: list[int] = []
        self.code: list[int] = []
        self.staff: list[int] = []
        self.value: list[float] = []

    def __len__(self) -> int:
        return len(self.t)

    def add(self, t: float, claim: int, code: Ev, staff: int = -1, value: float = float("nan")) -> None:
        self.t.append(t)
        self.claim.append(claim)
        self.code.append(int(code))
        self.staff.append(staff)
        self.value.append(value)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "t_h": np.asarray(self.t, dtype=np.float64),
            "claim_id": np.asarray(self.claim, dtype=np.int64),
            "code": np.asarray(self.code, dtype=np.int16),
            "staff_id": np.asarray(self.staff, dtype=np.int32),
            "value": np.asarray(self.value, dtype=np.float64),
        }


@dataclass(frozen=True)
class RunRecord:
    """What metrics need from a finished (or paused) run: its log, claim facts, staff and clock."""

    events: dict[str, np.ndarray]        # columns of the log, ordered by time then sequence
    claims: pd.DataFrame                 # static facts: claim_id, agent_type, region, ...
    staff: pd.DataFrame                  # staff_id, role, pool, slots, hourly_cost, ...
    horizon_h: float
    region_ids: tuple[str, ...]
    clock_offset_h: float = 0.0          # clock hour of the day at simulated time 0


def ordered_events(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The log sorted by time, ties kept in the order they were logged."""
    order = np.lexsort((np.arange(len(raw["t_h"])), raw["t_h"]))
    return {k: v[order] for k, v in raw.items()}
