"""Drivers: crashes on snow and ice (first-snow effect), dead batteries in the cold, stranding, flooded cars
(in the street or an underground garage), trees and debris in a typhoon, and everyday claims."""

from __future__ import annotations

import numpy as np

from sim import vulnerability as vul
from sim.populations.base import PolicyHolder, Population, lognormal
from sim.scenario import Scenario


class Driver(PolicyHolder):
    """A motorist: crashes on snow and ice, dead batteries in the cold, stranding, flooding."""


class DriverPopulation(Population):
    name = "drivers"
    agent_class = Driver
    deterministic = frozenset({3})   # flooded_vehicle: the water reaches the hub, or the garage's ramp sill

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
        # cars parked underground: their own stream, so the other attributes keep their draws
        grng = self.world.streams.generator("portfolio.drivers.garage")
        self.garage = grng.random(self.n) < np.repeat([p.underground_share for p in ports], counts)
        self.garage_flood_cm = np.array([r.flood.garage_flood_cm for r in self.scenario.regions])


    def set_compliance(self) -> None:
        """Who gets the SMS warning and heeds it: the same draws whatever the plan (their own stream)."""
        sms = self.scenario.measures.sms_warning
        mrng = self.world.streams.generator("measures.sms")
        warned_u, comply_u = mrng.random(self.n), mrng.random(self.n)
        self.complies = (warned_u < sms.coverage) & (comply_u < sms.compliance) & sms.enabled

    def replan(self, scenario: Scenario) -> None:
        changed = scenario.measures.sms_warning != self.scenario.measures.sms_warning
        super().replan(scenario)
        if changed:
            self.set_compliance()

    def _region_rates(self, hour: int) -> dict[str, np.ndarray]:
        p, hz = self.params, self.world.hazard
        hod = self.world.hour_of_day(hour)
        exposure = vul.traffic_exposure(p, hz, hour, hod)
        return {
            "exposure": exposure,
            "crash": p.crash_per_vehicle_h * exposure * vul.crash_risk(p, hz, hour),
            "battery": p.battery_per_vehicle_h * vul.TRAFFIC_PROFILE[hod] * vul.battery_risk(p, hz.temp_c[:, hour]),
            "stranding": vul.stranding_rate(p, hz, hour) * exposure,
            "storm": self.wind_rate(hour),
            # everyday claims follow the day's traffic (glass, scrapes, theft reported in the day)
            "everyday": self.everyday_rate(hour) * vul.TRAFFIC_PROFILE[hod],
        }

    def flood_threshold_cm(self) -> np.ndarray:
        return np.where(self.garage, self.garage_flood_cm[self.region], float(self.params.flood_depth_cm))

    def struck(self, hour: int) -> list[tuple[int, np.ndarray]]:
        return [(3, self.flood_struck(hour))]

    def _flooded(self, idx: np.ndarray, hour: int) -> np.ndarray | None:
        """1 where the water reaches the car: the wheel hub in the street, the ramp sill of an underground
        garage (which then fills to its ceiling)."""
        if not (self.water_bound(hour) > 0).any():
            return None
        threshold = np.where(self.garage[idx], self.garage_flood_cm[self.region[idx]], self.params.flood_depth_cm)
        return (self.water_cm(idx, hour) >= threshold).astype(float)

    def bound(self, hour: int) -> np.ndarray:
        r = self._region_rates(hour)
        flood = (self.water_bound(hour) >= np.minimum(self.params.flood_depth_cm, self.garage_flood_cm)).astype(float)
        # 1 - exp(-x) <= x, and the SMS cut only lowers exposure, so a rate bounds its probability.
        return np.vstack([r["crash"], r["battery"] * self.max_age_factor, r["stranding"], flood, r["storm"],
                          r["everyday"]])

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
                self._flooded(idx, hour),
                prob(r["storm"][reg]) if r["storm"].any() else None,
                prob(r["everyday"][reg])]

    def value(self, i: int) -> float:
        return float(self.vehicle_value[i])

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:
        value = float(self.vehicle_value[i])
        if kind == "crash":
            return min(lognormal(self.params.crash_loss_median, self.params.crash_loss_sigma, u), value)
        if kind == "flooded_vehicle":
            depth = vul.GARAGE_DEPTH_CM if self.garage[i] else self.water_peak_cm(i, hour)
            ratio = float(vul.vehicle_flood_ratio(depth)) * lognormal(1.0, 0.3, u)
            return value * min(max(ratio, 0.01), 1.0)
        if kind == "storm_damage":
            median, sigma = vul.STORM_DAMAGE_SEVERITY
            return min(lognormal(median, sigma, u), value)
        common = self.common_loss(i, kind, hour, u)
        if common is not None:
            return common
        median, sigma = vul.FIXED_SEVERITY[kind]
        return lognormal(median, sigma, u)
