"""Homes: burst pipes in the cold, roofs under snow, ground floors flooded, wind damage, and everyday claims.

Household property is often the largest line of a catastrophe by count (Henan 2021: 245,400 home claims
against 242,500 auto; CLAIM_LIFE_FACTS 3.1), with small sums insured and later, batched reporting.
"""

from __future__ import annotations

import numpy as np

from sim import vulnerability as vul
from sim.populations.base import PolicyHolder, Population, lognormal
from sim.populations.draws import Threshold


class Household(PolicyHolder):
    """An insured home."""


class HouseholdPopulation(Population):
    name = "households"
    agent_class = Household
    deterministic = frozenset({1, 2})   # roof collapse over capacity, ground floor flooded

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:
        regions = self.scenario.regions
        self.params = p = self.scenario.vulnerability.households
        ports = [r.portfolio.households for r in regions]
        self.insured_value = self.per_region([q.insured_value for q in ports], rng, counts)
        self.ground_floor = rng.random(self.n) < np.repeat([q.ground_floor_share for q in ports], counts)
        weak = rng.random(self.n) < np.repeat([q.weak_roof_share for q in ports], counts)
        s0 = np.repeat([r.basic_snow_pressure_kn_m2 for r in regions], counts)
        # sturdy roofs (the rest) carry several times their design load: snow never brings them down here
        self.roof_capacity = np.where(weak, s0 * p.weak_roof_margin * np.exp(p.roof_spread * rng.normal(size=self.n)),
                                      np.inf)
        insulated = rng.random(self.n) < np.repeat([q.insulated_pipes_share for q in ports], counts)
        self.pipe_factor = np.where(insulated, p.insulated_pipe_factor, 1.0)
        self.weakest_roof = self.region_min(self.roof_capacity)
        self.max_pipe_factor = self.region_max(self.pipe_factor)
        self.roof_thresholds = Threshold(self.slices, self.roof_capacity, strict=True)

    def flood_threshold_cm(self) -> np.ndarray:
        """Only homes on the ground floor flood with the street."""
        return np.where(self.ground_floor, float(self.params.flood_depth_cm), np.inf)

    def struck(self, hour: int) -> list[tuple[int, np.ndarray]]:
        return [(1, self.roof_thresholds.struck(self.world.hazard.roof_load_kn_m2[:, hour])),
                (2, self.flood_struck(hour))]

    def _pipe_rate(self, hour: int) -> np.ndarray:
        p = self.params
        return p.pipe_per_home_h_per_deg * np.maximum(p.pipe_threshold_c - self.world.hazard.temp_c[:, hour], 0.0)

    def bound(self, hour: int) -> np.ndarray:
        roof = (self.world.hazard.roof_load_kn_m2[:, hour] > self.weakest_roof).astype(float)
        return np.vstack([self._pipe_rate(hour) * self.max_pipe_factor, roof, self.flood_bound(hour),
                          self.wind_rate(hour), self.everyday_rate(hour)])

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:
        reg = self.region[idx]
        prob = vul.rate_to_probability
        pipe, wind = self._pipe_rate(hour), self.wind_rate(hour)
        roof = (self.world.hazard.roof_load_kn_m2[reg, hour] > self.roof_capacity[idx]).astype(float)
        flood = self.flood_hit(idx, hour)
        return [prob(pipe[reg] * self.pipe_factor[idx]) if pipe.any() else None,
                roof,
                flood * self.ground_floor[idx] if flood is not None else None,
                prob(wind[reg]) if wind.any() else None,
                prob(self.everyday_rate(hour)[reg])]

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        p = self.params
        value = float(self.insured_value[i])
        if kind == "burst_pipe":
            return min(lognormal(p.pipe_loss_median, 1.0, u), value)
        if kind == "roof_collapse":
            return value * min(lognormal(p.roof_loss_median_ratio, 0.6, u), 1.0)
        if kind in ("flood", "wind"):
            return self.building_loss(i, kind, hour, u, value, commercial=False)  # type: ignore[return-value]
        common = self.common_loss(i, kind, hour, u)
        assert common is not None, kind
        return common
