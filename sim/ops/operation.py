"""The insurer's operation: queues per role and pool, staff on their rosters, and the claim story."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

import simpy

from sim.ops.calendar import Calendar
from sim.ops.flow import ClaimStory
from sim.ops.log import Ev, EventLog
from sim.ops.queues import WorkQueue
from sim.ops.staff import Roster, StaffMember, rosters_for, working_headcount
from sim.scenario import Move, Scenario
from sim.vocab import ROLES

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
        self.calendar = Calendar(env)
        self.queues: dict[tuple[str, str], WorkQueue] = {}
        self._queue_of: dict[tuple[str, int], WorkQueue] = {}   # (role, region) -> its queue
        self.staff: list[StaffMember] = []
        self.clock_offset_h = scenario.start.hour + scenario.start.minute / 60.0
        for role in ROLES:
            if role not in self.ops.staff:
                continue  # an optional role the scenario leaves out: no queue, no capacity limit
            spec = self.ops.staff[role]
            pools = spec.headcount if isinstance(spec.headcount, dict) else {SHARED_POOL: spec.headcount}
            for pool, headcount in pools.items():
                self.queues[(role, pool)] = WorkQueue(env, f"{role}:{pool}")
                self.hire(role, pool, working_headcount(spec, headcount), spec.roster, spec.hourly_cost)
                if spec.surge is not None:
                    env.process(self.surge_watch(role, pool))
            for move in spec.moves:
                env.process(self.move(role, move))
        self.travel_windows: list[tuple[int | None, int, int, float]] = []  # (region, from, to, factor)
        self.story = ClaimStory(self)

    def hire(self, role: str, pool: str, n: int, roster: str, hourly_cost: float) -> list[StaffMember]:
        """Put n people on the pool's queue, on the named roster's shifts."""
        return self.add_staff(role, pool, rosters_for(self.ops.rosters[roster], n, self.clock_offset_h), hourly_cost)

    def add_staff(self, role: str, pool: str, shifts: list[Roster], hourly_cost: float) -> list[StaffMember]:
        """One person per shift on the pool's queue."""
        spec = self.ops.staff[role]
        slots = spec.concurrent_cases if role == "video_survey" else 1
        queue = self.queues[(role, pool)]
        people = [StaffMember(self.env, self.log, len(self.staff) + i, role, pool, shift, queue, slots, hourly_cost,
                              self.calendar)
                  for i, shift in enumerate(shifts)]
        self.staff += people
        self._restaff()
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
            on_duty = queue.on_duty
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

    # ------------------------------------------------------------------ changes during a tabletop exercise

    def travel_factor(self, region: int, hour: int) -> float:
        """Travel-time multiplier from road closures (1 when none)."""
        f = 1.0
        for r, start, end, factor in self.travel_windows:
            if (r is None or r == region) and start <= hour < end:
                f *= factor
        return f

    def slow_travel(self, region: str | None, factor: float, start: int, end: int) -> None:
        r = None if region is None else self.region_ids.index(region)
        self.travel_windows.append((r, start, end, factor))

    def _active(self, role: str, pool: str | None) -> list[StaffMember]:
        return [s for s in self.staff if s.role == role and not s.retired and (pool is None or s.pool == pool)]

    def _restaff(self) -> None:
        self._staffed = {id(s.queue) for s in self.staff if not s.retired}

    def absence(self, role: str, pool: str | None, count: int | None, share: float | None, start: int,
                end: int | None) -> int:
        """Take people of a role off work from now (they finish the job in hand); back at `end` if given."""
        active = self._active(role, pool)
        if count is not None:
            leaving = active[len(active) - min(count, len(active)):]
        else:  # a share of the capacity: the same share of every shift, so the cut is felt whenever it lasts
            shifts: dict[tuple[float, float], list[StaffMember]] = {}
            for person in active:
                shifts.setdefault((person.roster.start_h, person.roster.end_h), []).append(person)
            leaving = []
            for group in shifts.values():
                k = min(len(group), int(math.floor((share or 0.0) * len(group) + 0.5)))
                leaving += group[len(group) - k:]
        for person in leaving:
            person.retire()
        self._restaff()
        if end is not None and leaving:
            self.env.process(self._come_back(leaving, end))
        return len(leaving)

    def _come_back(self, people: list[StaffMember], at_h: int) -> Generator[simpy.Event, object, None]:
        yield self.env.timeout(max(at_h - self.env.now, 0.0))
        for person in people:
            self.add_staff(person.role, person.pool, [person.roster], person.hourly_cost)

    def call_out(self, role: str, region: str | None, count: int, roster: str | None, delay_h: float) -> None:
        """Surge call-out decided by the room: `count` more people from now (after `delay_h`)."""
        self.log.add(self.env.now, -1, Ev.CALL_OUT, staff=-2, value=float(count))  # staff -2: decided by the room
        self.env.process(self._call_out(role, region or SHARED_POOL, count, roster, delay_h))

    def _call_out(self, role: str, pool: str, count: int, roster: str | None, delay_h: float
                  ) -> Generator[simpy.Event, object, None]:
        if delay_h > 0:
            yield self.env.timeout(delay_h)
        spec = self.ops.staff[role]
        self.hire(role, pool, count, roster or spec.roster, spec.hourly_cost)

    def start_move(self, role: str, move: Move) -> None:
        self.env.process(self.move(role, move))

    def replan(self, new: Scenario) -> list[str]:
        """Switch to a new plan's operation from now: staff hired, stood down or re-rostered per pool."""
        from sim.errors import InputError

        old = self.ops
        notes: list[str] = []
        for role in ROLES:
            if role not in old.staff or role not in new.operations.staff:
                if (role in old.staff) != (role in new.operations.staff):
                    raise InputError(f"{role} cannot be added or removed mid-exercise (give it headcount 0 in the "
                                     "scenario to add staff later)", key_path=f"changes.operations.staff.{role}")
                continue
            o, n = old.staff[role], new.operations.staff[role]
            if isinstance(o.headcount, dict) != isinstance(n.headcount, dict):
                raise InputError("a role cannot switch between shared and regional pools mid-exercise",
                                 key_path=f"changes.operations.staff.{role}.headcount")
            old_pools = o.headcount if isinstance(o.headcount, dict) else {SHARED_POOL: o.headcount}
            new_pools = n.headcount if isinstance(n.headcount, dict) else {SHARED_POOL: n.headcount}
            for pool, count in new_pools.items():
                before = working_headcount(o, old_pools.get(pool, 0))
                after = working_headcount(n, count)
                if n.roster != o.roster:
                    active = self._active(role, pool)
                    for person in active:
                        person.retire()
                    self._restaff()
                    target = max(len(active) + after - before, 0)
                    self.add_staff(role, pool, rosters_for(new.operations.rosters[n.roster], target,
                                                           self.clock_offset_h), n.hourly_cost)
                    notes.append(f"{role}{'' if pool == SHARED_POOL else ' ' + pool}: {target} on roster {n.roster}")
                elif after > before:
                    self.add_staff(role, pool, rosters_for(new.operations.rosters[n.roster], after - before,
                                                           self.clock_offset_h), n.hourly_cost)
                    notes.append(f"{role}{'' if pool == SHARED_POOL else ' ' + pool}: +{after - before}")
                elif after < before:
                    active = self._active(role, pool)
                    for person in active[len(active) - min(before - after, len(active)):]:
                        person.retire()
                    self._restaff()
                    notes.append(f"{role}{'' if pool == SHARED_POOL else ' ' + pool}: -{before - after}")
                if n.surge is not None and n.surge != o.surge:
                    self.env.process(self.surge_watch(role, pool))
            for move in n.moves:
                if move not in o.moves:
                    self.env.process(self.move(role, move))
        self.scenario = new
        self.ops = new.operations
        return notes

    # ------------------------------------------------------------------ routing

    def queue(self, role: str, region: int) -> WorkQueue:
        """The queue a claim from `region` joins for `role` (looked up once: a plan may change head counts but
        not whether a role's pools are shared or by region, Operation.replan)."""
        try:
            return self._queue_of[(role, region)]
        except KeyError:
            spec = self.ops.staff[role]
            pool = self.region_ids[region] if isinstance(spec.headcount, dict) else SHARED_POOL
            queue = self._queue_of[(role, region)] = self.queues[(role, pool)]
            return queue

    def models(self, role: str) -> bool:
        """Whether the role is a queue here (optional roles left out of the scenario are not)."""
        return role in self.ops.staff

    def has_capacity(self, role: str, region: int) -> bool:
        """Whether anyone works the queue a claim from `region` would join (an unmodelled role always has)."""
        return not self.models(role) or id(self.queue(role, region)) in self._staffed

    def submit(self, claim: Claim, report_at_h: float) -> None:
        """Start the claim's life: it reports at `report_at_h` and works through the operation."""
        self.env.process(self.story.life(claim, report_at_h))

    def snapshot(self) -> dict[str, float]:
        """Live state for the hourly series: jobs waiting and staff on shift and busy, by role."""
        out: dict[str, float] = {}
        for role in ROLES:
            out[f"waiting_{role}"] = 0
            out[f"on_duty_{role}"] = 0
            out[f"busy_{role}"] = 0
        for (role, _), q in self.queues.items():  # counters the staff keep: no walk over every person each hour
            out[f"waiting_{role}"] += len(q)
            out[f"on_duty_{role}"] += q.on_duty
            out[f"busy_{role}"] += q.busy
        return out
