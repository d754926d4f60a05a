"""Scenario files: the typed, frozen schema and a loader whose errors name file, line and key path.

A scenario file says the world (regions, portfolio, storm over time, baseline operations) and
names plans as overrides deep-merged onto that baseline (DESIGN rule 1). `load_scenario` reads
and checks a file and every plan in it; `ScenarioFile.resolve(plan)` gives the frozen
`Scenario` one run uses.
"""

from __future__ import annotations

import contextlib
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
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from sim.distributions import Distribution, as_fixed
from sim.errors import InputError
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

    count: NonNegativeInt = 0
    vehicle_age_years: Dist = Field(default_factory=lambda: {"dist": "uniform", "low": 0, "high": 15})
    battery_age_years: Dist = Field(default_factory=lambda: {"dist": "uniform", "low": 0, "high": 6})
    vehicle_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 120000, "sigma": 0.5})


class FarmerPortfolio(Frozen):
    """Insured farms of a region: crop mix, greenhouses and insured value."""

    count: NonNegativeInt = 0
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

    count: NonNegativeInt = 0
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


class Behaviour(Frozen):
    drivers: Reporting = Reporting()
    farmers: Reporting = Reporting(report_after_storm=True,
                                   report_delay_h={"dist": "lognormal", "mean": 24, "cv": 1.0},
                                   channels={"phone": 0.7, "app": 0.3})
    firms: Reporting = Reporting(report_delay_h={"dist": "lognormal", "mean": 6, "cv": 1.0},
                                 channels={"phone": 0.8, "app": 0.2})


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


Headcount = NonNegativeInt | dict[Name, NonNegativeInt]


class StaffRole(Frozen):
    """A role's staff: headcount (one pool, or a pool per region), roster, leave and cost."""

    headcount: Headcount
    roster: Name
    leave_share: Share = 0.0
    hourly_cost: NonNegativeFloat = 0.0
    overtime_factor: Annotated[float, Field(ge=1.0)] = 1.5
    standard_hours_per_day: PositiveFloat = 8.0
    concurrent_cases: PositiveInt = 1   # video surveyors guide several scenes at once
    fee_per_job: NonNegativeFloat = 0.0  # partner fee (tow, rescue) per completed job


class Phone(Frozen):
    """The phone line: handling, caller patience and retrial."""

    handling_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 8, "cv": 0.6})
    patience_min: Dist | None = Field(default_factory=lambda: {"dist": "exponential", "mean": 4})
    retry_share: Share = 0.7
    retry_delay_min: Dist = Field(default_factory=lambda: {"dist": "exponential", "mean": 15})
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 4
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

    @model_validator(mode="after")
    def _complete(self) -> Operations:
        missing = [r for r in ROLES if r not in self.staff]
        if missing:
            raise ValueError(f"staff is missing role(s) {', '.join(missing)} (use headcount: 0 for none)")
        for role, spec in self.staff.items():
            if spec.roster not in self.rosters:
                raise ValueError(f"staff.{role}.roster '{spec.roster}' is not one of the rosters "
                                 f"({', '.join(self.rosters)})")
        return self


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


class Inject(Frozen):
    """A timed event of a tabletop exercise (reserved; validated but not yet played)."""

    at_h: NonNegativeFloat
    title: str
    effect: dict[str, Any] = Field(default_factory=dict)


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
    duration_h: Annotated[int, Field(ge=1, le=24 * 90)]
    seed: NonNegativeInt = 0
    currency: str = "CNY"
    regions: list[Region] = Field(min_length=1)
    hazard: dict[Name, RegionHazard]
    behaviour: Behaviour = Behaviour()
    operations: Operations
    measures: Measures = Measures()
    vulnerability: Vulnerability = Vulnerability()
    injects: list[Inject] = Field(default_factory=list)
    plan: str = "baseline"
    plan_description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        ids = [r.id for r in self.regions]
        if len(set(ids)) != len(ids):
            raise ValueError("region ids must be unique")
        if set(self.hazard) != set(ids):
            raise ValueError(f"hazard must give exactly the regions {sorted(ids)} (got {sorted(self.hazard)})")
        for role, spec in self.operations.staff.items():
            if isinstance(spec.headcount, dict) and set(spec.headcount) != set(ids):
                raise ValueError(f"operations.staff.{role}.headcount by region must name exactly the "
                                 f"regions {sorted(ids)}")
        if sum(r.portfolio.drivers.count + r.portfolio.farmers.count + r.portfolio.firms.count
               for r in self.regions) == 0:
            raise ValueError("the portfolio is empty: give at least one region a policyholder count")
        return self

    @property
    def region_ids(self) -> list[str]:
        return [r.id for r in self.regions]

    def policyholders(self, agent_type: str) -> int:
        return sum(getattr(r.portfolio, agent_type).count for r in self.regions)


PLAN_KEYS = {"description", "operations", "behaviour", "measures", "vulnerability"}


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
    """Mappings merge key by key; anything else in `override` replaces `base`."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


class ScenarioFile:
    """A checked scenario file: its baseline, its plans, and where each key stands in the file."""

    def __init__(self, path: Path, raw: dict[str, Any], lines: dict[tuple, int], digest: str) -> None:
        self.path = path
        self.lines = lines
        self.sha256 = digest
        self._raw_plans: dict[str, dict[str, Any]] = raw.pop("plans", None) or {}
        self._base = raw
        self.plans: dict[str, str] = {"baseline": ""}
        self._resolved: dict[str, Scenario] = {}
        if not isinstance(self._raw_plans, dict):
            raise self._error(("plans",), "expected a mapping of plan name to overrides")
        for name, body in self._raw_plans.items():
            body = body or {}
            if not isinstance(body, dict):
                raise self._error(("plans", name), "a plan is a mapping of overrides")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
                raise self._error(("plans", name), "plan names use letters, digits, '-', '_' and '.'")
            unknown = sorted(set(body) - PLAN_KEYS)
            if unknown:
                raise self._error(("plans", name, unknown[0]),
                                  f"a plan may only override {', '.join(sorted(PLAN_KEYS))}")
            self._raw_plans[name] = body
            self.plans[name] = str(body.get("description", ""))
        for name in self.plans:  # check every plan now: a typo in a plan must not wait for its run
            self.resolve(name)

    @property
    def name(self) -> str:
        return str(self._base.get("name", self.path.stem))

    def _line_of(self, path: tuple) -> int | None:
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return None

    def _error(self, path: tuple, message: str) -> InputError:
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
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = _file_loc(data, err["loc"])
            in_plan = ("plans", plan) + loc
            path = in_plan if plan != "baseline" and self._line_of_exact_prefix(in_plan, plan) else loc
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling)"
            more = len({_file_loc(data, e["loc"]) for e in exc.errors()}) - 1
            raise self._error(path, msg + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")) \
                from None
        self._resolved[plan] = scenario
        return scenario

    def _line_of_exact_prefix(self, path: tuple, plan: str) -> bool:
        """Whether the failing key lies inside the plan's own overrides."""
        return any(path[:cut] in self.lines for cut in range(len(path), 2, -1))


def _file_loc(data: Any, loc: tuple) -> tuple:
    """Drop the parts of a pydantic error location that are not keys of the file (union member tags)."""
    out: list = []
    node = data
    for i, part in enumerate(loc):
        in_map = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_map or in_list:
            node = node[part]
            out.append(part)
        elif i == len(loc) - 1 and isinstance(node, dict):
            out.append(part)  # a missing or unknown key: name it
    return tuple(out)


def _read_hazard_csv(base_dir: Path, spec: dict[str, Any], region: str, file: Path,
                     lines: dict[tuple, int]) -> tuple[list[dict[str, Any]], bytes]:
    csv_path = (base_dir / str(spec["csv"])).resolve()
    where = ("hazard", region, "csv")
    if not csv_path.is_file():
        raise InputError(f"hazard file not found: {csv_path}", file=file, line=lines.get(where),
                         key_path=_key_path(where))
    data = csv_path.read_bytes()
    rows: list[dict[str, Any]] = []
    reader = csv.DictReader(data.decode("utf-8").splitlines())
    allowed = {"h", *HAZARD_VARIABLES}
    for col in reader.fieldnames or []:
        if col not in allowed:
            raise InputError(f"unknown column (expected h and any of {', '.join(HAZARD_VARIABLES)})",
                             file=csv_path, line=1, key_path=col)
    for i, row in enumerate(reader):
        frame: dict[str, Any] = {}
        for key, value in row.items():
            if value is None or value.strip() == "":
                continue
            try:
                frame[key] = float(value)
            except ValueError:
                raise InputError(f"expected a number, got '{value}'", file=csv_path, line=i + 2,
                                 key_path=key) from None
        rows.append(frame)
    return rows, data


def load_scenario(path: str | Path) -> ScenarioFile:
    """Read, check and resolve every plan of a scenario file; raises `InputError` on any problem."""
    file = Path(path)
    if not file.is_file():
        raise InputError("file not found" if not file.exists() else "not a file", file=file)
    raw_bytes = file.read_bytes()
    yaml = YAML(typ="rt", pure=True)
    try:
        doc = yaml.load(raw_bytes.decode("utf-8"))
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
        raise InputError("a scenario is a YAML mapping (name, start, regions, hazard, operations, ...)",
                         file=file, line=1)
    lines: dict[tuple, int] = {}
    raw = _plain(doc, (), lines)
    digest = hashlib.sha256(raw_bytes)
    hazard = raw.get("hazard")
    if isinstance(hazard, dict):
        for region, spec in hazard.items():
            if isinstance(spec, dict) and spec.get("csv"):
                rows, data = _read_hazard_csv(file.parent, spec, region, file, lines)
                digest.update(data)
                spec["keyframes"] = rows + list(spec.get("keyframes") or [])
                spec["keyframes"].sort(key=lambda k: k.get("h", 0) if isinstance(k, dict) else 0)
    return ScenarioFile(file, raw, lines, digest.hexdigest())
