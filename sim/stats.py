"""Statistics over replications, in one place: intervals, bounds, paired and two-sample tests, Holm, bootstrap.

The replication is the independent unit everywhere (compare, sweep, validate, regress, the after-action
report): a figure is one number per replication, summarised by its mean and a Student-t interval. Empty
and single-value samples give NaN bounds rather than an error, so a table can always be drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


def _clean(x: Iterable[float]) -> np.ndarray:
    a = np.asarray(list(x) if not isinstance(x, np.ndarray) else x, dtype=float)
    return a[~np.isnan(a)]


@dataclass(frozen=True)
class Interval:
    """A mean and its confidence interval (NaN bounds when fewer than two values)."""

    mean: float
    low: float
    high: float
    n: int

    def __iter__(self):  # noqa: ANN204 - lets `m, lo, hi = mean_ci(x)` unpack it
        return iter((self.mean, self.low, self.high))

    def __getitem__(self, i: int) -> float:
        return (self.mean, self.low, self.high)[i]

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


def mean_ci(x: Iterable[float], level: float = 0.95) -> Interval:
    """Mean and two-sided Student-t interval over replications (NaN values left out)."""
    a = _clean(x)
    if a.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    m = float(a.mean())
    if a.size < 2:
        return Interval(m, math.nan, math.nan, 1)
    half = float(stats.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return Interval(m, m - half, m + half, int(a.size))


def one_sided_bound(x: Iterable[float], confidence: float, upper: bool = True) -> float:
    """The one-sided Student-t confidence bound of the mean: upper (mean + t s/sqrt n) or lower.

    A target "at most V with 90% confidence" is met when the 90% upper bound is at most V (not the mean).
    A single value gives NaN: one replication says nothing about the spread.
    """
    a = _clean(x)
    if a.size < 2:
        return math.nan
    q = float(stats.t.ppf(confidence, a.size - 1)) * float(a.std(ddof=1)) / math.sqrt(a.size)
    return float(a.mean()) + (q if upper else -q)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (controls the family-wise error rate)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def paired_t(diffs: Iterable[float]) -> tuple[Interval, float]:
    """Mean paired difference with its 95% interval and the two-sided p of a paired t-test against 0."""
    d = _clean(diffs)
    ci = mean_ci(d)
    if d.size < 2:
        return ci, 1.0
    if float(d.std(ddof=1)) == 0:
        return ci, (1.0 if ci.mean == 0 else 0.0)
    return ci, float(stats.ttest_1samp(d, 0.0).pvalue)


def welch_p(a: Iterable[float], b: Iterable[float]) -> float:
    """Two-sided p of Welch's t-test; identical constant samples give 1, different constants 0."""
    x, y = _clean(a), _clean(b)
    if x.size < 2 or y.size < 2:
        return 1.0 if x.size == y.size else 0.0
    if x.std() == 0 and y.std() == 0:
        return 1.0 if x.mean() == y.mean() else 0.0
    return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def ancova_p(a: Sequence[float], b: Sequence[float], xa: Sequence[float], xb: Sequence[float]) -> float:
    """Two-sided p of the sample effect on a figure adjusted for a covariate (the storm's size).

    Most of a figure's spread over seeds comes from how big each replication's storm was: more claims, longer
    queues. Regressing the figure on the replication's claim count (analysis of covariance, common slope)
    removes that shared part before the two samples are compared, so a small change in the operation stands
    out. Falls back to Welch's test when the covariate carries no information.
    """
    y = np.concatenate([np.asarray(a, float), np.asarray(b, float)])
    x = np.concatenate([np.asarray(xa, float), np.asarray(xb, float)])
    g = np.concatenate([np.zeros(len(a)), np.ones(len(b))])
    ok = ~(np.isnan(y) | np.isnan(x))
    y, x, g = y[ok], x[ok], g[ok]
    n = y.size
    if n < 6 or x.std() == 0 or y.std() == 0 or g.min() == g.max():
        return welch_p(a, b)
    design = np.column_stack([np.ones(n), g, x - x.mean()])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    df = n - 3
    s2 = float(resid @ resid) / df
    cov = s2 * np.linalg.pinv(design.T @ design)
    se = math.sqrt(max(float(cov[1, 1]), 0.0))
    if se == 0:
        return 1.0 if coef[1] == 0 else 0.0
    return float(2 * stats.t.sf(abs(coef[1]) / se, df))


def paired_margin_p(new: Sequence[float], old: Sequence[float], margin: float) -> float:
    """Two-sided p that the mean paired difference new - old exceeds `margin` x |mean of old| (noise).

    Runs on the same seeds share every random number while the code draws them the same way, so their
    difference isolates a change of the model (common random numbers): a small consistent shift stands out.
    After a refactor that draws differently the pairs are independent and the test is an ordinary paired
    t-test, still at its level.
    """
    a, b = np.asarray(new, float), np.asarray(old, float)
    ok = ~(np.isnan(a) | np.isnan(b))
    d = a[ok] - b[ok]
    if d.size == 0:
        return 1.0
    tol = margin * max(abs(float(b[ok].mean())), 1e-12)
    excess = abs(float(d.mean())) - tol
    if excess <= 0:
        return 1.0
    if d.size < 2 or d.std() == 0:
        return 0.0
    se = float(d.std(ddof=1) / math.sqrt(d.size))
    return float(min(1.0, 2 * stats.t.sf(excess / se, d.size - 1)))


def bootstrap_percentile(samples: Sequence[np.ndarray], q: float, n_boot: int = 1000,
                         seed: int = 0) -> Interval:
    """Percentile q of the pooled values and its whole-replication bootstrap 95% interval.

    Replications (not claims) are resampled: claims of one storm are not independent of each other.
    """
    pooled = np.concatenate(samples) if len(samples) else np.zeros(0)
    if pooled.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    point = float(np.percentile(pooled, q))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(samples), len(samples))
        sample = np.concatenate([samples[i] for i in pick])
        if sample.size:
            boots.append(np.percentile(sample, q))
    return Interval(point, float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)), len(samples))


def censored_quantiles(duration: np.ndarray, observed: np.ndarray, percentiles: Sequence[int] = (50, 90, 99)
                       ) -> dict[str, float | None]:
    """Kaplan-Meier quantiles of a duration with right-censoring (None where the curve never gets there)."""
    done, cens = duration[observed], duration[~observed]
    if done.size == 0:
        return {f"p{p}": None for p in percentiles}
    res = stats.ecdf(stats.CensoredData(uncensored=done, right=cens)) if cens.size else stats.ecdf(done)
    q, f = res.cdf.quantiles, res.cdf.probabilities
    out: dict[str, float | None] = {}
    for p in percentiles:
        idx = np.flatnonzero(f >= p / 100 - 1e-12)
        out[f"p{p}"] = float(q[idx[0]]) if idx.size else None
    return out


def differs(interval: Interval, min_effect: float = 0.0) -> bool:
    """Whether a difference is detectable: its interval excludes zero and its mean is at least `min_effect`.

    Anything else is reported as "no detectable difference", never as a win for either side.
    """
    if math.isnan(interval.low) or math.isnan(interval.high):
        return False
    return (interval.low > 0 or interval.high < 0) and abs(interval.mean) >= min_effect
