"""Prioritised work queues: a job goes straight to a staff member waiting for work, or waits its turn.

A queue serves its waiting jobs lower priority value first, then lower rank, then first come, and keeps the
staff members waiting for work in the order they began to wait. Handing a job straight to the one who
waited longest keeps the discipline of a pull queue without a store and a condition per job.

Most queues never rank their jobs (rank 0: first come, first served within a priority): their jobs wait in
one first-in, first-out lane per priority, already in order, and taking the next one costs nothing; a heap
(whose every push and pop compares keys, a catastrophe's backlogs hold hundreds of thousands of jobs) is
used from the first ranked job on (a dispatch rule ordering field surveys by distance), with the same order.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

from sim.ops.log import Ev

if TYPE_CHECKING:
    from sim.ops.claim import Claim


class Job:
    """One piece of work on a claim: picked by a staff member, then done after its duration (hours, or a function
    of the staff member who takes it, priced when taken: a site visit's drive depends on the roads then)."""

    __slots__ = ("claim", "start_code", "end_code", "duration", "_picked", "done", "cancelled", "value",
                 "staff_id", "key", "env")

    def __init__(self, env: simpy.Environment, claim: Claim, start_code: Ev, end_code: Ev,
                 duration: float | Callable[[Any], float], value: float = float("nan")) -> None:
        self.env = env
        self.claim = claim
        self.start_code = start_code
        self.end_code = end_code
        self.duration = duration
        self._picked: simpy.Event | None = None   # made only for a caller who waits on it (the phone)
        self.done = env.event()
        self.cancelled = False
        self.value = value
        self.staff_id = -1
        self.key: tuple = ()

    @property
    def picked(self) -> simpy.Event:
        """Fires when a staff member takes the job."""
        if self._picked is None:
            self._picked = self.env.event()
        return self._picked


class WorkQueue:
    """A priority queue of jobs and the staff members waiting for one.

    A job whose customer gave up is marked cancelled and skipped when it reaches the head, so `len()` counts
    only jobs still waiting.
    """

    def __init__(self, env: simpy.Environment, name: str) -> None:
        self.env = env
        self.name = name
        self._heap: list[tuple[tuple, Job]] = []
        self._lanes: dict[int, deque[Job]] = {}   # first come, first served by priority, while nothing is ranked
        self._priorities: list[int] = []          # the lanes' priorities, in order
        self._ranked = False                      # a ranked job came: every job waits in the heap from then on
        # staff waiting for work, longest-waiting first; a wait ended otherwise (shift over) is skipped when reached
        # and swept out once such waits are many (a dict popped from its front would rescan its deleted slots)
        self._idle: deque[simpy.Event] = deque()
        self._ended_waits = 0
        self._seq = itertools.count()
        self.waiting = 0
        self.on_duty = 0   # staff of this queue on shift now (kept by the staff as they clock in and out)
        self.busy = 0      # jobs of this queue in hand now (kept by the staff as they start and finish one)
        self.bells: dict[Any, Any] = {}   # the shift bells of its staff, by roster (sim.ops.staff.ShiftBell)

    def __len__(self) -> int:
        return self.waiting

    def jobs(self) -> list[Job]:
        """The jobs waiting (cancelled ones left out), in no particular order."""
        lanes = [job for lane in self._lanes.values() for job in lane if not job.cancelled]
        return lanes + [job for _, job in self._heap if not job.cancelled]

    def put(self, job: Job, priority: int = 0, rank: float = 0.0) -> None:
        """Queue a job: lower `priority` first, then lower `rank` (dispatch order), then first come."""
        self.waiting += 1
        job.key = (priority, rank, self.env.now, next(self._seq))
        self._offer(job)

    def _offer(self, job: Job, back: bool = False) -> None:
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.triggered:
                waiter.succeed(job)
                return
        key = job.key
        if not self._ranked and key[1] != 0.0:
            self._rank_from_now()
        if self._ranked:
            heapq.heappush(self._heap, (key, job))
            return
        lane = self._lanes.get(key[0])
        if lane is None:
            lane = self._lanes[key[0]] = deque()
            bisect.insort(self._priorities, key[0])
        if back:  # its place among the jobs queued since it was handed over (they all came after it)
            i = 0
            while i < len(lane) and lane[i].key < key:
                i += 1
            lane.insert(i, job)
        else:
            lane.append(job)

    def _rank_from_now(self) -> None:
        """The first ranked job: the lanes' jobs move to the heap (same order: priority, rank 0, first come)."""
        self._ranked = True
        for lane in self._lanes.values():
            self._heap.extend((job.key, job) for job in lane)
        heapq.heapify(self._heap)
        self._lanes.clear()
        self._priorities.clear()

    def requeue(self, job: Job) -> None:
        """A job handed over at the instant its taker went off shift: back in its place."""
        self._offer(job, back=True)

    def pop(self) -> Job | None:
        """The next job still wanted, or None."""
        if not self._ranked:
            for priority in self._priorities:
                lane = self._lanes[priority]
                while lane:
                    job = lane.popleft()
                    if not job.cancelled:
                        return job
            return None
        while self._heap:
            _, job = heapq.heappop(self._heap)
            if not job.cancelled:
                return job
        return None

    def wait(self) -> simpy.Event:
        """An event that a job will be handed through (register as waiting for work)."""
        ev = self.env.event()
        self._idle.append(ev)
        return ev

    def stop_waiting(self, ev: simpy.Event) -> None:
        """`ev`, a wait for work, ended without a job (the shift is over, or the person leaves)."""
        self._ended_waits += 1
        if self._ended_waits > 64 + len(self._idle) // 2:
            self._idle = deque(w for w in self._idle if not w.triggered)
            self._ended_waits = 0

    def cancel(self, job: Job) -> None:
        if not job.cancelled and (job._picked is None or not job._picked.triggered) and job.staff_id < 0:
            job.cancelled = True
            self.waiting -= 1

    def taken(self, job: Job) -> None:
        self.waiting -= 1
