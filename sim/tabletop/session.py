"""One exercise as a room plays it: its branches, the branch on screen, a lock, and the windows watching it.

The facilitator's browser tab owns a session (each tab its own). The players' window (`?view=players`) shows
the same session, read-only, without the injects still to come: it finds the session by its id, or takes the
facilitator's session most recently active. Everything a view draws is read at once under the session's lock
into a `Snapshot`; views never touch the model.
"""

from __future__ import annotations

import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim import fmt
from sim.branches import Branches
from sim.exercise import Exercise, FeedItem
from sim.injects import Explained, inject_text
from sim.levers import region_names
from sim.objectives import ObjectiveResult, evaluate
from sim.scenario import Inject
from sim.situation import Board, Mark, board, marks
from sim.tabletop.setup import Setup

_SESSIONS: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()
_REGISTRY = threading.Lock()
_LATEST: list[str] = []


class Session:
    """The branches of one exercise, the branch the facilitator is on, and change notification."""

    def __init__(self, setup: Setup) -> None:
        self.id = secrets.token_urlsafe(12)
        self.setup = setup
        self.branches = Branches(setup.new_exercise())
        self.current = self.branches.names[0]
        self.lock = threading.RLock()
        self.version = 0
        self._changed = threading.Condition()
        with _REGISTRY:
            _SESSIONS[self.id] = self
            _LATEST.append(self.id)

    @property
    def exercise(self) -> Exercise:
        return self.branches[self.current]

    def changed(self) -> None:
        """Something the views show changed: wake every window watching."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()
        touch(self.id)

    def wait(self, seen: int, timeout: float) -> int:
        """The version, once it differs from `seen` (or after `timeout` seconds)."""
        with self._changed:
            if self.version == seen:
                self._changed.wait(timeout)
            return self.version

    def reset(self) -> None:
        with self.lock:
            self.branches = Branches(self.setup.new_exercise())
            self.current = self.branches.names[0]


def touch(session_id: str) -> None:
    with _REGISTRY:
        if session_id in _LATEST:
            _LATEST.remove(session_id)
        _LATEST.append(session_id)


def find_session(session_id: str = "") -> Session | None:
    """The session with this id, or (no id) the one most recently active; None if there is none."""
    with _REGISTRY:
        if session_id:
            return _SESSIONS.get(session_id)
        while _LATEST:
            found = _SESSIONS.get(_LATEST[-1])
            if found is not None:
                return found
            _LATEST.pop()
    return None


# ---------------------------------------------------------------------------- what a view shows


@dataclass(frozen=True)
class Listed:
    """An inject of the MSEL with its plain texts (index: its place in the scheduled list)."""

    index: int
    inject: Inject
    text: Explained
    when: str


@dataclass(frozen=True)
class Taken:
    """A decision taken, with its simulated time and plain texts."""

    code: str
    hour: int
    when: str
    title: str
    by: str
    why: str
    text: Explained


@dataclass(frozen=True)
class Snapshot:
    """Everything a view draws, read from the exercise at once (under the session's lock)."""

    stamp: tuple[Any, ...]
    branch: str
    branches: list[str]
    hour: int
    horizon: int
    clock: str
    finished: bool
    start: Any
    figures: dict[str, Any]
    series: pd.DataFrame
    snow: pd.DataFrame
    ice: pd.DataFrame
    board: Board
    marks: list[Mark]
    feed: list[FeedItem]
    pending: list[Listed]
    fired: list[Listed]
    decisions: list[Taken]
    objectives: list[ObjectiveResult]
    currency: str
    undoable: bool


def stamp(session: Session) -> tuple[Any, ...]:
    """Changes whenever what a view shows changes (another branch, an hour, an inject, a decision)."""
    ex = session.exercise
    return (id(ex), session.current, ex.hour, len(ex.feed), len(ex.actions), len(ex.pending_injects),
            tuple(session.branches.names))


def take_snapshot(session: Session) -> Snapshot:
    """Read what the views show (call under the session's lock)."""
    ex = session.exercise
    spec = ex.model.spec
    names = region_names(spec)
    start = spec.start
    fired_at = {id(inj): h for h, inj, _ in ex.fired}
    pending = [Listed(i, inj, inject_text(inj, names), fmt.when(start, inj.at_h)) for i, inj in ex.pending_injects]
    fired = [Listed(i, inj, inject_text(inj, names), fmt.when(start, fired_at.get(id(inj), inj.at_h)))
             for i, (_, inj, _) in enumerate(ex.fired)]
    taken = []
    for m in marks(ex):
        if m.kind != "decision":
            continue
        n = int(m.code[1:]) - 1
        d = [a.decision for a in ex.actions if a.kind == "decision"][n]
        assert d is not None
        taken.append(Taken(m.code, m.hour, fmt.when(start, m.hour), d.title, d.by, d.why,
                           Explained(d.description or "", d.expected_effect or "")))
    drill = session.setup.drill
    return Snapshot(stamp=stamp(session), branch=session.current, branches=session.branches.names, hour=ex.hour,
                    horizon=ex.horizon, clock=f"{ex.clock():%a %d %b %Y %H:%M}", finished=ex.finished, start=start,
                    figures=ex.figures(), series=ex.series(), snow=ex.storm("snowfall_cm_h"),
                    ice=ex.storm("ice_mm_h"), board=board(ex), marks=marks(ex),
                    feed=list(ex.feed), pending=pending, fired=fired, decisions=taken,
                    objectives=evaluate(ex, drill.spec.objectives) if drill else [], currency=spec.currency,
                    undoable=any(a.kind == "decision" for a in ex.actions))


def clock_text(snap: Snapshot) -> str:
    return f"{snap.clock} - hour {snap.hour} of {snap.horizon}" + (" (end)" if snap.finished else "")


@dataclass
class Player:
    """The Play loop's pacing: simulated hours per second, drawing less often than stepping.

    A drawing waits at least `draw_every_s` after the last one, and at least `draw_share` times as long as the
    last one took: on a slow machine the page is drawn less often, the clock keeps its pace."""

    hours_per_s: float
    draw_every_s: float = 0.5
    draw_share: float = 3.0
    max_batch: int = 24
    draws: int = 0

    def run(self, session: Session, cancel: threading.Event, redraw: Any, say: Any) -> None:
        """Step the session's exercise at `hours_per_s` (catching up when a step or a drawing was slow) until
        the horizon or `cancel`; ask for a redraw at most every `draw_every_s` seconds, and at the end."""
        t0 = time.monotonic()
        done = 0
        last_draw = t0
        gap = self.draw_every_s
        ex = session.exercise
        while not cancel.is_set():
            due = int((time.monotonic() - t0) * self.hours_per_s) + 1 - done  # the first hour at once
            if due <= 0:
                cancel.wait(min(0.05, 1.0 / max(self.hours_per_s, 0.1)))
                continue
            finished = False
            try:
                with session.lock:
                    for _ in range(min(due, self.max_batch)):
                        ex.step()
                        done += 1
                        if ex.finished:
                            finished = True
                            break
            except Exception as exc:  # stop playing and say why, as a button would
                say(exc)
                finished = True
            now = time.monotonic()
            if finished or now - last_draw >= gap:
                redraw()
                self.draws += 1
                last_draw = time.monotonic()
                gap = max(self.draw_every_s, self.draw_share * (last_draw - now))
            if finished:
                break
