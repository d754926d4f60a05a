"""Storm intensity over time per region, and the ground, roof and road state it leaves behind.

Keyframes are interpolated to hourly values (value for hour h is taken at h + 0.5 with linear
interpolation, at h with step interpolation). Accumulations (snow on the ground and on roofs,
ice) are integrated hour by hour; their melt and clearing rates are assumptions listed in
docs/ASSUMPTIONS.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario import RegionHazard, Scenario
from sim.vocab import HAZARD_VARIABLES

# Degree-hour melt of snow: 0.15 cm of snow per degree C above zero per hour (degree-day factors of
# 3-5 mm water equivalent per degree-day at ~100 kg/m3 fresh snow; assumption).
SNOW_MELT_CM_PER_DEG_H = 0.15
ROAD_CLEARING_PER_H = 0.03      # ploughing and traffic compaction: 3% of road snow removed an hour (assumption)
ROOF_MELT_FACTOR = 0.5          # roofs lose snow at half the ground melt rate (assumption)
ICE_MELT_MM_PER_DEG_H = 0.5     # assumption
ROAD_ICE_TREATMENT_PER_H = 0.05  # salting and gritting (assumption)
# Roof load per cm of settled snow, 0.01-0.03 kN/m2 (density 100-300 kg/m3, DOMAIN_FACTS "Snow load"):
SNOW_LOAD_KN_M2_PER_CM = 0.02
ICE_LOAD_KN_M2_PER_MM = 0.009   # glaze ice, 900 kg/m3
# An hour counts as "storm" when any of these is exceeded (used for "report after the storm"; assumption).
STORM_SNOW_CM_H = 0.1
STORM_ICE_MM_H = 0.1
STORM_RAIN_MM_H = 10.0
STORM_WIND_MS = 17.2            # force 8 gale
# Arterial speeds fall 30-40% on snowy pavement (FHWA, DOMAIN_FACTS "Hazard -> incidents"): 40% at the worst road.
WORST_ROAD_SLOWDOWN = 0.4
# Rain on snow (below 2 C) weighs on roofs: 0.1 cm of snow-equivalent per mm of rain (assumption).
RAIN_ON_SNOW_BELOW_C = 2.0
RAIN_SNOW_CM_PER_MM = 0.1
# Road condition index 1 - exp(-drive), drive = weights x (snowfall cm/h, freezing rain mm/h, lying snow cm, ice
# mm, wind m/s while it snows): falling snow and freezing rain weigh most (assumptions).
ROAD_WEIGHTS = {"snowfall": 0.8, "ice_rain": 1.5, "snow_depth": 0.08, "ice": 0.5, "drifting_wind": 0.02}
FIRST_SNOW_DECAY_H = 12.0       # first-snow effect time constant (Eisenberg & Warner 2005; the 12 h: assumption)
# Standing water as deep as a wheel hub (30 cm; CLAIM_LIFE_FACTS 4.1) stops cars: the road index is 1 there.
WATER_STOPS_CARS_CM = 30.0


def interpolate(spec: RegionHazard, variable: str, hours: int) -> np.ndarray:
    """Hourly values of one variable from the keyframes that give it (held flat outside them)."""
    points = [(k.h, getattr(k, variable)) for k in spec.keyframes if getattr(k, variable) is not None]
    if not points:
        return np.zeros(hours)
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    if spec.interpolation == "step":
        t = np.arange(hours, dtype=float)
        idx = np.searchsorted(xs, t, side="right") - 1
        return ys[np.clip(idx, 0, len(ys) - 1)]
    t = np.arange(hours, dtype=float) + 0.5
    return np.interp(t, xs, ys)


@dataclass(frozen=True)
class HazardField:
    """Hourly storm and its derived state, arrays of shape (regions, hours)."""

    region_ids: tuple[str, ...]
    snowfall_cm_h: np.ndarray
    ice_mm_h: np.ndarray
    temp_c: np.ndarray
    wind_ms: np.ndarray
    rain_mm_h: np.ndarray
    water_depth_cm: np.ndarray     # given in the scenario (0 where not given)
    river_depth_cm: np.ndarray
    snow_depth_cm: np.ndarray      # on roads and open ground, at the end of each hour
    roof_snow_cm: np.ndarray
    ice_acc_mm: np.ndarray
    road_index: np.ndarray         # 0 dry road .. 1 worst (snow, ice, drifting)
    first_snow_factor: np.ndarray  # 1 at the onset of the season's first snow, decaying
    roof_load_kn_m2: np.ndarray
    storm_end_h: np.ndarray        # per region: hour after the last storm hour (0 if none)
    ponding_cm: np.ndarray         # water in low-lying streets: given, or rain above drainage ponding
    floodplain_cm: np.ndarray      # water on the river floodplain (given as river_depth_cm)

    def dry_from(self, region: int, hour: int, depth_cm: float) -> int:
        """The first hour from `hour` on when the region's water is at most `depth_cm` (its horizon if never).

        Asked for every flooded claim's survey: answered from a table of the next dry hour, made once per region
        and depth (a catastrophe asks hundreds of thousands of times)."""
        cache: dict[tuple[int, float], list[int]] = self.__dict__.setdefault("_dry_from", {})
        table = cache.get((region, depth_cm))
        if table is None:
            wet = np.maximum(self.ponding_cm[region], self.floodplain_cm[region]) > depth_cm
            hours = self.hours
            nxt = np.where(~wet, np.arange(hours), hours)
            table = cache[(region, depth_cm)] = np.minimum.accumulate(nxt[::-1])[::-1].tolist()
        return table[hour]

    def speed_factor_at(self, region: int, hour: int) -> float:
        """`speed_factor(hour)[region]`, without the other regions."""
        h = min(max(hour, 0), self.hours - 1)
        return 1.0 - WORST_ROAD_SLOWDOWN * float(self.road_index[region, h])

    @property
    def hours(self) -> int:
        return self.temp_c.shape[1]

    def speed_factor(self, hour: int) -> np.ndarray:
        """Road speed as a share of normal per region: arterial speeds fall 30-40% on snowy pavement (FHWA)."""
        h = min(max(hour, 0), self.hours - 1)
        return 1.0 - WORST_ROAD_SLOWDOWN * self.road_index[:, h]


@dataclass(frozen=True)
class Terrain:
    """What turns a region's rain into standing water (sim.scenario.storm.RegionFlood), as arrays per region."""

    drainage_mm_h: np.ndarray
    ponding_cm_per_mm: np.ndarray
    recession_cm_h: np.ndarray
    water_given: np.ndarray        # bool: the scenario gives water_depth_cm (it replaces the derived ponding)
    first_snow: np.ndarray         # bool: the storm brings the season's first snow

    @classmethod
    def default(cls, first_snow: np.ndarray) -> Terrain:
        """The default terrain (sim.scenario.storm.RegionFlood) for regions with these first-snow flags."""
        from sim.scenario.storm import RegionFlood

        f, n = RegionFlood(), len(first_snow)
        return cls(np.full(n, f.drainage_mm_h), np.full(n, f.ponding_cm_per_mm), np.full(n, f.recession_cm_h),
                   np.zeros(n, dtype=bool), np.asarray(first_snow, dtype=bool))

    @classmethod
    def of(cls, scenario: Scenario) -> Terrain:
        regions = scenario.regions
        return cls(np.array([r.flood.drainage_mm_h for r in regions]),
                   np.array([r.flood.ponding_cm_per_mm for r in regions]),
                   np.array([r.flood.recession_cm_h for r in regions]),
                   np.array([any(k.water_depth_cm is not None for k in scenario.hazard[r.id].keyframes)
                             for r in regions]),
                   np.array([scenario.hazard[r.id].first_snow_of_season for r in regions]))


def build_hazard(scenario: Scenario, hours: int | None = None) -> HazardField:
    """Interpolate and integrate every region's storm over the horizon."""
    n = hours if hours is not None else scenario.duration_h
    ids = tuple(scenario.region_ids)
    raw = {v: np.vstack([interpolate(scenario.hazard[r], v, n) for r in ids]) for v in HAZARD_VARIABLES}
    return derive(ids, raw, Terrain.of(scenario))


def ponding(rain: np.ndarray, terrain: Terrain) -> np.ndarray:
    """Water in low-lying streets (cm), hour by hour: excess rain ponds, then drains at the recession rate."""
    n_r, n = rain.shape
    out = np.zeros((n_r, n))
    d = np.zeros(n_r)
    for h in range(n):
        excess = np.maximum(rain[:, h] - terrain.drainage_mm_h, 0.0)
        d = np.maximum(d + terrain.ponding_cm_per_mm * excess - terrain.recession_cm_h, 0.0)
        out[:, h] = d
    return out


def derive(ids: tuple[str, ...], raw: dict[str, np.ndarray], terrain: Terrain | np.ndarray) -> HazardField:
    """Accumulations, standing water and road state from hourly intensities (`terrain`: a Terrain, or the
    regions' first-snow flags for the default terrain)."""
    if not isinstance(terrain, Terrain):
        terrain = Terrain.default(np.asarray(terrain))
    first_snow = terrain.first_snow
    snow, ice, temp = raw["snowfall_cm_h"], raw["ice_mm_h"], raw["temp_c"]
    wind, rain = raw["wind_ms"], raw["rain_mm_h"]
    n_r, n = temp.shape
    depth = np.zeros((n_r, n))
    roof = np.zeros((n_r, n))
    ice_acc = np.zeros((n_r, n))
    d = np.zeros(n_r)
    rf = np.zeros(n_r)
    ia = np.zeros(n_r)
    for h in range(n):
        warm = np.maximum(temp[:, h], 0.0)
        wet = np.where(temp[:, h] < RAIN_ON_SNOW_BELOW_C, rain[:, h] * RAIN_SNOW_CM_PER_MM, 0.0)
        d = np.maximum(d * (1 - ROAD_CLEARING_PER_H) + snow[:, h] - SNOW_MELT_CM_PER_DEG_H * warm, 0.0)
        rf = np.maximum(rf + snow[:, h] + wet - ROOF_MELT_FACTOR * SNOW_MELT_CM_PER_DEG_H * warm, 0.0)
        ia = np.maximum(ia * (1 - ROAD_ICE_TREATMENT_PER_H) + ice[:, h] - ICE_MELT_MM_PER_DEG_H * warm, 0.0)
        depth[:, h], roof[:, h], ice_acc[:, h] = d, rf, ia
    # Road condition index (assumption): falling snow, freezing rain, lying snow, ice and drifting.
    w = ROAD_WEIGHTS
    drive = (w["snowfall"] * snow + w["ice_rain"] * ice + w["snow_depth"] * depth + w["ice"] * ice_acc
             + w["drifting_wind"] * wind * (snow > 0))
    road_index = 1.0 - np.exp(-drive)
    # First-snow effect (Eisenberg & Warner 2005; Hitchens 2023): extra crash risk at the onset of the
    # season's first snow, decaying with a 12 h time constant (assumption).
    fs = np.zeros((n_r, n))
    for r in range(n_r):
        if first_snow[r]:
            onset = np.flatnonzero(snow[r] > STORM_SNOW_CM_H)
            if onset.size:
                t = np.arange(n) - onset[0]
                fs[r] = np.where(t >= 0, np.exp(-np.maximum(t, 0) / FIRST_SNOW_DECAY_H), 0.0)
    roof_load = SNOW_LOAD_KN_M2_PER_CM * roof + ICE_LOAD_KN_M2_PER_MM * ice_acc
    # Cold alone does not keep people in: a cold wave without snow, ice, rain or gale has no "storm" hours.
    active = (snow > STORM_SNOW_CM_H) | (ice > STORM_ICE_MM_H) | (rain > STORM_RAIN_MM_H) | (wind > STORM_WIND_MS)
    water, river = raw["water_depth_cm"], raw["river_depth_cm"]
    ponded = np.where(terrain.water_given[:, None], water, ponding(rain, terrain)) if n else np.zeros((n_r, 0))
    # Standing water slows the roads too: 30 cm stops most cars (wheel hub; CLAIM_LIFE_FACTS 4.1).
    road_index = np.maximum(road_index, np.minimum(ponded / WATER_STOPS_CARS_CM, 1.0))
    active = active | (ponded > 5.0) | (river > 5.0)
    storm_end = np.array([(np.flatnonzero(a)[-1] + 1) if a.any() else 0 for a in active], dtype=float)
    return HazardField(ids, snow, ice, temp, wind, rain, water, river, depth, roof, ice_acc, road_index, fs, roof_load,
                       storm_end, ponded, river.copy())


def scaled(raw: dict[str, np.ndarray], rows: list[int], variables: list[str], factor: float,
                  add: dict[str, float], start: int, end: int) -> dict[str, np.ndarray]:
    """Raw hourly hazard with the hours [start, end) of `rows` scaled (and raised by `add`)."""
    out = {k: v.copy() for k, v in raw.items()}
    for var in variables:
        out[var][rows, start:end] *= factor
    for var, plus in add.items():
        out[var][rows, start:end] += plus
    for var in ("snowfall_cm_h", "ice_mm_h", "wind_ms", "rain_mm_h", "water_depth_cm", "river_depth_cm"):
        np.maximum(out[var], 0.0, out=out[var])
    return out
