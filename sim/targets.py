"""Service targets a plan must meet, judged on a one-sided confidence bound over replications, never on the mean.

A target names a figure as summary.json does (`settlement_latency_hours.p90<=48`) or by its short name
(`latency_p90<=48`), with `<=` or `>=` and a value. A value with `%` is relative to the reference plan's mean
(`latency_p90<=90%`: at most 90% of what the plan the search starts from achieves), which keeps a target
meaningful when the model's absolute numbers move. "At most V with 90% confidence" is met when the one-sided
90% upper bound of the mean over replications is at most V (sim.stats.one_sided_bound).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sim import fmt
from sim.errors import InputError
from sim.figures import Figure, UnknownFigure, figure
from sim.stats import one_sided_bound

TARGET = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.]*)\s*(<=|>=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class Target:
    """A figure, a direction and a value (absolute, or a share of the reference plan's mean until resolved)."""

    figure: Figure
    op: str                       # "<=" or ">="
    value: float | None           # None while a relative target waits for the reference plan's mean
    relative: float | None = None
    text: str = ""

    @property
    def upper(self) -> bool:
        """Whether the target caps the figure (the upper bound is what must meet it)."""
        return self.op == "<="

    def resolve(self, reference_mean: float) -> Target:
        """The absolute target of a relative one, from the reference plan's mean."""
        if self.relative is None:
            return self
        return replace(self, value=self.relative * reference_mean)

    def bound(self, values: Iterable[float], confidence: float) -> float:
        """The one-sided bound the target is judged on: upper for `<=`, lower for `>=`."""
        return one_sided_bound(values, confidence, upper=self.upper)

    def slack(self, bound: float) -> float:
        """How far the bound is past the target (> 0: missed; <= 0: met); a missing bound is a miss."""
        if self.value is None:
            raise ValueError("unresolved relative target")
        if bound is None or math.isnan(bound):
            return math.inf
        return bound - self.value if self.upper else self.value - bound

    def met(self, values: Iterable[float], confidence: float) -> bool:
        return self.slack(self.bound(values, confidence)) <= 0

    def describe(self, currency: str = "CNY") -> str:
        """'settlement latency p90 at most 43.2 h' (with the relative share when there is one)."""
        words = "at most" if self.upper else "at least"
        value = "n/a" if self.value is None else fmt.value(self.value, self.figure.unit, currency)
        rel = f" ({100 * self.relative:g}% of the reference plan's mean)" if self.relative is not None else ""
        return f"{self.figure.label} {words} {value}{rel}"


def parse_target(text: str, option: str = "--target") -> Target:
    """`FIGURE<=VALUE`, `FIGURE>=VALUE` or a relative `FIGURE<=90%`; a bad one is a one-line InputError."""
    m = TARGET.fullmatch(text)
    if not m:
        raise InputError(f"expected FIGURE<=VALUE or FIGURE>=VALUE (e.g. settlement_latency_hours.p90<=48 or "
                         f"latency_p90<=90%), got '{text}'", key_path=option)
    name, op, number, pct = m.groups()
    try:
        fig = figure(name)
    except UnknownFigure as err:
        raise InputError(str(err), key_path=option) from None
    x = float(number)
    if pct:
        if x <= 0:
            raise InputError(f"a relative target is a positive share, got '{text}'", key_path=option)
        return Target(fig, op, None, x / 100.0, text.strip())
    return Target(fig, op, x, None, text.strip())
