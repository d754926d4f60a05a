"""A claim: the facts of one incident and the keyed uniforms it draws its randomness from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


class Slot(IntEnum):
    """Which keyed uniform each random quantity of a claim uses (fixed, so plans share them)."""

    INCIDENT_OFFSET = 0
    REPORT_DELAY = 1
    CHANNEL = 2
    LOSS = 3
    ESTIMATE = 4
    RESCUE = 5
    TOW_ONSITE = 6
    DISTANCE_R = 7
    TOW_DISTANCE_R = 8
    FIELD_ONSITE = 9
    VIDEO = 10
    ASSESS = 11
    APPROVE = 12
    DOCS = 13
    PAY_LAG = 14
    PREPAY_LAG = 15
    NOT_COVERED = 16
    WITHDRAW = 17
    FALLBACK = 18
    CALLS = 20  # per attempt k: handling 20+4k, patience 21+4k, retry 22+4k, retry delay 23+4k
    HANDOFF_ASSESS = 60
    HANDOFF_APPROVE = 61
    WEATHER_CERT = 62


N_SLOTS = 64


@dataclass
class Claim:
    """One incident and, once reported, the insurer's claim for it."""

    claim_id: int
    key: int                 # stable across plans: agent and incident number
    agent_type: str
    agent_id: int
    region: int
    incident_type: str
    incident_h: float
    loss_amount: float
    u: np.ndarray = field(repr=False)
    channel: str = ""
    track: str = ""
    estimate: float = 0.0
    first_contact: bool = False

    def call_slot(self, attempt: int, which: int) -> float:
        """Uniform for attempt `attempt`: which 0 handling, 1 patience, 2 retry, 3 retry delay."""
        return float(self.u[int(Slot.CALLS) + 4 * attempt + which])
