"""A tabletop exercise: a model stepped hour by hour, with injects and decisions, forks, replay and reports.

This is the public API the tabletop page and `claimsim tabletop --replay` stand on; the page holds no
simulation logic. An exercise is a pure function of (scenario file, plan, seed, horizon, scheduled injects,
action log): every manual inject and decision is recorded with the hour it took effect, and replaying the
log from hour 0 reproduces the run exactly.

Timing: at hour h the model has simulated hours [0, h). Reaching hour h fires the scheduled injects due by
then (an inject at 14.5 fires on reaching hour 15); actions taken by the room while at hour h follow, in
the order taken; then hour h is simulated.

Forks re-run from hour 0 with the same seed and the parent's actions before the fork hour (SimPy processes
are generators and cannot be copied); at tabletop sizes that takes about a second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.exercise_log import LOG_VERSION, Action, ExerciseLog, HotWashNote, Improvement, log_yaml, read_log
from sim.injects import apply_decision, apply_inject, start_hour
from sim.inputs import key_path, line_of, read_document
from sim.model import ClaimsModel
from sim.ops.log import Ev
from sim.scenario import Decision, Inject, InjectsFile, ScenarioFile, inject_problems, load_scenario

__all__ = ["LOG_VERSION", "Action", "Exercise", "ExerciseLog", "FeedItem", "HotWashNote", "Improvement",
           "figures_digest", "read_injects", "read_log", "replay_file"]


@dataclass
class FeedItem:
    """One line of the exercise's feed."""

    hour: int
    kind: str  # inject, decision, alert, info
    text: str

    def line(self) -> str:
        return f"h{self.hour:>3} {self.kind}: {self.text}"


def read_injects(path: Path, file: ScenarioFile) -> list[Inject]:
    """A separate injects file, checked against the scenario (regions, pools, horizon)."""
    doc, lines = read_document(path, InjectsFile, "injects file")
    problems = inject_problems(file.resolve(), doc.injects, ("injects",))
    if problems:
        loc, msg = problems[0]
        raise InputError(msg, file=path, line=line_of(lines, loc), key_path=key_path(loc))
    return list(doc.injects)


SERVICE_LEVEL_H = 20.0 / 3600.0
DECIDED = -2  # staff_id of operation events caused by a decision of the room
CLOSING = (Ev.PAYMENT, Ev.CLOSED_NO_PAYMENT, Ev.WITHDRAWN)
THRESHOLDS = {
    "phone_sl": 0.5,      # share of calls answered within 20 s, last hour
    "abandon": 0.2,       # share of calls abandoned, last hour
    "backlog_steps": (100, 250, 500, 1000, 2500, 5000, 10000),
}


class Exercise:
    """A stepped model with a clock, injects, decisions, a feed and the figures so far."""

    def __init__(self, file: ScenarioFile, plan: str = "baseline", seed: int | None = None,
                 injects: list[Inject] | None = None, hours: int | None = None) -> None:
        self.file = file
        self.plan = plan
        scenario = file.resolve(plan)
        self.seed = scenario.seed if seed is None else seed
        self.hours = hours
        self.model = ClaimsModel(scenario, seed=self.seed, hours=hours)
        self.injects: list[Inject] = list(scenario.injects if injects is None else injects)
        self._pending = sorted(range(len(self.injects)), key=lambda i: (start_hour(self.injects[i].at_h), i))
        self.actions: list[Action] = []
        self.feed: list[FeedItem] = []
        self.fired: list[tuple[int, Inject, bool]] = []  # (hour, inject, by hand)
        self.notes: list[HotWashNote] = []
        self.improvements: list[Improvement] = []
        self.exercise_path: str | None = None  # the exercise file, when the exercise has one
        self._alerts: set[str] = set()
        self._figures_cache: tuple[int, int, dict[str, Any]] | None = None
        self._history: dict[int, dict[str, Any]] = {}  # figures at past hours (for same-hour comparisons)
        self._scan = 0
        self._last_placed: dict[int, float] = {}
        self._registered = self._closed = 0
        self._hour = {"calls": 0.0, "service_level": float("nan"), "abandonment": float("nan")}
        self._fire_due()

    # ------------------------------------------------------------------ clock

    @property
    def hour(self) -> int:
        return self.model.hour

    @property
    def horizon(self) -> int:
        return self.model.horizon_h

    @property
    def finished(self) -> bool:
        return self.hour >= self.horizon

    def clock(self) -> dt.datetime:
        """Simulated date and time at the current hour."""
        return self.model.spec.start + dt.timedelta(hours=self.hour)

    def step(self) -> None:
        """Simulate one hour (nothing past the horizon)."""
        if self.finished:
            return
        self.model.step()
        self._fire_due()
        self._watch()

    def run_to(self, hour: int) -> None:
        """Simulate up to `hour` (clamped to the horizon; an earlier hour is a no-op: fork to go back)."""
        while self.hour < min(hour, self.horizon):
            self.step()

    def _fire_due(self) -> None:
        while self._pending and start_hour(self.injects[self._pending[0]].at_h) <= self.hour:
            inj = self.injects[self._pending.pop(0)]
            self._apply_inject(inj, by_hand=False)

    # ------------------------------------------------------------------ the room's actions

    def fire(self, inject: Inject, scheduled: int | None = None) -> str:
        """Fire an inject by hand now (its `at_h` is set to the current hour)."""
        inject = inject.model_copy(update={"at_h": float(self.hour)})
        problems = inject_problems(self.model.spec, [inject], ("inject",))
        if problems:
            loc, msg = problems[0]
            raise InputError(msg, key_path=".".join(str(p) for p in loc[2:]) or None)
        text = self._apply_inject(inject, by_hand=True)
        self.actions.append(Action(kind="inject", hour=self.hour, inject=inject, scheduled=scheduled))
        return text

    def fire_scheduled(self, index: int) -> str:
        """Fire a scheduled inject now, ahead of its time (it will not fire again)."""
        if index not in self._pending:
            raise InputError(f"inject {index} has already fired", key_path="inject")
        text = self.fire(self.injects[index], scheduled=index)
        self._pending.remove(index)
        return text

    def decide(self, decision: Decision) -> str:
        """Take a decision now: it changes the plan from the current hour."""
        decision = decision.model_copy(update={"at_h": float(self.hour), "wall_time": decision.wall_time or _now()})
        return self._apply_decision(decision)

    def _apply_inject(self, inject: Inject, by_hand: bool) -> str:
        text = apply_inject(self.model, inject)
        self.model.log.add(self.model.env.now, -1, Ev.INJECT, value=float(len(self.fired)))
        self.fired.append((self.hour, inject, by_hand))
        self.feed.append(FeedItem(self.hour, "inject", f"{inject.title}: {text}" + (" (by hand)" if by_hand else "")))
        self._changed()
        return text

    @property
    def pending_injects(self) -> list[tuple[int, Inject]]:
        return [(i, self.injects[i]) for i in self._pending]

    # ------------------------------------------------------------------ what the page shows

    def figures(self) -> dict[str, Any]:
        """Headline figures so far (the run's figures at the current hour), cached per hour."""
        from sim import runner

        key = (self.hour, len(self.actions))
        if self._figures_cache is None or self._figures_cache[:2] != key:
            res = runner.collect(self.model, self.file)
            self._figures_cache = (key[0], key[1], {"figures": res.summary["figures"], "series": res.series,
                                                    "claims": res.claims})
            self._history[self.hour] = res.summary["figures"]
        return self._figures_cache[2]["figures"]

    def series(self) -> pd.DataFrame:
        """Hourly series so far: hazard, incidents, reports, backlog by stage, staff and queues by role."""
        self.figures()
        assert self._figures_cache is not None
        return self._figures_cache[2]["series"]

    def claims(self) -> pd.DataFrame:
        """The claims table so far (one row per claim, as in claims.parquet)."""
        self.figures()
        assert self._figures_cache is not None
        return self._figures_cache[2]["claims"]

    def activity(self) -> pd.DataFrame:
        """Incidents and reports per hour by agent type so far: columns incidents_<type>, reports_<type>."""
        c = self.claims()
        hours = np.arange(self.hour)
        out = pd.DataFrame({"hour": hours + 1})
        for t in ("driver", "farmer", "firm"):
            mine = c[c["agent_type"] == t]
            out[f"incidents_{t}"] = np.bincount(mine["incident_h"].astype(int), minlength=self.hour)[:self.hour]
            rep = mine["reported_h"].dropna()
            out[f"reports_{t}"] = np.bincount(rep.astype(int), minlength=self.hour)[:self.hour]
        return out

    def storm(self, variable: str | None = None) -> pd.DataFrame:
        """The storm over the whole horizon (as the exercise knows it now), one column per region: snowfall
        (cm/h) plus freezing rain (mm/h), or one of `snowfall_cm_h`, `ice_mm_h` alone."""
        hz = self.model.hazard
        if variable is None:
            return pd.DataFrame({r: hz.snowfall_cm_h[i] + hz.ice_mm_h[i] for i, r in enumerate(hz.region_ids)})
        if variable not in ("snowfall_cm_h", "ice_mm_h"):
            raise InputError(f"storm variable '{variable}': snowfall_cm_h or ice_mm_h", key_path="variable")
        values = getattr(hz, variable)
        return pd.DataFrame({r: values[i] for i, r in enumerate(hz.region_ids)})

    def last_hour(self) -> dict[str, float]:
        """Phone service in the hour just simulated: calls, share answered within 20 s, share abandoned."""
        return dict(self._hour)

    def open_claims(self) -> int:
        """Claims registered and not yet paid, closed or withdrawn."""
        return self._registered - self._closed

    def _scan_log(self) -> list[tuple[float, int, float, int]]:
        """Read the log entries added since the last scan; returns the operation's own events (claim -1)."""
        log = self.model.log
        n = len(log)
        calls = answered_fast = abandoned = 0
        ops_events = []
        for i in range(self._scan, n):
            code, cid, t = log.code[i], log.claim[i], log.t[i]
            if code == Ev.CALL_PLACED:
                self._last_placed[cid] = t
            elif code == Ev.CALL_ANSWERED:
                calls += 1
                answered_fast += (t - self._last_placed.get(cid, t)) <= SERVICE_LEVEL_H
            elif code == Ev.CALL_ABANDONED:
                calls += 1
                abandoned += 1
            elif code == Ev.REGISTERED:
                self._registered += 1
            elif code in CLOSING:
                self._closed += 1
            elif cid == -1 and code not in (Ev.INJECT, Ev.DECISION, Ev.SHIFT_START, Ev.SHIFT_END):
                ops_events.append((t, code, log.value[i], log.staff[i]))
        self._scan = n
        nan = float("nan")
        self._hour = {"calls": float(calls), "service_level": answered_fast / calls if calls else nan,
                      "abandonment": abandoned / calls if calls else nan}
        return ops_events

    def _watch(self) -> None:
        """Thresholds crossed in the hour just simulated, once each (they re-arm when recovered)."""
        h = self.hour
        for _t, code, value, staff in self._scan_log():
            if code == Ev.CALL_OUT and staff != DECIDED:  # call-outs the room decided are in the feed already
                self.feed.append(FeedItem(h, "info", f"{value:.0f} reserve staff called out"))
            elif code == Ev.STAFF_MOVED:
                self.feed.append(FeedItem(h, "info", f"{value:.0f} staff leave for another region"))
        lh = self._hour
        sl, ab = lh["service_level"], lh["abandonment"]
        if lh["calls"] >= 5:
            if sl < THRESHOLDS["phone_sl"] and "sl" not in self._alerts:
                self._alerts.add("sl")
                self.feed.append(FeedItem(h, "alert", f"phone service level under 50% ({100 * sl:.0f}% of "
                                                      f"{lh['calls']:.0f} calls answered within 20 s)"))
            elif sl >= 0.8 and "sl" in self._alerts:
                self._alerts.discard("sl")
                self.feed.append(FeedItem(h, "info", f"phone service level back to {100 * sl:.0f}%"))
            if ab > THRESHOLDS["abandon"] and "ab" not in self._alerts:
                self._alerts.add("ab")
                self.feed.append(FeedItem(h, "alert", f"{100 * ab:.0f}% of callers hung up in the last hour"))
            elif ab < 0.05 and "ab" in self._alerts:
                self._alerts.discard("ab")
        open_claims = self.open_claims()
        for level in THRESHOLDS["backlog_steps"]:
            tag = f"bl{level}"
            if open_claims >= level and tag not in self._alerts:
                self._alerts.add(tag)
                self.feed.append(FeedItem(h, "alert", f"backlog passed {level:,} open claims"))

    # ------------------------------------------------------------------ what the room wrote

    def note(self, text: str, by: str = "", branch: str = "", wall_time: str | None = None) -> HotWashNote:
        """A hot-wash note at the current hour (it changes nothing in the simulation)."""
        note = HotWashNote(hour=self.hour, text=text.strip(), by=by.strip(), branch=branch,
                           wall_time=wall_time or _now())
        self.notes.append(note)
        return note

    def plan_improvement(self, action: str, owner: str = "", due: dt.date | str | None = None,
                         objective: str = "") -> Improvement:
        """A line of the improvement plan (action, owner, due date)."""
        item = Improvement.model_validate({"action": action.strip(), "owner": owner.strip(), "due": due or None,
                                           "objective": objective.strip()})
        self.improvements.append(item)
        return item

    # ------------------------------------------------------------------ log, replay, fork, undo

    def log(self, relative_to: Path | None = None, branch: str = "main") -> ExerciseLog:
        """The log of this exercise (paths relative to `relative_to` when given, for a log kept beside them)."""
        return ExerciseLog(scenario=_path_for(self.file.path, relative_to), scenario_sha256=self.file.sha256,
                           exercise=_path_for(Path(self.exercise_path), relative_to) if self.exercise_path else None,
                           plan=self.plan, seed=self.seed, hours=self.hours, reached_h=self.hour, branch=branch,
                           injects=self.injects, actions=self.actions, notes=self.notes,
                           improvements=self.improvements)

    def log_yaml(self, branch: str = "main") -> str:
        return log_yaml(self.log(branch=branch))

    @classmethod
    def replay(cls, log: ExerciseLog, file: ScenarioFile | None = None, until: int | None = None,
               decisions: bool = True) -> Exercise:
        """Re-run a logged exercise from hour 0 to `until` (default: the hour it reached)."""
        file = file or load_scenario(log.scenario)
        ex = cls(file, log.plan, log.seed, log.injects, log.hours)
        ex.notes, ex.improvements, ex.exercise_path = list(log.notes), list(log.improvements), log.exercise
        end = log.reached_h if until is None else until
        for i, action in enumerate(log.actions):
            if action.hour >= end and until is not None:
                break
            if action.kind == "decision" and not decisions:
                continue
            ex.run_to(action.hour)
            if ex.hour != action.hour:
                raise InputError(f"action at hour {action.hour} is past the horizon ({ex.horizon} h)"
                                 if action.hour > ex.horizon else "actions must be in the order of their hours",
                                 key_path=f"actions[{i}].hour")
            try:
                if action.kind == "inject":
                    if action.inject is None:
                        raise InputError("an inject action needs its inject")
                    if action.scheduled is not None and action.scheduled in ex._pending:
                        ex._pending.remove(action.scheduled)
                    ex._apply_inject(action.inject, by_hand=True)
                    ex.actions.append(action)
                else:
                    if action.decision is None:
                        raise InputError("a decision action needs its decision")
                    ex._apply_decision(action.decision)
            except InputError as err:
                where = f"actions[{i}].{action.kind}" + (f".{err.key_path}" if err.key_path else "")
                raise InputError(err.message, key_path=where) from None
        ex.run_to(end)
        return ex

    def _apply_decision(self, decision: Decision) -> str:
        """Apply a (time-stamped) decision now and record it in the log, the actions and the feed."""
        text = apply_decision(self.model, decision)
        self.model.log.add(self.model.env.now, -1, Ev.DECISION, value=float(len(self.actions)))
        self.actions.append(Action(kind="decision", hour=self.hour, decision=decision))
        who = f" ({decision.by})" if decision.by else ""
        self.feed.append(FeedItem(self.hour, "decision", f"{decision.title}{who}: {text}"))
        self._changed()
        return text

    def _changed(self) -> None:
        """The room acted at this hour: the figures of this hour are to be computed again."""
        self._figures_cache = None
        self._history.pop(self.hour, None)

    def _shares_notes_with(self, other: Exercise) -> Exercise:
        """This exercise writes its notes and improvement plan into `other`'s (one room, one hot wash)."""
        self.notes, self.improvements, self.exercise_path = other.notes, other.improvements, other.exercise_path
        return self

    def fork(self, at_h: int) -> Exercise:
        """A new branch at a past (or the current) hour: same seed, the actions taken before `at_h`."""
        if not 0 <= at_h <= self.hour:
            raise InputError(f"fork at an hour between 0 and {self.hour}", key_path="fork")
        log = self.log().model_copy(update={"reached_h": at_h,
                                            "actions": [a for a in self.actions if a.hour < at_h]})
        branch = Exercise.replay(log, self.file)._shares_notes_with(self)
        branch._history = {h: f for h, f in self._history.items() if h < at_h}
        return branch

    def counterfactual(self) -> Exercise:
        """The same exercise with no decisions (same seed, same injects) to the same hour."""
        return Exercise.replay(self.log(), self.file, decisions=False)._shares_notes_with(self)

    def undo(self) -> tuple[Exercise, Decision]:
        """The same exercise at the same hour without its last decision (everything else kept), and that
        decision; InputError when no decision was taken."""
        last = next((i for i in range(len(self.actions) - 1, -1, -1) if self.actions[i].kind == "decision"), None)
        if last is None:
            raise InputError("no decision to undo", key_path="undo")
        decision = self.actions[last].decision
        assert decision is not None
        log = self.log().model_copy(update={"actions": self.actions[:last] + self.actions[last + 1:]})
        again = Exercise.replay(log, self.file)._shares_notes_with(self)
        at = self.actions[last].hour
        again._history = {h: f for h, f in self._history.items() if h < at}
        return again, decision

    def figures_at(self, hour: int) -> dict[str, Any]:
        """The figures as they stood at a past (or the current) hour of this exercise, before the room acted at
        that hour (replayed to it once, then kept)."""
        if not 0 <= hour <= self.hour:
            raise InputError(f"an hour between 0 and {self.hour}", key_path="hour")
        if hour == self.hour:
            return self.figures()
        if hour not in self._history:
            self._history[hour] = self.fork(hour).figures()
        return self._history[hour]

    def series_at(self, hour: int) -> pd.DataFrame:
        """The hourly series up to a past (or the current) hour (hours before it are settled history)."""
        s = self.series()
        return s[s["hour"] < hour].reset_index(drop=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _path_for(path: Path, folder: Path | None) -> str:
    """`path` as a log names it: relative to `folder` when given (POSIX separators), else absolute."""
    if folder is None:
        return str(path)
    import os

    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


def figures_digest(figures: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()


def replay_file(path: Path, scenario: Path | None = None) -> tuple[ExerciseLog, Exercise]:
    """Read an exercise log, check it and replay it; any problem, found before or during the replay, is one
    error at the log's own file and line (plan, injects, each action)."""
    from sim.exercise_log import checked_log, log_error

    log, file, lines = checked_log(path, scenario)
    try:
        return log, Exercise.replay(log, file)
    except InputError as err:
        if err.file is not None:
            raise
        raise log_error(Path(path), lines, err.key_path or "actions", err.message) from None
