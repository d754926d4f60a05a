"""What injects and decisions of a tabletop exercise do to a running model (their schemas: sim/scenario/events.py).

An inject is a timed event the room reads (a title) with an effect on the world or the operation. A decision
changes plan levers from the hour it is taken. Both take effect at the start of an hour: an inject listed at
`at_h` = 14.5 takes effect from the start of hour 15 (hours are the exercise's clock), and nothing before that
hour changes. Effects never draw random numbers from the streams a run shares with its counterfactual, so two
branches that differ by a decision differ by that decision, not by noise.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.errors import InputError
from sim.inputs import explain, key_path
from sim.scenario import Decision, Inject, Move, Scenario, deep_merge
from sim.scenario.events import (
    DECISION_KEYS,
    HazardBand,
    PhoneOutage,
    ReportingSurge,
    RoadClosure,
    StaffAbsence,
)
from sim.vocab import POPULATION, ROLE, STAGE_LABELS

if TYPE_CHECKING:
    from sim.model import ClaimsModel

# ---------------------------------------------------------------------------- plain words


@dataclass(frozen=True)
class Explained:
    """What an inject or a lever is, in plain words, and what it is expected to change."""

    description: str
    expected_effect: str


def _where(region: str | None, names: dict[str, str] | None) -> str:
    if region is None:
        return "every region"
    return (names or {}).get(region, region)


def _for(hours: int | None) -> str:
    return f"for {hours} hours" if hours else "for the rest of the exercise"


def effect_text(effect: Any, names: dict[str, str] | None = None) -> Explained:
    """The default plain description and expected effect of an inject's effect, with its numbers filled in
    (`names`: region id -> region name)."""
    if isinstance(effect, HazardBand):
        change = "stronger" if effect.factor >= 1 or effect.add else "weaker"
        return Explained(
            f"The storm is {change} than forecast over {_where(effect.region, names)}: intensity x{effect.factor:g}"
            + (" plus " + ", ".join(f"{v:g} {k}" for k, v in effect.add.items()) if effect.add else "")
            + f" {_for(effect.hours)}.",
            "More crashes, dead batteries and collapsed roofs during the band and just after it: more calls, "
            "more claims waiting for rescue and survey." if change == "stronger" else
            "Fewer new incidents while it lasts: the queues get a chance to shrink.")
    if isinstance(effect, RoadClosure):
        return Explained(
            f"Roads closed or jammed in {_where(effect.region, names)}: surveyors and tow trucks take "
            f"{effect.travel_factor:g} times as long to get anywhere, {_for(effect.hours)}.",
            f"Slower rescues and field surveys: the claims {STAGE_LABELS['rescue']} and "
            f"{STAGE_LABELS['survey']} pile up; video surveys are not slowed.")
    if isinstance(effect, PhoneOutage):
        return Explained(
            f"{100 * effect.share:.0f}% of the phone lines are down {_for(effect.hours)}.",
            "Fewer calls answered: customers wait longer, hang up and call again; some report in the app instead. "
            "The phone queue grows and reporting is delayed.")
    if isinstance(effect, StaffAbsence):
        role = ROLE[effect.role]
        where = f" in {_where(effect.region, names)}" if effect.region else ""
        return Explained(
            f"{effect.count} {role.label if effect.count > 1 else role.person}{where} unavailable "
            f"{_for(effect.hours)}.",
            f"Fewer {role.label} at work: the claims they handle ({STAGE_LABELS[role.stage]}) pile up unless "
            "others take the work.")
    if isinstance(effect, ReportingSurge):
        who = ", ".join(POPULATION[t].label for t in effect.agent_types)
        return Explained(
            f"A news story or rumour: {who} report incidents {effect.factor:g} times as often "
            f"{_for(effect.hours)}.",
            "A wave of reports in a short time: a longer phone queue and a bigger backlog in every stage after it.")
    return Explained("News for the room: nothing in the simulation changes.", "No direct effect on the operation; "
                     "it may prompt a decision.")


def inject_text(inject: Inject, names: dict[str, str] | None = None) -> Explained:
    """An inject's description and expected effect: its own, or the default texts of its effect type."""
    default = effect_text(inject.effect, names)
    return Explained(inject.description or default.description, inject.expected_effect or default.expected_effect)


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
        return f"{n} {ROLE['phone'].label} off the line until hour {end}"
    if isinstance(eff, StaffAbsence):
        n = model.ops.absence(eff.role, eff.region, eff.count, None, h, end if eff.hours else None)
        until = f"until hour {end}" if eff.hours else "for the rest of the exercise"
        return f"{n} {ROLE[eff.role].label} away {until}"
    if isinstance(eff, ReportingSurge):
        for t in eff.agent_types:
            model.populations[t].rate_factor_from(h, end, eff.factor)
        return f"incident reports x{eff.factor:g} for {', '.join(eff.agent_types)} until hour {end}"
    return "news for the room"


def apply_decision(model: ClaimsModel, decision: Decision) -> str:
    """Apply a decision at the model's current hour; returns what it did, for the feed."""
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
            if not hasattr(exc, "errors"):
                raise
            loc, msg, _ = explain(exc, data)  # type: ignore[arg-type]
            raise InputError(msg, key_path=f"changes.{key_path(loc)}") from None
    if new is not None:
        done += model.replan(new)
        done += [f"{k} = {v}" for k, v in _flatten(decision.changes) if not k.startswith("operations.staff.")]
    for c in decision.call_out:
        model.ops.call_out(c.role, c.region, c.count, c.roster, c.delay_h)
        done.append(f"{c.count} {ROLE[c.role].label} called out" + (f" in {c.region}" if c.region else ""))
    for m in decision.move:
        model.ops.start_move(m.role, Move(at_h=float(model.hour), from_region=m.from_region, to_region=m.to_region,
                                          count=m.count, travel_h=m.travel_h))
        done.append(f"{m.count} {ROLE[m.role].label} moving {m.from_region} -> {m.to_region}")
    return "; ".join(done) or "no change"


def _with_sms_time(changes: dict[str, Any], hour: int) -> dict[str, Any]:
    """SMS warnings switched on by a decision go out now, unless the decision says when."""
    sms = (changes.get("measures") or {}).get("sms_warning")
    if isinstance(sms, dict) and sms.get("enabled") and "sent_h" not in sms:
        changes = copy.deepcopy(changes)
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


def _check_pool(model: ClaimsModel, role: str, region: str | None, where: str) -> None:
    if role not in model.spec.operations.staff:
        raise InputError(f"the scenario does not model {ROLE[role].label} as staff", key_path=f"{where}.role")
    per_region = isinstance(model.spec.operations.staff[role].headcount, dict)
    if per_region and region is None:
        raise InputError(f"{role} has regional pools: name the region", key_path=f"{where}.region")
    if region is not None and not per_region:
        raise InputError(f"{role} has one shared pool: leave the region out", key_path=f"{where}.region")
    if region is not None and region not in model.spec.region_ids:
        raise InputError(f"unknown region '{region}'", key_path=f"{where}.region")
