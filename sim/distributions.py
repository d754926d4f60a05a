"""Probability distributions as written in scenario files, sampled by inverse CDF.

Sampling by inverse CDF from a given uniform lets a claim draw each of its random quantities
from its own keyed uniforms (common random numbers, DESIGN rule 5), whatever order the
operation asks for them in.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import special

ArrayLike = float | np.ndarray
# Sanity bounds on parameters (a typo, not a belief): values up to a trillion (minutes, hours, CNY), a
# coefficient of variation up to 20 and a log-standard deviation up to 10 keep every quantile finite.
MAX_VALUE = 1e12
MAX_CV = 20.0
MAX_SIGMA = 10.0
Value = Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE)]
Positive = Annotated[float, Field(gt=0, le=MAX_VALUE)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def ppf(self, u: ArrayLike) -> ArrayLike:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent draws from `rng`."""
        return np.asarray(self.ppf(rng.random(n)), dtype=float)

    @property
    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(ge=0, le=MAX_VALUE)

    def ppf(self, u: ArrayLike) -> ArrayLike:
        return np.full_like(u, self.value, dtype=float) if isinstance(u, np.ndarray) else self.value

    @property
    def mean(self) -> float:
        return self.value


class Exponential(_Dist):
    """Exponential with the given mean (memoryless: the M of M/M/c)."""

    dist: Literal["exponential"]
    mean_: Positive = Field(alias="mean")

    def ppf(self, u: ArrayLike) -> ArrayLike:
        if isinstance(u, float):
            return -self.mean_ * math.log1p(-u)
        return -self.mean_ * np.log1p(-u)

    @property
    def mean(self) -> float:
        return self.mean_


class LogNormal(_Dist):
    """Lognormal given either (mean, cv) or (median, sigma) of the underlying normal."""

    dist: Literal["lognormal"]
    mean_: Positive | None = Field(default=None, alias="mean")
    cv: Annotated[float, Field(gt=0, le=MAX_CV)] | None = None
    median: Positive | None = None
    sigma: Annotated[float, Field(gt=0, le=MAX_SIGMA)] | None = None

    @model_validator(mode="after")
    def _one_parameterisation(self) -> LogNormal:
        by_mean = self.mean_ is not None and self.cv is not None
        by_median = self.median is not None and self.sigma is not None
        if by_mean == by_median:
            raise ValueError("lognormal takes either mean and cv, or median and sigma")
        return self

    def model_post_init(self, _context: object) -> None:
        if self.median is not None and self.sigma is not None:
            mu_s = (math.log(self.median), float(self.sigma))
        elif self.mean_ is not None and self.cv is not None:
            s2 = math.log1p(self.cv**2)
            mu_s = (math.log(self.mean_) - s2 / 2, math.sqrt(s2))
        else:  # not a valid parameterisation: the validator below says so
            mu_s = (math.nan, math.nan)
        object.__setattr__(self, "_mu_s", mu_s)  # computed once: a run calls ppf millions of times

    def _mu_sigma(self) -> tuple[float, float]:
        return self._mu_s  # type: ignore[attr-defined]

    def ppf(self, u: ArrayLike) -> ArrayLike:
        mu, s = self._mu_s  # type: ignore[attr-defined]
        if isinstance(u, float):
            return math.exp(mu + s * float(special.ndtri(u)))
        return np.exp(mu + s * special.ndtri(u))

    @property
    def mean(self) -> float:
        mu, s = self._mu_sigma()
        return math.exp(mu + s * s / 2)


class Gamma(_Dist):
    """Gamma given its mean and coefficient of variation (cv 1 is exponential)."""

    dist: Literal["gamma"]
    mean_: Positive = Field(alias="mean")
    cv: Annotated[float, Field(gt=0, le=MAX_CV)]

    def ppf(self, u: ArrayLike) -> ArrayLike:
        shape = 1.0 / self.cv**2
        return special.gammaincinv(shape, u) * (self.mean_ / shape)

    @property
    def mean(self) -> float:
        return self.mean_


class Uniform(_Dist):
    """Uniform between low and high."""

    dist: Literal["uniform"]
    low: Value
    high: Value

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("uniform needs low <= high")
        return self

    def ppf(self, u: ArrayLike) -> ArrayLike:
        return self.low + u * (self.high - self.low)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Dist):
    """Triangular with low, mode and high."""

    dist: Literal["triangular"]
    low: Value
    mode: Value
    high: Value

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def ppf(self, u: ArrayLike) -> ArrayLike:
        a, c, b = self.low, self.mode, self.high
        fc = (c - a) / (b - a)
        u = np.asarray(u, dtype=float)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1 - u) * (b - a) * (b - c))
        out = np.where(u < fc, left, right)
        return out if out.ndim else float(out)

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3


Distribution = Annotated[
    Fixed | Exponential | LogNormal | Gamma | Uniform | Triangular, Field(discriminator="dist")
]


def as_fixed(value: object) -> object:
    """Let a bare number stand for a fixed distribution in YAML (`handling_min: 8`)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value
