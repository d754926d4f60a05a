"""A claim: the facts of one incident and the keyed uniforms it draws its randomness from.

A claim stores no random numbers: each is computed when its story needs it, from the claim's base (run seed and
claim key) and the slot of the quantity (sim.rng.keyed_uniform), so a million open claims hold no arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from sim.rng import keyed_uniform


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
    # the claim's life after the survey
    COME_BACK = 64
    COME_BACK_DELAY = 65
    DOCS_MISSING = 66
    CHASES = 67            # per chase k: handler minutes 67+3k, answered 68+3k, answer delay 69+3k (k < 3)
    TL_VALUATION = 76
    TL_DOCUMENTS = 77
    TL_SALVAGE = 78
    PAID_ON_REPAIR = 79
    REPAIR_WORK = 80
    PARTS = 81
    PARTS_DELAY = 82
    SUPPLEMENT = 83
    REINSPECT = 84
    SUPPLEMENT_AMOUNT = 85
    SUPPLEMENT_ASSESS = 86
    REINSPECT_ONSITE = 87
    DISPUTE = 88
    DISPUTE_ROUTE = 89
    DISPUTE_DURATION = 90
    DISPUTE_UPLIFT = 91
    DISPUTE_WORK = 92
    REOPEN = 93
    REOPEN_AFTER = 94
    REOPEN_WORK = 95
    REOPEN_PAYS = 96
    REOPEN_AMOUNT = 97
    VISITS = 98            # per visit k: minutes 98+2k, gap before the next 99+2k (k < 6)
    BI = 110
    BI_ACCOUNTING = 111
    SUPPLEMENT_DESK = 112


N_SLOTS = 128
_CALLS, _CHASES, _VISITS = int(Slot.CALLS), int(Slot.CHASES), int(Slot.VISITS)
INTAKE_SLOTS = 4   # slots 0-3, drawn for a whole hour's claims at once when they are made (sim.model.intake)


@dataclass(slots=True)
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
    base: int = field(repr=False)   # of the claim's keyed uniforms (sim.rng.Streams.claim_base)
    population: str = ""     # drivers, farmers, firms, households
    value: float = 0.0       # insured value (a vehicle's value, a building's sum insured)
    bi_cover: bool = False   # business-interruption cover (firms)
    channel: str = ""
    track: str = ""
    estimate: float = 0.0
    first_contact: bool = False
    paid: float = 0.0        # paid so far (pre-payments, interim and final payments)
    extra: float = 0.0       # loss found after the first estimate (supplements, dispute uplifts)

    def draw(self, slot: int) -> float:
        """The claim's keyed uniform in `slot` (the same under every plan)."""
        return keyed_uniform(self.base, slot)

    def chase_slot(self, chase: int, which: int) -> float:
        """Uniform for document chase `chase`: which 0 handler minutes, 1 answered, 2 answer delay."""
        return keyed_uniform(self.base, _CHASES + 3 * chase + which)

    def visit_slot(self, visit: int, which: int) -> float:
        """Uniform for a large-loss visit: which 0 minutes on site, 1 gap before the next visit."""
        return keyed_uniform(self.base, _VISITS + 2 * visit + which)

    def call_slot(self, attempt: int, which: int) -> float:
        """Uniform for attempt `attempt`: which 0 handling, 1 patience, 2 retry, 3 retry delay."""
        return keyed_uniform(self.base, _CALLS + 4 * attempt + which)
