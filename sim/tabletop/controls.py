"""The clock bar: the simulated date and time, the branch on screen, and step, run, play and pause."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import solara

from sim.tabletop.session import Player, Session, Snapshot, clock_text
from sim.tabletop.setup import error_line

SPEEDS = ("1", "2", "5", "10", "20", "50", "100")   # simulated hours per second
DEFAULT_SPEED = "10"


class Tab:
    """What every panel of a facilitator's tab needs: the session, a redraw, and a one-line message."""

    def __init__(self, session: Session, redraw: Callable[[], None], say: Callable[[str, bool], None]) -> None:
        self.session = session
        self.redraw = redraw
        self.say = say

    def act(self, fn: Callable[[], Any], done: str | Callable[[Any], str] = "") -> Any:
        """Run `fn` under the session's lock; show its error as one line (nothing changed) or `done`; redraw."""
        result = None
        try:
            with self.session.lock:
                result = fn()
            text = done(result) if callable(done) else done
            if text:
                self.say(text, False)
        except Exception as exc:  # shown on the page as one line, the exercise is unchanged
            self.say(error_line(exc), True)
        self.session.changed()
        self.redraw()
        return result


@solara.component
def ClockBar(tab: Tab, snap: Snapshot, title: str) -> None:
    """Title, clock, branch on screen, and the controls of the clock."""
    session = tab.session
    target = solara.use_reactive(min(snap.horizon, 24))
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(DEFAULT_SPEED)
    is_playing = playing.value
    ex = session.exercise

    def play(cancel: threading.Event) -> None:
        if not is_playing:
            return

        def say(exc: BaseException) -> None:
            tab.say(error_line(exc), True)

        def redraw() -> None:
            session.changed()
            tab.redraw()

        Player(float(speed.value)).run(session, cancel, redraw, say)
        if not cancel.is_set():
            playing.set(False)

    solara.use_thread(play, dependencies=[is_playing, speed.value, id(ex)], intrusive_cancel=False)

    def step() -> None:
        tab.act(ex.step)

    def run_to() -> None:
        tab.act(lambda: ex.run_to(int(target.value)))

    def choose(name: str) -> None:
        playing.set(False)
        tab.act(lambda: setattr(session, "current", name), f"on screen: branch {name}")

    with solara.Column(gap="4px", classes=["tabletop-clockbar"]):
        with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap", "gap": "24px"}):
            solara.HTML(tag="h1", unsafe_innerHTML=html.escape(title))
            solara.Text(clock_text(snap), classes=["tabletop-clock"])
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
            solara.Select("Branch on screen", values=snap.branches, value=snap.branch, on_value=choose,
                          style={"max-width": "260px"}, classes=["tabletop-branch-select"])
            solara.Button("Step", on_click=step, color="primary", disabled=snap.finished or is_playing,
                          classes=["tabletop-step"])
            solara.InputInt("Run to hour", value=target, style={"max-width": "140px"}, classes=["tabletop-target"])
            solara.Button("Run", on_click=run_to, disabled=snap.finished or is_playing, classes=["tabletop-run"])
            solara.Button("Pause" if is_playing else "Play", on_click=lambda: playing.set(not playing.value),
                          color="secondary", disabled=snap.finished and not is_playing, classes=["tabletop-play"])
            solara.Select("Hours per second", values=list(SPEEDS), value=speed, style={"max-width": "170px"},
                          classes=["tabletop-speed"])
            solara.HTML(tag="div", unsafe_innerHTML=f'<a class="tabletop-link tabletop-players-link" target="_blank" '
                        f'href="?view=players&amp;session={html.escape(session.id)}">Open the players\' window</a>')
