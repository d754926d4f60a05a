"""Policyholders: drivers, farmers and firms as Mesa agents backed by per-type numpy columns.

Each policyholder is a `mesa.Agent` registered with the model, so AgentSet queries and the
DataCollector see them. Their hour-by-hour hazard response is one vectorised step over the whole
population (DESIGN rule 3); only a policyholder with an incident runs Python code of its own
(`PolicyHolder.incident`: loss, reporting channel and delay).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np
from scipy import special

from sim import vulnerability as vul
from sim.ops.claim import N_SLOTS, Claim, Slot
from sim.scenario import INCIDENT_TYPES, Scenario

if TYPE_CHECKING:
    from sim.model import ClaimsModel

AGENT_TYPE_CODES = {"drivers": 1, "farmers": 2, "firms": 3}
THAW_C = -2.0  # a cold spell ends when the air is back above this (assumption)


def _lognormal(median: float, sigma: float, u: float) -> float:
    return median * math.exp(sigma * float(special.ndtri(u)))


class PolicyHolder(mesa.Agent):
    """One insured driver, farm or firm: its attributes live in its population's columns."""

    agent_type: ClassVar[str] = ""

    def __init__(self, model: ClaimsModel, population: Population, index: int) -> None:
        super().__init__(model)
        self.population = population
        self.index = index

    @property
    def region(self) -> str:
        return self.model.spec.regions[int(self.population.region[self.index])].id

    def incident(self, kind: int, hour: int) -> Claim:
        """React to an incident of type `kind` in `hour`: assess the loss, choose a channel, report."""
        model = self.model
        pop = self.population
        name = pop.incident_types[kind]
        occurrence = pop.occurrences.get((kind, self.index), 0)
        pop.occurrences[(kind, self.index)] = occurrence + 1
        # The claim's key, and so its random draws, depend on who, what and which time: never on the plan.
        key = (AGENT_TYPE_CODES[self.agent_type] << 60) | (self.index << 24) | (kind << 20) | occurrence
        u = model.streams.claim_uniforms(key, N_SLOTS)
        region = int(pop.region[self.index])
        incident_h = hour + float(u[Slot.INCIDENT_OFFSET])
        claim = Claim(claim_id=len(model.claims), key=key, agent_type=self.agent_type[:-1],
                      agent_id=self.unique_id, region=region, incident_type=name, incident_h=incident_h,
                      loss_amount=round(pop.loss(self.index, name, hour, float(u[Slot.LOSS])), 2), u=u)
        reporting = getattr(model.spec.behaviour, self.agent_type)
        claim.channel = self.choose_channel(reporting.channels, float(u[Slot.CHANNEL]))
        delay_h = float(reporting.report_delay_h.ppf(u[Slot.REPORT_DELAY]))
        report_from = incident_h
        if reporting.report_after_storm:
            report_from = max(incident_h, float(model.hazard.storm_end_h[region]))
        model.register_claim(claim, report_from + delay_h)
        return claim

    @staticmethod
    def choose_channel(shares: dict[str, float], u: float) -> str:
        acc = 0.0
        last = "phone"
        for channel, share in shares.items():
            acc += share
            last = channel
            if u < acc:
                return channel
        return last


class Driver(PolicyHolder):
    """A motorist: crashes on snow and ice, dead batteries in the cold, stranding, flooding."""

    agent_type = "drivers"


class Farmer(PolicyHolder):
    """A farm: frost damage to crops, greenhouse collapse under snow load."""

    agent_type = "farmers"


class Firm(PolicyHolder):
    """A firm: roof collapse under snow, burst pipes, business interruption, flooding."""

    agent_type = "firms"


# Where each incident type's interval of the hourly uniform starts: multiples of the golden ratio mod 1,
# as far apart as possible (types 0..3 start at 0, 0.618, 0.236, 0.854).
TYPE_OFFSETS = tuple((k * 0.6180339887498949) % 1.0 for k in range(8))


def _in_interval(u: np.ndarray, start: float, width: np.ndarray | float) -> np.ndarray | None:
    """Whether each u lies in [start, start + width) taken mod 1 (None when the width is 0 everywhere)."""
    w = np.minimum(width, 1.0)
    if np.ndim(w) == 0:
        if w <= 0:
            return None
        if w >= 1:
            return np.ones(u.shape, dtype=bool)
    end = start + w
    return np.where(end <= 1.0, (u >= start) & (u < end), (u >= start) | (u < end - 1.0))


class Population:
    """All policyholders of one type: attribute columns, at-risk flags and the vectorised hazard step.

    By default each policyholder can have each incident type at most once in a run (a crashed car is
    off the road, a collapsed greenhouse cannot collapse again; assumption); the type's `recovery_h`
    puts it back at risk that many hours after the incident.
    """

    agent_class: ClassVar[type[PolicyHolder]] = PolicyHolder
    agent_type: ClassVar[str] = ""

    def __init__(self, model: ClaimsModel, scenario: Scenario) -> None:
        self.model = model
        self.scenario = scenario
        self.incident_types = INCIDENT_TYPES[self.agent_type]
        counts = [getattr(r.portfolio, self.agent_type).count for r in scenario.regions]
        self.n = int(sum(counts))
        self.region = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        edges = np.concatenate([[0], np.cumsum(counts)]).astype(int)
        self.slices = [(int(edges[r]), int(edges[r + 1])) for r in range(len(counts))]
        rng = model.streams.generator(f"portfolio.{self.agent_type}")
        self.build(rng, counts)
        self.at_risk = np.ones((len(self.incident_types), self.n), dtype=bool)
        self.occurrences: dict[tuple[int, int], int] = {}
        self._recovering: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}  # hour -> (kinds, indices)
        self.incident_rng = model.streams.generator(f"incidents.{self.agent_type}")
        self.rate_windows: list[tuple[int, int, float]] = []  # reporting surges: (from, to, factor)
        self.agents = [self.agent_class(model, self, i) for i in range(self.n)]

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def rate_factor_from(self, start: int, end: int, factor: float) -> None:
        """Scale every incident rate of this type by `factor` over hours [start, end) (a reporting surge)."""
        self.rate_windows.append((start, end, factor))

    def rate_factor(self, hour: int) -> float:
        f = 1.0
        for start, end, factor in self.rate_windows:
            if start <= hour < end:
                f *= factor
        return f

    def replan(self, scenario: Scenario) -> None:
        """A decision changed the plan from now: measures and behaviour follow the new scenario."""
        self.scenario = scenario

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:  # pragma: no cover
        """Probability of each incident type this hour for policyholders `idx` (None: zero for all)."""
        raise NotImplementedError

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def per_region(self, values: list, rng: np.random.Generator, counts: list[int]) -> np.ndarray:
        """Draw one attribute region by region from each region's distribution."""
        return np.concatenate([d.sample(rng, c) for d, c in zip(values, counts, strict=True)]) \
            if self.n else np.zeros(0)

    def region_max(self, values: np.ndarray, empty: float = 0.0) -> np.ndarray:
        """Per-region maximum of a per-policyholder column (`empty` for a region with none)."""
        return np.array([values[a:b].max() if b > a else empty for a, b in self.slices])

    def region_min(self, values: np.ndarray, empty: float = np.inf) -> np.ndarray:
        return np.array([values[a:b].min() if b > a else empty for a, b in self.slices])

    def step(self, hour: int) -> list[tuple[int, int]]:
        """Draw this hour's incidents: (policyholder index, incident type) pairs, in index order.

        One uniform u per policyholder per hour. Incident type k happens when u falls in its own
        interval [o_k, o_k + p_k) (mod 1), with fixed offsets o_k = k x 0.618... spread over [0, 1): the
        intervals of small probabilities never overlap, so the types compete exactly, and a plan that
        changes one type's rate (SMS warnings cut crashes) leaves every other type's incidents identical.
        Where intervals do overlap (a roof failing with certainty), the lower type wins.
        Only policyholders whose uniform falls in their region's bounding intervals can have an
        incident; exact probabilities are computed for those few alone (the same result as for all).
        """
        if self.n == 0:
            return []
        for kinds, idx in self._recovering.pop(hour, []):
            self.at_risk[kinds, idx] = True
        u = self.incident_rng.random(self.n)
        factor = self.rate_factor(hour)
        bounds = self.bound(hour)  # (incident types, regions)
        if factor != 1.0:
            bounds = bounds * factor
        parts = []
        for r, (a, b) in enumerate(self.slices):
            ur, hit = u[a:b], None
            for k in range(bounds.shape[0]):
                m = _in_interval(ur, TYPE_OFFSETS[k], bounds[k, r])
                if m is not None:
                    hit = m if hit is None else (hit | m)
            if hit is not None:
                parts.append(np.flatnonzero(hit) + a)
        idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if idx.size == 0:
            return []
        uc = u[idx]
        hit_type = np.full(idx.size, -1, dtype=np.int16)
        for k, p in enumerate(self.probabilities(hour, idx)):
            if p is None:
                continue
            if factor != 1.0:
                p = np.minimum(p * factor, 1.0)
            inside = _in_interval(uc, TYPE_OFFSETS[k], p * self.at_risk[k, idx])
            if inside is not None:
                hit_type[(hit_type < 0) & inside] = k
        hit = hit_type >= 0
        idx, kinds = idx[hit], hit_type[hit]
        self.at_risk[kinds, idx] = False
        recovery = self.params.recovery_h
        if recovery is not None and idx.size:
            back = hour + 1 + math.ceil(recovery)
            self._recovering.setdefault(back, []).append((kinds, idx))
        return list(zip(idx.tolist(), kinds.tolist(), strict=True))

    def expected_incidents(self, hour: int) -> float:
        """Expected number of incidents this hour given who is at risk now (for validation)."""
        if self.n == 0:
            return 0.0
        idx = np.arange(self.n)
        total = np.zeros(self.n)
        for k, p in enumerate(self.probabilities(hour, idx)):
            if p is not None:
                total += p * self.at_risk[k]
        return float(np.minimum(total, 1.0).sum())

    def bound(self, hour: int) -> np.ndarray:  # pragma: no cover - abstract
        """Per incident type and region, an upper bound of any policyholder's probability this hour."""
        raise NotImplementedError


class DriverPopulation(Population):
    agent_class = Driver
    agent_type = "drivers"

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:
        ports = [r.portfolio.drivers for r in self.scenario.regions]
        self.params = self.scenario.vulnerability.drivers
        self.vehicle_age = self.per_region([p.vehicle_age_years for p in ports], rng, counts)
        self.battery_age = self.per_region([p.battery_age_years for p in ports], rng, counts)
        self.vehicle_value = self.per_region([p.vehicle_value for p in ports], rng, counts)
        self.battery_age_factor = ((1.0 + self.params.battery_age_risk_per_year * np.maximum(self.battery_age - 3, 0))
                                   * (1.0 + self.params.vehicle_age_risk_per_year * np.maximum(self.vehicle_age, 0)))
        self.set_compliance()
        self.max_age_factor = self.region_max(self.battery_age_factor)

    def set_compliance(self) -> None:
        """Who gets the SMS warning and heeds it: the same draws whatever the plan (their own stream)."""
        sms = self.scenario.measures.sms_warning
        mrng = self.model.streams.generator("measures.sms")
        warned_u, comply_u = mrng.random(self.n), mrng.random(self.n)
        self.complies = (warned_u < sms.coverage) & (comply_u < sms.compliance) & sms.enabled

    def replan(self, scenario: Scenario) -> None:
        changed = scenario.measures.sms_warning != self.scenario.measures.sms_warning
        super().replan(scenario)
        if changed:
            self.set_compliance()

    def _region_rates(self, hour: int) -> dict[str, np.ndarray]:
        p, hz = self.params, self.model.hazard
        hod = self.model.hour_of_day(hour)
        exposure = vul.traffic_exposure(p, hz, hour, hod)
        return {
            "exposure": exposure,
            "crash": p.crash_per_vehicle_h * exposure * vul.crash_risk(p, hz, hour),
            "battery": p.battery_per_vehicle_h * vul.TRAFFIC_PROFILE[hod] * vul.battery_risk(p, hz.temp_c[:, hour]),
            "stranding": vul.stranding_rate(p, hz, hour) * exposure,
            "flood": vul.vehicle_flood_rate(p, hz, hour) * exposure,
        }

    def bound(self, hour: int) -> np.ndarray:
        r = self._region_rates(hour)
        # 1 - exp(-x) <= x, and the SMS cut only lowers exposure, so a rate bounds its probability.
        return np.vstack([r["crash"], r["battery"] * self.max_age_factor, r["stranding"], r["flood"]])

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:
        r = self._region_rates(hour)
        reg = self.region[idx]
        cut = np.ones(idx.size)
        sms = self.scenario.measures.sms_warning
        if sms.enabled and sms.sent_h <= hour < sms.sent_h + sms.lasts_h:
            cut = np.where(self.complies[idx], 1 - sms.exposure_cut, 1.0)
        prob = vul.rate_to_probability
        return [prob(r["crash"][reg] * cut), prob(r["battery"][reg] * self.battery_age_factor[idx]),
                prob(r["stranding"][reg] * cut) if r["stranding"].any() else None,
                prob(r["flood"][reg] * cut) if r["flood"].any() else None]

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        value = float(self.vehicle_value[i])
        if kind == "crash":
            return min(_lognormal(self.params.crash_loss_median, self.params.crash_loss_sigma, u), value)
        if kind == "flooded_vehicle":
            median, sigma = vul.FLOODED_VEHICLE_RATIO
            return value * min(_lognormal(median, sigma, u), 1.0)
        median, sigma = vul.FIXED_SEVERITY[kind]
        return _lognormal(median, sigma, u)


class FarmerPopulation(Population):
    agent_class = Farmer
    agent_type = "farmers"

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:
        regions = self.scenario.regions
        self.params = p = self.scenario.vulnerability.farmers
        crops = []
        for r, c in zip(regions, counts, strict=True):
            names = list(r.portfolio.farmers.crops)
            shares = np.array([r.portfolio.farmers.crops[k] for k in names])
            pick = np.searchsorted(np.cumsum(shares), rng.random(c), side="right").clip(0, len(names) - 1)
            crops.append(np.array([vul.CROPS.index(names[j]) for j in pick], dtype=np.int8).reshape(-1))
        self.crop = np.concatenate(crops) if crops else np.zeros(0, dtype=np.int8)
        self.greenhouse = rng.random(self.n) < np.repeat(
            [r.portfolio.farmers.greenhouse_share for r in regions], counts)
        self.insured_value = self.per_region([r.portfolio.farmers.insured_value for r in regions], rng, counts)
        self.microclimate = rng.normal(0.0, p.microclimate_sd_c, self.n)
        design = np.repeat([r.basic_snow_pressure_kn_m2 * p.greenhouse_design_factor for r in regions], counts)
        self.greenhouse_capacity = design * p.greenhouse_margin * np.exp(p.greenhouse_spread * rng.normal(size=self.n))
        visits = self.scenario.measures.risk_visits
        visited = (self.model.streams.generator("measures.visits.farms").random(self.n) < visits.farm_share) \
            & visits.enabled
        thresholds = np.array([vul.CROP_THRESHOLD_C[c] for c in vul.CROPS])
        self.threshold = (thresholds[self.crop] - np.where(visited, visits.frost_protection_c, 0.0)
                          - np.where(self.greenhouse, p.greenhouse_frost_protection_c, 0.0))
        self.greenhouse_capacity = np.where(visited, self.greenhouse_capacity * (1 + visits.roof_capacity_gain),
                                            self.greenhouse_capacity)
        # frost strikes a farm when the region's temperature falls below threshold - microclimate
        self.frost_margin = self.region_max(self.threshold - self.microclimate, empty=-np.inf)
        self.weakest_greenhouse = self.region_min(np.where(self.greenhouse, self.greenhouse_capacity, np.inf))

    def coldest_ahead(self, region: int, hour: int) -> float:
        """The lowest air temperature from `hour` until the cold spell ends (air back above THAW_C)."""
        temps = self.model.hazard.temp_c[region, hour:]
        thaw = np.flatnonzero(temps > THAW_C)
        end = int(thaw[0]) if thaw.size else temps.size
        return float(temps[: max(end, 1)].min())

    def bound(self, hour: int) -> np.ndarray:
        hz = self.model.hazard
        frost = hz.temp_c[:, hour] < self.frost_margin
        collapse = hz.roof_load_kn_m2[:, hour] > self.weakest_greenhouse
        return np.vstack([frost, collapse]).astype(float)

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:
        hz = self.model.hazard
        reg = self.region[idx]
        frost = (hz.temp_c[reg, hour] + self.microclimate[idx] < self.threshold[idx]).astype(float)
        load = hz.roof_load_kn_m2[reg, hour]
        collapse = (self.greenhouse[idx] & (load > self.greenhouse_capacity[idx])).astype(float)
        return [frost, collapse]

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        value = float(self.insured_value[i])
        if kind == "crop_frost":
            # The damage shows after the thaw: it is set by the coldest hour of the cold spell that began now.
            temp = float(self.coldest_ahead(int(self.region[i]), hour) + self.microclimate[i])
            ratio = float(vul.frost_loss_ratio(np.array(self.threshold[i]), np.array(temp)))
            return value * min(max(ratio, 0.05) * _lognormal(1.0, self.params.frost_loss_noise_sigma, u), 1.0)
        return value * min(_lognormal(self.params.greenhouse_loss_median_ratio, 0.5, u), 1.0)


class FirmPopulation(Population):
    agent_class = Firm
    agent_type = "firms"

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:
        regions = self.scenario.regions
        self.params = p = self.scenario.vulnerability.firms
        light_share = np.repeat([r.portfolio.firms.roof_types.get("light_steel", 0.0) for r in regions], counts)
        self.light_roof = rng.random(self.n) < light_share
        s0 = np.repeat([r.basic_snow_pressure_kn_m2 for r in regions], counts)
        margin = np.where(self.light_roof, p.light_steel_margin, p.concrete_margin)
        self.roof_capacity = s0 * margin * np.exp(p.roof_spread * rng.normal(size=self.n))
        self.insulated = rng.random(self.n) < np.repeat([r.portfolio.firms.insulated_pipes_share for r in regions],
                                                        counts)
        self.bi_cover = rng.random(self.n) < np.repeat([r.portfolio.firms.bi_cover_share for r in regions], counts)
        self.insured_value = self.per_region([r.portfolio.firms.insured_value for r in regions], rng, counts)
        visits = self.scenario.measures.risk_visits
        visited = (self.model.streams.generator("measures.visits.firms").random(self.n) < visits.firm_share) \
            & visits.enabled
        self.roof_capacity = np.where(visited, self.roof_capacity * (1 + visits.roof_capacity_gain), self.roof_capacity)
        self.pipe_factor = np.where(self.insulated, p.insulated_pipe_factor, 1.0) * np.where(
            visited, 1 - visits.pipe_risk_cut, 1.0)
        self.weakest_roof = self.region_min(self.roof_capacity)
        self.max_pipe_factor = self.region_max(self.pipe_factor)

    def _region_rates(self, hour: int) -> tuple[np.ndarray, ...]:
        p, hz = self.params, self.model.hazard
        return (vul.pipe_rate(p, hz.temp_c[:, hour]), vul.bi_rate(p, hz.snow_depth_cm[:, hour]),
                vul.firm_flood_rate(p, hz.rain_mm_h[:, hour]))

    def bound(self, hour: int) -> np.ndarray:
        pipe, bi, flood = self._region_rates(hour)
        roof = self.model.hazard.roof_load_kn_m2[:, hour] > self.weakest_roof
        return np.vstack([roof.astype(float), pipe * self.max_pipe_factor, bi, flood])

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:
        pipe, bi, flood = self._region_rates(hour)
        reg = self.region[idx]
        prob = vul.rate_to_probability
        roof = (self.model.hazard.roof_load_kn_m2[reg, hour] > self.roof_capacity[idx]).astype(float)
        return [roof,
                prob(pipe[reg] * self.pipe_factor[idx]) if pipe.any() else None,
                prob(bi[reg]) * self.bi_cover[idx] if bi.any() else None,
                prob(flood[reg]) if flood.any() else None]

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        p = self.params
        value = float(self.insured_value[i])
        if kind == "roof_collapse":
            return value * min(_lognormal(p.roof_loss_median_ratio, 0.8, u), 1.0)
        if kind == "burst_pipe":
            return min(_lognormal(p.pipe_loss_median, 1.0, u), value)
        if kind == "business_interruption":
            return min(_lognormal(p.bi_loss_median, 1.0, u), value)
        return value * min(_lognormal(p.flood_loss_median_ratio, 0.8, u), 1.0)


POPULATIONS: dict[str, type[Population]] = {
    "drivers": DriverPopulation, "farmers": FarmerPopulation, "firms": FirmPopulation}
