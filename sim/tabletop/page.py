"""The tabletop page (Solara): the facilitator's window, and the players' window (`?view=players`).

Laid out for a projector at 1920x1080: the clock and its controls across the top, the situation board in plain
words beside one chart per panel, and tabs below (decide, injects, branches, debrief, feed). The players'
window shows the facilitator's exercise as it goes (the situation, the news so far, the decisions and the
levers they can ask for) but never the injects still to come. The page only calls the exercise API; each
facilitator tab has its own exercise (`sim.tabletop.session`).
"""

from __future__ import annotations

import itertools
import threading
from urllib.parse import parse_qs

import solara
import solara.lab

from sim.tabletop.board_view import BoardPanel, ChartsPanel
from sim.tabletop.branches_view import BranchesPanel
from sim.tabletop.controls import ClockBar, Tab
from sim.tabletop.debrief import DebriefPanel
from sim.tabletop.decide import DecisionsPanel, Explain, TakenList
from sim.tabletop.injects_view import FiredList, InjectsPanel
from sim.tabletop.session import Session, Snapshot, clock_text, find_session, take_snapshot
from sim.tabletop.setup import Setup, error_line, setup_from_env
from sim.tabletop.style import CSS

FEED_LINES = 200
FEED_COLOURS = {"alert": "#A32100", "decision": "#006644", "inject": "#0050A0", "info": "#333333"}
TABS = ("Decide", "Injects", "Branches", "Debrief", "Feed")


@solara.component
def FeedList(feed: list) -> None:
    with solara.Column(gap="0px", style={"max-height": "420px", "overflow-y": "auto", "font-family": "monospace"},
                       classes=["tabletop-feed"]):
        if not feed:
            solara.Text("(nothing yet)")
        for item in list(reversed(feed))[:FEED_LINES]:
            solara.Text(item.line(), style={"color": FEED_COLOURS.get(item.kind, "#000")},
                        classes=["tabletop-feed-line"])


@solara.component
def Message(message: tuple[str, bool]) -> None:
    text, is_error = message
    with solara.Column(gap="0px", style={"min-height": "8px"}):  # always there: a message does not shift the rest
        if text and is_error:
            solara.Error(text, dense=True, classes=["tabletop-error"])
        elif text:
            solara.Success(text, dense=True, classes=["tabletop-message"])


@solara.component
def Page() -> None:
    def load() -> Setup | str:
        try:
            return setup_from_env()
        except Exception as exc:
            return error_line(exc)

    setup = solara.use_memo(load, [])
    router = solara.use_router()
    query = parse_qs(router.search or "") if router is not None else {}
    solara.Style(CSS)
    if isinstance(setup, str):
        solara.Title("claimsim tabletop")
        solara.Error(f"The tabletop could not start: {setup}", classes=["tabletop-error"])
        return
    if query.get("view", [""])[0] == "players":
        solara.Title(f"Players: {setup.title}")
        PlayersApp(query.get("session", [""])[0])
    else:
        solara.Title(f"Tabletop: {setup.title}")
        TabletopApp(setup)


@solara.component
def TabletopApp(setup: Setup) -> None:
    """The facilitator's window: one session (its branches) for this browser tab."""
    session = solara.use_memo(lambda: Session(setup), [])
    version = solara.use_reactive(0)
    counter = solara.use_memo(lambda: itertools.count(1), [])
    message = solara.use_reactive(("", False))
    tab_index = solara.use_reactive(0)
    tab = solara.use_memo(lambda: Tab(session, lambda: version.set(next(counter)),
                                      lambda text, err: message.set((text, err))), [])
    version.value  # read, so that every redraw() renders the tab again  # noqa: B018
    with session.lock:
        snap = take_snapshot(session)

    def reset() -> None:
        tab.act(session.reset, "started again from hour 0")

    with solara.Column(gap="10px", style={"padding": "12px 24px"}, classes=["tabletop-page", "tabletop-main"]).meta(
            ref="view-main"):
        ClockBar(tab, snap, setup.title)
        Message(message.value)
        with solara.Row(style={"gap": "14px", "align-items": "flex-start", "flex-wrap": "nowrap"}):
            with solara.Div(style={"width": "520px", "flex": "0 0 520px"}):
                BoardPanel(snap)
            ChartsPanel(snap)
        with solara.lab.Tabs(value=tab_index, lazy=True):
            with solara.lab.Tab("Decide"), solara.Column(classes=["tabletop-tab-decide"]):
                DecisionsPanel(tab, snap, setup.lever_words)
            with solara.lab.Tab("Injects"), solara.Column(classes=["tabletop-tab-injects"]):
                InjectsPanel(tab, snap)
            with solara.lab.Tab("Branches"), solara.Column(classes=["tabletop-tab-branches"]):
                BranchesPanel(tab, snap)
            with solara.lab.Tab("Debrief"), solara.Column(classes=["tabletop-tab-debrief"]):
                DebriefPanel(tab, snap)
            with solara.lab.Tab("Feed"), solara.Column(classes=["tabletop-panel", "tabletop-tab-feed"]):
                FeedList(snap.feed)
                solara.Button("Start again from hour 0", on_click=reset, outlined=True)


@solara.component
def PlayersApp(session_id: str = "") -> None:
    """The players' window: the facilitator's exercise as it goes, read-only, without the injects to come."""
    session = solara.use_memo(lambda: find_session(session_id), [session_id])
    version = solara.use_reactive(-1)

    def follow(cancel: threading.Event) -> None:
        if session is None:
            return
        seen = -1
        while not cancel.is_set():
            now = session.wait(seen, 0.5)
            if now != seen:
                seen = now
                version.set(now)

    solara.use_thread(follow, dependencies=[id(session)], intrusive_cancel=False)
    if session is None:
        solara.Error("No exercise is running yet: open the facilitator's page first, then this window.",
                     classes=["tabletop-error"])
        return
    version.value  # noqa: B018 - read, so that every change renders again
    with session.lock:
        snap = take_snapshot(session)
    PlayersView(session, snap)


@solara.component
def PlayersView(session: Session, snap: Snapshot) -> None:
    from sim.levers import LEVER_LIST, lever_text

    spec = session.exercise.model.spec
    with solara.Column(gap="10px", style={"padding": "12px 24px"}, classes=["tabletop-players"]).meta(
            ref="view-players"):
        with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap", "gap": "24px"}):
            solara.HTML(tag="h1", unsafe_innerHTML=f"Players: {session.setup.title}")
            solara.Text(clock_text(snap), classes=["tabletop-clock"])
            solara.Text(f"branch {snap.branch}", classes=["tabletop-branch-name"])
        with solara.Row(style={"gap": "14px", "align-items": "flex-start", "flex-wrap": "nowrap"}):
            with solara.Div(style={"width": "520px", "flex": "0 0 520px"}):
                BoardPanel(snap)
            ChartsPanel(snap)
        with solara.Columns([1, 1, 1]):
            with solara.Column(classes=["tabletop-panel", "tabletop-news"]):
                solara.HTML(tag="h2", unsafe_innerHTML="News so far")
                FiredList(snap.fired)
            with solara.Column(classes=["tabletop-panel"]):
                solara.HTML(tag="h2", unsafe_innerHTML="Your decisions")
                TakenList(snap.decisions, snap.currency)
            with solara.Column(classes=["tabletop-panel", "tabletop-options"]):
                solara.HTML(tag="h2", unsafe_innerHTML="What you can ask for")
                for lever in LEVER_LIST:
                    Explain(lever_text(lever.key, spec, "", session.setup.lever_words), lever.label)
