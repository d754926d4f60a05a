"""The branches tab: fork at any past hour, go back to an hour, close; compare two branches at the same hour."""

from __future__ import annotations

import html

import solara

from sim import fmt
from sim.branches import Comparison
from sim.errors import InputError
from sim.tabletop.board_view import html_table
from sim.tabletop.charts import hourly, overlay_chart
from sim.tabletop.controls import Tab
from sim.tabletop.session import Snapshot
from sim.tabletop.vega import Chart, as_json

COMPARE_W, COMPARE_H = 470, 220


def comparison_rows(c: Comparison, currency: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for r in c.rows:
        d = r.difference
        rows.append((r.figure.label, r.figure.format(r.a, currency), r.figure.format(r.b, currency),
                     fmt.NA if d is None else ("same" if d == 0 else r.figure.format_diff(d, currency))))
    return rows


def comparison_specs(c: Comparison, start: object, horizon: int) -> dict[str, dict]:
    """Overlaid charts of two branches up to the hour they are compared at."""
    out = {}
    for name, title, unit, column, cum in (("open", "Open claims", "claims", "backlog_open", False),
                                           ("settled", "Claims settled so far", "claims", "settled", True),
                                           ("phone", "Customers waiting on the phone", "people", "waiting_phone",
                                            False)):
        out[name] = overlay_chart(title, unit, hourly(c.a, c.series_a, column, cum),
                                  hourly(c.b, c.series_b, column, cum), start, horizon, c.hour,  # type: ignore[arg-type]
                                  COMPARE_W, COMPARE_H)
    return out


@solara.component
def ComparisonView(c: Comparison, snap: Snapshot) -> None:
    specs = solara.use_memo(lambda: {k: as_json(v) for k, v in comparison_specs(c, snap.start, snap.horizon).items()},
                            [c])
    with solara.Column(gap="8px", classes=["tabletop-comparison"]).meta(ref="comparison"):
        solara.HTML(tag="h2", unsafe_innerHTML=html.escape(
            f"{c.a} and {c.b} at the same hour: {fmt.when(snap.start, c.hour)} (hour {c.hour})"))
        solara.HTML(tag="div", unsafe_innerHTML=html_table(
            ["figure", c.a, c.b, f"{c.b} - {c.a}"], comparison_rows(c, snap.currency), "tabletop-compare-table",
            numeric=(1, 2, 3)))
        with solara.Row(style={"flex-wrap": "wrap", "gap": "14px"}):
            for name, spec in specs.items():
                with solara.Div(classes=["tabletop-panel"], style={"width": f"{COMPARE_W + 110}px"}):
                    Chart(spec, f"compare-{name}")


@solara.component
def BranchesPanel(tab: Tab, snap: Snapshot) -> None:
    session = tab.session
    at = solara.use_reactive(None)
    name = solara.use_reactive("")
    back_to = solara.use_reactive(None)
    names = snap.branches
    first = solara.use_reactive(names[0])
    second = solara.use_reactive(names[-1])
    compare_at = solara.use_reactive(None)
    shown = solara.use_reactive(None)

    def fork() -> None:
        def run() -> str:
            new = session.branches.fork(session.current, at.value, name.value)
            session.current = new
            return new

        if tab.act(run, lambda new: f"new branch {new} (on screen)") is not None:
            name.set("")
            at.set(None)

    def no_decisions() -> None:
        def run() -> str:
            new = session.branches.counterfactual(session.current)
            session.current = new
            return new

        tab.act(run, lambda new: f"new branch {new}: the same storm with none of the decisions")

    def rewind() -> None:
        def run() -> str | None:
            if back_to.value is None:
                raise InputError("give the hour to go back to", key_path="hour")
            return session.branches.rewind(session.current, int(back_to.value))

        tab.act(run, lambda kept: f"back at hour {back_to.value}" + (f"; what came after is kept as branch {kept}"
                                                                       if kept else ""))

    def close() -> None:
        def run() -> None:
            gone = session.current
            session.current = session.branches.names[0]
            session.branches.close(gone)

        tab.act(run, "branch closed")

    def compare() -> None:
        a = first.value if first.value in session.branches else names[0]
        b = second.value if second.value in session.branches else names[-1]
        shown.set(tab.act(lambda: session.branches.compare(a, b, compare_at.value)))

    rows = []
    for n in names:
        b = session.branches.branch(n)
        rows.append((n + (" (on screen)" if n == snap.branch else ""), f"hour {b.exercise.hour}", b.how,
                     str(sum(a.kind == "decision" for a in b.exercise.actions))))
    with solara.Column(gap="8px", classes=["tabletop-panel", "tabletop-branches"]).meta(ref="branches"):
        with solara.Columns([1, 1]):
            with solara.Column(gap="6px"):
                solara.HTML(tag="h2", unsafe_innerHTML="Branches")
                solara.HTML(tag="div", unsafe_innerHTML=html_table(["branch", "clock", "what it is", "decisions"],
                                                                   rows, "tabletop-branch-table", numeric=(3,)))
                with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
                    solara.InputInt("Fork at hour", value=at, optional=True, placeholder=f"now ({snap.hour})",
                                    style={"max-width": "170px"})
                    solara.InputText("New branch name", value=name, style={"max-width": "260px"})
                    solara.Button("Fork", on_click=fork, color="secondary", classes=["tabletop-fork"])
                    solara.Button("Same storm, no decisions", on_click=no_decisions, outlined=True)
                with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
                    solara.InputInt("Go back to hour", value=back_to, optional=True, style={"max-width": "200px"})
                    solara.Button("Go back", on_click=rewind, outlined=True, classes=["tabletop-rewind"])
                    solara.Button("Close this branch", on_click=close, outlined=True,
                                  disabled=snap.branch == names[0])
            with solara.Column(gap="6px"):
                solara.HTML(tag="h2", unsafe_innerHTML="Compare two branches at the same hour")
                with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
                    solara.Select("First branch", values=names, value=first.value if first.value in names
                                  else names[0], on_value=first.set, style={"max-width": "260px"})
                    solara.Select("Second branch", values=names, value=second.value if second.value in names
                                  else names[-1], on_value=second.set, style={"max-width": "260px"})
                    solara.InputInt("At hour", value=compare_at, optional=True, placeholder="the earlier clock",
                                    style={"max-width": "200px"})
                    solara.Button("Compare", on_click=compare, color="primary", classes=["tabletop-compare"])
                solara.Text("Both are taken at the same simulated hour: the earlier of the two clocks, or an hour "
                            "before it.", classes=["tabletop-note"])
        if shown.value is not None:
            ComparisonView(shown.value, snap)
