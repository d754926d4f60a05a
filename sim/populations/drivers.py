"""Drivers: crashes on snow and ice (with a first-snow effect), dead batteries in the cold, stranding, flooding."""

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
            return min(lognormal(self.params.crash_loss_median, self.params.crash_loss_sigma, u), value)
        if kind == "flooded_vehicle":
            median, sigma = vul.FLOODED_VEHICLE_RATIO
            return value * min(lognormal(median, sigma, u), 1.0)
        median, sigma = vul.FIXED_SEVERITY[kind]
        return lognormal(median, sigma, u)
