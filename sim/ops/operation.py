"""The insurer's operation: queues per role and pool, staff on their rosters, and the claim story."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import simpy

from sim.ops.flow import ClaimStory
from sim.ops.log import Ev, EventLog
from sim.ops.queues import WorkQueue
from sim.ops.staff import Roster, StaffMember, rosters_for, working_headcount
from sim.scenario import ROLES, Move, Scenario

if TYPE_CHECKING:
    from sim.hazard import HazardField
    from sim.ops.claim import Claim

SHARED_POOL = "all"


class Operation:
    """Everything on the insurer's side of one run, living in one SimPy environment."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, hazard: HazardField, log: EventLog) -> None:
        self.env = env
        self.scenario = scenario
        self.ops = scenario.operations
        self.hazard = hazard
        self.log = log
        self.region_ids = scenario.region_ids
        self.queues: dict[tuple[str, str], WorkQueue] = {}
        self.staff: list[StaffMember] = []
        self.clock_offset_h = scenario.start.hour + scenario.start.minute / 60.0
        for role in ROLES:
            spec = self.ops.staff[role]
            pools = spec.headcount if isinstance(spec.headcount, dict) else {SHARED_POOL: spec.headcount}
            for pool, headcount in pools.items():
                self.queues[(role, pool)] = WorkQueue(env, f"{role}:{pool}")
                self.hire(role, pool, working_headcount(spec, headcount), spec.roster, spec.hourly_cost)
                if spec.surge is not None:
                    env.process(self.surge_watch(role, pool))
            for move in spec.moves:
                env.process(self.move(role, move))
        self.story = ClaimStory(self)

    def hire(self, role: str, pool: str, n: int, roster: str, hourly_cost: float) -> list[StaffMember]:
        """Put n people on the pool's queue, on the named roster's shifts."""
        return self.add_staff(role, pool, rosters_for(self.ops.rosters[roster], n, self.clock_offset_h), hourly_cost)

    def add_staff(self, role: str, pool: str, shifts: list[Roster], hourly_cost: float) -> list[StaffMember]:
        """One person per shift on the pool's queue."""
        spec = self.ops.staff[role]
        slots = spec.concurrent_cases if role == "video_survey" else 1
        queue = self.queues[(role, pool)]
        people = [StaffMember(self.env, self.log, len(self.staff) + i, role, pool, shift, queue, slots, hourly_cost)
                  for i, shift in enumerate(shifts)]
        self.staff += people
        self._staffed = {id(s.queue) for s in self.staff if not s.retired}
        return people

    def surge_watch(self, role: str, pool: str) -> Generator[simpy.Event, object, None]:
        """Call out the pool's reserve once its backlog per person on duty passes the trigger."""
        spec = self.ops.staff[role]
        surge = spec.surge
        assert surge is not None
        reserve = surge.reserve[pool] if isinstance(surge.reserve, dict) else surge.reserve
        if reserve <= 0:
            return
        queue = self.queues[(role, pool)]
        while True:
            yield self.env.timeout(surge.check_every_h)
            on_duty = sum(1 for s in self.staff if s.queue is queue and s.on_shift)
            if len(queue) > surge.trigger_per_person * max(on_duty, 1):
                break
        self.log.add(self.env.now, -1, Ev.CALL_OUT, value=float(reserve))
        yield self.env.timeout(surge.delay_h)
        cost = spec.hourly_cost if surge.hourly_cost is None else surge.hourly_cost
        self.hire(role, pool, reserve, surge.roster or spec.roster, cost)

    def move(self, role: str, move: Move) -> Generator[simpy.Event, object, None]:
        """Move staff between regional pools: they finish the job in hand, travel, and start over there."""
        if move.at_h > self.env.now:
            yield self.env.timeout(move.at_h - self.env.now)
        source = self.queues[(role, move.from_region)]
        leaving = [s for s in self.staff if s.queue is source and not s.retired][-move.count:]
        for person in leaving:
            person.retire()
        self._staffed = {id(s.queue) for s in self.staff if not s.retired}
        self.log.add(self.env.now, -1, Ev.STAFF_MOVED, value=float(len(leaving)))
        for person in leaving:
            self.env.process(self._relocate(person, role, move))

    def _relocate(self, person: StaffMember, role: str, move: Move) -> Generator[simpy.Event, object, None]:
        yield person.gone  # the job in hand first
        yield self.env.timeout(move.travel_h)
        self.add_staff(role, move.to_region, [person.roster], person.hourly_cost)

    def queue(self, role: str, region: int) -> WorkQueue:
        """The queue a claim from `region` joins for `role`."""
        spec = self.ops.staff[role]
        pool = self.region_ids[region] if isinstance(spec.headcount, dict) else SHARED_POOL
        return self.queues[(role, pool)]

    def has_capacity(self, role: str, region: int) -> bool:
        return id(self.queue(role, region)) in self._staffed

    def submit(self, claim: Claim, report_at_h: float) -> None:
        """Start the claim's life: it reports at `report_at_h` and works through the operation."""
        self.env.process(self.story.life(claim, report_at_h))

    def snapshot(self) -> dict[str, float]:
        """Live state for the hourly series: jobs waiting and staff on shift and busy, by role."""
        out: dict[str, float] = {}
        for role in ROLES:
            out[f"waiting_{role}"] = sum(len(q) for (r, _), q in self.queues.items() if r == role)
            members = [s for s in self.staff if s.role == role]
            out[f"on_duty_{role}"] = sum(1 for s in members if s.on_shift)
            out[f"busy_{role}"] = sum(s.busy for s in members)
        return out
