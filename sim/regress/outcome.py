"""The result of a regression check: one row per test case, notes said first, and each change's verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from sim.figures import FIGURES, Figure, figure

Level = Literal["fail", "warn", "info"]


@dataclass
class Row:
    """One test case: scenario x plan x figure of a tier (and which test), an expectation or a provenance check."""

    tier: str
    scenario: str
    plan: str
    figure: str
    passed: bool
    baseline: str = ""
    new: str = ""
    p: float | None = None
    p_adj: float | None = None
    message: str = ""
    test: str = ""              # "fresh seeds" or "same seeds" in the stat tier
    verdict: str = ""           # worse, better or changed (from the figure's good direction), for a failed row
    change: float | None = None  # new - baseline (mean difference in the stat tier)
    ref: float | None = None     # the baseline's value (mean), to say the change relative to it

    @property
    def case(self) -> str:
        return f"{self.figure} ({self.test})" if self.test else self.figure

    @property
    def name(self) -> str:
        return f"{self.scenario}/{self.plan}/{self.case}"


@dataclass(frozen=True)
class Note:
    """Something a reader must know before the figures: a changed scenario file, other package versions."""

    level: Level
    scenario: str
    text: str


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)   # wall time of each tier
    budgets: dict[str, float] = field(default_factory=dict)   # stated budget of each tier

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if not r.passed]


def registry_figure(name: str) -> Figure | None:
    """The registry's figure for a name or a summary key; None for a figure the registry does not list."""
    if name in FIGURES:
        return FIGURES[name]
    try:
        return figure(name)
    except KeyError:
        return None


def verdict(name: str, diff: float | None) -> str:
    """'worse', 'better' or 'changed' for a change of `diff` in the named figure (its declared good direction)."""
    f = registry_figure(name)
    if f is None or diff is None or (isinstance(diff, float) and math.isnan(diff)):
        return "changed"
    return f.verdict(diff)


def label(name: str) -> str:
    """A figure's plain label (its name when the registry does not list it)."""
    f = registry_figure(name)
    return f.label if f is not None else name


def summary(rows: list[Row], hint_p: float = 0.05) -> str:
    """One verdict on the rows of one scenario and plan: worse first, then better, then undirected.

    'WORSE' as soon as a figure moved the wrong way: fewer answered calls can shorten latency or lower the
    abandonment rate, and a reader must not take that for an improvement. When nothing is significantly worse,
    a figure that moved the wrong way with an unadjusted p below `hint_p` is named ("possibly worse"), and then
    an improvement elsewhere is not called "better".
    """
    moved: dict[str, dict[str, Row]] = {"worse": {}, "better": {}, "changed": {}}
    for r in rows:
        if not r.passed and r.verdict in moved and r.figure not in moved[r.verdict]:
            moved[r.verdict][r.figure] = r
    maybe: dict[str, Row] = {}
    for r in rows:  # only needed when nothing is significantly worse: then an improvement must not stand alone
        if (not moved["worse"] and r.passed and r.tier == "stat" and r.p is not None and r.p < hint_p
                and r.figure not in maybe and verdict(r.figure, r.change) == "worse"):
            maybe[r.figure] = r
    if not any(moved.values()):
        return "no change"
    parts = []
    for kind in ("worse", "better", "changed"):
        if moved[kind]:
            parts.append(f"{kind}: " + ", ".join(_moved_text(r) for r in moved[kind].values()))
    if maybe:
        parts.append(f"possibly worse (unadjusted p < {hint_p:g}, not significant after adjustment): "
                     + ", ".join(_moved_text(r) for r in maybe.values()))
    head = ("WORSE" if moved["worse"] else "possibly WORSE" if maybe else "better" if moved["better"]
            else "changed")
    return f"{head} ({'; '.join(parts)})"


def _moved_text(r: Row) -> str:
    """'customers lost on the phone up from 12 to 16.3 (+35%)'."""
    if r.change is None or math.isnan(r.change):
        return label(r.figure)
    direction = "up" if r.change > 0 else "down"
    f = registry_figure(r.figure)
    if r.ref is None or math.isnan(r.ref):
        return f"{label(r.figure)} {direction} ({f.format_diff(r.change) if f else f'{r.change:+.4g}'})"
    old, new = _pair(f, r.ref, r.ref + r.change)
    rel = f" ({100 * r.change / abs(r.ref):+.{1 if abs(r.change) < 0.01 * abs(r.ref) else 0}f}%)" if r.ref else ""
    return f"{label(r.figure)} {direction} from {old} to {new}{rel}"


def _pair(f: Figure | None, a: float, b: float) -> tuple[str, str]:
    """Two values as people read them, with more digits when the usual rounding would show them equal."""
    if f is not None and f.format(a) != f.format(b):
        return f.format(a), f.format(b)
    if f is not None and f.unit == "share":
        return f"{100 * a:.4g}%", f"{100 * b:.4g}%"
    unit = {"h": " h", "min": " min"}.get(f.unit, "") if f is not None else ""
    return f"{a:.5g}{unit}", f"{b:.5g}{unit}"
