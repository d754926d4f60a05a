"""Scenario files: the typed, frozen schema and a loader whose errors name file, line and key path.

A scenario file says the world (regions, portfolio, storm over time, baseline operations) and
names plans as overrides deep-merged onto that baseline (DESIGN rule 1). `load_scenario` reads
and checks a file and every plan in it; `ScenarioFile.resolve(plan)` gives the frozen
`Scenario` one run uses.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import csv
import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from sim.distributions import Distribution, as_fixed
from sim.errors import InputError
from sim.injects import Inject
from sim.vulnerability import DriverParams, FarmerParams, FirmParams

AGENT_TYPES = ("drivers", "farmers", "firms")
ROLES = ("phone", "video_survey", "field_survey", "tow", "assessment", "approval")
TRACKS = ("fast_track", "video", "field", "large_loss")
CHANNELS = ("phone", "app", "video")
HAZARD_VARIABLES = ("snowfall_cm_h", "ice_mm_h", "temp_c", "wind_ms", "rain_mm_h")
INCIDENT_TYPES = {
    "drivers": ("crash", "battery", "stranding", "flooded_vehicle"),
    "farmers": ("crop_frost", "greenhouse_collapse"),
    "firms": ("roof_collapse", "burst_pipe", "business_interruption", "flood"),
}

Dist = Annotated[Distribution, BeforeValidator(as_fixed)]
Count = Annotated[int, Field(ge=0, strict=True)]  # strict: `true` or 2.5 is not a count
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, validate_default=True)


def _shares_sum_to_one(shares: Mapping[str, float], what: str) -> None:
    total = sum(shares.values())
    if shares and abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} shares must add up to 1 (they add up to {total:g})")


# ---------------------------------------------------------------- portfolio


class DriverPortfolio(Frozen):
    """Insured vehicles of a region."""

    count: Count = 0
    vehicle_age_years: Dist = Field(default_factory=lambda: {"dist": "uniform", "low": 0, "high": 15})
    battery_age_years: Dist = Field(default_factory=lambda: {"dist": "uniform", "low": 0, "high": 6})
    vehicle_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 120000, "sigma": 0.5})


class FarmerPortfolio(Frozen):
    """Insured farms of a region: crop mix, greenhouses and insured value."""

    count: Count = 0
    crops: dict[Literal["wheat", "winter_wheat", "vegetables", "orchard"], Share] = Field(
        default_factory=lambda: {"winter_wheat": 1.0})
    greenhouse_share: Share = 0.0
    insured_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 60000, "sigma": 0.7})

    @field_validator("crops")
    @classmethod
    def _crop_shares(cls, v: dict[str, float]) -> dict[str, float]:
        _shares_sum_to_one(v, "crop")
        return v


class FirmPortfolio(Frozen):
    """Insured firms of a region: roof types, pipe insulation, value and business-interruption cover."""

    count: Count = 0
    roof_types: dict[Literal["light_steel", "concrete"], Share] = Field(
        default_factory=lambda: {"light_steel": 0.4, "concrete": 0.6})
    insulated_pipes_share: Share = 0.6
    bi_cover_share: Share = 0.3
    insured_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 2_000_000, "sigma": 1.0})

    @field_validator("roof_types")
    @classmethod
    def _roof_shares(cls, v: dict[str, float]) -> dict[str, float]:
        _shares_sum_to_one(v, "roof type")
        return v


class Portfolio(Frozen):
    drivers: DriverPortfolio = DriverPortfolio()
    farmers: FarmerPortfolio = FarmerPortfolio()
    firms: FirmPortfolio = FirmPortfolio()


class Region(Frozen):
    """A branch's territory."""

    id: Name
    name: str
    service_radius_km: PositiveFloat
    road_speed_kmh: PositiveFloat
    # GB 50009-2012 basic snow pressure S0 at the 50-year return period (DOMAIN_FACTS: Beijing 0.40 kN/m2).
    basic_snow_pressure_kn_m2: PositiveFloat = 0.40
    portfolio: Portfolio = Portfolio()


# ---------------------------------------------------------------- hazard


class Keyframe(Frozen):
    """Storm values at hour `h` since the scenario start; variables left out are interpolated."""

    h: NonNegativeFloat
    snowfall_cm_h: NonNegativeFloat | None = None
    ice_mm_h: NonNegativeFloat | None = None
    temp_c: Annotated[float, Field(ge=-70, le=60)] | None = None
    wind_ms: NonNegativeFloat | None = None
    rain_mm_h: NonNegativeFloat | None = None


class RegionHazard(Frozen):
    """A region's storm: keyframes (or a CSV file with the same columns), linear or step interpolation."""

    interpolation: Literal["linear", "step"] = "linear"
    first_snow_of_season: bool = False
    keyframes: list[Keyframe] = Field(default_factory=list)
    csv: str | None = None

    @model_validator(mode="after")
    def _some_data(self) -> RegionHazard:
        if not self.keyframes:
            raise ValueError("a region's hazard needs keyframes (or a csv file)")
        hours = [k.h for k in self.keyframes]
        if hours != sorted(hours) or len(set(hours)) != len(hours):
            raise ValueError("keyframe hours must be strictly increasing")
        if all(k.temp_c is None for k in self.keyframes):
            raise ValueError("temp_c must be given in at least one keyframe")
        return self


# ---------------------------------------------------------------- behaviour


class Reporting(Frozen):
    """How one agent type reports an incident."""

    channels: dict[Literal["phone", "app", "video"], Share] = Field(
        default_factory=lambda: {"phone": 0.6, "app": 0.35, "video": 0.05})
    report_delay_h: Dist = Field(default_factory=lambda: {"dist": "exponential", "mean": 1.0})
    # Farmers see frost damage only after the thaw: delay counts from the end of the region's storm.
    report_after_storm: bool = False

    @field_validator("channels")
    @classmethod
    def _channel_shares(cls, v: dict[str, float]) -> dict[str, float]:
        _shares_sum_to_one(v, "channel")
        return v


class FarmerReporting(Reporting):
    """Farmers mostly phone, and report frost and collapse damage after the storm (assumption)."""

    channels: dict[Literal["phone", "app", "video"], Share] = Field(
        default_factory=lambda: {"phone": 0.7, "app": 0.3})
    report_delay_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 24, "cv": 1.0})
    report_after_storm: bool = True


class FirmReporting(Reporting):
    """Firms mostly phone, within hours of finding the damage (assumption)."""

    channels: dict[Literal["phone", "app", "video"], Share] = Field(
        default_factory=lambda: {"phone": 0.8, "app": 0.2})
    report_delay_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 6, "cv": 1.0})


class Behaviour(Frozen):
    """How each agent type reports; a partial entry keeps that type's own defaults for what it leaves out."""

    drivers: Reporting = Reporting()
    farmers: FarmerReporting = FarmerReporting()
    firms: FirmReporting = FirmReporting()


# ---------------------------------------------------------------- operations


class Shift(Frozen):
    """Hours of the day a staff member works; `end` may pass midnight (e.g. 22 to 30)."""

    start: Annotated[float, Field(ge=0, lt=24)]
    end: Annotated[float, Field(gt=0, le=48)]
    share: Share = 1.0

    @model_validator(mode="after")
    def _positive_length(self) -> Shift:
        if not 0 < self.end - self.start <= 24:
            raise ValueError("a shift must last more than 0 and at most 24 hours")
        return self


class RosterSpec(Frozen):
    """Shifts of a roster; each staff member is given one shift, in proportion to `share`."""

    shifts: list[Shift] = Field(min_length=1)

    @model_validator(mode="after")
    def _shift_shares(self) -> RosterSpec:
        _shares_sum_to_one({str(i): s.share for i, s in enumerate(self.shifts)}, "shift")
        return self


Headcount = Count | dict[Name, Count]


class Surge(Frozen):
    """Reserve staff or partner adjusters called out once the backlog per person on duty passes a threshold."""

    reserve: Headcount = 0                 # people on call (a number per pool when the role is by region)
    trigger_per_person: PositiveFloat = 10.0  # jobs waiting per person on duty (or waiting at all, if nobody is)
    delay_h: NonNegativeFloat = 2.0        # from the trigger to the first shift of the reserve
    roster: Name | None = None             # default: the role's roster
    hourly_cost: NonNegativeFloat | None = None  # default: the role's
    check_every_h: PositiveFloat = 0.25


class Move(Frozen):
    """N staff of a per-region pool leave one region at `at_h` and start in another after `travel_h`."""

    from_region: Name
    to_region: Name
    count: Annotated[int, Field(ge=1, strict=True)]
    at_h: NonNegativeFloat
    travel_h: NonNegativeFloat = 4.0


class StaffRole(Frozen):
    """A role's staff: headcount (one pool, or a pool per region), roster, leave and cost."""

    headcount: Headcount
    roster: Name
    leave_share: Share = 0.0
    hourly_cost: NonNegativeFloat = 0.0
    overtime_factor: Annotated[float, Field(ge=1.0)] = 1.5
    standard_hours_per_day: PositiveFloat = 8.0
    concurrent_cases: Annotated[int, Field(ge=1, strict=True)] = 1   # video surveyors guide several scenes at once
    fee_per_job: NonNegativeFloat = 0.0  # partner fee (tow, rescue) per completed job
    surge: Surge | None = None
    moves: list[Move] = Field(default_factory=list)


class Phone(Frozen):
    """The phone line: handling, caller patience and retrial."""

    handling_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 8, "cv": 0.6})
    patience_min: Dist | None = Field(default_factory=lambda: {"dist": "exponential", "mean": 4})
    retry_share: Share = 0.7
    retry_delay_min: Dist = Field(default_factory=lambda: {"dist": "exponential", "mean": 15})
    max_attempts: Annotated[int, Field(ge=1, le=10, strict=True)] = 4
    fallback_to_app_share: Share = 0.3


class TrackRule(Frozen):
    enabled: bool = True
    max_loss: NonNegativeFloat
    incident_types: list[str]


class Triage(Frozen):
    """Rules that grade a registered claim onto a track, and each track's queue priority (0 first)."""

    estimate_error_sigma: NonNegativeFloat = 0.3
    fast_track: TrackRule = TrackRule(max_loss=5000, incident_types=["crash", "battery", "stranding"])
    video: TrackRule = TrackRule(max_loss=30000, incident_types=["crash", "flooded_vehicle", "burst_pipe"])
    large_loss_min: PositiveFloat = 200_000
    # Claims estimated at or below this skip the site survey and the weather certificate (Liaoyang).
    waive_survey_max_loss: NonNegativeFloat = 0.0
    priority: dict[Literal["fast_track", "video", "field", "large_loss"], NonNegativeInt] = Field(
        default_factory=lambda: {t: 1 for t in TRACKS})


class PerTrack(Frozen):
    fast_track: Dist
    video: Dist
    field: Dist
    large_loss: Dist

    def __getitem__(self, track: str) -> Any:
        return getattr(self, track)


class Service(Frozen):
    """Work content of each stage (minutes of staff time, or hours of customer time)."""

    tow_onsite_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 30, "cv": 0.5})
    field_onsite_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 45, "cv": 0.5})
    video_survey_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 25, "cv": 0.5})
    assessment_min: PerTrack = PerTrack(
        fast_track={"dist": "lognormal", "mean": 10, "cv": 0.5},
        video={"dist": "lognormal", "mean": 30, "cv": 0.5},
        field={"dist": "lognormal", "mean": 60, "cv": 0.5},
        large_loss={"dist": "lognormal", "mean": 240, "cv": 0.5})
    approval_min: PerTrack = PerTrack(
        fast_track={"dist": "fixed", "value": 0},
        video={"dist": "lognormal", "mean": 10, "cv": 0.5},
        field={"dist": "lognormal", "mean": 15, "cv": 0.5},
        large_loss={"dist": "lognormal", "mean": 60, "cv": 0.5})
    documents_h: PerTrack = PerTrack(
        fast_track={"dist": "lognormal", "mean": 4, "cv": 1.0},
        video={"dist": "lognormal", "mean": 24, "cv": 1.0},
        field={"dist": "lognormal", "mean": 48, "cv": 1.0},
        large_loss={"dist": "lognormal", "mean": 120, "cv": 1.0})
    payment_lag_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 12, "cv": 0.5})
    # Obtaining a weather certificate, added to the documents of surveyed claims (0: not required).
    weather_certificate_h: Dist = Field(default_factory=lambda: {"dist": "fixed", "value": 0})


class Outcomes(Frozen):
    """How claims end. About a third of closed claims close without payment after real catastrophes."""

    deductible: NonNegativeFloat = 0.0
    not_covered_share: Share = 0.25
    withdraw_share: Share = 0.03


class PrePayment(Frozen):
    """Advance a share of the surveyed estimate on large losses (industry norm of 12 Dec 2023)."""

    enabled: bool = False
    share: Share = 0.5
    min_loss: NonNegativeFloat = 200_000


class HandOff(Frozen):
    """Hours a file takes to reach the assessment and the approval queues."""

    assessment: Dist = Field(default_factory=lambda: {"dist": "fixed", "value": 0})
    approval: Dist = Field(default_factory=lambda: {"dist": "fixed", "value": 0})

    def __getitem__(self, stage: str) -> Any:
        return getattr(self, stage)


class Operations(Frozen):
    rosters: dict[Name, RosterSpec]
    staff: dict[Literal["phone", "video_survey", "field_survey", "tow", "assessment", "approval"], StaffRole]
    phone: Phone = Phone()
    triage: Triage = Triage()
    service: Service = Service()
    # Share of incidents of each type that immobilise the vehicle and need tow or roadside rescue.
    rescue_share: dict[str, Share] = Field(
        default_factory=lambda: {"crash": 0.3, "battery": 1.0, "stranding": 1.0, "flooded_vehicle": 1.0})
    outcomes: Outcomes = Outcomes()
    prepayment: PrePayment = PrePayment()
    # Hand-off delay before a claim reaches the assessment and the approval queues (files moving between
    # offices; assessors and approvers moved down to branches shorten it).
    handoff_h: HandOff = HandOff()
    # Order in which field surveyors take claims: first come; nearest first (shortest trip); or remote and
    # snow-bound first (Sanmenxia: surveyors sent first to suburbs and snow-covered roads).
    dispatch: Literal["first_come", "nearest", "remote_first"] = "first_come"
    # Share of the snow and ice slow-down of survey and tow travel won back by chains and equipment (Jixi).
    snow_chains: Share = 0.0



# ---------------------------------------------------------------- measures and injects


class SmsWarning(Frozen):
    """Warning SMS that keep drivers off the roads (Jixi: 12,022 SMS before the snow; Beijing)."""

    enabled: bool = False
    sent_h: NonNegativeFloat = 0.0
    coverage: Share = 0.8
    compliance: Share = 0.3
    exposure_cut: Share = 0.7   # share of driving a complying driver gives up
    lasts_h: PositiveFloat = 48.0


class RiskVisits(Frozen):
    """Pre-storm risk-reduction visits to firms and farms (Heilongjiang, Qingdao)."""

    enabled: bool = False
    firm_share: Share = 0.3
    farm_share: Share = 0.3
    roof_capacity_gain: NonNegativeFloat = 0.3   # roof clearing, props: +30% capacity (assumption)
    frost_protection_c: NonNegativeFloat = 1.5   # covers, irrigation, early harvest (assumption)
    pipe_risk_cut: Share = 0.5


class Measures(Frozen):
    sms_warning: SmsWarning = SmsWarning()
    risk_visits: RiskVisits = RiskVisits()


# ---------------------------------------------------------------- expectations (checked by `claimsim regress`)

EXPECTATION_FIGURES = ("latency_mean", "latency_p50", "latency_p90", "latency_p99", "latency_restricted",
                       "first_contact_mean", "first_payment_mean", "abandonment", "paid_7d", "peak_backlog", "cost",
                       "claims", "survey_mean")


class Expectation(Frozen):
    """A planner's service expectation: the mean over replications of a figure, bounded with confidence.

    E.g. under plan all-hands, p90 settlement latency at most 72 h with 95% confidence: the one-sided 95%
    upper confidence bound of the mean p90 over the regression replications must be at most 72.
    """

    name: Annotated[str, Field(min_length=1)]
    plan: str = "baseline"
    figure: Literal["latency_mean", "latency_p50", "latency_p90", "latency_p99", "latency_restricted",
                    "first_contact_mean", "first_payment_mean", "abandonment", "paid_7d", "peak_backlog", "cost",
                    "claims", "survey_mean"]
    at_most: float | None = None
    at_least: float | None = None
    confidence: Annotated[float, Field(ge=0.5, lt=1.0)] = 0.95

    @model_validator(mode="after")
    def _one_bound(self) -> Expectation:
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError("give exactly one of at_most and at_least")
        return self


# ---------------------------------------------------------------- vulnerability parameters


class Vulnerability(Frozen):
    """Overrides of the vulnerability parameters in sim/vulnerability.py (see docs/ASSUMPTIONS.md)."""

    drivers: DriverParams = DriverParams()
    farmers: FarmerParams = FarmerParams()
    firms: FirmParams = FirmParams()


# ---------------------------------------------------------------- the scenario


class Scenario(Frozen):
    """One world and one plan, fully resolved: what a run needs besides the seed."""

    name: Name
    description: str = ""
    start: dt.datetime
    duration_h: Annotated[int, Field(ge=1, le=24 * 366, strict=True)]
    seed: Count = 0
    currency: str = "CNY"
    regions: list[Region] = Field(min_length=1)
    hazard: dict[Name, RegionHazard]
    behaviour: Behaviour = Behaviour()
    operations: Operations
    measures: Measures = Measures()
    vulnerability: Vulnerability = Vulnerability()
    injects: list[Inject] = Field(default_factory=list)
    expectations: list[Expectation] = Field(default_factory=list)
    plan: str = "baseline"
    plan_description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems = cross_check(self)
        if problems and not _LOADER_CHECKS.get():
            path, message = problems[0]
            raise ValueError(f"{_key_path(path)}: {message}")
        return self

    @property
    def region_ids(self) -> list[str]:
        return [r.id for r in self.regions]

    def policyholders(self, agent_type: str) -> int:
        return sum(getattr(r.portfolio, agent_type).count for r in self.regions)


PLAN_KEYS = {"description", "operations", "behaviour", "measures", "vulnerability"}
# Mappings of shares replace the baseline's whole in a plan (merging {phone: 1.0} onto {phone: .6, app: .4}
# would never add up to 1).
REPLACED_WHOLE = {"channels", "crops", "roof_types"}
# Set while the loader validates, so that it reports cross-field problems itself, at their own key.
_LOADER_CHECKS: contextvars.ContextVar[bool] = contextvars.ContextVar("loader_checks", default=False)


def inject_problems(s: Scenario, injects: list[Inject], where: tuple) -> list[tuple[tuple, str]]:
    """Injects that name a region the scenario does not have, or a pool its role does not have."""
    out: list[tuple[tuple, str]] = []
    ids = [r.id for r in s.regions]
    for i, inj in enumerate(injects):
        region = getattr(inj.effect, "region", None)
        if region is not None and region not in ids:
            out.append((where + (i, "effect", "region"), f"no region has id '{region}' (regions: {', '.join(ids)})"))
        role = getattr(inj.effect, "role", None)
        if role is not None and region is not None and not isinstance(s.operations.staff[role].headcount, dict):
            out.append((where + (i, "effect", "region"), f"{role} has one shared pool: leave the region out"))
        if inj.at_h >= s.duration_h:
            out.append((where + (i, "at_h"), f"after the end of the scenario ({s.duration_h} h)"))
    return out


def cross_check(s: Scenario) -> list[tuple[tuple, str]]:
    """Problems that span several keys, each with the key path where it should be fixed."""
    out: list[tuple[tuple, str]] = []
    ids = [r.id for r in s.regions]
    for i, rid in enumerate(ids):
        if ids.index(rid) != i:
            out.append((("regions", i, "id"), f"region id '{rid}' is used twice"))
    for rid in s.hazard:
        if rid not in ids:
            out.append((("hazard", rid), f"no region has id '{rid}' (regions: {', '.join(ids)})"))
    for rid in ids:
        if rid not in s.hazard:
            out.append((("hazard",), f"region '{rid}' has no hazard"))
    out += inject_problems(s, s.injects, ("injects",))
    staff = s.operations.staff
    missing = [r for r in ROLES if r not in staff]
    if missing:
        out.append((("operations", "staff"), f"missing role(s) {', '.join(missing)} (use headcount: 0 for none)"))
    for role, spec in staff.items():
        if spec.roster not in s.operations.rosters:
            out.append((("operations", "staff", role, "roster"),
                        f"'{spec.roster}' is not one of the rosters ({', '.join(s.operations.rosters)})"))
        if spec.surge is not None:
            if spec.surge.roster is not None and spec.surge.roster not in s.operations.rosters:
                out.append((("operations", "staff", role, "surge", "roster"),
                            f"'{spec.surge.roster}' is not one of the rosters ({', '.join(s.operations.rosters)})"))
            if isinstance(spec.surge.reserve, dict) != isinstance(spec.headcount, dict):
                out.append((("operations", "staff", role, "surge", "reserve"),
                            "give the reserve the same way as the headcount (one number, or one per region)"))
        for i, move in enumerate(spec.moves):
            if not isinstance(spec.headcount, dict):
                out.append((("operations", "staff", role, "moves", i),
                            "moves need a headcount by region"))
            for key in ("from_region", "to_region"):
                if getattr(move, key) not in ids:
                    out.append((("operations", "staff", role, "moves", i, key),
                                f"no region has id '{getattr(move, key)}' (regions: {', '.join(ids)})"))
        if isinstance(spec.headcount, dict):
            for rid in spec.headcount:
                if rid not in ids:
                    out.append((("operations", "staff", role, "headcount", rid),
                                f"no region has id '{rid}' (regions: {', '.join(ids)})"))
            absent = [rid for rid in ids if rid not in spec.headcount]
            if absent:
                out.append((("operations", "staff", role, "headcount"),
                            f"a headcount by region must give every region (missing: {', '.join(absent)})"))
    if sum(s.policyholders(t) for t in AGENT_TYPES) == 0:
        out.append((("regions",), "the portfolio is empty: give at least one region a policyholder count"))
    return out


# ---------------------------------------------------------------- loading


def _plain(node: Any, path: tuple, lines: dict[tuple, int]) -> Any:
    """Turn ruamel nodes into plain Python, recording the 1-based line of every key path."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            k = str(key) if not isinstance(key, str) else key
            with contextlib.suppress(KeyError, TypeError):
                lines[path + (k,)] = node.lc.key(key)[0] + 1
            out[k] = _plain(value, path + (k,), lines)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, value in enumerate(node):
            with contextlib.suppress(KeyError, TypeError):
                lines[path + (i,)] = node.lc.item(i)[0] + 1
            out_list.append(_plain(value, path + (i,), lines))
        return out_list
    if isinstance(node, dt.date) and not isinstance(node, dt.datetime):
        return dt.datetime(node.year, node.month, node.day)
    return node


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else in `override` (and share maps, REPLACED_WHOLE) replaces `base`."""
    if isinstance(base, dict) and isinstance(override, dict):
        if "dist" in override:  # a distribution given in full replaces the old one, whatever its family
            return copy.deepcopy(override)
        merged = dict(base)
        for key, value in override.items():
            merged[key] = (deep_merge(base[key], value) if key in base and key not in REPLACED_WHOLE
                           else copy.deepcopy(value))
        return merged
    return copy.deepcopy(override)


class ScenarioFile:
    """A checked scenario file: its baseline, its plans, and where each key stands in the file."""

    def __init__(self, path: Path, raw: dict[str, Any], lines: dict[tuple, int], digest: str,
                 files: dict[tuple, Path] | None = None) -> None:
        self.path = path
        self.lines = lines
        self.files = files or {}  # key paths that come from another file (hazard CSV rows)
        self.sha256 = digest
        self._raw_plans: dict[str, dict[str, Any]] = raw.pop("plans", None) or {}
        self._base = raw
        self.plans: dict[str, str] = {"baseline": ""}
        self._resolved: dict[str, Scenario] = {}
        self._plan_files: dict[str, tuple[Path, dict[tuple, int]]] = {}  # plans read from a plans file
        if not isinstance(self._raw_plans, dict):
            raise self._error(("plans",), "expected a mapping of plan name to overrides")
        self._check_plans(self._raw_plans)

    def add_plans_file(self, path: str | Path) -> list[str]:
        """Add the plans of a separate YAML file (top-level `plans:`), checked against this scenario."""
        file = Path(path)
        raw, lines, _ = _read_yaml(file)
        unknown = sorted(set(raw) - {"plans", "description"})
        if unknown:
            raise InputError("a plans file has only `plans:` (and a `description:`)", file=file,
                             line=lines.get((unknown[0],)), key_path=unknown[0])
        plans = raw.get("plans")
        if not isinstance(plans, dict) or not plans:
            raise InputError("expected a mapping of plan name to overrides", file=file,
                             line=lines.get(("plans",)), key_path="plans")
        for name in plans:
            if name in self.plans:
                raise InputError(f"plan '{name}' is also defined in {self.path}", file=file,
                                 line=lines.get(("plans", name)), key_path=f"plans.{name}")
            self._plan_files[str(name)] = (file, lines)
        self._raw_plans.update(plans)
        self._check_plans(plans)
        return list(plans)

    def _check_plans(self, plans: dict[str, Any]) -> None:
        for name, body in plans.items():
            body = body or {}
            if not isinstance(body, dict):
                raise self._error(("plans", name), "a plan is a mapping of overrides")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
                raise self._error(("plans", name), "plan names use letters, digits, '-', '_' and '.'")
            if name == "baseline" and set(body) - {"description"}:
                raise self._error(("plans", name), "the baseline plan is the scenario itself: it may only have a "
                                  "description (put its settings in the scenario, or name the plan otherwise)")
            unknown = sorted(set(body) - PLAN_KEYS)
            if unknown:
                raise self._error(("plans", name, unknown[0]),
                                  f"a plan may only override {', '.join(sorted(PLAN_KEYS))}")
            self._raw_plans[name] = body
            self.plans[name] = str(body.get("description", "") or "")
        for name in plans:  # check every plan now: a typo in a plan must not wait for its run
            self.resolve(name)
        for i, exp in enumerate(self.resolve("baseline").expectations):
            if exp.plan not in self.plans and not self._plan_files:
                raise self._error(("expectations", i, "plan"),
                                  f"no plan named '{exp.plan}' (plans: {', '.join(self.plans)})")

    @property
    def name(self) -> str:
        return str(self._base.get("name", self.path.stem))

    def _line_of(self, path: tuple) -> int | None:
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return None

    def _error(self, path: tuple, message: str) -> InputError:
        if len(path) >= 2 and path[0] == "plans" and path[1] in self._plan_files:
            file, lines = self._plan_files[path[1]]
            line = next((lines[path[:cut]] for cut in range(len(path), 0, -1) if path[:cut] in lines), None)
            return InputError(message, file=file, line=line, key_path=_key_path(path))
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.files:  # a key read from a hazard CSV: name that file and row
                return InputError(message, file=self.files[path[:cut]], line=self.lines.get(path[:cut]),
                                  key_path=_key_path(path[cut:]) or None)
        return InputError(message, file=self.path, line=self._line_of(path), key_path=_key_path(path))

    def resolve(self, plan: str = "baseline") -> Scenario:
        """The frozen scenario for `plan`: the baseline with the plan's overrides deep-merged on."""
        if plan in self._resolved:
            return self._resolved[plan]
        if plan not in self.plans:
            raise InputError(f"no plan named '{plan}' (plans: {', '.join(self.plans)})",
                             file=self.path, line=self.lines.get(("plans",)), key_path="plans")
        body = dict(self._raw_plans.get(plan, {}))
        description = str(body.pop("description", ""))
        data = deep_merge(self._base, body)
        data["plan"] = plan
        data["plan_description"] = description
        token = _LOADER_CHECKS.set(True)
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            errors = [(_file_loc(data, e), e) for e in exc.errors()]
            # Of a union's several complaints, the one that reaches deepest into the file is the one that fits.
            loc, err = max(errors, key=lambda pair: len(pair[0]))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling)"
            more = len({pair[0] for pair in errors}) - 1
            raise self._located(plan, body, loc,
                                msg + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")) from None
        finally:
            _LOADER_CHECKS.reset(token)
        problems = cross_check(scenario)
        if problems:
            loc, msg = problems[0]
            raise self._located(plan, body, loc, msg)
        self._resolved[plan] = scenario
        return scenario

    def variant(self, overrides: dict[str, Any], plan: str = "baseline") -> Scenario:
        """The plan's scenario with `overrides` deep-merged on top, as one more plan would be (validated).

        For experiments that vary a setting programmatically (validation, sweeps); any top-level key
        may be overridden, e.g. {"duration_h": 100, "operations": {"staff": {"phone": {"headcount": 9}}}}.
        """
        base = self.resolve(plan).model_dump(mode="python", by_alias=True, exclude_unset=False)
        data = deep_merge(base, overrides)
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InputError(err["msg"], file=self.path, key_path=_key_path(_file_loc(data, err))) from None

    def _located(self, plan: str, body: dict[str, Any], loc: tuple, message: str) -> InputError:
        """The error at the plan's own key when the plan set it, else at the baseline's."""
        node: Any = body
        in_plan = plan != "baseline" and bool(loc)
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, dict):
                in_plan = False  # the plan does not touch this key: the baseline's value is at fault
                break
            else:
                break  # the plan replaced this value whole
        return self._error(("plans", plan) + loc if in_plan else loc, message)


def _file_loc(data: Any, err: dict[str, Any]) -> tuple:
    """The key path of a pydantic error in the file, without pydantic's union member tags."""
    out: list = []
    node = data
    loc = err["loc"]
    for i, part in enumerate(loc):
        in_map = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_map or in_list:
            node = node[part]
            out.append(part)
        elif i == len(loc) - 1 and isinstance(node, dict) and err["type"] in ("missing", "extra_forbidden"):
            out.append(part)  # a missing or unknown key: name it
    return tuple(out)


def _read_hazard_csv(base_dir: Path, spec: dict[str, Any], region: str, file: Path,
                     lines: dict[tuple, int]) -> tuple[list[tuple[dict[str, Any], int]], bytes, Path]:
    """Rows of a hazard CSV file as keyframes, each with its line in the file."""
    csv_path = (base_dir / str(spec["csv"])).resolve()
    where = ("hazard", region, "csv")
    if not csv_path.is_file():
        raise InputError(f"hazard file not found: {csv_path}", file=file, line=lines.get(where),
                         key_path=_key_path(where))
    data = csv_path.read_bytes()
    rows: list[tuple[dict[str, Any], int]] = []
    try:
        text = data.decode("utf-8-sig")  # spreadsheets write a byte-order mark
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=csv_path) from None
    reader = csv.DictReader(text.splitlines())
    allowed = {"h", *HAZARD_VARIABLES}
    for col in reader.fieldnames or []:
        if col not in allowed:
            raise InputError(f"unknown column (expected h and any of {', '.join(HAZARD_VARIABLES)})",
                             file=csv_path, line=1, key_path=col)
    for row in reader:
        frame: dict[str, Any] = {}
        for key, value in row.items():
            if key is None:
                raise InputError("more values than columns", file=csv_path, line=reader.line_num)
            if value is None or value.strip() == "":
                continue
            try:
                frame[key] = float(value)
            except ValueError:
                raise InputError(f"expected a number, got '{value}'", file=csv_path, line=reader.line_num,
                                 key_path=key) from None
        rows.append((frame, reader.line_num))
    return rows, data, csv_path


def _read_yaml(file: Path) -> tuple[dict[str, Any], dict[tuple, int], bytes]:
    """A YAML mapping as plain Python, the line of every key path, and the file's bytes."""
    if not file.is_file():
        raise InputError("file not found" if not file.exists() else "not a file", file=file)
    raw_bytes = file.read_bytes()
    yaml = YAML(typ="rt", pure=True)
    try:
        doc = yaml.load(raw_bytes.decode("utf-8-sig"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError(f"malformed YAML: {problem}", file=file,
                         line=mark.line + 1 if mark else None) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=file) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (duplicate keys, bad tags)
        raise InputError(f"malformed YAML: {str(exc).splitlines()[0]}", file=file) from None
    if not isinstance(doc, CommentedMap):
        raise InputError("expected a YAML mapping of keys (see scenarios/README.md)", file=file, line=1)
    lines: dict[tuple, int] = {}
    return _plain(doc, (), lines), lines, raw_bytes


def load_scenario(path: str | Path) -> ScenarioFile:
    """Read, check and resolve every plan of a scenario file; raises `InputError` on any problem."""
    file = Path(path)
    raw, lines, raw_bytes = _read_yaml(file)
    digest = hashlib.sha256(raw_bytes)
    files: dict[tuple, Path] = {}
    hazard = raw.get("hazard")
    if isinstance(hazard, dict):
        for region, spec in hazard.items():
            if isinstance(spec, dict) and spec.get("csv"):
                rows, data, csv_path = _read_hazard_csv(file.parent, spec, region, file, lines)
                digest.update(data)
                own = spec.get("keyframes") or []
                if not isinstance(own, list):
                    raise InputError("expected a list of keyframes", file=file,
                                     line=lines.get(("hazard", region, "keyframes")),
                                     key_path=f"hazard.{region}.keyframes")
                # keyframes from the YAML keep their lines; rows from the CSV point at the CSV file
                merged = [(k, lines.get(("hazard", region, "keyframes", i)), None) for i, k in enumerate(own)]
                merged += [(k, line, csv_path) for k, line in rows]
                merged.sort(key=lambda m: m[0].get("h", 0) if isinstance(m[0], dict) else 0)
                spec["keyframes"] = [m[0] for m in merged]
                for i, (_, line, src) in enumerate(merged):
                    path = ("hazard", region, "keyframes", i)
                    if line is not None:
                        lines[path] = line
                    if src is not None:
                        files[path] = src
    return ScenarioFile(file, raw, lines, digest.hexdigest(), files)


def read_document[M: BaseModel](path: str | Path, model: type[M]) -> tuple[M, dict[tuple, int]]:
    """A small YAML file (sweep grid, injects, expectations) checked against `model`, with its key lines.

    Errors are one `InputError` naming the file, the line and the key path, like a scenario's.
    """
    file = Path(path)
    raw, lines, _ = _read_yaml(file)
    try:
        return model.model_validate(raw), lines
    except ValidationError as exc:
        # Of a union's several complaints, the one that reaches deepest into the file is the one that fits.
        # An unknown key (a misspelling) explains a missing one at the same depth.
        loc, err = max(((_file_loc(raw, e), e) for e in exc.errors()),
                       key=lambda pair: (len(pair[0]), pair[1]["type"] == "extra_forbidden"))
        msg = "unknown key (check its spelling)" if err["type"] == "extra_forbidden" else \
            err["msg"].removeprefix("Value error, ")
        line = next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)
        raise InputError(msg, file=file, line=line, key_path=_key_path(loc) or None) from None
