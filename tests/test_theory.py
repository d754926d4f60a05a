"""The queueing formulas the engine is validated against, checked against published values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import theory


def test_erlang_b_table_values() -> None:
    # Erlang B tables: 10 trunks at 5 erlangs block 1.84%; 1 trunk at 1 erlang blocks 1/2.
    assert theory.erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)
    assert theory.erlang_b(1, 1.0) == pytest.approx(0.5)
    assert theory.erlang_b(0, 3.0) == 1.0


def test_erlang_c_published_values() -> None:
    # M/M/1: P(wait) = rho. M/M/2 at a = 1: 1/3. Erlang C tables: 10 agents, 8 erlangs -> 0.4092.
    assert theory.erlang_c(1, 0.7) == pytest.approx(0.7)
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert theory.erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-4)
    assert theory.erlang_c(5, 5.0) == 1.0  # saturated


def test_mmc_wait_and_service_level() -> None:
    # M/M/1 with lambda 0.5, mu 1: Wq = rho / (mu - lambda) = 1
    assert theory.mmc_mean_wait(1, 0.5, 1.0) == pytest.approx(1.0)
    # service level at t = 0 is 1 - P(wait); it tends to 1
    assert theory.mmc_service_level(3, 2.0, 1.0, 0.0) == pytest.approx(1 - theory.erlang_c(3, 2.0))
    assert theory.mmc_service_level(3, 2.0, 1.0, 100.0) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(c=st.integers(1, 60), rho=st.floats(0.05, 0.98))
def test_erlang_c_matches_its_definition(c: int, rho: float) -> None:
    a = rho * c
    terms = [a**k / math.factorial(k) for k in range(c)]
    top = a**c / math.factorial(c) * c / (c - a)
    assert theory.erlang_c(c, a) == pytest.approx(top / (sum(terms) + top), rel=1e-9)


def test_erlang_a_tends_to_erlang_c_when_callers_never_leave() -> None:
    a = theory.erlang_a(10, 8.0, 1.0, 1e-7)
    assert a["p_wait"] == pytest.approx(theory.erlang_c(10, 8.0), rel=1e-4)
    assert a["mean_wait"] == pytest.approx(theory.mmc_mean_wait(10, 8.0, 1.0), rel=1e-3)
    assert a["p_abandon"] < 1e-5


def test_erlang_a_single_server_closed_form() -> None:
    # M/M/1+M with theta = mu is M/M/infinity in disguise for the queue length: n customers leave at rate
    # n mu, so the number in system is Poisson(lambda / mu); P(wait) = P(N >= 1) = 1 - exp(-a).
    lam, mu = 1.5, 1.0
    a = theory.erlang_a(1, lam, mu, mu)
    assert a["p_wait"] == pytest.approx(1 - math.exp(-lam / mu), rel=1e-9)
    # E[Q] = E[(N - 1)+] = E[N] - P(N >= 1)
    assert a["mean_queue"] == pytest.approx(lam / mu - (1 - math.exp(-lam / mu)), rel=1e-9)
    assert a["p_abandon"] == pytest.approx(mu * a["mean_queue"] / lam)


def test_erlang_a_rejects_no_abandonment() -> None:
    with pytest.raises(ValueError):
        theory.erlang_a(3, 1.0, 1.0, 0.0)


def test_infinite_server_mean_constant_rate_and_exponential_service() -> None:
    # lambda constant, exponential service mean 1/mu: E[N(t)] = (lambda / mu)(1 - exp(-mu t))
    lam, mu, t = 4.0, 2.0, 3.0
    got = theory.infinite_server_mean(lambda s: lam, lambda x: math.exp(-mu * x), t)
    assert got == pytest.approx(lam / mu * (1 - math.exp(-mu * t)), rel=1e-8)


def test_infinite_server_mean_pulse() -> None:
    # arrivals only in [0, 1) at rate 10, deterministic service 0.5: at t = 1.2 only those since 0.7 remain
    got = theory.infinite_server_mean(lambda s: 10.0 if s < 1 else 0.0, lambda x: 1.0 if x < 0.5 else 0.0, 1.2)
    assert got == pytest.approx(3.0, abs=1e-6)
    assert theory.infinite_server_mean(lambda s: 1.0, lambda x: 1.0, 0.0) == 0.0


def test_relaxation_windows_grow_with_load() -> None:
    from sim.validation import relaxation_h, windows

    assert relaxation_h(5, 10.0, 0.95) > relaxation_h(5, 10.0, 0.8) > relaxation_h(5, 10.0, 0.5)
    warm, meas = windows(5, 10.0, 0.95, 20_000)
    assert warm >= 5 * relaxation_h(5, 10.0, 0.95) and meas >= 20 * relaxation_h(5, 10.0, 0.95)
    assert np.isclose(windows(100, 2.0, 0.5, 10_000)[1], 10_000 / (0.5 * 100 * 2.0))
