"""Building blocks of the scenario schema: frozen models and the constrained types every section uses."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sim.distributions import Distribution, as_fixed

Dist = Annotated[Distribution, BeforeValidator(as_fixed)]
Count = Annotated[int, Field(ge=0, strict=True)]  # strict: `true` or 2.5 is not a count
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
