"""The situation board and the charts: what the room looks at (the facilitator's page and the players' window)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import solara

from sim import fmt
from sim.situation import STAGE_SHORT
from sim.tabletop.charts import hourly, line_chart, storm_chart
from sim.tabletop.session import Snapshot
from sim.tabletop.vega import Chart, as_json
from sim.vocab import ROLE, STAGES

CHART_W, CHART_H = 520, 225


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], classes: str = "",
               numeric: Sequence[int] = (), row_classes: Sequence[str] | None = None) -> str:
    """A plain HTML table (escaped), numeric columns right-aligned."""
    def cell(tag: str, i: int, text: str) -> str:
        cls = ' class="num"' if i in numeric else ""
        return f"<{tag}{cls}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        rc = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        body.append(f"<tr{rc}>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    return (f'<table class="tabletop-table {classes}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def signed_count(n: int) -> str:
    return "no change" if n == 0 else (f"+{fmt.number(n)}" if n > 0 else f"-{fmt.number(-n)}")


@solara.component
def BoardPanel(snap: Snapshot) -> None:
    """The situation in plain words: bottleneck, claims waiting by stage and their change, staff, phone, money."""
    b = snap.board
    with solara.Column(gap="6px", classes=["tabletop-panel", "tabletop-board"]).meta(ref="board"):
        solara.HTML(tag="h2", unsafe_innerHTML="Situation now")
        solara.Text(b.headline(), classes=["tabletop-headline"] + ([] if b.bottleneck else ["tabletop-calm"]))
        bottleneck = b.bottleneck.stage if b.bottleneck else ""
        rows = [(STAGE_SHORT[s.stage], fmt.number(s.claims), signed_count(s.change)) for s in b.stages]
        solara.HTML(tag="div", unsafe_innerHTML=html_table(
            ["claims waiting at", "now", f"last {b.window_h} h"], rows, "tabletop-stages", numeric=(1, 2),
            row_classes=["worst" if s.stage == bottleneck else "" for s in b.stages]))
        staff = [(ROLE[r.role].label, fmt.number(r.on_duty), fmt.number(r.busy), fmt.number(r.waiting))
                 for r in b.staff]
        solara.HTML(tag="div", unsafe_innerHTML=html_table(["staff", "on duty", "busy", "jobs waiting"], staff,
                                                           "tabletop-staff", numeric=(1, 2, 3)))
        for line in b.sentences()[1:]:
            solara.Text(line, classes=["tabletop-board-line"])


def chart_specs(snap: Snapshot, width: int = CHART_W, height: int = CHART_H) -> dict[str, dict]:
    """The four charts of the board, one per panel: claims by stage, the phone, staff on duty, the storm."""
    s, start, horizon, now = snap.series, snap.start, snap.horizon, snap.hour
    marks = snap.marks
    stages = [hourly(STAGE_SHORT[st], s, f"backlog_{st}") for st in STAGES]
    phone = [hourly("customers waiting", s, "waiting_phone"), hourly("phone agents on duty", s, "on_duty_phone"),
             hourly("phone agents busy", s, "busy_phone")]
    roles = [r.role for r in snap.board.staff]
    staff = [hourly(ROLE[r].label, s, f"on_duty_{r}") for r in roles]
    return {
        "stages": line_chart("Open claims by stage", "claims", stages, start, horizon, marks, now, width, height,
                             area=True),
        "phone": line_chart("Phone line", "people", phone, start, horizon, marks, now, width, height),
        "staff": line_chart("Staff on duty by role", "people", staff, start, horizon, marks, now, width, height),
        "storm": storm_chart(snap.snow, snap.ice, start, horizon, marks, now, width, height),
    }


@solara.component
def ChartsPanel(snap: Snapshot, names: Sequence[str] = ("stages", "phone", "staff", "storm"),
                width: int = CHART_W) -> None:
    specs = solara.use_memo(lambda: {k: as_json(v) for k, v in chart_specs(snap, width).items()}, [snap.stamp, width])
    with solara.Row(style={"flex-wrap": "wrap", "gap": "14px", "flex": "1 1 auto", "min-width": "0"},
                    classes=["tabletop-charts"]):
        for name in names:
            with solara.Div(classes=["tabletop-panel"], style={"width": f"{width + 110}px"}):
                Chart(specs[name], name)
