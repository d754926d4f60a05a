"""Queueing theory the engine is validated against: Erlang C, Erlang A (M/M/c+M), infinite servers.

Used by `claimsim validate` and the statistical tests. Each function says its formula's source.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import integrate, special


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c with offered load a = lambda/mu (stable recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c with offered load a < c (Erlang C, from Erlang B)."""
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/c: C(c, a) / (c mu - lambda)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_service_level(c: int, lam: float, mu: float, t: float) -> float:
    """P(wait <= t) in M/M/c: 1 - C(c, a) exp(-(c mu - lambda) t)."""
    return 1.0 - erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


def erlang_a(c: int, lam: float, mu: float, theta: float, tol: float = 1e-12) -> dict[str, float]:
    """M/M/c+M (Erlang A, exponential patience with rate theta), solved as a birth-death chain.

    Birth rate lambda; death rate min(n, c) mu + max(n - c, 0) theta. The chain is truncated where
    the stationary probabilities fall below `tol`, which makes the figures exact to that tolerance
    (Garnett, Mandelbaum & Reiman 2002 give the same figures in closed form with incomplete gammas).
    Returns P(wait > 0), P(abandon), mean wait of all callers (queue time until served or abandoned),
    and mean number waiting.
    """
    if theta <= 0:
        raise ValueError("Erlang A needs a positive abandonment rate; use Erlang C without abandonment")
    logp = [0.0]
    n = 0
    while True:
        n += 1
        death = min(n, c) * mu + max(n - c, 0) * theta
        logp.append(logp[-1] + math.log(lam) - math.log(death))
        if n > c and logp[-1] - max(logp) < math.log(tol):
            break
    lp = np.array(logp)
    p = np.exp(lp - special.logsumexp(lp))
    states = np.arange(p.size)
    queue = np.maximum(states - c, 0)
    eq = float((p * queue).sum())
    p_wait = float(p[c:].sum())
    return {
        "p_wait": p_wait,
        "p_abandon": theta * eq / lam,       # abandonment flow theta E[Q] over arrivals (PASTA, Little)
        "mean_wait": eq / lam,               # Little's law on the queue
        "mean_queue": eq,
    }


def infinite_server_mean(rate: Callable[[float], float], survival: Callable[[float], float], t: float,
                         start: float = 0.0) -> float:
    """E[N(t)] in an M_t/G/infinity system: integral over s of lambda(s) P(S > t - s) ds (Eick, Massey, Whitt 1993).

    `rate` may be piecewise constant; the integral is taken piecewise on whole hours for accuracy.
    """
    if t <= start:
        return 0.0
    edges = np.unique(np.concatenate([np.arange(math.floor(start), math.ceil(t) + 1, 1.0), [start, t]]))
    edges = edges[(edges >= start) & (edges <= t)]
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        val, _ = integrate.quad(lambda s: rate(s) * survival(t - s), a, b, limit=100)
        total += val
    return total
