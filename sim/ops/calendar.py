"""Wake-ups far in the future kept out of SimPy's event heap until their hour comes.

A catastrophe keeps hundreds of thousands of claims waiting days or weeks (for documents, parts, a repair
bay, a court). As SimPy timeouts they would all sit in the environment's heap, and every event of the run
would pay for its depth. The calendar files each wake-up under the hour it falls in and hands it to SimPy
when the model reaches that hour (`release`, called by ClaimsModel.step before it runs the hour), so the heap
holds only the current hour's events. Order is kept: within an hour, wake-ups are scheduled by time, then by
the order they were filed.
"""

from __future__ import annotations

import heapq
import itertools
import math

import simpy
from simpy.core import NORMAL


class Calendar:
    """Timeouts for the hours ahead, released hour by hour."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._buckets: dict[int, list[tuple[float, int, simpy.Event]]] = {}
        self._seq = itertools.count()
        self.released = -1   # the last hour handed to SimPy

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())

    def timeout(self, delay: float) -> simpy.Event:
        """An event that fires `delay` hours from now (a SimPy timeout if it falls in a released hour)."""
        delay = max(float(delay), 0.0)
        due = self.env.now + delay
        hour = math.floor(due)
        if hour <= self.released:
            return self.env.timeout(delay)
        event = self.env.event()
        self._buckets.setdefault(hour, []).append((due, next(self._seq), event))
        return event

    def release(self, hour: int) -> None:
        """Hand SimPy every wake-up due before the end of `hour` (call at the start of the hour).

        As `env.schedule` would, one by one in order (the same times, priorities and sequence numbers, so SimPy
        runs them in the same order), but added to its queue at once and the heap rebuilt once: an hour of a
        catastrophe releases thousands of wake-ups."""
        env = self.env
        now = env.now
        queue, eid = env._queue, env._eid   # SimPy's event heap and sequence (what Environment.schedule uses)
        added = False
        for h in range(self.released + 1, hour + 1):
            bucket = self._buckets.pop(h, None)
            if not bucket:
                continue
            bucket.sort()
            for due, _, event in bucket:
                event._ok = True   # as Event.succeed does, with the delay SimPy's timeouts use
                event._value = None
                queue.append((now + max(due - now, 0.0), NORMAL, next(eid), event))
            added = True
        if added:
            heapq.heapify(queue)
        self.released = max(self.released, hour)
