"""What every validation case shares: the table row, the job of one replication, the pass rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.stats import mean_ci

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
STATIONARY = SCENARIOS / "validation" / "stationary.yaml"
YINCHUAN = SCENARIOS / "yinchuan-first-snow.yaml"
NORTH_CHINA = SCENARIOS / "north-china-blizzard.yaml"
SERVICE_LEVEL_H = 20.0 / 3600.0
PASS_LEVEL = 0.999


@dataclass
class Row:
    """One line of the validation table."""

    case: str
    name: str
    measure: str
    theory: float
    mean: float
    low: float
    high: float
    reps: int
    passed: bool
    rule: str = "theory within the 99.9% CI"

    def __post_init__(self) -> None:  # plain Python types, whatever numpy handed over
        self.theory, self.mean, self.low, self.high = (float(x) for x in (self.theory, self.mean, self.low, self.high))
        self.reps, self.passed = int(self.reps), bool(self.passed)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Job:
    """One replication of one configuration: a picklable call of a measurement function."""

    case: str
    config: str
    fn: str
    kwargs: dict[str, Any] = field(hash=False)


# ---------------------------------------------------------------------------- statistics


def compare(case: str, name: str, measure: str, theory_value: float, sims: list[float]) -> Row:
    m, lo, hi = mean_ci(sims)
    _, plo, phi = mean_ci(sims, PASS_LEVEL)
    tol = 1e-9 + 1e-9 * abs(theory_value)
    ok = bool(plo - tol <= theory_value <= phi + tol) if len(sims) > 1 else False
    return Row(case, name, measure, theory_value, m, lo, hi, len(sims), ok)



@dataclass
class Case:
    key: str
    title: str
    jobs: Callable[[bool], list[Job]]
    rows: Callable[[dict[str, list[dict[str, Any]]], bool], list[Row]]



def replications(full: bool, quick: int, many: int) -> int:
    """Replications of a configuration in the quick or the full set."""
    return many if full else quick


def paired_row(case: str, name: str, measure: str, theory_value: float, diffs: list[float]) -> Row:
    """A row from per-replication differences sim - theory (each replication's own arrival rate)."""
    row = compare(case, name, measure, 0.0, diffs)
    return Row(case, name, measure, theory_value, theory_value + row.mean, theory_value + row.low,
               theory_value + row.high, row.reps, row.passed)
