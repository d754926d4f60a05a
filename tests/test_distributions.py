"""Distributions as written in scenario files: inverse-CDF sampling, means, and their validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from sim.distributions import Distribution, Exponential, Fixed, Gamma, LogNormal, Triangular, Uniform, as_fixed
from sim.scenario import Dist

ADAPTER = TypeAdapter(Dist)
N = 200_000

SPECS = [
    {"dist": "fixed", "value": 3.5},
    {"dist": "exponential", "mean": 4.0},
    {"dist": "lognormal", "mean": 8.0, "cv": 0.6},
    {"dist": "lognormal", "median": 5000.0, "sigma": 1.0},
    {"dist": "gamma", "mean": 10.0, "cv": 0.5},
    {"dist": "gamma", "mean": 2.0, "cv": 1.0},
    {"dist": "uniform", "low": 0.0, "high": 15.0},
    {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0},
    {"dist": "triangular", "low": 0.0, "mode": 0.0, "high": 3.0},
]

# The same distributions in scipy's parameterisation: an independent reference for means and quantiles.
REFERENCE = {
    0: None,
    1: stats.expon(scale=4.0),
    2: stats.lognorm(s=math.sqrt(math.log1p(0.36)), scale=8.0 / math.sqrt(1.36)),
    3: stats.lognorm(s=1.0, scale=5000.0),
    4: stats.gamma(a=4.0, scale=2.5),
    5: stats.gamma(a=1.0, scale=2.0),
    6: stats.uniform(loc=0.0, scale=15.0),
    7: stats.triang(c=0.2, loc=1.0, scale=5.0),
    8: stats.triang(c=0.0, loc=0.0, scale=3.0),
}


def make(spec: dict) -> Distribution:
    return ADAPTER.validate_python(spec)


@pytest.mark.parametrize("i", range(len(SPECS)))
def test_sample_mean_matches_mean(i: int) -> None:
    d = make(SPECS[i])
    x = d.sample(np.random.default_rng(1000 + i), N)
    assert x.shape == (N,)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    sd = float(np.std(x))
    if sd == 0:
        assert np.all(x == d.mean)
        return
    # 5 standard errors: fails by chance about once in 3 million runs
    assert abs(float(x.mean()) - d.mean) < 5 * sd / math.sqrt(N), (SPECS[i], x.mean(), d.mean)


@pytest.mark.parametrize("i", [i for i in range(len(SPECS)) if REFERENCE[i] is not None])
def test_mean_and_ppf_against_scipy(i: int) -> None:
    d, ref = make(SPECS[i]), REFERENCE[i]
    assert d.mean == pytest.approx(ref.mean(), rel=1e-9)
    u = np.array([0.001, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999])
    assert np.allclose(d.ppf(u), ref.ppf(u), rtol=1e-7, atol=1e-9)
    # quadrature of the inverse CDF is the mean too
    grid = (np.arange(200_000) + 0.5) / 200_000
    assert float(np.mean(d.ppf(grid))) == pytest.approx(d.mean, rel=2e-3)


@pytest.mark.parametrize("i", range(len(SPECS)))
def test_ppf_is_monotone_and_scalar_in_scalar_out(i: int) -> None:
    d = make(SPECS[i])
    u = np.linspace(0.0, 0.999999, 1001)
    q = np.asarray(d.ppf(u), dtype=float)
    assert q.shape == u.shape
    assert np.all(np.diff(q) >= -1e-12)
    one = d.ppf(0.3)
    assert np.ndim(one) == 0
    assert float(one) == pytest.approx(float(np.asarray(d.ppf(np.array([0.3])))[0]))
    # claims draw from numpy scalars taken out of their uniform arrays
    assert float(d.ppf(np.float64(0.3))) == pytest.approx(float(one))


def test_sampling_is_reproducible_from_the_generator() -> None:
    d = make(SPECS[2])
    a = d.sample(np.random.default_rng(5), 100)
    b = d.sample(np.random.default_rng(5), 100)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, d.sample(np.random.default_rng(6), 100))


def test_lognormal_parameterisations_agree() -> None:
    by_median = LogNormal(dist="lognormal", median=100.0, sigma=0.5)
    assert float(by_median.ppf(0.5)) == pytest.approx(100.0)
    assert by_median.mean == pytest.approx(100.0 * math.exp(0.125))
    by_mean = LogNormal(dist="lognormal", mean=by_median.mean, cv=math.sqrt(math.expm1(0.25)))
    u = np.linspace(0.01, 0.99, 9)
    assert np.allclose(by_mean.ppf(u), by_median.ppf(u))


@pytest.mark.parametrize("spec", [
    {"dist": "lognormal", "mean": 3, "cv": 1, "median": 2, "sigma": 1},   # both
    {"dist": "lognormal"},                                                 # neither
    {"dist": "lognormal", "mean": 3},                                      # half of one
    {"dist": "lognormal", "mean": 3, "sigma": 1},                          # halves of both
    {"dist": "lognormal", "median": 3},
])
def test_lognormal_needs_exactly_one_parameterisation(spec: dict) -> None:
    with pytest.raises(ValidationError) as info:
        make(spec)
    assert "either mean and cv, or median and sigma" in str(info.value)


@pytest.mark.parametrize("spec", [
    {"dist": "uniform", "low": 5, "high": 1},
    {"dist": "triangular", "low": 1, "mode": 5, "high": 3},
    {"dist": "triangular", "low": 2, "mode": 2, "high": 2},
    {"dist": "exponential", "mean": 0},
    {"dist": "exponential", "mean": -1},
    {"dist": "gamma", "mean": 1, "cv": 0},
    {"dist": "fixed", "value": -1},
    {"dist": "weibull", "mean": 1},
    {"dist": "exponential", "mean": 1, "rate": 2},   # unknown parameter
])
def test_invalid_distributions(spec: dict) -> None:
    with pytest.raises(ValidationError):
        make(spec)


@pytest.mark.parametrize("value", [0, 8, 2.5])
def test_bare_numbers_become_fixed(value: float) -> None:
    assert as_fixed(value) == {"dist": "fixed", "value": value}
    d = make(value)  # type: ignore[arg-type]
    assert isinstance(d, Fixed)
    assert d.mean == value
    assert float(d.ppf(0.99)) == value
    assert np.all(d.sample(np.random.default_rng(0), 10) == value)


def test_non_numbers_are_left_alone() -> None:
    spec = {"dist": "exponential", "mean": 2}
    assert as_fixed(spec) is spec
    assert as_fixed(True) is True  # a boolean is not a number of minutes
    assert as_fixed("8") == "8"
    with pytest.raises(ValidationError):
        make(True)  # type: ignore[arg-type]


def test_classes_are_what_the_tags_say() -> None:
    kinds = [type(make(s)) for s in SPECS]
    assert kinds == [Fixed, Exponential, LogNormal, LogNormal, Gamma, Gamma, Uniform, Triangular, Triangular]
