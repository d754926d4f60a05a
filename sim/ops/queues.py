"""Prioritised work queues that staff pull from, with jobs that callers may walk away from."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

from sim.ops.log import Ev

if TYPE_CHECKING:
    from sim.ops.claim import Claim


class Job:
    """One piece of work on a claim: picked by a staff member, then done after its duration."""

    __slots__ = ("claim", "start_code", "end_code", "duration", "picked", "done", "cancelled", "value",
                 "staff_id")

    def __init__(self, env: simpy.Environment, claim: Claim, start_code: Ev, end_code: Ev,
                 duration: Callable[[Any], float], value: float = float("nan")) -> None:
        self.claim = claim
        self.start_code = start_code
        self.end_code = end_code
        self.duration = duration
        self.picked = env.event()
        self.done = env.event()
        self.cancelled = False
        self.value = value
        self.staff_id = -1


class WorkQueue:
    """A priority queue of jobs (lower priority value first, then first come first served).

    A job whose customer gave up is marked cancelled and skipped when it reaches the head, so
    `len()` counts only jobs still waiting.
    """

    def __init__(self, env: simpy.Environment, name: str) -> None:
        self.env = env
        self.name = name
        self.store = simpy.PriorityStore(env)
        self._seq = itertools.count()
        self.waiting = 0

    def __len__(self) -> int:
        return self.waiting

    def put(self, job: Job, priority: int = 0, rank: float = 0.0) -> None:
        """Queue a job: lower `priority` first, then lower `rank` (dispatch order), then first come."""
        self.waiting += 1
        self.store.put(simpy.PriorityItem((priority, rank, self.env.now, next(self._seq)), job))

    def cancel(self, job: Job) -> None:
        if not job.cancelled and not job.picked.triggered:
            job.cancelled = True
            self.waiting -= 1

    def taken(self, job: Job) -> None:
        self.waiting -= 1
