"""How a population draws its incidents: intervals of the hourly uniform, candidates, threshold strikes.

Each policyholder has one uniform per hour; incident type k happens when it falls in the type's interval
[o_k, o_k + p_k) mod 1. Only the uniforms under the region's bounds are drawn (`candidates`), exactly as if
all were drawn and the others dropped; types a threshold decides are struck by sorted thresholds (`Threshold`).
"""

from __future__ import annotations

import numpy as np

# Where each incident type's interval of the hourly uniform starts: multiples of the golden ratio mod 1,
# as far apart as possible (types 0..3 start at 0, 0.618, 0.236, 0.854).
TYPE_OFFSETS = tuple((k * 0.6180339887498949) % 1.0 for k in range(8))


def in_interval(u: np.ndarray, start: float, width: np.ndarray | float) -> np.ndarray | None:
    """Whether each u lies in [start, start + width) taken mod 1 (None when the width is 0 everywhere)."""
    w = np.minimum(width, 1.0)
    if np.ndim(w) == 0:
        if w <= 0:
            return None
        if w >= 1:
            return np.ones(u.shape, dtype=bool)
    end = start + w
    return np.where(end <= 1.0, (u >= start) & (u < end), (u >= start) | (u < end - 1.0))


class Threshold:
    """Policyholders struck once a level of their region (water depth, roof load, frost) reaches their own
    threshold: sorted once, so each hour's strikes are a binary search, not a scan of the population.

    `strict`: struck when the level is above the threshold (roof load over capacity); otherwise at or above.
    A threshold of inf never strikes.
    """

    def __init__(self, slices: list[tuple[int, int]], thresholds: np.ndarray, strict: bool) -> None:
        self.strict = strict
        self.regions: list[tuple[int, np.ndarray, np.ndarray]] = []
        for a, b in slices:
            t = thresholds[a:b]
            order = np.argsort(t, kind="stable")
            finite = np.isfinite(t[order])
            self.regions.append((a, order[finite].astype(np.int64), t[order][finite]))

    def struck(self, levels: np.ndarray) -> np.ndarray:
        """Indices of the policyholders whose threshold the levels (one per region) reach."""
        side = "left" if self.strict else "right"
        parts = [order[: int(np.searchsorted(t, levels[r], side=side))] + a
                 for r, (a, order, t) in enumerate(self.regions) if t.size and levels[r] > -np.inf]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def could_strike(self, levels: np.ndarray) -> bool:
        return any(t.size and (levels[r] > t[0] if self.strict else levels[r] >= t[0])
                   for r, (_, _, t) in enumerate(self.regions))


DENSE_WIDTH = 0.25   # above this share of candidates, drawing every policyholder's uniform is cheaper


def union_on_circle(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of intervals [start, start + width) taken mod 1, as sorted disjoint segments of [0, 1)."""
    pieces = []
    for start, width in intervals:
        w = min(max(width, 0.0), 1.0)
        if w <= 0:
            continue
        if w >= 1.0:
            return [(0.0, 1.0)]
        end = start + w
        if end <= 1.0:
            pieces.append((start, end))
        else:
            pieces += [(start, 1.0), (0.0, end - 1.0)]
    pieces.sort()
    out: list[tuple[float, float]] = []
    for s, e in pieces:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def candidates(rng: np.random.Generator, slices: list[tuple[int, int]], bounds: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Policyholders whose uniform falls in their region's bounding intervals, and those uniforms.

    Exactly as if every policyholder drew a uniform and the ones outside were dropped: per region, the
    number inside is Binomial(n, W) for the intervals' total width W, who they are is a uniform draw
    without replacement, and their uniforms are uniform over the intervals. `rng` is the hour's own
    generator (sim.rng.Streams.hourly), so the draws do not depend on other hours.
    """

    parts_i, parts_u = [], []
    for r, (a, b) in enumerate(slices):
        n = b - a
        if n == 0:
            continue
        segments = union_on_circle([(TYPE_OFFSETS[k], float(bounds[k, r])) for k in range(bounds.shape[0])])
        width = sum(e - s for s, e in segments)
        if width <= 0:
            continue
        if width >= DENSE_WIDTH:  # most policyholders are candidates: draw everyone's uniform
            u = rng.random(n)
            inside = np.zeros(n, dtype=bool)
            for s, e in segments:
                inside |= (u >= s) & (u < e)
            pos = np.flatnonzero(inside)
            parts_i.append(pos + a)
            parts_u.append(u[pos])
            continue
        k = int(rng.binomial(n, width))
        if k == 0:
            continue
        pos = np.sort(rng.choice(n, k, replace=False))
        v = rng.random(k) * width          # a point of the union, laid end to end
        starts = np.array([s for s, _ in segments])
        lengths = np.array([e - s for s, e in segments])
        edges = np.concatenate([[0.0], np.cumsum(lengths)])
        seg = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(segments) - 1)
        parts_i.append(pos + a)
        parts_u.append(np.minimum(starts[seg] + (v - edges[seg]), np.nextafter(1.0, 0.0)))
    if not parts_i:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(parts_i), np.concatenate(parts_u)
