"""Scenario regression (`claimsim regress`): tell an intended change from an accident, as a merge gate.

Against baselines committed under results/baselines/<scenario>.json, for the scenarios of
scenarios/regress/regress.yaml:

1. provenance (baselines.py): the scenario and plans files must be those the baseline was made from (else
   the check says so first, and fails); other package versions are a warning.
2. exact (exact.py): each scenario and plan at a fixed seed, through its storm's peak (config.py derives the
   horizon from the hazard), reproduces every figure to 6 significant digits and its claims digest.
3. stat (stat.py): the headline figures of the registry over replications, on fresh seeds and on the
   baseline's own seeds, Holm within each scenario and Bonferroni across scenarios; every change found is
   called worse, better or changed from the figure's declared good direction.
4. expectations: planners' bounds on a figure's mean, on the statistical tier's replications.

coverage.py lists the code defaults no scenario under regression exercises; report.py writes JUnit XML and
the Markdown for a merge request. docs/REGRESSION.md has the measured false-alarm rate and power.
"""

from __future__ import annotations

from typing import Any

from sim.regress.baselines import (
    Baseline,
    baseline_path,
    compare_provenance,
    describe_changes,
    load_baseline,
    provenance,
    write_baseline,
)
from sim.regress.config import (
    BASELINES,
    CONFIG,
    ExactConfig,
    RegressConfig,
    ScenarioEntry,
    StatConfig,
    StormPeak,
    Target,
    exact_horizon,
    read_config,
    storm_peak,
)
from sim.regress.coverage import Coverage, defaults_coverage
from sim.regress.exact import check_exact, claims_digest, flatten, round_sig
from sim.regress.outcome import Note, Outcome, Row, summary, verdict
from sim.regress.report import junit, markdown
from sim.regress.runs import FRESH_OFFSET, measure
from sim.regress.stat import PAIRED_MARGIN, check_expectations, check_stat, tier_figures
from sim.stats import ancova_p, welch_p

__all__ = [
    "BASELINES", "CONFIG", "FRESH_OFFSET", "PAIRED_MARGIN", "Baseline", "Coverage", "ExactConfig", "Note", "Outcome",
    "RegressConfig", "Row", "ScenarioEntry", "StatConfig", "StormPeak", "Target", "ancova_p", "baseline_path",
    "check", "check_exact", "check_expectations", "check_stat", "claims_digest", "compare_provenance",
    "defaults_coverage", "describe_changes", "exact_horizon", "flatten", "junit", "load_baseline", "markdown",
    "measure", "provenance", "read_config", "round_sig", "storm_peak", "summary", "tier_figures", "verdict",
    "welch_p", "write_baseline",
]


def check(measured: dict[str, dict[str, Any]], baselines: dict[str, dict[str, Any]], alpha: float,
          targets: list[Target], names: list[str] | None = None, families: int | None = None) -> Outcome:
    """Compare measured figures with the baselines: provenance first, then the tiers and the expectations.

    `names`: the statistical tier's figures (default: the registry's headline figures); `families`: the number
    of scenarios of the whole gate, for the Bonferroni step across scenarios (default: those measured).
    """
    out = Outcome()
    for t in targets:
        base = baselines.get(t.name) or {}
        if "provenance" in base:
            notes, rows = compare_provenance(t, base)
            out.notes += notes
            out.rows += rows
    for name, m in measured.items():
        if "exact" in m:
            out.rows += check_exact(name, m["exact"], (baselines.get(name) or {}).get("exact"))
    out.rows += check_stat(measured, baselines, alpha, names or [f.name for f in tier_figures(StatConfig())],
                           families)
    out.rows += check_expectations(measured, targets)
    return out
