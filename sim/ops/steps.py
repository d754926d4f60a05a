"""The moves every part of a claim's story is made of: a job for a role, a stage, a wait, a payment.

The story (sim/ops/flow.py, the front line; sim/ops/settle.py, everything after the estimate) is told
with these few steps, so that each step is logged the same way: a job waits in its role's queue
(QUEUED, then the job's start and end events with the staff id), a claim waiting with no job queued is
in a STAGE, and every payment carries its amount.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

import simpy

from sim.ops.claim import Claim
from sim.ops.log import Ev
from sim.ops.queues import Job
from sim.vocab import ROLE_STAGE, STAGE_CODES

if TYPE_CHECKING:
    from sim.hazard import HazardField
    from sim.ops.calendar import Calendar
    from sim.ops.log import EventLog
    from sim.ops.queues import WorkQueue
    from sim.scenario import Scenario
    from sim.scenario.operations import Operations

Story = Generator[simpy.Event, object, Any]
ROAD_WINDING = 1.3   # road distance over straight-line distance (assumption)
MIN_SPEED_KMH = 5.0


class Desk(Protocol):
    """What a claim's story needs of the operation (sim.ops.operation.Operation is one)."""

    env: simpy.Environment
    log: EventLog
    scenario: Scenario
    ops: Operations
    hazard: HazardField
    calendar: Calendar

    def queue(self, role: str, region: int) -> WorkQueue: ...

    def models(self, role: str) -> bool: ...

    def has_capacity(self, role: str, region: int) -> bool: ...

    def travel_factor(self, region: int, hour: int) -> float: ...


class Steps:
    """The steps of a claim's story, bound to one operation."""

    def __init__(self, op: Desk) -> None:
        self.op = op
        self.env = op.env
        self.log = op.log
        self.regions = op.scenario.regions

    @property
    def ops(self) -> Operations:
        """The operation's settings now (a tabletop decision may replace them)."""
        return self.op.ops

    def work(self, claim: Claim, role: str, start: Ev, end: Ev, duration: float | Callable[[Any], float],
             priority: int, value: float = math.nan, rank: float = 0.0) -> Story | tuple[simpy.Event, ...]:
        """`yield from self.work(...)`: a job for `role`, queued, then done by a staff member. Queued at once,
        when called; what is yielded from is the job's end (a tuple, not a generator: no frame of its own for
        each of a catastrophe's millions of jobs). A role the scenario leaves out (optional roles) is not a
        queue: the job just takes its time."""
        if not self.op.models(role):
            return self._unqueued(claim, role, start, end, duration, value)
        job = Job(self.env, claim, start, end, duration, value)
        self.log.add(self.env.now, claim.claim_id, Ev.QUEUED, value=ROLE_STAGE[role])
        self.op.queue(role, claim.region).put(job, priority, rank)
        return (job.done,)   # (its value is None, which a tuple's iterator accepts)

    def _unqueued(self, claim: Claim, role: str, start: Ev, end: Ev, duration: float | Callable[[Any], float],
                  value: float) -> Story:
        self.log.add(self.env.now, claim.claim_id, Ev.STAGE, value=ROLE_STAGE[role])
        self.log.add(self.env.now, claim.claim_id, start, value=value)
        hours = duration(None) if callable(duration) else duration
        yield self.op.calendar.timeout(max(hours, 0.0))
        self.log.add(self.env.now, claim.claim_id, end)

    def minutes(self, claim: Claim, role: str, start: Ev, end: Ev, minutes: float, priority: int,
                value: float = math.nan) -> Story | tuple[simpy.Event, ...]:
        """A job of a fixed number of minutes (the job's own story: no generator of its own, one frame less for
        every claim waiting in a queue)."""
        hours = max(minutes, 0.0) / 60.0
        return self.work(claim, role, start, end, hours, priority, value)

    def stage(self, claim: Claim, stage: str) -> None:
        """The claim now waits in `stage` with no job queued (for the backlog by stage)."""
        self.log.add(self.env.now, claim.claim_id, Ev.STAGE, value=STAGE_CODES[stage])

    def wait(self, hours: float) -> tuple[simpy.Event, ...]:
        """`yield from self.wait(h)`: an hour-calendar timeout (nothing when h <= 0). A tuple rather than a
        generator: most claims of a catastrophe spend their days parked in a wait, and a generator frame
        for each would be their largest object. (A timeout's value is None, which a tuple's iterator accepts.)"""
        return (self.op.calendar.timeout(hours),) if hours > 0 else ()

    def pay(self, claim: Claim, amount: float, closes: bool) -> None:
        """A payment to the customer (or the repairer): the final one closes the claim."""
        amount = max(float(amount), 0.0)
        claim.paid += amount
        self.log.add(self.env.now, claim.claim_id, Ev.PAYMENT if closes else Ev.PARTIAL_PAYMENT, value=amount)

    def payable(self, claim: Claim) -> float:
        """What the claim is worth to the customer in all: loss (with later finds) less the deductible."""
        return max(claim.loss_amount + claim.extra - self.ops.outcomes.deductible, 0.0)

    # ------------------------------------------------------------------ travel

    def travel_h(self, claim: Claim, radius_u: float) -> float:
        """Hours to drive to the claim from the branch, on the roads of this hour."""
        region = self.regions[claim.region]
        km = region.service_radius_km * math.sqrt(radius_u) * ROAD_WINDING
        slow_down = 1.0 - self.op.hazard.speed_factor_at(claim.region, int(self.env.now))
        factor = 1.0 - slow_down * (1.0 - self.ops.snow_chains)  # chains win back part of the slow-down
        speed = max(region.road_speed_kmh * factor, MIN_SPEED_KMH)
        return km / speed * self.op.travel_factor(claim.region, int(self.env.now))

    def site_visit(self, claim: Claim, radius_u: float, onsite_h: float) -> Callable[[Any], float]:
        """A job's duration: the drive, priced at the hour the staff member sets off, and the time on site."""
        def duration(_staff: Any) -> float:
            return self.travel_h(claim, radius_u) + onsite_h
        return duration
