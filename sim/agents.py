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
        key = (AGENT_TYPE_CODES[self.agent_type] << 56) | (self.index << 8) | kind
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


class Population:
    """All policyholders of one type: attribute columns, at-risk flags and the vectorised hazard step.

    Each policyholder can have each incident type at most once in a run (a crashed car is off the
    road, a collapsed greenhouse cannot collapse again; assumption).
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
        rng = model.streams.generator(f"portfolio.{self.agent_type}")
        self.build(rng, counts)
        self.at_risk = np.ones((len(self.incident_types), self.n), dtype=bool)
        self.incident_rng = model.streams.generator(f"incidents.{self.agent_type}")
        self.agents = [self.agent_class(model, self, i) for i in range(self.n)]

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def probabilities(self, hour: int) -> list[np.ndarray | None]:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def per_region(self, values: list, rng: np.random.Generator, counts: list[int]) -> np.ndarray:
        """Draw one attribute region by region from each region's distribution."""
        return np.concatenate([d.sample(rng, c) for d, c in zip(values, counts, strict=True)]) \
            if self.n else np.zeros(0)

    def step(self, hour: int) -> list[tuple[int, int]]:
        """Draw this hour's incidents: (policyholder index, incident type) pairs, in index order.

        One uniform per policyholder per hour, compared with the cumulative probabilities of the
        competing incident types, so plans that change a rate keep the other draws identical.
        """
        if self.n == 0:
            return []
        u = self.incident_rng.random(self.n)
        probs = self.probabilities(hour)
        cum = np.zeros(self.n)
        hit_type = np.full(self.n, -1, dtype=np.int16)
        for k, p in enumerate(probs):
            if p is None:
                continue
            lower = cum
            cum = cum + p * self.at_risk[k]
            newly = (u >= lower) & (u < cum)
            hit_type[newly] = k
        idx = np.flatnonzero(hit_type >= 0)
        kinds = hit_type[idx]
        self.at_risk[kinds, idx] = False
        return list(zip(idx.tolist(), kinds.tolist(), strict=True))


class DriverPopulation(Population):
    agent_class = Driver
    agent_type = "drivers"

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:
        ports = [r.portfolio.drivers for r in self.scenario.regions]
        self.params = self.scenario.vulnerability.drivers
        self.vehicle_age = self.per_region([p.vehicle_age_years for p in ports], rng, counts)
        self.battery_age = self.per_region([p.battery_age_years for p in ports], rng, counts)
        self.vehicle_value = self.per_region([p.vehicle_value for p in ports], rng, counts)
        self.battery_age_factor = 1.0 + self.params.battery_age_risk_per_year * np.maximum(self.battery_age - 3, 0)
        sms = self.scenario.measures.sms_warning
        mrng = self.model.streams.generator("measures.sms")
        warned_u, comply_u = mrng.random(self.n), mrng.random(self.n)
        self.complies = (warned_u < sms.coverage) & (comply_u < sms.compliance) & sms.enabled

    def probabilities(self, hour: int) -> list[np.ndarray | None]:
        p, hz = self.params, self.model.hazard
        hod = self.model.hour_of_day(hour)
        exposure_r = vul.traffic_exposure(p, hz, hour, hod)
        exposure = exposure_r[self.region]
        sms = self.scenario.measures.sms_warning
        if sms.enabled and sms.sent_h <= hour < sms.sent_h + sms.lasts_h:
            exposure = np.where(self.complies, exposure * (1 - sms.exposure_cut), exposure)
        crash = p.crash_per_vehicle_h * exposure * vul.crash_risk(p, hz, hour)[self.region]
        battery_r = p.battery_per_vehicle_h * vul.TRAFFIC_PROFILE[hod] * vul.battery_risk(p, hz.temp_c[:, hour])
        battery = battery_r[self.region] * self.battery_age_factor
        strand_r = vul.stranding_rate(p, hz, hour)
        strand = strand_r[self.region] * exposure if strand_r.any() else None
        flood_r = vul.vehicle_flood_rate(p, hz, hour)
        flood = flood_r[self.region] * exposure if flood_r.any() else None
        return [vul.rate_to_probability(crash), vul.rate_to_probability(battery),
                None if strand is None else vul.rate_to_probability(strand),
                None if flood is None else vul.rate_to_probability(flood)]

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

    def field_temp(self, hour: int) -> np.ndarray:
        return self.model.hazard.temp_c[self.region, hour] + self.microclimate

    def probabilities(self, hour: int) -> list[np.ndarray | None]:
        hz = self.model.hazard
        frost = (self.field_temp(hour) < self.threshold).astype(float)
        load = hz.roof_load_kn_m2[self.region, hour]
        collapse = (self.greenhouse & (load > self.greenhouse_capacity)).astype(float)
        return [frost, collapse]

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        value = float(self.insured_value[i])
        if kind == "crop_frost":
            temp = float(self.field_temp(hour)[i])
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

    def probabilities(self, hour: int) -> list[np.ndarray | None]:
        p, hz = self.params, self.model.hazard
        load = hz.roof_load_kn_m2[self.region, hour]
        roof = (load > self.roof_capacity).astype(float)
        pipe_r = vul.pipe_rate(p, hz.temp_c[:, hour])
        pipe = vul.rate_to_probability(pipe_r[self.region] * self.pipe_factor) if pipe_r.any() else None
        bi_r = vul.bi_rate(p, hz.snow_depth_cm[:, hour])
        bi = vul.rate_to_probability(bi_r[self.region]) * self.bi_cover if bi_r.any() else None
        fl_r = vul.firm_flood_rate(p, hz.rain_mm_h[:, hour])
        flood = vul.rate_to_probability(fl_r[self.region]) if fl_r.any() else None
        return [roof, pipe, bi, flood]

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
