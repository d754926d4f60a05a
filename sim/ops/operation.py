"""The insurer's operation: queues per role and pool, staff on their rosters, and the claim story."""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from sim.ops.flow import ClaimStory
from sim.ops.log import EventLog
from sim.ops.queues import WorkQueue
from sim.ops.staff import StaffMember, rosters_for, working_headcount
from sim.scenario import ROLES, Scenario

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
        clock_offset_h = scenario.start.hour + scenario.start.minute / 60.0
        for role in ROLES:
            spec = self.ops.staff[role]
            pools = spec.headcount if isinstance(spec.headcount, dict) else {SHARED_POOL: spec.headcount}
            for pool, headcount in pools.items():
                queue = WorkQueue(env, f"{role}:{pool}")
                self.queues[(role, pool)] = queue
                n = working_headcount(spec, headcount)
                for roster in rosters_for(self.ops.rosters[spec.roster], n, clock_offset_h):
                    slots = spec.concurrent_cases if role == "video_survey" else 1
                    self.staff.append(StaffMember(env, log, len(self.staff), role, pool, roster, queue, slots))
        self._staffed = {id(s.queue) for s in self.staff}
        self.story = ClaimStory(self)

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
