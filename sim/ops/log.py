"""The event log: every state change of every claim and every shift, in order (DESIGN rule 6)."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pyarrow as pa


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


# Stages a claim waits in after registration, in order; `QUEUED` events carry their index.
STAGES = ("reporting", "rescue", "survey", "assessment", "approval", "documents", "payment")
ROLE_STAGE = {"tow": 1, "field_survey": 2, "video_survey": 2, "assessment": 3, "approval": 4}


TRACK_CODES = {"fast_track": 0, "video": 1, "field": 2, "large_loss": 3}
TRACK_NAMES = {v: k for k, v in TRACK_CODES.items()}
EVENT_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("t_h", pa.float64()), ("claim_id", pa.int64()), ("event", pa.string()),
    ("staff_id", pa.int32()), ("value", pa.float64()),
])


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

    def table(self) -> pa.Table:
        a = self.arrays()
        names = np.array([e.name.lower() for e in Ev])
        return pa.table({
            "seq": np.arange(len(self), dtype=np.int64),
            "t_h": a["t_h"],
            "claim_id": a["claim_id"],
            "event": pa.array(names[a["code"]] if len(self) else np.array([], dtype=str), pa.string()),
            "staff_id": a["staff_id"],
            "value": a["value"],
        }, schema=EVENT_SCHEMA)
