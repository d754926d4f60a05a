"""The decisions tab: pick a lever, read what it does and what it should change, decide; undo the last one."""

from __future__ import annotations

import html
from typing import Any

import solara

from sim import fmt
from sim.injects import Explained
from sim.levers import (
    LEVER_BY_LABEL,
    LEVER_FIELDS,
    LEVERS,
    build_decision,
    lever_text,
    region_names,
    regional_roles,
    role_regions,
    staff_roles,
)
from sim.tabletop.controls import Tab
from sim.tabletop.session import Snapshot, Taken
from sim.vocab import ROLE


@solara.component
def Choice(label: str, names: list[str], words: dict[str, str], value: str, on_value: Any,
           style: dict[str, str] | None = None) -> None:
    """A select that shows plain words (a role's label, a region's name) and hands back the name."""
    shown = [words.get(n, n) for n in names]
    back = dict(zip(shown, names, strict=True))
    solara.Select(label, values=shown, value=words.get(value, value), on_value=lambda text: on_value(back[text]),
                  style=style or {"max-width": "240px"})


def role_words(roles: list[str]) -> dict[str, str]:
    return {r: ROLE[r].label if r in ROLE else r for r in roles}


def explain_html(text: Explained, what: str = "") -> str:
    head = f"<b>{html.escape(what)}</b><br>" if what else ""
    return (f'{head}<b>What it does:</b> {html.escape(text.description)}<br>'
            f'<b>Expected effect:</b> {html.escape(text.expected_effect)}')


@solara.component
def Explain(text: Explained, what: str = "", classes: list[str] | None = None) -> None:
    solara.HTML(tag="div", unsafe_innerHTML=explain_html(text, what), classes=["tabletop-explain", *(classes or [])])


@solara.component
def TakenList(decisions: list[Taken], currency: str) -> None:
    """The decisions taken so far, newest first, with their plain texts."""
    with solara.Column(gap="4px", classes=["tabletop-taken"]):
        if not decisions:
            solara.Text("No decision taken yet.", classes=["tabletop-none-taken"])
        for d in reversed(decisions):
            who = f", proposed by {d.by}" if d.by else ""
            why = f" Why: {d.why}" if d.why else ""
            solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(d.code)} {html.escape(d.when)}: "
                                                    f"{html.escape(d.title)}</b>{html.escape(who)}.{html.escape(why)}",
                        classes=["tabletop-taken-line"])
            if d.text.description:
                Explain(d.text)


@solara.component
def DecisionsPanel(tab: Tab, snap: Snapshot, words: dict[str, Explained]) -> None:
    session = tab.session
    ex = session.exercise
    spec = ex.model.spec
    roles = staff_roles(spec)
    lever = solara.use_reactive(LEVERS["call_out"])
    role = solara.use_reactive(roles[0] if roles else "phone")
    region = solara.use_reactive("")
    count = solara.use_reactive(2)
    rosters = list(spec.operations.rosters)
    roster = solara.use_reactive(rosters[-1] if rosters else "")
    from_region = solara.use_reactive("")
    to_region = solara.use_reactive("")
    max_loss = solara.use_reactive(float(spec.operations.triage.fast_track.max_loss) * 2)
    travel_h = solara.use_reactive(2.0)
    title = solara.use_reactive("")
    by = solara.use_reactive("")
    why = solara.use_reactive("")
    key = LEVER_BY_LABEL[lever.value]
    fields = LEVER_FIELDS[key]
    role_choices = regional_roles(spec) if key == "move" else roles
    role_now = role.value if role.value in role_choices else (role_choices[0] if role_choices else "")
    pools = role_regions(spec, role_now)
    names = region_names(spec)
    explained = lever_text(key, spec, role_now if "role" in fields else "", words)

    def decide() -> None:
        def run() -> str:
            decision = build_decision(key, spec, role=role_now, region=region.value, count=int(count.value),
                                      roster=roster.value, from_region=from_region.value if from_region.value in
                                      pools else "", to_region=to_region.value if to_region.value in pools else "",
                                      max_loss=max_loss.value, travel_h=float(travel_h.value), title=title.value,
                                      by=by.value, why=why.value, overrides=words)
            return f"decided: {decision.title}: {ex.decide(decision)}"

        if tab.act(run, lambda text: text) is not None:
            title.set("")
            why.set("")

    def undo() -> None:
        tab.act(lambda: session.branches.undo(session.current), lambda t: f"undone: {t}")

    with solara.Columns([3, 2]):
        with solara.Column(gap="6px", classes=["tabletop-panel", "tabletop-decisions"]).meta(ref="decisions"):
            solara.HTML(tag="h2", unsafe_innerHTML=f"Decide now ({html.escape(fmt.when(snap.start, snap.hour))})")
            solara.Select("Lever", values=list(LEVERS.values()), value=lever, style={"max-width": "640px"})
            with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
                if "role" in fields:
                    if role_choices:
                        Choice("Role", role_choices, role_words(role_choices), role_now, role.set)
                    else:
                        solara.Text("no role has regional pools")
                if "region" in fields and pools:
                    Choice("Region", pools, names, region.value if region.value in pools else pools[0], region.set)
                if "from_region" in fields and pools:
                    src = from_region.value if from_region.value in pools else pools[0]
                    Choice("From region", pools, names, src, from_region.set)
                    dst_default = next((p for p in pools if p != src), pools[0])
                    Choice("To region", pools, names, to_region.value if to_region.value in pools else dst_default,
                           to_region.set)
                if "count" in fields:
                    solara.InputInt("How many", value=count, style={"max-width": "130px"})
                if "travel_h" in fields:
                    solara.InputFloat("Travel hours", value=travel_h, style={"max-width": "150px"})
                if "roster" in fields and rosters:
                    solara.Select("Roster", values=rosters, value=roster, style={"max-width": "200px"})
                if "max_loss" in fields:
                    solara.InputFloat("Fast-track limit (max loss)", value=max_loss, style={"max-width": "300px"})
            Explain(explained, classes=["tabletop-lever-explain"])
            with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
                solara.InputText("Decision title (optional)", value=title, style={"min-width": "420px"})
                solara.InputText("Proposed by (role)", value=by, style={"max-width": "260px"})
            solara.InputText("Why", value=why)
            solara.Button("Decide", on_click=decide, color="success", disabled=snap.finished,
                          classes=["tabletop-decide"])
        with solara.Column(gap="6px", classes=["tabletop-panel"]):
            with solara.Row(style={"align-items": "center", "gap": "16px"}):
                solara.HTML(tag="h2", unsafe_innerHTML="Decisions taken")
                solara.Button("Undo the last decision", on_click=undo, outlined=True, disabled=not snap.undoable,
                              classes=["tabletop-undo"])
            TakenList(snap.decisions, snap.currency)
