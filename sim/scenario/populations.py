"""Populations in the scenario: each kind of policyholder's portfolio, reporting behaviour and vulnerability.

Everything a scenario file says about one population lives here, side by side: what is insured
(`portfolio`), how incidents are reported (`behaviour`) and the vulnerability parameters that turn the
storm into incident rates and losses (`vulnerability`; defaults with their sources, see
docs/ASSUMPTIONS.md; sim/vulnerability.py holds the functions that use them).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from sim.scenario.base import Count, Dist, Frozen, Share, shares_sum_to_one
from sim.vocab import Channel, Crop, RoofType

# ---------------------------------------------------------------- portfolio


class DriverPortfolio(Frozen):
    """Insured vehicles of a region."""

    count: Count = 0
    vehicle_age_years: Dist = Field(default_factory=lambda: {"dist": "uniform", "low": 0, "high": 15})
    battery_age_years: Dist = Field(default_factory=lambda: {"dist": "uniform", "low": 0, "high": 6})
    vehicle_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 120000, "sigma": 0.5})
    # Parked in underground garages, which fill to the ceiling once the street floods above their ramps
    # (Henan 2021: "a large number" of cars parked underground; no official share: assumption).
    underground_share: Share = 0.3


class FarmerPortfolio(Frozen):
    """Insured farms of a region: crop mix, greenhouses and insured value."""

    count: Count = 0
    crops: dict[Crop, Share] = Field(
        default_factory=lambda: {"winter_wheat": 1.0})
    greenhouse_share: Share = 0.0
    insured_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 60000, "sigma": 0.7})

    @field_validator("crops")
    @classmethod
    def _crop_shares(cls, v: dict[str, float]) -> dict[str, float]:
        shares_sum_to_one(v, "crop")
        return v


class FirmPortfolio(Frozen):
    """Insured firms of a region: roof types, pipe insulation, value and business-interruption cover."""

    count: Count = 0
    roof_types: dict[RoofType, Share] = Field(
        default_factory=lambda: {"light_steel": 0.4, "concrete": 0.6})
    insulated_pipes_share: Share = 0.6
    bi_cover_share: Share = 0.3
    insured_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 2_000_000, "sigma": 1.0})

    @field_validator("roof_types")
    @classmethod
    def _roof_shares(cls, v: dict[str, float]) -> dict[str, float]:
        shares_sum_to_one(v, "roof type")
        return v


class HouseholdPortfolio(Frozen):
    """Insured homes of a region (household property, often mass rural policies with small sums insured)."""

    count: Count = 0
    # Henan 2021: home-property claims averaged ~2,000 CNY (CLAIM_LIFE_FACTS 2.1): small sums insured.
    insured_value: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 30000, "sigma": 0.8})
    ground_floor_share: Share = 0.4       # homes whose living floor floods with the street (assumption)
    weak_roof_share: Share = 0.15         # light rural roofs that fail under snow like light steel (assumption)
    insulated_pipes_share: Share = 0.8


class Portfolio(Frozen):
    """What is insured in a region, by population."""

    drivers: DriverPortfolio = DriverPortfolio()
    farmers: FarmerPortfolio = FarmerPortfolio()
    firms: FirmPortfolio = FirmPortfolio()
    households: HouseholdPortfolio = HouseholdPortfolio()


# ---------------------------------------------------------------- reporting behaviour


class Reporting(Frozen):
    """How one agent type reports an incident."""

    channels: dict[Channel, Share] = Field(
        default_factory=lambda: {"phone": 0.6, "app": 0.35, "video": 0.05})
    report_delay_h: Dist = Field(default_factory=lambda: {"dist": "exponential", "mean": 1.0})
    # Farmers see frost damage only after the thaw: delay counts from the end of the region's storm.
    report_after_storm: bool = False

    @field_validator("channels")
    @classmethod
    def _channel_shares(cls, v: dict[str, float]) -> dict[str, float]:
        shares_sum_to_one(v, "channel")
        return v


class FarmerReporting(Reporting):
    """Farmers mostly phone, and report frost and collapse damage after the storm (assumption)."""

    channels: dict[Channel, Share] = Field(
        default_factory=lambda: {"phone": 0.7, "app": 0.3})
    report_delay_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 24, "cv": 1.0})
    report_after_storm: bool = True


class FirmReporting(Reporting):
    """Firms mostly phone, within hours of finding the damage (assumption)."""

    channels: dict[Channel, Share] = Field(
        default_factory=lambda: {"phone": 0.8, "app": 0.2})
    report_delay_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 6, "cv": 1.0})


class HouseholdReporting(Reporting):
    """Households phone or use the app, and report later and in batches than drivers (Henan 2021: home
    claims arrived days after auto claims; CLAIM_LIFE_FACTS 3.1)."""

    channels: dict[Channel, Share] = Field(
        default_factory=lambda: {"phone": 0.5, "app": 0.5})
    report_delay_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 72, "cv": 1.2})


class Behaviour(Frozen):
    """How each agent type reports; a partial entry keeps that type's own defaults for what it leaves out."""

    drivers: Reporting = Reporting()
    farmers: FarmerReporting = FarmerReporting()
    firms: FirmReporting = FirmReporting()
    households: HouseholdReporting = HouseholdReporting()


# ---------------------------------------------------------------- vulnerability parameters


class Params(Frozen):
    """Vulnerability parameters of one population (defaults cited in docs/ASSUMPTIONS.md)."""

    # Hours after an incident before the same policyholder can have the same incident type again; none
    # (the default): once per run (a crashed car is off the road, a collapsed roof cannot collapse again).
    # 0 makes each policyholder-hour an independent trial, a stationary stream for validation.
    recovery_h: float | None = Field(None, ge=0)
    # Claims that have nothing to do with the weather (theft, glass, a kitchen fire), per policyholder-year:
    # every scenario has them, so a storm's claims stand on the normal load of the branch.
    everyday_per_year: float = Field(0.0, ge=0, le=10)
    # Flood: damage starts when the water at the policyholder reaches this depth (cm).
    flood_depth_cm: float = Field(10.0, ge=0, le=500)
    # Wind: claims per policyholder-hour at full vulnerability, shaped by Emanuel (2011): f = v^3 / (1 + v^3),
    # v = (V - 25.7 m/s) / (74.7 - 25.7) for V above 25.7 m/s (assumption for the scale).
    wind_per_h: float = Field(0.0, ge=0, le=1)


class DriverParams(Params):
    """Drivers: crashes, dead batteries, stranding in deep snow, flooded vehicles."""

    # Crash claims per insured vehicle-hour in dry weather: ~0.14 a year, which with a 200,000-vehicle
    # portfolio gives Yinchuan's ~3.3 reports an hour "normal" (founding article: >10 an hour = 3x normal).
    crash_per_vehicle_h: float = Field(1.6e-5, gt=0)
    # Crash risk per vehicle-hour rises by road_risk x road_index. Calibrated so that a snow day
    # (road index ~0.5, traffic -10%) gives x1.45 property-damage crashes (Eisenberg & Warner 2005).
    road_risk: float = Field(1.2, ge=0)
    # Extra relative risk at the onset of the season's first snow (first-snow effect, Eisenberg & Warner;
    # Hitchens 2023), calibrated to Yinchuan's 3x reports in the first hour of snow (assumption).
    first_snow_boost: float = Field(1.1, ge=0)
    # Traffic falls 1-2% per cm of snow (Datla & Sharma, Alberta): 1.5%/cm, at most 60% (assumption).
    traffic_cut_per_cm: float = Field(0.015, ge=0, le=1)
    traffic_cut_max: float = Field(0.6, ge=0, le=1)
    # -31% traffic on severely cold days (Datla & Sharma), taken as days at or below -25 C.
    cold_day_c: float = -25.0
    cold_day_traffic_cut: float = Field(0.31, ge=0, le=1)
    # Dead-battery / no-start claims per vehicle-hour at 0 C (assumption: ~0.02 a year).
    battery_per_vehicle_h: float = Field(2.0e-6, ge=0)
    # Exponent on the demand/strength ratio, fitted so a -15 C cold snap day gives +93% battery calls (AAA).
    battery_gamma: float = Field(0.87, ge=0)
    battery_age_risk_per_year: float = Field(0.3, ge=0)   # above 3 years (assumption)
    vehicle_age_risk_per_year: float = Field(0.02, ge=0)  # older engines crank harder (assumption)
    # Stranding in lying snow above 10 cm, per vehicle-hour driven per 10 cm (assumption).
    strand_per_vehicle_h_per_10cm: float = Field(4.0e-6, ge=0)
    crash_loss_median: float = Field(5000, gt=0)      # CNY, assumption
    crash_loss_sigma: float = Field(1.0, gt=0)
    # Other auto claims (glass, theft, parking damage): ~0.05 a vehicle-year beside the crashes (assumption).
    everyday_per_year: float = Field(0.05, ge=0, le=10)
    # A car is flooded from water at the wheel hub (~30 cm; China's L1-L2 grades, CLAIM_LIFE_FACTS 4.1).
    flood_depth_cm: float = Field(30.0, ge=0, le=500)
    # Trees and billboards on cars in a typhoon (Soudelor 2015: 38% of PICC's vehicle claims; CLAIM_LIFE_FACTS
    # 3.4): scale of the wind curve (assumption).
    wind_per_h: float = Field(2.0e-3, ge=0, le=1)


class FarmerParams(Params):
    """Farmers: frost damage to crops, greenhouse collapse under snow load."""

    microclimate_sd_c: float = Field(1.5, ge=0)        # field-to-field temperature spread (assumption)
    # A farm with a (solar, unheated) greenhouse grows under cover: its crop takes 12 C more frost than in
    # the open (assumption: northern Chinese solar greenhouses keep 10-15 C above the outside air at night).
    greenhouse_frost_protection_c: float = Field(12.0, ge=0)
    # Plastic greenhouses are designed for the 30-year snow (GB/T 51183-2016): ~0.88 x the 50-year
    # S0 (Beijing 0.25/0.40/0.45 at 10/50/100 years, log-interpolated). Median failure at 1.4x design
    # with lognormal spread 0.3 (assumption).
    greenhouse_design_factor: float = Field(0.88, gt=0)
    greenhouse_margin: float = Field(1.4, gt=0)
    greenhouse_spread: float = Field(0.3, ge=0)
    greenhouse_loss_median_ratio: float = Field(0.4, gt=0, le=1)  # share of insured value (assumption)
    frost_loss_noise_sigma: float = Field(0.3, ge=0)
    everyday_per_year: float = Field(0.02, ge=0, le=10)
    flood_depth_cm: float = Field(20.0, ge=0, le=500)   # crops drown under standing water (assumption)


class FirmParams(Params):
    """Firms: roof collapse under snow, burst pipes, business interruption, flooding."""

    # Median roof capacity as a multiple of the 50-year basic snow pressure S0 (GB 50009-2012, roof load
    # mu_r x S0 with mu_r = 1): light steel roofs fail closer to design than concrete (assumption).
    light_steel_margin: float = Field(1.3, gt=0)
    concrete_margin: float = Field(2.5, gt=0)
    roof_spread: float = Field(0.25, ge=0)
    roof_loss_median_ratio: float = Field(0.15, gt=0, le=1)
    # Frozen pipes: alert at -6.7 C for uninsulated pipes in unheated spaces (Univ. of Illinois BRC).
    pipe_threshold_c: float = -6.7
    pipe_per_firm_h_per_deg: float = Field(2.0e-5, ge=0)   # assumption
    insulated_pipe_factor: float = Field(0.1, ge=0)        # assumption
    pipe_loss_median: float = Field(30000, gt=0)
    # Business interruption when lying snow above 10 cm blocks access, per firm-hour per 10 cm (assumption).
    bi_per_firm_h_per_10cm: float = Field(2.0e-5, ge=0)
    bi_loss_median: float = Field(50000, gt=0)
    everyday_per_year: float = Field(0.05, ge=0, le=10)
    flood_depth_cm: float = Field(10.0, ge=0, le=500)
    wind_per_h: float = Field(5.0e-3, ge=0, le=1)
    # Business interruption follows physical damage to a covered firm: share of flooded or wind-damaged firms
    # with BI cover that also claim interruption (assumption).
    bi_after_damage_share: float = Field(0.5, ge=0, le=1)


class HouseholdParams(Params):
    """Homes: burst pipes in the cold, roof collapse under snow, ground-floor flooding, wind damage."""

    pipe_threshold_c: float = -6.7             # as firms (Univ. of Illinois BRC)
    pipe_per_home_h_per_deg: float = Field(4.0e-6, ge=0)   # assumption
    insulated_pipe_factor: float = Field(0.1, ge=0)
    pipe_loss_median: float = Field(3000, gt=0)
    weak_roof_margin: float = Field(1.2, gt=0)   # x S0, as light steel roofs (assumption)
    roof_spread: float = Field(0.25, ge=0)
    roof_loss_median_ratio: float = Field(0.3, gt=0, le=1)
    everyday_per_year: float = Field(0.02, ge=0, le=10)
    flood_depth_cm: float = Field(5.0, ge=0, le=500)
    wind_per_h: float = Field(5.0e-3, ge=0, le=1)


class Vulnerability(Frozen):
    """Overrides of the vulnerability parameters (see docs/ASSUMPTIONS.md)."""

    drivers: DriverParams = DriverParams()
    farmers: FarmerParams = FarmerParams()
    firms: FirmParams = FirmParams()
    households: HouseholdParams = HouseholdParams()
