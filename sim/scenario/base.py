"""Building blocks of the scenario schema: frozen models and the constrained types every section uses."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sim.distributions import Distribution, as_fixed

Count = Annotated[int, Field(ge=0, strict=True)]  # strict: `true` or 2.5 is not a count
# Seeds are 32-bit: any tool can repeat a run from them, and a sweep's seed plus its offsets stays well
# inside the 64-bit integers its tables store.
MAX_SEED = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)]


def _non_negative(d: Distribution) -> Distribution:
    """Every distribution in a scenario is of a duration, an age, a value or an amount: none is negative."""
    low = getattr(d, "low", 0.0)
    if low < 0:
        raise ValueError(f"{d.dist} with low {low:g}: durations, ages and amounts are never negative (low >= 0)")
    return d


Dist = Annotated[Distribution, BeforeValidator(as_fixed), AfterValidator(_non_negative)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]


def _finite(x: float) -> float:
    if not math.isfinite(x):
        raise ValueError("must be a finite number")
    return x


Finite = Annotated[float, AfterValidator(_finite)]


class Frozen(BaseModel):
    """A section of a scenario: unknown keys are errors, values cannot change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, validate_default=True,
                              allow_inf_nan=False)


def shares_sum_to_one(shares: Mapping[str, float], what: str) -> None:
    total = sum(shares.values())
    if shares and abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} shares must add up to 1 (they add up to {total:g})")
