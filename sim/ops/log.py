"""The event log: every state change of every claim and every shift, in order (DESIGN rule 6)."""

from __future__ import annotations

import contextlib
import math
from array import array
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
    # the claim's life after the survey
    PARTIAL_PAYMENT = 32     # value: amount (interim payment, a supplement or a reopened claim's extra)
    REOPENED = 33            # a closed claim opened again
    STAGE = 34               # value: stage code (sim.vocab.STAGES) the claim now waits in, with no job queued
    TOTAL_LOSS = 35          # value: the vehicle's value
    SALVAGE = 36             # value: amount recovered at auction
    DOCUMENT_CHASE = 37      # value: chase number (0 first)
    SUPPLEMENT = 38          # value: extra amount found (hidden damage)
    DISPUTE = 39             # value: route code (sim.vocab.DISPUTE_ROUTES)
    DISPUTE_RESOLVED = 40    # value: extra amount agreed
    REPAIR_START = 41
    REPAIR_END = 42
    HANDLER_START = 43       # claims handler job; value: 1 chase, 2 supplement, 3 dispute, 4 reopened claim
    HANDLER_END = 44
    CAME_BACK = 45           # a customer who gave up on the phone reports by another channel
    BI_ACCOUNTED = 46        # business-interruption loss agreed


# Jobs staff do: their start and end codes (busy time, utilisation and partner fees come from these pairs).
JOB_STARTS = (Ev.CALL_ANSWERED, Ev.TOW_START, Ev.SURVEY_START, Ev.ASSESSMENT_START, Ev.APPROVAL_START,
              Ev.REPAIR_START, Ev.HANDLER_START)
JOB_ENDS = (Ev.CALL_ENDED, Ev.TOW_END, Ev.SURVEY_END, Ev.ASSESSMENT_END, Ev.APPROVAL_END, Ev.REPAIR_END,
            Ev.HANDLER_END)
# Events that close a claim (a reopened claim closes again: its first closing is its settlement).
CLOSING = (Ev.PAYMENT, Ev.CLOSED_NO_PAYMENT, Ev.WITHDRAWN, Ev.GAVE_UP)
# Survey kinds SURVEY_START events carry.
SURVEY_FIELD, SURVEY_VIDEO, SURVEY_REINSPECTION, SURVEY_LARGE_LOSS = 1, 2, 3, 4


class EventLog:
    """Columnar, append-only log: typed arrays, 26 bytes an event. Times are hours since the scenario start."""

    __slots__ = ("t", "claim", "code", "staff", "value")

    def __init__(self) -> None:
        self.t = array("d")
        self.claim = array("i")
        self.code = array("h")
        self.staff = array("i")
        self.value = array("d")

    def __len__(self) -> int:
        return len(self.t)

    def add(self, t: float, claim: int, code: Ev, staff: int = -1, value: float = math.nan) -> None:
        self.t.append(t)
        self.claim.append(claim)
        self.code.append(code)
        self.staff.append(staff)
        self.value.append(value)

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of the columns (the log may grow after)."""
        out = {name: np.frombuffer(getattr(self, attr), dtype=dtype).copy() for name, attr, dtype in COLUMNS}
        out["claim_id"] = out["claim_id"].astype(np.int64)
        return out

    def ordered(self, until: float, release: bool = False) -> dict[str, np.ndarray]:
        """The log up to time `until`, sorted by time with ties in the order logged: one copy of each column
        (a run of a million claims logs tens of millions of events; copies are what its peak memory is made of).
        With `release` each column of the log is emptied once copied (the run is over), so the log and its
        sorted copy are never both whole in memory. (A numpy view of a column stops it growing, so no view
        outlives this call.)"""
        t = np.frombuffer(self.t, dtype=np.float64)
        order = np.argsort(t, kind="stable")
        if len(order) and t[order[-1]] > until:
            order = order[: int(np.searchsorted(t[order], until, side="right"))]
        del t
        out = {}
        for name, attr, dtype in COLUMNS:
            column = getattr(self, attr)
            view = np.frombuffer(column, dtype=dtype)
            out[name] = view[order]
            del view
            if release:
                # something else may still hold a view of it (a profiler's frame): then it is kept
                with contextlib.suppress(BufferError):
                    del column[:]
        out["claim_id"] = out["claim_id"].astype(np.int64)
        return out


# The log's columns: name in a record, attribute of EventLog, numpy type of its buffer.
COLUMNS = (("t_h", "t", np.float64), ("claim_id", "claim", np.int32), ("code", "code", np.int16),
           ("staff_id", "staff", np.int32), ("value", "value", np.float64))


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
