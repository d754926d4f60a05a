"""Farms: frost damage to crops (seen after the thaw), greenhouse collapse under snow load, crops flooded,
and everyday claims."""

from __future__ import annotations

import numpy as np

from sim import vulnerability as vul
from sim.populations.base import PolicyHolder, Population, lognormal
from sim.populations.draws import Threshold
from sim.vocab import CROPS

THAW_C = -2.0  # a cold spell ends when the air is back above this (assumption)


class Farmer(PolicyHolder):
    """A farm: frost damage to crops, greenhouse collapse under snow load."""


class FarmerPopulation(Population):
    name = "farmers"
    agent_class = Farmer
    deterministic = frozenset({0, 1, 2})   # frost below the crop's threshold, a roof over capacity, water

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:
        regions = self.scenario.regions
        self.params = p = self.scenario.vulnerability.farmers
        crops = []
        for r, c in zip(regions, counts, strict=True):
            names = list(r.portfolio.farmers.crops)
            shares = np.array([r.portfolio.farmers.crops[k] for k in names])
            pick = np.searchsorted(np.cumsum(shares), rng.random(c), side="right").clip(0, len(names) - 1)
            crops.append(np.array([CROPS.index(names[j]) for j in pick], dtype=np.int8).reshape(-1))
        self.crop = np.concatenate(crops) if crops else np.zeros(0, dtype=np.int8)
        self.greenhouse = rng.random(self.n) < np.repeat(
            [r.portfolio.farmers.greenhouse_share for r in regions], counts)
        self.insured_value = self.per_region([r.portfolio.farmers.insured_value for r in regions], rng, counts)
        self.microclimate = rng.normal(0.0, p.microclimate_sd_c, self.n)
        design = np.repeat([r.basic_snow_pressure_kn_m2 * p.greenhouse_design_factor for r in regions], counts)
        self.greenhouse_capacity = design * p.greenhouse_margin * np.exp(p.greenhouse_spread * rng.normal(size=self.n))
        visits = self.scenario.measures.risk_visits
        visited = (self.world.streams.generator("measures.visits.farms").random(self.n) < visits.farm_share) \
            & visits.enabled
        thresholds = np.array([vul.CROP_THRESHOLD_C[c] for c in CROPS])
        unprotected = thresholds[self.crop] - np.where(self.greenhouse, p.greenhouse_frost_protection_c, 0.0)
        # frost strikes a farm when the region's temperature falls below threshold - microclimate; the bounds
        # come from the farms as they are without visits (visits only protect), so they are the same in
        # every plan (common random numbers)
        self.frost_margin = self.region_max(unprotected - self.microclimate, empty=-np.inf)
        self.weakest_greenhouse = self.region_min(np.where(self.greenhouse, self.greenhouse_capacity, np.inf))
        self.threshold = unprotected - np.where(visited, visits.frost_protection_c, 0.0)
        self.greenhouse_capacity = np.where(visited, self.greenhouse_capacity * (1 + visits.roof_capacity_gain),
                                            self.greenhouse_capacity)
        # frost: temp + microclimate < threshold, i.e. -temp above microclimate - threshold
        self.frost_thresholds = Threshold(self.slices, self.microclimate - self.threshold, strict=True)
        self.greenhouse_thresholds = Threshold(self.slices, np.where(self.greenhouse, self.greenhouse_capacity,
                                                                     np.inf), strict=True)

    def struck(self, hour: int) -> list[tuple[int, np.ndarray]]:
        hz = self.world.hazard
        return [(0, self.frost_thresholds.struck(-hz.temp_c[:, hour])),
                (1, self.greenhouse_thresholds.struck(hz.roof_load_kn_m2[:, hour])),
                (2, self.flood_struck(hour))]

    def coldest_ahead(self, region: int, hour: int) -> float:
        """The lowest air temperature from `hour` until the cold spell ends (air back above THAW_C)."""
        temps = self.world.hazard.temp_c[region, hour:]
        thaw = np.flatnonzero(temps > THAW_C)
        end = int(thaw[0]) if thaw.size else temps.size
        return float(temps[: max(end, 1)].min())

    def bound(self, hour: int) -> np.ndarray:
        hz = self.world.hazard
        frost = hz.temp_c[:, hour] < self.frost_margin
        collapse = hz.roof_load_kn_m2[:, hour] > self.weakest_greenhouse
        return np.vstack([frost.astype(float), collapse.astype(float), self.flood_bound(hour),
                          self.everyday_rate(hour)])

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:
        hz = self.world.hazard
        reg = self.region[idx]
        frost = (hz.temp_c[reg, hour] + self.microclimate[idx] < self.threshold[idx]).astype(float)
        load = hz.roof_load_kn_m2[reg, hour]
        collapse = (self.greenhouse[idx] & (load > self.greenhouse_capacity[idx])).astype(float)
        return [frost, collapse, self.flood_hit(idx, hour), vul.rate_to_probability(self.everyday_rate(hour)[reg])]

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        value = float(self.insured_value[i])
        if kind == "crop_frost":
            # The damage shows after the thaw: it is set by the coldest hour of the cold spell that began now.
            temp = float(self.coldest_ahead(int(self.region[i]), hour) + self.microclimate[i])
            ratio = float(vul.frost_loss_ratio(np.array(self.threshold[i]), np.array(temp)))
            return value * min(max(ratio, 0.05) * lognormal(1.0, self.params.frost_loss_noise_sigma, u), 1.0)
        if kind == "crop_flood":
            ratio = float(vul.crop_flood_ratio(self.water_peak_cm(i, hour))) * lognormal(1.0, 0.3, u)
            return value * min(max(ratio, 0.02), 1.0)
        common = self.common_loss(i, kind, hour, u)
        if common is not None:
            return common
        return value * min(lognormal(self.params.greenhouse_loss_median_ratio, 0.5, u), 1.0)
