"""Staff rosters and staff members: shift windows, head counts, and serving jobs only while on shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy
from helpers import build, minimal_doc, run
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.economics import day_hours, shift_intervals
from sim.ops.claim import Claim
from sim.ops.log import Ev, EventLog, RunRecord
from sim.ops.queues import Job, WorkQueue
from sim.ops.staff import Roster, StaffMember, rosters_for, split_by_share, working_headcount
from sim.scenario import RosterSpec, StaffRole

# ---------------------------------------------------------------- rosters


def test_day_shift_window() -> None:
    r = Roster(8, 17, 0)
    assert r.window(0) == (8, 17)
    assert r.window(8) == (8, 17)
    assert r.window(12.5) == (8, 17)
    assert r.window(17) == (32, 41)  # the end is not part of the shift
    assert [r.on_duty(t) for t in (7.99, 8, 16.99, 17, 31.9, 32, 40.5, 41)] == [
        False, True, True, False, False, True, True, False]


def test_shift_crossing_midnight() -> None:
    r = Roster(22, 30, 0)  # 22:00 to 06:00
    assert r.window(1) == (-2, 6)  # the night shift that began before the scenario started
    assert r.on_duty(0) and r.on_duty(5.9)
    assert not r.on_duty(6) and not r.on_duty(21.99)
    assert r.window(6) == (22, 30)
    assert r.on_duty(22) and r.on_duty(29.5) and not r.on_duty(30)


def test_scenario_starting_at_a_non_midnight_hour() -> None:
    r = Roster(8, 17, 6)  # scenario starts at 06:00: the 08:00 shift starts two hours in
    assert r.window(0) == (2, 11)
    assert not r.on_duty(1.99) and r.on_duty(2) and r.on_duty(10.99) and not r.on_duty(11)
    assert r.window(11) == (26, 35)
    late = Roster(22, 30, 23.5)  # start at 23:30 during a night shift
    assert late.window(0) == (-1.5, 6.5)
    assert late.on_duty(0) and not late.on_duty(6.5) and late.on_duty(22.5)


def test_full_day_roster_is_always_on_duty() -> None:
    for offset in (0, 7, 13.5):
        r = Roster(0, 24, offset)
        assert all(r.on_duty(t) for t in np.arange(0, 100, 0.25))


@settings(max_examples=200, deadline=None)
@given(start_q=st.integers(0, 95), length_q=st.integers(1, 96), offset_q=st.integers(0, 95),
       t_q=st.integers(0, 8 * 24 * 10))
def test_on_duty_matches_clock_arithmetic(start_q: int, length_q: int, offset_q: int, t_q: int) -> None:
    start, length, offset, t = start_q / 4, length_q / 4, offset_q / 4, t_q / 8  # exact binary fractions
    r = Roster(start, start + length, offset)
    clock_since_start = (t + offset - start) % 24
    assert r.on_duty(t) == (clock_since_start < length)
    w_start, w_end = r.window(t)
    if length == 24:  # around the clock: one shift for the whole run
        assert r.around_the_clock and (w_start, w_end) == (-np.inf, np.inf)
        return
    assert not r.around_the_clock
    assert w_end - w_start == length
    assert w_end > t
    assert w_start - t < 24
    assert ((w_start + offset - start) % 24) == 0  # a window starts at the shift's clock hour


# ---------------------------------------------------------------- head counts


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 500), weights=st.lists(st.integers(1, 20), min_size=1, max_size=6))
def test_split_by_share_sums_to_n(n: int, weights: list[int]) -> None:
    shares = [w / sum(weights) for w in weights]
    counts = split_by_share(n, shares)
    assert sum(counts) == n
    assert all(c >= 0 for c in counts)
    assert all(abs(c - n * s) < 1 for c, s in zip(counts, shares, strict=True))


def test_split_by_share_examples() -> None:
    assert split_by_share(6, [0.5, 0.5]) == [3, 3]
    assert split_by_share(5, [0.5, 0.5]) == [3, 2]  # ties go to the first shift
    assert split_by_share(1, [0.2, 0.8]) == [0, 1]
    assert split_by_share(0, [1.0]) == [0]


def test_rosters_for_gives_every_member_a_shift() -> None:
    spec = RosterSpec(shifts=[{"start": 7, "end": 15, "share": 0.5}, {"start": 15, "end": 23, "share": 0.25},
                              {"start": 23, "end": 31, "share": 0.25}])
    rosters = rosters_for(spec, 9, 6.0)
    assert len(rosters) == 9
    assert [(r.start_h, r.end_h) for r in rosters].count((7, 15)) == 5
    assert all(r.clock_offset_h == 6.0 for r in rosters)


@pytest.mark.parametrize(("headcount", "leave", "working"), [
    (10, 0.0, 10), (10, 0.25, 7), (10, 0.2, 8), (10, 1.0, 0), (5, 0.1, 4), (4, 0.1, 4), (0, 0.5, 0)])
def test_working_headcount_with_leave(headcount: int, leave: float, working: int) -> None:
    role = StaffRole(headcount=headcount, roster="x", leave_share=leave)
    assert working_headcount(role, headcount) == working


@given(n=st.integers(0, 300), leave=st.floats(0, 1))
def test_working_headcount_rounds_to_the_nearest_person(n: int, leave: float) -> None:
    w = working_headcount(StaffRole(headcount=n, roster="x", leave_share=leave), n)
    assert 0 <= w <= n
    assert abs((n - w) - n * leave) <= 0.5 + 1e-9


def test_model_staff_follow_headcount_leave_and_pools(small_yaml) -> None:
    from sim.model import ClaimsModel
    from sim.scenario import load_scenario

    sc = load_scenario(small_yaml).resolve()
    model = ClaimsModel(sc, seed=1, hours=1)
    by_role: dict[str, list] = {}
    for s in model.ops.staff:
        by_role.setdefault(s.role, []).append(s)
    assert len(by_role["phone"]) == 4
    assert len(by_role["assessment"]) == 2  # 3 with 20% leave
    assert sorted(s.pool for s in by_role["field_survey"]) == ["sz", "sz", "yc", "yc", "yc"]
    assert all(s.slots == 3 for s in by_role["video_survey"])
    assert [(s.roster.start_h, s.roster.end_h) for s in by_role["phone"]] == [(7, 15), (7, 15), (15, 23), (15, 23)]
    assert all(s.roster.clock_offset_h == 6 for s in model.ops.staff)
    assert [s.staff_id for s in model.ops.staff] == list(range(len(model.ops.staff)))


# ---------------------------------------------------------------- serving jobs in a tiny SimPy world


def claim(i: int) -> Claim:
    return Claim(claim_id=i, key=i, agent_type="driver", agent_id=i, region=0, incident_type="crash",
                 incident_h=0.0, loss_amount=1000.0, base=i)


class World:
    """A SimPy environment, an event log, one queue and its staff."""

    def __init__(self) -> None:
        self.env = simpy.Environment()
        self.log = EventLog()
        self.queue = WorkQueue(self.env, "test")
        self.jobs: list[Job] = []

    def submit(self, at: float, duration: float, priority: int = 0) -> Job:
        job = Job(self.env, claim(len(self.jobs)), Ev.ASSESSMENT_START, Ev.ASSESSMENT_END, lambda _s: duration)
        self.jobs.append(job)

        def put():
            yield self.env.timeout(at)
            self.queue.put(job, priority)

        self.env.process(put())
        return job

    def times(self, code: Ev) -> dict[int, float]:
        return {c: t for t, c, k in zip(self.log.t, self.log.claim, self.log.code, strict=True) if k == int(code)}


def test_staff_member_serves_only_on_shift() -> None:
    rng = np.random.default_rng(11)
    w = World()
    roster = Roster(8, 17, 0)
    member = StaffMember(w.env, w.log, 0, "assessment", "all", roster, w.queue)
    arrivals = np.sort(rng.uniform(0, 60, 40))
    for a in arrivals:
        w.submit(float(a), float(rng.uniform(0.1, 1.5)))
    w.env.run(until=24 * 6)
    starts, ends = w.times(Ev.ASSESSMENT_START), w.times(Ev.ASSESSMENT_END)
    assert len(starts) == len(ends) == 40  # every job served
    for i, a in enumerate(arrivals):
        assert starts[i] >= a
        assert roster.on_duty(starts[i]), (i, starts[i])
        assert ends[i] > starts[i]
    order = [starts[i] for i in range(40)]
    assert order == sorted(order)  # one person, first come first served
    # the person is never doing two jobs at once
    spans = sorted((starts[i], ends[i]) for i in range(40))
    assert all(b[0] >= a[1] - 1e-12 for a, b in zip(spans, spans[1:], strict=False))
    assert len(w.queue) == 0 and member.busy == 0
    # shift events: clocked in at each 08:00, out at 17:00 or after finishing the job in hand
    shift_starts = [t for t, k in zip(w.log.t, w.log.code, strict=True) if k == Ev.SHIFT_START]
    shift_ends = [t for t, k in zip(w.log.t, w.log.code, strict=True) if k == Ev.SHIFT_END]
    assert shift_starts[:3] == [8, 32, 56]
    for s, e in zip(shift_starts, shift_ends, strict=False):
        assert e >= s + 9
        assert e < s + 9 + 1.5 + 1e-9  # overrun at most one job


def test_around_the_clock_staff_clock_in_once_and_serve_across_midnight() -> None:
    """A 24-hour roster is one shift with no end: no clocking out and in at every midnight (a catastrophe's
    thousands of tow and repair partners would log two rows and wake twice a day each), the same hours a day."""
    w = World()
    member = StaffMember(w.env, w.log, 0, "assessment", "all", Roster(0, 24, 6.5), w.queue)
    for a in np.arange(0.3, 96, 1.7):
        w.submit(float(a), 1.1)   # jobs run across every midnight
    w.env.run(until=120)
    codes = list(w.log.code)
    assert codes.count(Ev.SHIFT_START) == 1 and codes.count(Ev.SHIFT_END) == 0
    assert member.on_shift and w.queue.on_duty == 1
    starts, ends = w.times(Ev.ASSESSMENT_START), w.times(Ev.ASSESSMENT_END)
    assert len(starts) == len(ends) == len(np.arange(0.3, 96, 1.7))
    assert all(abs(ends[i] - starts[i] - 1.1) < 1e-9 for i in starts)
    # a job handed over at midnight is served at once (no hand-back to the queue at a shift's end)
    assert all(starts[i] == pytest.approx(a) for i, a in enumerate(np.arange(0.3, 96, 1.7)))
    rec = RunRecord(w.log.arrays(), pd.DataFrame(), pd.DataFrame(), horizon_h=120.0, region_ids=("all",),
                    clock_offset_h=6.5)
    hours = day_hours(*shift_intervals(rec), 1, 120.0, 6.5)
    # every clock day the run covers: 24 hours, except the part-days at either end (the run starts at 06:30)
    assert hours.sum() == pytest.approx(120.0)
    assert np.allclose(hours[0, 1:5], 24.0) and hours[0, 0] == pytest.approx(17.5)
    member.retire()
    w.env.run(until=121)
    assert list(w.log.code).count(Ev.SHIFT_END) == 1 and not member.on_shift


def test_night_staff_serve_across_midnight_with_offset_start() -> None:
    w = World()
    roster = Roster(22, 30, 20)  # scenario starts at 20:00; the night shift runs 22:00-06:00
    StaffMember(w.env, w.log, 0, "assessment", "all", roster, w.queue)
    for a in np.arange(0, 48, 0.75):
        w.submit(float(a), 0.2)
    w.env.run(until=72)
    starts = w.times(Ev.ASSESSMENT_START)
    assert len(starts) == 64
    assert all(roster.on_duty(t) for t in starts.values())
    assert min(starts.values()) == 2.0  # 22:00 is two hours after the 20:00 start
    clock = sorted({int((t + 20) % 24) for t in starts.values()})
    assert set(clock) <= {22, 23, 0, 1, 2, 3, 4, 5}


def test_several_staff_share_a_queue() -> None:
    w = World()
    rosters = [Roster(7, 15, 0), Roster(15, 23, 0), Roster(15, 23, 0)]
    for i, r in enumerate(rosters):
        StaffMember(w.env, w.log, i, "assessment", "all", r, w.queue)
    for a in np.arange(0, 24, 0.2):
        w.submit(float(a), 0.25)
    w.env.run(until=72)
    by_staff: dict[int, list[float]] = {}
    for t, k, s in zip(w.log.t, w.log.code, w.log.staff, strict=True):
        if k == Ev.ASSESSMENT_START:
            by_staff.setdefault(s, []).append(t)
    for s, ts in by_staff.items():
        assert all(rosters[s].on_duty(t) for t in ts), s
    assert set(by_staff) == {0, 1, 2}
    assert len(w.times(Ev.ASSESSMENT_END)) == 120


def test_video_surveyor_slots_run_k_jobs_at_once() -> None:
    w = World()
    member = StaffMember(w.env, w.log, 0, "video_survey", "all", Roster(8, 17, 0), w.queue, slots=3)
    for _ in range(7):
        w.submit(9.0, 1.0)
    busy = []

    def watch():
        yield w.env.timeout(9.5)
        busy.append(member.busy)
        yield w.env.timeout(1.0)
        busy.append(member.busy)
        yield w.env.timeout(1.0)
        busy.append(member.busy)

    w.env.process(watch())
    w.env.run(until=16)
    starts = sorted(w.times(Ev.ASSESSMENT_START).values())
    assert starts == [9.0, 9.0, 9.0, 10.0, 10.0, 10.0, 11.0]
    assert busy == [3, 3, 1]
    assert [k for k in w.log.code if k == Ev.SHIFT_START] == [int(Ev.SHIFT_START)]  # one person, one shift
    assert member.on_shift


def test_priority_then_first_come() -> None:
    w = World()
    StaffMember(w.env, w.log, 0, "assessment", "all", Roster(0, 24, 0), w.queue)
    w.submit(0.0, 1.0)                 # 0: occupies the person until 1.0
    w.submit(0.1, 0.1, priority=1)     # 1
    w.submit(0.2, 0.1, priority=1)     # 2
    w.submit(0.3, 0.1, priority=0)     # 3: jumps the queue
    w.env.run(until=5)
    starts = w.times(Ev.ASSESSMENT_START)
    assert sorted(starts, key=starts.get) == [0, 3, 1, 2]


def test_cancelled_jobs_are_skipped() -> None:
    w = World()
    StaffMember(w.env, w.log, 0, "assessment", "all", Roster(8, 17, 0), w.queue)
    a = w.submit(1.0, 0.5)
    b = w.submit(2.0, 0.5)

    def give_up():
        yield w.env.timeout(3.0)
        w.queue.cancel(a)

    w.env.process(give_up())
    w.env.run(until=3.5)
    assert len(w.queue) == 1
    w.env.run(until=20)
    assert not a.picked.triggered and b.done.triggered
    assert len(w.queue) == 0
    assert set(w.times(Ev.ASSESSMENT_START)) == {1}
    assert w.times(Ev.FIRST_CONTACT) == {1: 8.0}


def test_job_arriving_exactly_at_shift_end_is_served_next_shift() -> None:
    w = World()
    StaffMember(w.env, w.log, 0, "assessment", "all", Roster(8, 17, 0), w.queue)
    job = w.submit(17.0, 0.5)
    w.env.run(until=60)
    assert job.done.triggered
    assert w.times(Ev.ASSESSMENT_START) == {0: 32.0}
    assert len(w.queue) == 0


def lost_job_doc() -> dict:
    """Farmers all report by app exactly 3 h after the snow stops at 14:00, i.e. at 17:00 sharp, when the
    field surveyors' office shift ends: their survey jobs are queued at the very end of the shift."""
    doc = minimal_doc(drivers=0, farmers=30, duration_h=72,
                      keyframes=[{"h": 0, "temp_c": -12, "snowfall_cm_h": 0.5},
                                 {"h": 14, "temp_c": -5, "snowfall_cm_h": 0}],
                      headcounts={"phone": 2, "field_survey": 6, "assessment": 10, "approval": 5})
    doc["regions"][0]["portfolio"]["farmers"]["crops"] = {"wheat": 1.0}
    doc["hazard"]["r1"]["interpolation"] = "step"
    doc["behaviour"] = {"farmers": {"channels": {"app": 1.0}, "report_delay_h": 3, "report_after_storm": True}}
    doc["operations"]["rosters"]["office"] = {"shifts": [{"start": 8, "end": 17}]}
    doc["operations"]["staff"]["field_survey"]["roster"] = "office"
    return doc


def test_no_job_is_lost_at_a_shift_end_in_a_run() -> None:
    r = run(build(lost_job_doc()), seed=1)
    c = r.claims
    assert len(c) > 10 and (c["registered_h"] == 17.0).all()
    assert c["surveyed_h"].notna().all(), c.loc[c["surveyed_h"].isna(), "claim_id"].tolist()
    for q in r.model.ops.queues.values():
        assert len(q) == len(q.jobs())


def test_queue_length_counts_jobs_still_waiting() -> None:
    """The invariant the lost-job test checks, on an ordinary run where no job meets a shift end."""
    doc = lost_job_doc()
    doc["behaviour"]["farmers"]["report_delay_h"] = {"dist": "exponential", "mean": 3}
    r = run(build(doc), seed=1)
    assert r.claims["surveyed_h"].notna().all()
    for q in r.model.ops.queues.values():
        assert len(q) == len(q.jobs())


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["put", "put", "put", "pop", "cancel", "requeue", "tick"]),
                              st.integers(0, 2), st.sampled_from([0.0, 0.0, 0.0, 0.0, 0.5, -1.0])),
                    max_size=80))
def test_queue_serves_in_key_order_with_lanes_or_heap(ops: list[tuple[str, int, float]]) -> None:
    """The queue's first-come lanes (while no job is ranked) and its heap (from the first ranked job on) give
    the jobs in the order of a plain sort by (priority, rank, time queued, order queued); cancelled jobs are
    skipped; a job handed back goes to its place."""
    env = simpy.Environment()
    q = WorkQueue(env, "test")
    live: list[Job] = []        # the reference: jobs waiting, sorted by key when one is taken
    taken: list[Job] = []
    for n, (op, priority, rank) in enumerate(ops):
        if op == "put":
            job = Job(env, claim(n), Ev.ASSESSMENT_START, Ev.ASSESSMENT_END, 1.0)
            q.put(job, priority, rank)
            live.append(job)
        elif op == "pop":
            got = q.pop()
            want = min(live, key=lambda j: j.key) if live else None
            assert got is want
            if got is not None:
                live.remove(got)
                q.taken(got)
                taken.append(got)
        elif op == "cancel" and live:
            job = live.pop(priority % len(live))
            q.cancel(job)
        elif op == "requeue" and taken:
            job = taken.pop()
            q.waiting += 1   # as if it had never been taken (a job handed over at a shift's end)
            q.requeue(job)
            live.append(job)
        elif op == "tick":
            env.run(until=env.now + 1)
        assert len(q) == len(live) == len(q.jobs())
    assert sorted(q.jobs(), key=lambda j: j.key) == sorted(live, key=lambda j: j.key)


@pytest.mark.parametrize("ranked", [False, True])
def test_jobs_handed_back_return_to_their_places(ranked: bool) -> None:
    """Two jobs handed over at a shift's end go back ahead of the job queued after them, in their own order."""
    env = simpy.Environment()
    q = WorkQueue(env, "test")
    a, b, c = (Job(env, claim(i), Ev.ASSESSMENT_START, Ev.ASSESSMENT_END, 1.0) for i in range(3))
    for job in (a, b, c):
        q.put(job, 1, -0.5 if ranked else 0.0)
    assert q.pop() is a and q.pop() is b
    q.taken(a)
    q.taken(b)
    q.waiting += 2   # handed back: waiting again
    q.requeue(a)
    q.requeue(b)
    assert [q.pop(), q.pop(), q.pop(), q.pop()] == [a, b, c, None]


def test_waits_ended_by_shifts_are_swept_out() -> None:
    """Staff whose shifts end with no work leave ended waits behind in the queue's idle line; they are skipped,
    and swept out once many, so a quiet pool's line does not grow with every shift of a long run."""
    w = World()
    members = [StaffMember(w.env, w.log, i, "assessment", "all", Roster(8, 17, 0), w.queue) for i in range(5)]
    w.env.run(until=24 * 200)   # 200 days, 1,000 shifts, no job
    assert len(w.queue._idle) <= 2 * (64 + len(members))   # (1,000 ended waits without the sweep)
    job = w.submit(9.0, 0.5)   # (9 h from now) 09:00 on day 200: the first of them to start waiting takes it
    w.env.run(until=24 * 201)
    assert job.done.triggered and job.staff_id == 0
