"""The injects tab (facilitator only): the MSEL still to come with its texts and expected player actions,
fire one early or invent one; and the injects fired so far (also shown to the players)."""

from __future__ import annotations

import html

import solara

from sim.levers import (
    EVERY_REGION,
    INJECT_BY_LABEL,
    INJECT_FIELDS,
    INJECT_TYPES,
    SURGE_TYPES,
    build_inject,
    inject_type_text,
    region_names,
    role_regions,
    staff_roles,
)
from sim.tabletop.controls import Tab
from sim.tabletop.decide import Choice, Explain, role_words
from sim.tabletop.session import Listed, Snapshot


def _heading(item: Listed) -> str:
    code = f"{item.inject.id} " if item.inject.id else ""
    return f"<b>{html.escape(code + item.when)}: {html.escape(item.inject.title)}</b>"


@solara.component
def FiredList(fired: list[Listed]) -> None:
    """The injects fired so far, newest first (the news the room has had)."""
    with solara.Column(gap="4px", classes=["tabletop-fired"]):
        if not fired:
            solara.Text("No inject yet.")
        for item in reversed(fired):
            solara.HTML(tag="div", unsafe_innerHTML=_heading(item), classes=["tabletop-fired-line"])
            Explain(item.text)


@solara.component
def InjectsPanel(tab: Tab, snap: Snapshot) -> None:
    ex = tab.session.exercise
    spec = ex.model.spec
    roles = staff_roles(spec)
    kind = solara.use_reactive(INJECT_TYPES["hazard"])
    title = solara.use_reactive("")
    region = solara.use_reactive(EVERY_REGION)
    factor = solara.use_reactive(2.0)
    share = solara.use_reactive(0.5)
    role = solara.use_reactive(roles[0] if roles else "phone")
    count = solara.use_reactive(1)
    hours = solara.use_reactive(6)
    agent_types = solara.use_reactive(list(SURGE_TYPES))
    key = INJECT_BY_LABEL[kind.value]
    fields = INJECT_FIELDS[key]
    form = {"region": region.value, "factor": float(factor.value or 0), "share": float(share.value or 0),
            "role": role.value, "count": int(count.value or 0), "hours": int(hours.value or 0),
            "agent_types": agent_types.value}

    def fire_scheduled(index: int) -> None:
        tab.act(lambda: ex.fire_scheduled(index), lambda text: f"fired: {text}")

    def fire_custom() -> None:
        def run() -> str:
            return ex.fire(build_inject(key, title=title.value, **form))

        tab.act(run, lambda text: f"fired: {text}")

    with solara.Columns([3, 2]):
        with solara.Column(gap="6px", classes=["tabletop-panel", "tabletop-injects"]).meta(ref="injects"):
            solara.HTML(tag="h2", unsafe_innerHTML="Still to come (only the facilitator sees these)")
            if not snap.pending:
                solara.Text("none", classes=["tabletop-no-pending"])
            for item in snap.pending:
                with solara.Column(gap="2px", classes=["tabletop-pending"]):
                    with solara.Row(style={"align-items": "center", "gap": "12px"}):
                        solara.Button("Fire now", on_click=lambda i=item.index: fire_scheduled(i), small=True,
                                      outlined=True, disabled=snap.finished)
                        solara.HTML(tag="div", unsafe_innerHTML=_heading(item), classes=["tabletop-pending-title"])
                    Explain(item.text)
                    if item.inject.expected_actions:
                        solara.HTML(tag="div", unsafe_innerHTML="<b>Expected of the players:</b> " + html.escape(
                            "; ".join(item.inject.expected_actions)), classes=["tabletop-expected"])
        with solara.Column(gap="6px", classes=["tabletop-panel"]):
            solara.HTML(tag="h2", unsafe_innerHTML="Invent an inject")
            solara.Select("Inject type", values=list(INJECT_TYPES.values()), value=kind)
            solara.InputText("Inject title", value=title)
            with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
                if "role" in fields:
                    Choice("Role", roles, role_words(roles), role.value, role.set)
                if "region" in fields:
                    regions = [EVERY_REGION, *spec.region_ids]
                    if "role" in fields:
                        regions = [EVERY_REGION, *role_regions(spec, role.value)]
                    Choice("Region", regions, region_names(spec), region.value if region.value in regions else
                           EVERY_REGION, region.set)
                if "factor" in fields:
                    solara.InputFloat("Factor", value=factor, style={"max-width": "120px"})
                if "share" in fields:
                    solara.InputFloat("Share of lines", value=share, style={"max-width": "160px"})
                if "count" in fields:
                    solara.InputInt("Count", value=count, style={"max-width": "110px"})
                if "hours" in fields:
                    label = "Hours (0: rest of exercise)" if "role" in fields else "Hours"
                    solara.InputInt(label, value=hours, style={"max-width": "240px"})
            if "agent_types" in fields:
                solara.SelectMultiple("Who reports more", all_values=list(SURGE_TYPES), values=agent_types)
            Explain(inject_type_text(key, region_names(spec), **form))
            solara.Button("Fire inject", on_click=fire_custom, color="warning", disabled=snap.finished,
                          classes=["tabletop-fire"])
            solara.HTML(tag="h2", unsafe_innerHTML="Fired so far")
            FiredList(snap.fired)
