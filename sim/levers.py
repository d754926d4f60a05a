"""The levers a tabletop room can pull and the injects a facilitator can invent, as forms fill them in.

Each preset lever becomes a `Decision` (plan changes, call-outs or moves) and each inject type an `Inject`,
checked by their schemas (sim/scenario/events.py). Every lever and inject type carries a plain description
and its expected effect, shown where the player chooses it; an exercise file may word them its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim import fmt
from sim.errors import InputError
from sim.injects import Explained, effect_text
from sim.scenario.events import CallOut, Decision, Inject, MoveStaff
from sim.vocab import POPULATIONS, ROLE, STAGE_LABELS


@dataclass(frozen=True)
class Lever:
    """A preset decision: its key, its label on the page, and the form fields it needs."""

    key: str
    label: str
    fields: tuple[str, ...]


LEVER_LIST: tuple[Lever, ...] = (
    Lever("call_out", "Call out reserve staff", ("role", "region", "count")),
    Lever("cancel_leave", "Cancel leave", ("role",)),
    Lever("roster", "Extend shifts / 24-hour duty", ("role", "roster")),
    Lever("move", "Move staff between regions", ("role", "from_region", "to_region", "count", "travel_h")),
    Lever("fast_track", "Open the green channel / raise fast-track limit", ("max_loss",)),
    Lever("video", "Switch on video survey", ()),
    Lever("prepayment", "Start pre-payment", ()),
    Lever("sms", "Send SMS warnings", ()),
)
LEVERS: dict[str, str] = {lv.key: lv.label for lv in LEVER_LIST}
LEVER_BY_LABEL = {label: key for key, label in LEVERS.items()}
LEVER_FIELDS: dict[str, tuple[str, ...]] = {lv.key: lv.fields for lv in LEVER_LIST}


def staff_roles(spec: Any) -> list[str]:
    return list(spec.operations.staff)


def regional_roles(spec: Any) -> list[str]:
    """Roles with one pool per region (the ones that can be moved, and need a region to call out)."""
    return [r for r, s in spec.operations.staff.items() if isinstance(s.headcount, dict)]


def role_regions(spec: Any, role: str) -> list[str]:
    """The regional pools of a role ([] for a shared pool)."""
    staff = spec.operations.staff.get(role)
    if staff is None or not isinstance(staff.headcount, dict):
        return []
    return list(staff.headcount)


def region_names(spec: Any) -> dict[str, str]:
    return {r.id: r.name or r.id for r in spec.regions}


def lever_text(lever: str, spec: Any, role: str = "", overrides: Mapping[str, Explained] | None = None) -> Explained:
    """What a lever does and what it is expected to change, for the role chosen (an exercise's own wording
    in `overrides` wins)."""
    if overrides and lever in overrides:
        return overrides[lever]
    info = ROLE.get(role) if role else None
    who = info.label if info else "staff"
    where = ("in the phone queue" if info.stage == "reporting" else STAGE_LABELS[info.stage]) if info else \
        "in their queue"
    ops = spec.operations
    if lever == "call_out":
        return Explained(
            f"Bring in reserve {who} (a surge call-out): they work from now on the role's roster."
            + (f" {info.label.capitalize()} {info.plays}." if info else ""),
            f"More {who} on duty within the hour: fewer claims {where}; staff cost rises (call-out hours).")
    if lever == "cancel_leave" and role not in ops.staff:
        return Explained("Staff of a role who are on leave come back to work.",
                         "More people on every shift of that role: its queue shrinks; more staff hours paid.")
    if lever == "cancel_leave":
        share = ops.staff[role].leave_share
        return Explained(
            f"{who.capitalize()} on leave come back to work ({fmt.share(share, 0)} of the team is on leave now).",
            f"About {fmt.share(share, 0)} more {who} on every shift: fewer claims {where}; more staff hours paid."
            if share else f"No change: no {who} are on leave in this plan.")
    if lever == "roster":
        return Explained(
            f"Put {who} on a longer roster (12-hour days, or 24-hour duty): more hours covered each day.",
            f"The queue {where} shrinks, most at night and early morning; overtime pay and tired staff.")
    if lever == "move":
        return Explained(
            f"Send {who} from one region's pool to another's; they are unavailable while they travel.",
            "The receiving region's queue shrinks after the travel time; the sending region's grows.")
    if lever == "fast_track":
        limit = fmt.money(ops.triage.fast_track.max_loss, spec.currency)
        return Explained(
            f"Open the green channel or raise its limit (now {limit}): small claims are settled online with "
            "fewer documents and no survey.",
            "More claims skip the survey queue: small claims settle sooner and surveyors are freed for the large "
            "ones; some claims are paid without an inspection.")
    if lever == "video":
        return Explained(
            "Survey eligible claims over a video call instead of a site visit: "
            f"{ROLE['video_survey'].label} {ROLE['video_survey'].plays}.",
            "Fewer claims waiting for a field survey and less driving on bad roads; only if video surveyors "
            "are on duty.")
    if lever == "prepayment":
        return Explained(
            "Pay part of large losses in advance, before the final assessment.",
            "Large-loss customers get money days earlier (time to first payment falls); more cash goes out early.")
    if lever == "sms":
        return Explained(
            "Send SMS warnings to policyholders: some stay off the roads and protect their property.",
            "Fewer crashes and strandings in the next hours, so fewer claims; no effect on claims already made.")
    raise InputError(f"unknown lever '{lever}' (levers: {', '.join(LEVERS)})", key_path="lever")


def build_decision(lever: str, spec: Any, *, role: str = "", region: str = "", count: int = 1, roster: str = "",
                   from_region: str = "", to_region: str = "", max_loss: float | None = None,
                   travel_h: float = 2.0, title: str = "", by: str = "", why: str = "",
                   overrides: Mapping[str, Explained] | None = None) -> Decision:
    """The Decision of a preset lever with the form's values (title defaults to a description of it)."""
    role = role or (staff_roles(spec)[0] if staff_roles(spec) else "phone")
    names = region_names(spec)
    info = ROLE.get(role)
    who = (info.person if count == 1 else info.label) if info else f"{role} staff"
    everyone = info.label if info else f"{role} staff"
    if lever == "call_out":
        pools = role_regions(spec, role)
        where = (region if region in pools else pools[0]) if pools else None
        default = f"Call out {count} reserve {who}" + (f" in {names.get(where, where)}" if where else "")
        kw: dict[str, Any] = {"call_out": [CallOut(role=role, count=count, region=where)]}
    elif lever == "cancel_leave":
        default = f"Cancel leave of the {everyone}"
        kw = {"changes": {"operations": {"staff": {role: {"leave_share": 0}}}}}
    elif lever == "roster":
        rosters = list(spec.operations.rosters)
        roster = roster if roster in rosters else (rosters[-1] if rosters else roster)
        default = f"Put the {everyone} on roster {roster}"
        kw = {"changes": {"operations": {"staff": {role: {"roster": roster}}}}}
    elif lever == "move":
        pools = role_regions(spec, role)
        src = from_region or (pools[0] if pools else "")
        dst = to_region or next((p for p in pools if p != src), "")
        default = f"Move {count} {who} from {names.get(src, src)} to {names.get(dst, dst)}"
        kw = {"move": [MoveStaff(role=role, from_region=src, to_region=dst, count=count, travel_h=travel_h)]}
    elif lever == "fast_track":
        limit = float(max_loss) if max_loss is not None else float(spec.operations.triage.fast_track.max_loss)
        default = f"Open the green channel: fast track up to {limit:,.0f}"
        kw = {"changes": {"operations": {"triage": {"fast_track": {"enabled": True, "max_loss": limit}}}}}
    elif lever == "video":
        default = "Switch on video survey"
        kw = {"changes": {"operations": {"triage": {"video": {"enabled": True}}}}}
    elif lever == "prepayment":
        default = "Start pre-payment"
        kw = {"changes": {"operations": {"prepayment": {"enabled": True}}}}
    elif lever == "sms":
        default = "Send SMS warnings"
        kw = {"changes": {"measures": {"sms_warning": {"enabled": True}}}}
    else:
        raise InputError(f"unknown lever '{lever}' (levers: {', '.join(LEVERS)})", key_path="lever")
    text = lever_text(lever, spec, role if lever in ("call_out", "cancel_leave", "roster", "move") else "", overrides)
    return Decision(title=title.strip() or default, by=by.strip(), why=why.strip(), description=text.description,
                    expected_effect=text.expected_effect, **kw)


# ---------------------------------------------------------------------------- injects the facilitator invents

INJECT_TYPES: dict[str, str] = {
    "hazard": "Storm band (hazard x factor)",
    "road_closure": "Road closure (travel x factor)",
    "phone_outage": "Phone outage (share of lines)",
    "staff_absence": "Staff absence (count of a role)",
    "reporting_surge": "Reporting surge (reports x factor)",
    "note": "Note (news, no effect)",
}
INJECT_BY_LABEL = {label: key for key, label in INJECT_TYPES.items()}
INJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "hazard": ("region", "factor", "hours"),
    "road_closure": ("region", "factor", "hours"),
    "phone_outage": ("share", "hours"),
    "staff_absence": ("role", "region", "count", "hours"),
    "reporting_surge": ("agent_types", "factor", "hours"),
    "note": (),
}
EVERY_REGION = "(every region)"
SURGE_TYPES = POPULATIONS


def inject_effect(kind: str, *, region: str = "", factor: float = 2.0, share: float = 0.5, role: str = "phone",
                  count: int = 1, hours: int = 6, agent_types: list[str] | None = None) -> dict[str, Any]:
    """The effect mapping of a custom inject of type `kind` with the form's values."""
    where = None if region in ("", EVERY_REGION) else region
    if kind == "hazard":
        return {"type": kind, "region": where, "factor": factor, "hours": hours}
    if kind == "road_closure":
        return {"type": kind, "region": where, "travel_factor": factor, "hours": hours}
    if kind == "phone_outage":
        return {"type": kind, "share": share, "hours": hours}
    if kind == "staff_absence":
        return {"type": kind, "role": role, "count": count, "region": where, "hours": hours if hours > 0 else None}
    if kind == "reporting_surge":
        return {"type": kind, "agent_types": list(agent_types or SURGE_TYPES), "factor": factor, "hours": hours}
    if kind == "note":
        return {"type": kind}
    raise InputError(f"unknown inject type '{kind}' (types: {', '.join(INJECT_TYPES)})", key_path="effect.type")


def build_inject(kind: str, *, title: str = "", at_h: float = 0.0, **form: Any) -> Inject:
    """An inject of the custom-inject form (validated by the inject schema; region '' is every region)."""
    effect = inject_effect(kind, **form)
    where = effect.get("region") or "every region"
    default = {
        "hazard": f"Storm band x{effect.get('factor', 0):g} over {where}",
        "road_closure": f"Roads closed in {where}",
        "phone_outage": f"Phone outage: {100 * effect.get('share', 0):.0f}% of lines down",
        "staff_absence": f"{effect.get('count')} {effect.get('role')} staff absent",
        "reporting_surge": f"Reporting surge x{effect.get('factor', 0):g}",
        "note": "News for the room",
    }[kind]
    return Inject.model_validate({"at_h": at_h, "title": title.strip() or default, "effect": effect})


def inject_type_text(kind: str, names: dict[str, str] | None = None, **form: Any) -> Explained:
    """The plain description and expected effect of a custom inject as the form stands (defaults if it does
    not validate yet)."""
    try:
        return effect_text(build_inject(kind, **form).effect, names)
    except Exception:  # a half-filled form: the type's text with its default values
        return effect_text(Inject.model_validate({"at_h": 0, "title": "x", "effect": {"type": kind, **(
            {"role": "phone"} if kind == "staff_absence" else {})}}).effect, names)
