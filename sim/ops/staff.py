"""Staff as roster-following processes that pull the next job from their queue (DESIGN rule 4).

Capacity that changes over the day (shifts, leave, 24-hour duty) falls out of who is on shift;
a staff member finishes the job in hand when the shift ends, and the extra time shows as overtime.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass

import simpy

from sim.ops.calendar import Calendar
from sim.ops.log import Ev, EventLog
from sim.ops.queues import WorkQueue
from sim.scenario import RosterSpec, StaffRole


@dataclass(frozen=True)
class Roster:
    """A daily shift window, in hours of the clock; simulated time 0 is `clock_offset_h` on the clock."""

    start_h: float
    end_h: float
    clock_offset_h: float

    @property
    def around_the_clock(self) -> bool:
        """A 24-hour shift: one shift with no end (no clocking out and in again at every midnight)."""
        return self.end_h - self.start_h >= 24.0

    def window(self, now: float) -> tuple[float, float]:
        """The shift window that contains `now`, or else the next one (simulated hours); an around-the-clock
        roster's window is the whole run."""
        if self.around_the_clock:
            return -math.inf, math.inf
        day = math.floor((now + self.clock_offset_h) / 24.0) - 1
        while True:
            start = day * 24.0 + self.start_h - self.clock_offset_h
            end = day * 24.0 + self.end_h - self.clock_offset_h
            if end > now:
                return start, end
            day += 1

    def on_duty(self, t: float) -> bool:
        start, end = self.window(t)
        return start <= t < end


def split_by_share(n: int, shares: list[float]) -> list[int]:
    """Whole numbers adding up to n in proportion to shares (largest remainder)."""
    raw = [n * s for s in shares]
    out = [math.floor(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: n - sum(out)]:
        out[i] += 1
    return out


def working_headcount(role: StaffRole, headcount: int) -> int:
    """Staff who are not on leave (leave share rounded to the nearest person)."""
    return headcount - math.floor(headcount * role.leave_share + 0.5)


def rosters_for(spec: RosterSpec, n: int, clock_offset_h: float) -> list[Roster]:
    """The shift of each of n staff members."""
    counts = split_by_share(n, [s.share for s in spec.shifts])
    out: list[Roster] = []
    for shift, count in zip(spec.shifts, counts, strict=True):
        out += [Roster(shift.start, shift.end, clock_offset_h)] * count
    return out


class ShiftBell:
    """The start and end of the shifts of everyone on one queue and one roster, rung once for them all.

    Each person waiting for a shift start (or listening for a shift end) waits on the bell's event for that time:
    one timer per group and time instead of one per person (a catastrophe's thousands of partners and
    surveyors would otherwise put several timers each on the clock every day).
    """

    __slots__ = ("_timeout", "_rings")

    def __init__(self, timeout: Callable[[float], simpy.Event]) -> None:
        self._timeout = timeout
        self._rings: dict[float, simpy.Event] = {}

    def at(self, t: float, now: float) -> simpy.Event:
        """The event that rings at simulated time t (> now), shared by everyone who asks for it."""
        ring = self._rings.get(t)
        if ring is None:
            ring = self._rings[t] = self._timeout(t - now)
            ring.callbacks.append(lambda _e, t=t: self._rings.pop(t, None))
        return ring


class StaffMember:
    """One person (or one partner unit) of a role, pulling work while on shift.

    With `slots` > 1 the person runs several jobs at once (a video surveyor guiding several scenes):
    each slot is a process of its own that pulls from the same queue.
    """

    def __init__(self, env: simpy.Environment, log: EventLog, staff_id: int, role: str, pool: str,
                 roster: Roster, queue: WorkQueue, slots: int = 1, hourly_cost: float = 0.0,
                 calendar: Calendar | None = None) -> None:
        self.env = env
        # far-off waits go through the operation's calendar (sim.ops.calendar); alone (tests), SimPy's own timeouts
        self._timeout = calendar.timeout if calendar is not None else env.timeout
        self.hourly_cost = hourly_cost
        self.retired = False
        self._leave = env.event()  # fires when the person is moved away or stood down
        self.gone = env.event()    # fires once a retired person has finished the work in hand
        self._slots_running = slots
        self.log = log
        self.staff_id = staff_id
        self.role = role
        self.pool = pool
        self.roster = roster
        self.queue = queue
        self.slots = slots
        self.busy = 0
        self.on_shift = False
        self._slots_at_work = 0
        self._waiting: list[simpy.Event | None] = [None] * slots   # each slot's wait for work, if idle
        self._off_shift = [False] * slots   # each slot waiting for its next shift to start
        self._stopped = [False] * slots     # slots that have stopped for good
        self._leave.callbacks.append(self._wake_all)
        bells = queue.bells
        self.bell = bells.get(roster)
        if self.bell is None:
            self.bell = bells[roster] = ShiftBell(self._timeout)
        for slot in range(slots):
            env.process(self.work(slot))

    def _wake(self, slot: int) -> None:
        """End a slot's wait for work with no job (its shift is over, or the person leaves)."""
        wait = self._waiting[slot]
        if wait is not None and not wait.triggered:
            wait.succeed(None)

    def _wake_all(self, _event: object = None) -> None:
        for slot in range(len(self._waiting)):
            self._wake(slot)

    def work(self, slot: int) -> Generator[simpy.Event, object, None]:
        yield from self._shifts(slot)
        self._stop(slot)

    def _stop(self, slot: int) -> None:
        """A slot stops for good; the person is gone once every slot has."""
        if not self._stopped[slot]:
            self._stopped[slot] = True
            self._slots_running -= 1
            if self._slots_running == 0:
                self.gone.succeed()

    def _shifts(self, slot: int) -> Generator[simpy.Event, object, None]:
        env, log = self.env, self.log
        while not self.retired:
            start, end = self.roster.window(env.now)
            if start > env.now:
                self._off_shift[slot] = True   # retire() stops this slot at once (nothing in hand)
                yield self.bell.at(start, env.now)
                self._off_shift[slot] = False
                if self.retired:
                    return
            self._clock_in()
            # The shift's end wakes the slot if it is waiting for work; a job handed over at that very instant
            # goes back to the queue for the next person on shift. (An around-the-clock shift never ends.)
            if end < math.inf:
                self.bell.at(end, env.now).callbacks.append(lambda _e, s=slot: self._wake(s))
            queue = self.queue
            while env.now < end and not self.retired:
                job = queue.pop()
                if job is None:
                    wake = queue.wait()
                    self._waiting[slot] = wake
                    job = yield wake
                    self._waiting[slot] = None
                    if job is None:  # the shift ended, or the person leaves
                        queue.stop_waiting(wake)
                        break
                    if job.cancelled:  # the caller gave up in the same instant
                        continue
                    if env.now >= end:  # handed over as the shift ended: the next person on shift takes it
                        queue.requeue(job)
                        break
                # the job itself (written out here: no generator made and delegated to for every job)
                queue.taken(job)
                self.busy += 1
                queue.busy += 1
                job.staff_id = self.staff_id
                claim = job.claim
                if not claim.first_contact:
                    claim.first_contact = True
                    log.add(env.now, claim.claim_id, Ev.FIRST_CONTACT, self.staff_id)
                log.add(env.now, claim.claim_id, job.start_code, self.staff_id, job.value)
                if job._picked is not None:
                    job._picked.succeed()
                duration = job.duration
                yield self._timeout(duration(self) if callable(duration) else duration)
                log.add(env.now, claim.claim_id, job.end_code, self.staff_id)
                self.busy -= 1
                queue.busy -= 1
                job.done.succeed()
            self._clock_out()

    def retire(self) -> None:
        """Stop pulling work: the job in hand is finished, then the person clocks out for good."""
        if not self.retired:
            self.retired = True
            self._leave.succeed()
            for slot, off in enumerate(self._off_shift):
                if off:   # waiting for a shift that will not come: stopped now, not at the next shift's start
                    self._stop(slot)

    def _clock_in(self) -> None:
        self._slots_at_work += 1
        if self._slots_at_work == 1:
            self.on_shift = True
            self.queue.on_duty += 1
            self.log.add(self.env.now, -1, Ev.SHIFT_START, self.staff_id)

    def _clock_out(self) -> None:
        self._slots_at_work -= 1
        if self._slots_at_work == 0:
            self.on_shift = False
            self.queue.on_duty -= 1
            self.log.add(self.env.now, -1, Ev.SHIFT_END, self.staff_id)
