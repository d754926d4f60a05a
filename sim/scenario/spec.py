"""The scenario as one run sees it: regions, storm, behaviour, operation, measures, and how they fit together.

`Scenario` is frozen and fully resolved (a plan already merged on). `cross_check` lists problems that
span several keys, each with the key path where it should be fixed.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from sim.figures import UnknownFigure, replicated
from sim.inputs import key_path
from sim.scenario.base import Frozen, Name, Seed
from sim.scenario.costs import Costs
from sim.scenario.events import Inject
from sim.scenario.measures import Measures
from sim.scenario.operations import Operations
from sim.scenario.populations import Behaviour, Portfolio, Vulnerability
from sim.scenario.storm import RegionFlood, RegionHazard
from sim.vocab import POPULATIONS, REQUIRED_ROLES

# A scenario lasts at most a year; the shipped ones run 24 h to 120 days. Longer runs belong in several scenarios.
MAX_DURATION_H = 24 * 366
# Sizes (sanity bounds, docs/SAFETY.md): a region's book of one kind of policyholder is at most 20 million
# (four times the whole fleet of Zhengzhou, 4.9 million vehicles, CLAIM_LIFE_FACTS), a scenario at most 100
# million policyholders (five such regions); at most 500 regions (China has about 330 prefecture-level
# cities); at most 100,000 staff with reserves (Henan 2021 at its peak: 6,240 survey and claims staff from
# every insurer). `claimsim run` also estimates memory and refuses what would not fit (sim/estimate.py).
MAX_REGION_POLICYHOLDERS = 20_000_000
MAX_POLICYHOLDERS = 100_000_000
MAX_REGIONS = 500
MAX_TOTAL_STAFF = 100_000

class Region(Frozen):
    """A branch's territory."""

    id: Name
    name: Annotated[str, Field(max_length=200)]
    service_radius_km: Annotated[float, Field(gt=0, le=2000)]
    road_speed_kmh: Annotated[float, Field(gt=0, le=200)]
    # GB 50009-2012 basic snow pressure S0 at the 50-year return period (DOMAIN_FACTS: Beijing 0.40 kN/m2).
    basic_snow_pressure_kn_m2: Annotated[float, Field(gt=0, le=20)] = 0.40
    flood: RegionFlood = RegionFlood()
    portfolio: Portfolio = Portfolio()


class Expectation(Frozen):
    """A planner's service expectation: the mean over replications of a figure, bounded with confidence.

    E.g. under plan all-hands, p90 settlement latency at most 72 h with 95% confidence: the one-sided 95%
    upper confidence bound of the mean p90 over the regression replications must be at most 72.
    """

    name: Annotated[str, Field(min_length=1)]
    plan: str = "baseline"
    figure: str
    at_most: float | None = None
    at_least: float | None = None
    confidence: Annotated[float, Field(ge=0.5, lt=1.0)] = 0.95

    @field_validator("figure")
    @classmethod
    def _known_figure(cls, v: str) -> str:
        try:
            return replicated(v).name
        except UnknownFigure as err:
            raise ValueError(str(err)) from None

    @model_validator(mode="after")
    def _one_bound(self) -> Expectation:
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError("give exactly one of at_most and at_least")
        return self


class Scenario(Frozen):
    """One world and one plan, fully resolved: what a run needs besides the seed."""

    name: Name
    description: str = ""
    start: dt.datetime
    # Day 0 of the event, as published progress figures count days (landfall, the peak of the rain); the
    # scenario start when not given.
    event_day0: dt.datetime | None = None
    duration_h: Annotated[int, Field(ge=1, le=MAX_DURATION_H, strict=True)]
    seed: Seed = 0
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"  # ISO 4217, shown on every money figure
    regions: list[Region] = Field(min_length=1, max_length=MAX_REGIONS)
    hazard: dict[Name, RegionHazard]
    behaviour: Behaviour = Behaviour()
    operations: Operations
    measures: Measures = Measures()
    costs: Costs = Costs()   # pay premiums, retainers, campaign prices, leakage (sim/scenario/costs.py)
    vulnerability: Vulnerability = Vulnerability()
    injects: list[Inject] = Field(default_factory=list, max_length=10_000)
    expectations: list[Expectation] = Field(default_factory=list)
    plan: str = "baseline"
    plan_description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems = cross_check(self)
        if problems and not _LOADER_CHECKS.get():
            path, message = problems[0]
            raise ValueError(f"{key_path(path)}: {message}")
        return self

    @property
    def day0_h(self) -> float:
        """Hours from the scenario start to day 0 of the event."""
        if self.event_day0 is None:
            return 0.0
        return (self.event_day0 - self.start).total_seconds() / 3600.0

    @property
    def region_ids(self) -> list[str]:
        return [r.id for r in self.regions]

    def policyholders(self, agent_type: str) -> int:
        return sum(getattr(r.portfolio, agent_type).count for r in self.regions)


PLAN_KEYS = {"description", "extends", "operations", "behaviour", "measures", "vulnerability", "costs"}
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
    missing = [r for r in REQUIRED_ROLES if r not in staff]
    if missing:
        out.append((("operations", "staff"), f"missing role(s) {', '.join(missing)} (use headcount: 0 for none)"))
    for role, spec in staff.items():
        if role not in REQUIRED_ROLES:
            counts = spec.headcount.values() if isinstance(spec.headcount, dict) else [spec.headcount]
            reserve = spec.surge.reserve if spec.surge is not None else 0
            reserves = reserve.values() if isinstance(reserve, dict) else [reserve]
            if sum(counts) + sum(reserves) == 0:
                out.append((("operations", "staff", role, "headcount"),
                            f"{role} is optional: leave it out (no capacity limit) or give it staff; with none "
                            "its work would wait for ever"))
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
    out += size_problems(s)
    return out


def staff_total(s: Scenario) -> int:
    """Everyone on the staff lists, surge reserves included."""
    people = 0
    for spec in s.operations.staff.values():
        for value in (spec.headcount, spec.surge.reserve if spec.surge else 0):
            people += sum(value.values()) if isinstance(value, dict) else int(value)
    return people


def size_problems(s: Scenario) -> list[tuple[tuple, str]]:
    """Portfolios and staff beyond the sanity bounds (MAX_REGION_POLICYHOLDERS, MAX_POLICYHOLDERS, ...)."""
    out: list[tuple[tuple, str]] = []
    for i, region in enumerate(s.regions):
        for t in POPULATIONS:
            if getattr(region.portfolio, t).count > MAX_REGION_POLICYHOLDERS:
                out.append((("regions", i, "portfolio", t, "count"), f"more than {MAX_REGION_POLICYHOLDERS:,} "
                            f"{t} in one region (a sanity bound: split the region)"))
    total = sum(s.policyholders(t) for t in POPULATIONS)
    if total == 0:
        out.append((("regions",), "the portfolio is empty: give at least one region a policyholder count"))
    elif total > MAX_POLICYHOLDERS:
        out.append((("regions",), f"{total:,} policyholders: at most {MAX_POLICYHOLDERS:,} in a scenario "
                    "(a sanity bound)"))
    people = staff_total(s)
    if people > MAX_TOTAL_STAFF:
        out.append((("operations", "staff"), f"{people:,} staff with reserves: at most {MAX_TOTAL_STAFF:,} "
                    "(a sanity bound)"))
    return out

