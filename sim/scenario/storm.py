"""The storm in the scenario: per region, keyframes of the hazard variables over time (or a CSV of them).

Upper bounds are physical sanity limits, well above any record, so that a typo (a rain of 2000 mm/h)
is an error and not a silent catastrophe: the heaviest hourly rain recorded in China is 201.9 mm
(Zhengzhou, 20 July 2021), the heaviest snowfall rates are a few cm an hour.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.scenario.base import Frozen

MAX_HOUR = 24 * 366   # a scenario lasts at most a year (see Scenario.duration_h)
Hour = Annotated[float, Field(ge=0, le=MAX_HOUR)]


class Keyframe(Frozen):
    """Storm values at hour `h` since the scenario start; variables left out are interpolated."""

    h: Hour
    snowfall_cm_h: Annotated[float, Field(ge=0, le=100)] | None = None
    ice_mm_h: Annotated[float, Field(ge=0, le=100)] | None = None
    temp_c: Annotated[float, Field(ge=-70, le=60)] | None = None
    wind_ms: Annotated[float, Field(ge=0, le=120)] | None = None
    rain_mm_h: Annotated[float, Field(ge=0, le=500)] | None = None
    # Flood water given directly: in low-lying streets and yards (ponding), and on the river floodplain.
    # Where water_depth_cm is given it replaces the ponding derived from rain (see RegionFlood).
    water_depth_cm: Annotated[float, Field(ge=0, le=2000)] | None = None
    river_depth_cm: Annotated[float, Field(ge=0, le=2000)] | None = None


class RegionFlood(Frozen):
    """How rain becomes standing water in a region, and who stands in it (a simple ponding model).

    Rain above the drainage capacity ponds in low-lying streets, `ponding_cm_per_mm` cm for every mm of
    excess rain (run-off collects from the catchment), and drains away at `recession_cm_h`. Chinese cities
    drain 1-3 year storms (~35-45 mm/h; GB 50014); Zhengzhou received 201.9 mm in one hour on 20 July 2021.
    Each policyholder in a low-lying spot or on the floodplain sees the zone's depth times its own local
    factor (lognormal, median 1, `local_spread`): some yards are deeper than the street. Assumptions.
    """

    drainage_mm_h: Annotated[float, Field(ge=0, le=500)] = 35.0
    ponding_cm_per_mm: Annotated[float, Field(ge=0, le=10)] = 0.5
    recession_cm_h: Annotated[float, Field(ge=0, le=100)] = 2.0
    low_lying_share: Annotated[float, Field(ge=0, le=1)] = 0.15
    floodplain_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    local_spread: Annotated[float, Field(ge=0, le=3)] = 0.5
    # Street water depth at which underground garages flood to the ceiling (ramp and entrance sills).
    garage_flood_cm: Annotated[float, Field(ge=0, le=500)] = 40.0


class RegionHazard(Frozen):
    """A region's storm: keyframes (or a CSV file with the same columns), linear or step interpolation."""

    interpolation: Literal["linear", "step"] = "linear"
    first_snow_of_season: bool = False
    keyframes: list[Keyframe] = Field(default_factory=list, max_length=100_000)
    csv: str | None = None

    @model_validator(mode="after")
    def _some_data(self) -> RegionHazard:
        if not self.keyframes:
            raise ValueError("a region's hazard needs keyframes (or a csv file)")
        hours = [k.h for k in self.keyframes]
        if hours != sorted(hours) or len(set(hours)) != len(hours):
            raise ValueError("keyframe hours must be strictly increasing")
        if all(k.temp_c is None for k in self.keyframes):
            raise ValueError("temp_c must be given in at least one keyframe")
        return self
