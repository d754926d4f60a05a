"""Firms: roof collapse under snow, burst pipes in the cold, business interruption, flooding by depth, wind,
and everyday claims."""

from __future__ import annotations

import numpy as np

from sim import vulnerability as vul
from sim.populations.base import PolicyHolder, Population, lognormal
from sim.populations.draws import Threshold


class Firm(PolicyHolder):
    """A firm: roof collapse under snow, burst pipes, business interruption, flooding."""


class FirmPopulation(Population):
    name = "firms"
    agent_class = Firm
    deterministic = frozenset({0, 3})   # roof collapse over capacity, flooding over the sill

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
        visited = (self.world.streams.generator("measures.visits.firms").random(self.n) < visits.firm_share) \
            & visits.enabled
        # the bounds come from the firms as they are without visits (visits only strengthen), so they are the
        # same in every plan (common random numbers)
        pipe_factor = np.where(self.insulated, p.insulated_pipe_factor, 1.0)
        self.weakest_roof = self.region_min(self.roof_capacity)
        self.max_pipe_factor = self.region_max(pipe_factor)
        self.roof_capacity = np.where(visited, self.roof_capacity * (1 + visits.roof_capacity_gain), self.roof_capacity)
        self.pipe_factor = pipe_factor * np.where(visited, 1 - visits.pipe_risk_cut, 1.0)
        self.roof_thresholds = Threshold(self.slices, self.roof_capacity, strict=True)

    def struck(self, hour: int) -> list[tuple[int, np.ndarray]]:
        return [(0, self.roof_thresholds.struck(self.world.hazard.roof_load_kn_m2[:, hour])),
                (3, self.flood_struck(hour))]

    def _region_rates(self, hour: int) -> tuple[np.ndarray, ...]:
        p, hz = self.params, self.world.hazard
        return (vul.pipe_rate(p, hz.temp_c[:, hour]), vul.bi_rate(p, hz.snow_depth_cm[:, hour]))

    def bound(self, hour: int) -> np.ndarray:
        pipe, bi = self._region_rates(hour)
        roof = self.world.hazard.roof_load_kn_m2[:, hour] > self.weakest_roof
        return np.vstack([roof.astype(float), pipe * self.max_pipe_factor, bi, self.flood_bound(hour),
                          self.wind_rate(hour), self.everyday_rate(hour)])

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:
        pipe, bi = self._region_rates(hour)
        reg = self.region[idx]
        prob = vul.rate_to_probability
        roof = (self.world.hazard.roof_load_kn_m2[reg, hour] > self.roof_capacity[idx]).astype(float)
        wind = self.wind_rate(hour)
        return [roof,
                prob(pipe[reg] * self.pipe_factor[idx]) if pipe.any() else None,
                prob(bi[reg]) * self.bi_cover[idx] if bi.any() else None,
                self.flood_hit(idx, hour),
                prob(wind[reg]) if wind.any() else None,
                prob(self.everyday_rate(hour)[reg])]

    def bi_covered(self, i: int) -> bool:
        return bool(self.bi_cover[i])

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        p = self.params
        value = float(self.insured_value[i])
        if kind == "roof_collapse":
            return value * min(lognormal(p.roof_loss_median_ratio, 0.8, u), 1.0)
        if kind == "burst_pipe":
            return min(lognormal(p.pipe_loss_median, 1.0, u), value)
        if kind == "business_interruption":
            return min(lognormal(p.bi_loss_median, 1.0, u), value)
        if kind in ("flood", "wind"):
            return self.building_loss(i, kind, hour, u, value, commercial=True)  # type: ignore[return-value]
        common = self.common_loss(i, kind, hour, u)
        assert common is not None, kind
        return common
