"""The debrief tab: objectives so far, hot-wash notes, the improvement plan, and the downloads (report, log)."""

from __future__ import annotations

from collections.abc import Callable

import solara

from sim import fmt
from sim.exercise import Exercise
from sim.objectives import ObjectiveResult
from sim.tabletop.board_view import html_table
from sim.tabletop.controls import Tab
from sim.tabletop.session import Session, Snapshot
from sim.tabletop.setup import error_line


def objective_rows(results: list[ObjectiveResult], currency: str) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        o = r.objective
        target = ("at most " if o.lower_is_better else "at least ") + r.shown(o.target, currency)
        rows.append((o.id, o.title, target, "no value yet" if r.value is None else r.shown(currency=currency),
                     r.status))
    return rows


@solara.component
def ObjectivesTable(results: list[ObjectiveResult], currency: str) -> None:
    if not results:
        solara.Text("No objectives: start the page with an exercise file (--exercise) to set them.")
        return
    solara.HTML(tag="div", unsafe_innerHTML=html_table(
        ["", "objective", "target", "so far", "status"], objective_rows(results, currency), "tabletop-objectives",
        row_classes=["tabletop-status-" + r.status.replace(" ", "-") for r in results]))


def _guarded(make: Callable[[], str], what: str) -> Callable[[], str]:
    """A download that never breaks the page: a failure downloads a one-line explanation instead."""

    def run() -> str:
        try:
            return make()
        except Exception as exc:
            return f"{what} could not be made: {error_line(exc)}\n"

    return run


def played_copy(session: Session) -> Exercise:
    """The exercise on screen replayed from its log (same figures), so that the report is made without holding
    the session: the room plays on while it is made."""
    with session.lock:
        ex = session.exercise
        log, file, exercise_path = ex.log(), ex.file, ex.exercise_path
    copy = Exercise.replay(log, file)
    copy.exercise_path = exercise_path
    return copy


@solara.component
def Downloads(session: Session) -> None:
    def markdown() -> str:
        from sim.aar import report_markdown

        return report_markdown(played_copy(session))

    def report_page() -> str:
        from sim.aar import report_html

        return report_html(played_copy(session))

    def log() -> str:
        with session.lock:
            return session.exercise.log_yaml(branch=session.current)

    # the same callables while the session is the same: a redraw must not reset a download in progress
    md_fn = solara.use_memo(lambda: _guarded(markdown, "the report"), [session.id])
    html_fn = solara.use_memo(lambda: _guarded(report_page, "the report"), [session.id])
    log_fn = solara.use_memo(lambda: _guarded(log, "the exercise log"), [session.id])
    with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}, classes=["tabletop-downloads"]).meta(
            ref="downloads-main"):
        solara.FileDownload(html_fn, filename="after-action-report.html", label="After-action report (HTML)",
                            mime_type="text/html")
        solara.FileDownload(md_fn, filename="after-action-report.md", label="After-action report (Markdown)",
                            mime_type="text/markdown")
        solara.FileDownload(log_fn, filename="exercise-log.yaml", label="Exercise log (YAML)",
                            mime_type="application/x-yaml")


@solara.component
def DebriefPanel(tab: Tab, snap: Snapshot) -> None:
    session = tab.session
    ex = session.exercise
    note = solara.use_reactive("")
    note_by = solara.use_reactive("")
    action = solara.use_reactive("")
    owner = solara.use_reactive("")
    due = solara.use_reactive("")
    objective = solara.use_reactive("")
    ids = [r.objective.id for r in snap.objectives]

    def add_note() -> None:
        if tab.act(lambda: ex.note(note.value, note_by.value, session.current), "note kept") is not None:
            note.set("")

    def add_action() -> None:
        def run() -> object:
            return ex.plan_improvement(action.value, owner.value, due.value.strip() or None, objective.value)

        if tab.act(run, "added to the improvement plan") is not None:
            action.set("")

    with solara.Columns([1, 1]):
        with solara.Column(gap="6px", classes=["tabletop-panel", "tabletop-debrief"]).meta(ref="debrief"):
            solara.HTML(tag="h2", unsafe_innerHTML="Objectives so far")
            ObjectivesTable(snap.objectives, snap.currency)
            solara.HTML(tag="h2", unsafe_innerHTML="Hot wash: notes")
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
                solara.InputText("Note", value=note, style={"min-width": "480px"})
                solara.InputText("By", value=note_by, style={"max-width": "200px"})
                solara.Button("Keep note", on_click=add_note, color="primary", classes=["tabletop-keep-note"])
            rows = [(fmt.when(snap.start, n.hour), n.branch or "main", n.by or "-", n.text) for n in ex.notes]
            if rows:
                solara.HTML(tag="div", unsafe_innerHTML=html_table(["simulated time", "branch", "by", "note"],
                                                                   list(reversed(rows)), "tabletop-notes"))
        with solara.Column(gap="6px", classes=["tabletop-panel"]):
            solara.HTML(tag="h2", unsafe_innerHTML="Improvement plan")
            solara.InputText("Action", value=action)
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
                solara.InputText("Owner", value=owner, style={"max-width": "240px"})
                solara.InputText("Due date (YYYY-MM-DD)", value=due, style={"max-width": "260px"})
                if ids:
                    solara.Select("Objective", values=["", *ids], value=objective, style={"max-width": "160px"})
                solara.Button("Add to the plan", on_click=add_action, color="primary", classes=["tabletop-add-action"])
            plan = [(i.action, i.owner or "-", i.due.isoformat() if i.due else "-", i.objective or "-")
                    for i in ex.improvements]
            if plan:
                solara.HTML(tag="div", unsafe_innerHTML=html_table(["action", "owner", "due date", "objective"], plan,
                                                                   "tabletop-plan"))
            solara.HTML(tag="h2", unsafe_innerHTML="After-action report")
            solara.Text("Made when asked for: each decision is replayed over several seeds against the same exercise "
                        "without it (a few seconds).", classes=["tabletop-note"])
            Downloads(session)
