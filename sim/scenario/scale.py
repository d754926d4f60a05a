"""A scenario at a smaller scale: every count of policyholders and staff multiplied by the same factor.

Shares and progress curves of a catastrophe depend on load over capacity, not on size, so a 1:20 model of
a 500,000-claim flood closes the same share of its claims by day 14 as the full one, to within sampling
noise and the rounding of small pools. `claimsim calibrate --scale` fits on such a model; the fitted
parameters (durations, probabilities) apply to the full scenario unchanged.
"""

from __future__ import annotations

import math
from typing import Any

from sim.scenario.spec import Scenario
from sim.vocab import POPULATIONS


def _people(n: int, factor: float) -> int:
    """A scaled headcount: rounded, and never a pool emptied by the scaling."""
    return 0 if n == 0 else max(1, int(math.floor(n * factor + 0.5)))


def scale_overrides(scenario: Scenario, factor: float) -> dict[str, Any]:
    """Overrides (for ScenarioFile.variant) that scale policyholders and staff of `scenario` by `factor`."""
    if not 0 < factor <= 1:
        raise ValueError("the scale is a factor in (0, 1]")
    regions = []
    for r in scenario.regions:
        data = r.model_dump(mode="python", by_alias=True)
        for pop in POPULATIONS:
            data["portfolio"][pop]["count"] = int(math.floor(data["portfolio"][pop]["count"] * factor + 0.5))
        regions.append(data)
    staff: dict[str, Any] = {}
    for role, spec in scenario.operations.staff.items():
        hc = spec.headcount
        entry: dict[str, Any] = {"headcount": {k: _people(v, factor) for k, v in hc.items()}
                                 if isinstance(hc, dict) else _people(hc, factor)}
        if spec.surge is not None:
            res = spec.surge.reserve
            entry["surge"] = {"reserve": {k: _people(v, factor) for k, v in res.items()}
                              if isinstance(res, dict) else _people(res, factor)}
        if spec.moves:
            entry["moves"] = [{**m.model_dump(mode="python"), "count": _people(m.count, factor)}
                              for m in spec.moves]
        staff[role] = entry
    return {"regions": regions, "operations": {"staff": staff}}
