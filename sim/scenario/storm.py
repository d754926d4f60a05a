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
