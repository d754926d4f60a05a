"""Injects and decisions of a tabletop exercise: what they are (schemas) and what they do to a running model.

An inject is a timed event the room reads (a title) with an effect on the world or the operation. A decision
changes plan levers from the hour it is taken. Both take effect at the start of an hour: an inject listed at
`at_h` = 14.5 takes effect from the start of hour 15 (hours are the exercise's clock), and nothing before that
hour changes. Effects never draw random numbers from the streams a run shares with its counterfactual, so two
branches that differ by a decision differ by that decision, not by noise.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat

from sim.errors import InputError

if TYPE_CHECKING:
    from sim.model import ClaimsModel

ROLE_NAMES = ("phone", "video_survey", "field_survey", "tow", "assessment", "approval")
Role = Literal["phone", "video_survey", "field_survey", "tow", "assessment", "approval"]
AgentType = Literal["drivers", "farmers", "firms"]
HazardVar = Literal["snowfall_cm_h", "ice_mm_h", "temp_c", "wind_ms", "rain_mm_h"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HazardBand(_Frozen):
    """A second snow band (or any storm intensity change): hazard scaled in a region for some hours."""

    type: Literal["hazard"]
    region: str | None = None          # None: every region
    factor: NonNegativeFloat = 2.0     # multiplies the variables' hourly intensity
    add: dict[HazardVar, float] = Field(default_factory=dict)  # added after scaling, e.g. {snowfall_cm_h: 1.5}
    variables: list[HazardVar] = Field(default_factory=lambda: ["snowfall_cm_h", "ice_mm_h"])
    hours: Annotated[int, Field(ge=1, strict=True)] = 6


class RoadClosure(_Frozen):
    """Roads closed or jammed: survey and tow travel in the region takes `travel_factor` times as long."""

    type: Literal["road_closure"]
    region: str | None = None
    travel_factor: Annotated[float, Field(ge=1.0)] = 2.0
    hours: Annotated[int, Field(ge=1, strict=True)] = 6


class PhoneOutage(_Frozen):
    """A power or telephony outage at the call centre: a share of the phone line is off for some hours."""

    type: Literal["phone_outage"]
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    hours: Annotated[int, Field(ge=1, strict=True)] = 3


class StaffAbsence(_Frozen):
    """Staff sickness, or a partner pulling out (tow, say): people of a role leave, for some hours or for good."""

    type: Literal["staff_absence"]
    role: Role
    count: Annotated[int, Field(ge=1, strict=True)] = 1
    region: str | None = None          # the regional pool (per-region headcounts); None: any pool
    hours: Annotated[int, Field(ge=1, strict=True)] | None = None  # None: for the rest of the exercise


class ReportingSurge(_Frozen):
    """A media story (or rumour) that raises the rate of incidents reported, by agent type, for some hours."""

    type: Literal["reporting_surge"]
    agent_types: list[AgentType] = Field(default_factory=lambda: ["drivers", "farmers", "firms"])
    factor: PositiveFloat = 1.5
    hours: Annotated[int, Field(ge=1, strict=True)] = 12


class Note(_Frozen):
    """News for the room with no effect on the model (a briefing, a phone call from head office)."""

    type: Literal["note"] = "note"


Effect = Annotated[HazardBand | RoadClosure | PhoneOutage | StaffAbsence | ReportingSurge | Note,
                   Field(discriminator="type")]


class Inject(_Frozen):
    """A timed event of a tabletop exercise: when, what the room reads, and its effect."""

    at_h: NonNegativeFloat
    title: Annotated[str, Field(min_length=1)]
    effect: Effect = Note()


class InjectsFile(_Frozen):
    """A separate injects file (`--injects FILE`): a top-level `injects:` list."""

    description: str = ""
    injects: list[Inject]


class CallOut(_Frozen):
    """Call out reserve staff or partners: `count` more people of a role from now (surge call-out)."""

    role: Role
    count: Annotated[int, Field(ge=1, strict=True)]
    region: str | None = None          # the regional pool; None for a shared pool
    roster: str | None = None          # default: the role's roster
    delay_h: NonNegativeFloat = 0.0    # travel or notice before they start


class MoveStaff(_Frozen):
    """Move staff between regional pools from now."""

    role: Role
    from_region: str
    to_region: str
    count: Annotated[int, Field(ge=1, strict=True)]
    travel_h: NonNegativeFloat = 2.0


class Decision(_Frozen):
    """A decision of the room: plan changes from `at_h` on, who proposed it and why.

    `changes` uses the plan syntax (`operations`, `behaviour`, `measures`: see scenarios/README.md), e.g.
    {operations: {triage: {fast_track: {max_loss: 20000}}}} raises the fast-track limit, and
    {operations: {staff: {assessment: {roster: h24}}}} puts assessors on 24-hour duty (leave cancelled).
    """

    at_h: NonNegativeFloat = 0.0
    title: Annotated[str, Field(min_length=1)]
    by: str = ""
    why: str = ""
    wall_time: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    call_out: list[CallOut] = Field(default_factory=list)
    move: list[MoveStaff] = Field(default_factory=list)


DECISION_KEYS = {"operations", "behaviour", "measures"}


# ---------------------------------------------------------------------------- effects on a model


def start_hour(at_h: float) -> int:
    """The hour from whose start an event timed at `at_h` takes effect."""
    return int(math.ceil(at_h - 1e-9))


def check_inject(model: ClaimsModel, inject: Inject) -> None:
    """Errors an inject's effect can have against a scenario (unknown region, a role's pool)."""
    eff = inject.effect
    regions = model.spec.region_ids
    region = getattr(eff, "region", None)
    if region is not None and region not in regions:
        raise InputError(f"unknown region '{region}' (regions: {', '.join(regions)})", key_path="effect.region")


def apply_inject(model: ClaimsModel, inject: Inject) -> str:
    """Apply an inject's effect at the model's current hour; returns what it did, for the feed."""
    check_inject(model, inject)
    eff = inject.effect
    h = model.hour
    end = h + getattr(eff, "hours", 0) if getattr(eff, "hours", None) else model.horizon_h
    if isinstance(eff, HazardBand):
        model.scale_hazard(eff.region, eff.variables, eff.factor, eff.add, h, end)
        where = eff.region or "every region"
        return f"storm x{eff.factor:g} in {where} for hours {h}-{end}"
    if isinstance(eff, RoadClosure):
        model.ops.slow_travel(eff.region, eff.travel_factor, h, end)
        return f"travel x{eff.travel_factor:g} in {eff.region or 'every region'} for hours {h}-{end}"
    if isinstance(eff, PhoneOutage):
        n = model.ops.absence("phone", None, None, eff.share, h, end)
        return f"{n} phone agents off the line until hour {end}"
    if isinstance(eff, StaffAbsence):
        n = model.ops.absence(eff.role, eff.region, eff.count, None, h, end if eff.hours else None)
        until = f"until hour {end}" if eff.hours else "for the rest of the exercise"
        return f"{n} {eff.role} staff away {until}"
    if isinstance(eff, ReportingSurge):
        for t in eff.agent_types:
            model.populations[t].rate_factor_from(h, end, eff.factor)
        return f"incident reports x{eff.factor:g} for {', '.join(eff.agent_types)} until hour {end}"
    return "news for the room"


def apply_decision(model: ClaimsModel, decision: Decision) -> str:
    """Apply a decision at the model's current hour; returns what it did, for the feed."""
    from sim.scenario import Move, Scenario, deep_merge

    done = []
    unknown = sorted(set(decision.changes) - DECISION_KEYS)
    if unknown:
        raise InputError(f"a decision may change only {', '.join(sorted(DECISION_KEYS))}",
                         key_path=f"changes.{unknown[0]}")
    if "risk_visits" in (decision.changes.get("measures") or {}):
        raise InputError("risk visits are made before the storm: set them in a plan",
                         key_path="changes.measures.risk_visits")
    regions = model.spec.region_ids
    for k, c in enumerate(decision.call_out):
        _check_pool(model, c.role, c.region, f"call_out[{k}]")
        if c.roster is not None and c.roster not in model.spec.operations.rosters:
            raise InputError(f"unknown roster '{c.roster}'", key_path=f"call_out[{k}].roster")
    for k, m in enumerate(decision.move):
        for key, region in (("from_region", m.from_region), ("to_region", m.to_region)):
            if region not in regions:
                raise InputError(f"unknown region '{region}'", key_path=f"move[{k}].{key}")
        if not isinstance(model.spec.operations.staff[m.role].headcount, dict):
            raise InputError(f"{m.role} has one shared pool: nobody to move between regions",
                             key_path=f"move[{k}].role")
    new = None
    if decision.changes:
        changes = _with_sms_time(decision.changes, model.hour)
        data = deep_merge(model.spec.model_dump(mode="python", by_alias=True, exclude_unset=False), changes)
        try:
            new = Scenario.model_validate(data)
        except Exception as exc:  # pydantic ValidationError: name the key
            errs = getattr(exc, "errors", None)
            if errs is None:
                raise
            err = errs()[0]
            key = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
            msg = "unknown key (check its spelling)" if err["type"] == "extra_forbidden" else err["msg"]
            raise InputError(msg.removeprefix("Value error, "), key_path=f"changes.{key}") from None
    if new is not None:
        done += model.replan(new)
        done += [f"{k} = {v}" for k, v in _flatten(decision.changes) if not k.startswith("operations.staff.")]
    for c in decision.call_out:
        model.ops.call_out(c.role, c.region, c.count, c.roster, c.delay_h)
        done.append(f"{c.count} {c.role} called out" + (f" in {c.region}" if c.region else ""))
    for m in decision.move:
        model.ops.start_move(m.role, Move(at_h=float(model.hour), from_region=m.from_region, to_region=m.to_region,
                                          count=m.count, travel_h=m.travel_h))
        done.append(f"{m.count} {m.role} moving {m.from_region} -> {m.to_region}")
    return "; ".join(done) or "no change"


def _with_sms_time(changes: dict[str, Any], hour: int) -> dict[str, Any]:
    """SMS warnings switched on by a decision go out now, unless the decision says when."""
    sms = (changes.get("measures") or {}).get("sms_warning")
    if isinstance(sms, dict) and sms.get("enabled") and "sent_h" not in sms:
        changes = deep_copy(changes)
        changes["measures"]["sms_warning"]["sent_h"] = float(hour)
    return changes


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and "dist" not in v:
            out += _flatten(v, key + ".")
        else:
            out.append((key, v))
    return out


def deep_copy(x: Any) -> Any:
    import copy

    return copy.deepcopy(x)


def _check_pool(model: ClaimsModel, role: str, region: str | None, where: str) -> None:
    per_region = isinstance(model.spec.operations.staff[role].headcount, dict)
    if per_region and region is None:
        raise InputError(f"{role} has regional pools: name the region", key_path=f"{where}.region")
    if region is not None and not per_region:
        raise InputError(f"{role} has one shared pool: leave the region out", key_path=f"{where}.region")
    if region is not None and region not in model.spec.region_ids:
        raise InputError(f"unknown region '{region}'", key_path=f"{where}.region")


def hazard_scaled(raw: dict[str, np.ndarray], rows: list[int], variables: list[str], factor: float,
                  add: dict[str, float], start: int, end: int) -> dict[str, np.ndarray]:
    """Raw hourly hazard with the hours [start, end) of `rows` scaled (and raised by `add`)."""
    out = {k: v.copy() for k, v in raw.items()}
    for var in variables:
        out[var][rows, start:end] *= factor
    for var, plus in add.items():
        out[var][rows, start:end] += plus
    for var in ("snowfall_cm_h", "ice_mm_h", "wind_ms", "rain_mm_h"):
        np.maximum(out[var], 0.0, out=out[var])
    return out
