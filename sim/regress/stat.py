"""The statistical tier: the headline figures over replications against the baseline's, and the expectations.

Figures: every headline figure of the registry (sim.figures.REPLICATED: claims, latency, abandonment, customers
lost, cost, ...) and any the config adds (`stat.extra_figures`). Each is compared two ways:

- fresh seeds (a seed block the baseline did not use), a two-sample test: Welch's t for the claim count;
  for the other figures, analysis of covariance on the replication's claim count, which removes the spread
  that comes from the size of each replication's storm;
- the baseline's own seeds, a paired t-test of the per-seed differences beyond a numerical-noise margin
  (common random numbers). A refactor that draws random numbers differently makes the pairs independent,
  and the test keeps its level.

Multiple testing: each scenario is one family, Holm-adjusted within (every plan, figure and test of that
scenario); across scenarios, Bonferroni: a family's adjusted p-values are multiplied by the number of
scenarios in the tier. The chance of any false alarm in a whole check stays at most alpha, and a change seen
in one scenario competes only with that scenario's tests, whatever the size of the others.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.execution import Failure, RunSpec
from sim.figures import FIGURES, REPLICATED, Figure, figure
from sim.regress.config import StatConfig, Target
from sim.regress.outcome import Row, verdict
from sim.stats import ancova_p, holm, mean_ci, one_sided_bound, paired_margin_p, welch_p

PAIRED_MARGIN = 1e-6  # relative: paired differences this small are numerical noise, not a change
COVARIATE = "claims"  # the storm's size in a replication (analysis of covariance)


def tier_figures(cfg: StatConfig) -> tuple[Figure, ...]:
    """The figures the tier compares: the registry's headline figures and the config's extra ones."""
    out = list(REPLICATED)
    for name in cfg.extra_figures:
        f = figure(name)
        if f not in out:
            out.append(f)
    return tuple(out)


def stat_task(spec: RunSpec) -> dict[str, Any]:
    """Worker task of the statistical tier: every registry figure of one replication (NaN where absent)."""
    from sim.execution import simulate_spec

    res = simulate_spec(spec)
    return {"plan": spec.plan, "seed": spec.seed,
            "figures": {f.name: f.number(res.summary["figures"]) for f in FIGURES.values()}}


def stat_values(results: list[dict[str, Any] | Failure], names: list[str]) -> dict[str, list[float | None]]:
    """Per figure, its value in each replication (10 significant digits; None where it has no value)."""
    out: dict[str, list[float | None]] = {k: [] for k in names}
    for r in results:
        if isinstance(r, Failure):
            raise InputError(f"run failed: {r.line()}")
        for k in out:
            v = float(r["figures"].get(k, math.nan))
            out[k].append(None if not math.isfinite(v) else float(f"{v:.9e}") if v else 0.0)
    return out


def _arr(values: list[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _nanmean(a: np.ndarray) -> float:
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else math.nan


def _ci_text(a: np.ndarray, f: Figure | None) -> str:
    m, lo, hi = mean_ci(list(a))
    show = f.format if f is not None else (lambda x: f"{x:.4g}")
    if math.isnan(m):
        return "n/a"
    return f"{show(m)} [{show(lo)}, {show(hi)}]" if not math.isnan(lo) else show(m)


def check_stat(measured: dict[str, dict[str, Any]], baselines: dict[str, dict[str, Any]], alpha: float,
               names: list[str], families: int | None = None) -> list[Row]:
    """Rows of the tier for every scenario measured: Holm within each scenario, Bonferroni across scenarios.

    `families`: the number of scenario families of the whole check (default: those measured here; an
    experiment that measures a few scenarios of a larger gate gives the gate's number).
    """
    scenarios = [s for s, m in measured.items() if "stat" in m]
    families = max(1, families or len(scenarios))
    rows: list[Row] = []
    for name in scenarios:
        m = measured[name]
        base = baselines.get(name, {}).get("stat") or {}
        family: list[Row] = []
        for plan, figs in m["stat"]["plans"].items():
            b = (base.get("plans") or {}).get(plan)
            if b is None:
                rows.append(Row("stat", name, plan, "(baseline)", False,
                                message="no statistical baseline for this plan: run `claimsim regress --update`"))
                continue
            same = ((m.get("paired") or {}).get("plans") or {}).get(plan)
            same_seeds = (m.get("paired") or {}).get("seeds") == base.get("seeds")
            for k in names:
                if k not in b or COVARIATE not in b:
                    rows.append(Row("stat", name, plan, k, False, message=f"{k} is not in the baseline (a figure "
                                    "added to the tier): run `claimsim regress --update`"))
                    continue
                f = FIGURES.get(figure(k).key)
                old, new = _arr(b[k]), _arr(figs[k])
                ref = _nanmean(old)
                if same is not None and same_seeds:
                    again = _arr(same[k])
                    dm, dlo, dhi = mean_ci(list(again - old))
                    paired = f" (paired difference {dm:+.4g} [{dlo:+.4g}, {dhi:+.4g}])" if not math.isnan(dlo) else ""
                    family.append(Row("stat", name, plan, k, True, _ci_text(old, f), _ci_text(again, f) + paired,
                                      p=paired_margin_p(list(again), list(old), PAIRED_MARGIN), test="same seeds",
                                      change=dm, ref=ref))
                p = (welch_p(old, new) if k == COVARIATE else
                     ancova_p(list(old), list(new), list(_arr(b[COVARIATE])), list(_arr(figs[COVARIATE]))))
                family.append(Row("stat", name, plan, k, True, _ci_text(old, f), _ci_text(new, f), p=p,
                                  test="fresh seeds", change=_nanmean(new) - ref, ref=ref))
        for r, adj in zip(family, holm([1.0 if r.p is None or math.isnan(r.p) else r.p for r in family]),
                          strict=True):
            r.p_adj = min(1.0, adj * families)
            r.passed = r.p_adj >= alpha
            if not r.passed:
                r.verdict = verdict(r.figure, r.change)
                r.message = (f"{r.figure} moved ({r.test}), {r.verdict}: {r.baseline} -> {r.new} "
                             f"(adjusted p = {r.p_adj:.2g})")
        rows += family
    return rows


def check_expectations(measured: dict[str, dict[str, Any]], targets: list[Target]) -> list[Row]:
    """Each scenario's `expectations:`: the one-sided confidence bound of the mean against its limit."""
    rows = []
    for t in targets:
        stat = measured.get(t.name, {}).get("stat")
        for exp in t.file.resolve().expectations:
            if stat is None or exp.plan not in stat["plans"]:
                continue
            v = _arr(stat["plans"][exp.plan].get(exp.figure, []))
            v = v[~np.isnan(v)]
            m = float(v.mean()) if v.size else math.nan
            upper = exp.at_most is not None
            bound = one_sided_bound(v, exp.confidence, upper=upper)
            limit = exp.at_most if upper else exp.at_least
            ok = (not math.isnan(bound)) and (bound <= limit if upper else bound >= limit)  # type: ignore[operator]
            rule = f"{'at most' if upper else 'at least'} {limit:g}"
            text = f"{exp.figure} mean {m:.4g}, {100 * exp.confidence:.0f}% bound {bound:.4g}; expected {rule}"
            rows.append(Row("expectation", t.name, exp.plan, exp.name, bool(ok), rule,
                            f"{m:.4g} (bound {bound:.4g})", message="" if ok else text))
    return rows
