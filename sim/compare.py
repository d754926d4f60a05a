"""Plan comparison with common random numbers and honest intervals (`claimsim compare`).

Every plan runs with the same seeds, so each replication of a plan faces the same storm and, where the
plan does not change exposure, the same incidents and the same work content for every claim. The
replication is the independent unit: figures are per-replication numbers with Student-t intervals;
percentiles also get a whole-replication bootstrap interval (claims of resampled replications pooled).
Differences against the baseline plan are paired by seed; their p-values are Holm-adjusted across all
plans and figures of a scenario.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.execution import Failure, RunSpec, Status, execute, run_replication  # noqa: F401 (re-exported)
from sim.figures import REPLICATED, Figure
from sim.scenario import load_scenario
from sim.stats import Interval, bootstrap_percentile, differs, holm, mean_ci, one_sided_bound, paired_t

# The figures compared per replication, by name (sim.figures.REPLICATED); percentiles also get a pooled bootstrap.
FIGURES: dict[str, Figure] = {f.name: f for f in REPLICATED}
PERCENTILES = {"latency_p50": 50, "latency_p90": 90, "latency_p99": 99}
INDEPENDENT_SEED_OFFSET = 1_000_003


@dataclass
class PlanResult:
    plan: str
    reps: list[dict[str, Any]] = field(default_factory=list)

    def values(self, key: str) -> np.ndarray:
        return np.array([r["figures"][key] for r in self.reps], dtype=float)

    def summary(self, key: str) -> tuple[float, float, float]:
        v = self.values(key)
        v = v[~np.isnan(v)]
        return tuple(mean_ci(v))  # type: ignore[return-value]


@dataclass
class Comparison:
    """All replications of all plans of one scenario, and the statistics drawn from them."""

    scenario: str
    scenario_file: str
    baseline: str
    plans: dict[str, PlanResult]
    crn: dict[str, Any] | None = None
    currency: str = "CNY"
    start: Any = None                      # the scenario's start (charts read calendar dates from it)
    targets: tuple[Any, ...] = ()          # sim.targets.Target, resolved against the baseline
    confidence: float = 0.9                # of the targets' one-sided bounds and the ranking rules
    min_effect: dict[str, float] = field(default_factory=dict)  # practical threshold per figure name
    min_effect_share: float = 0.0          # ... or as a share of the baseline's mean
    inputs: str = ""                       # digest of what was compared (scenario, plans file, plans, seeds)

    def threshold(self, key: str) -> float:
        """The smallest difference of a figure that matters in practice (--min-effect)."""
        if key in self.min_effect:
            return self.min_effect[key]
        if self.min_effect_share > 0:
            m = float(np.nanmean(self.plans[self.baseline].values(key)))
            return abs(m) * self.min_effect_share if math.isfinite(m) else 0.0
        return 0.0

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for name, pr in self.plans.items():
            row: dict[str, Any] = {"plan": name, "reps": len(pr.reps)}
            for key in FIGURES:
                m, lo, hi = pr.summary(key)
                row[key] = {"mean": m, "low": lo, "high": hi}
                if key in PERCENTILES:
                    p, blo, bhi = bootstrap_percentile([r["latency"] for r in pr.reps], PERCENTILES[key])
                    row[key].update({"pooled": p, "boot_low": blo, "boot_high": bhi})
            rows.append(row)
        return rows

    def differences(self) -> list[dict[str, Any]]:
        base = self.plans[self.baseline]
        out = []
        for name, pr in self.plans.items():
            if name == self.baseline:
                continue
            for key in FIGURES:
                d = pr.values(key) - base.values(key)
                d = d[~np.isnan(d)]
                if d.size < 2:
                    continue
                (m, lo, hi), p = paired_t(d)
                out.append({"plan": name, "figure": key, "diff": m, "low": lo, "high": hi, "p": p})
        for row, adj in zip(out, holm([r["p"] for r in out]), strict=True):
            fig = FIGURES[row["figure"]]
            row["p_holm"] = adj
            interval = Interval(row["diff"], row["low"], row["high"], 0)
            row["significant"] = bool(adj < 0.05 and differs(interval))
            row["min_effect"] = self.threshold(row["figure"])
            row["detectable"] = bool(row["significant"] and differs(interval, row["min_effect"]))
            row["better"] = bool(row["detectable"] and fig.improves(row["diff"]))
            row["verdict"] = (fig.verdict(row["diff"]) if row["detectable"] else
                              "below the practical threshold" if row["significant"] else "no detectable difference")
        return out

    def target_rows(self) -> list[dict[str, Any]]:
        """Each plan against each target: mean, the one-sided bound the target is judged on, and met or not."""
        out = []
        for name, pr in self.plans.items():
            for t in self.targets:
                v = pr.values(t.figure.name)
                bound = t.bound(v, self.confidence)
                out.append({"plan": name, "target": t.describe(self.currency), "figure": t.figure.name,
                            "mean": float(np.nanmean(v)), "bound": bound, "met": t.slack(bound) <= 0})
        return out

    def recommendation(self, key: str = "latency_p90") -> dict[str, Any]:
        """The plan to recommend, by a rule on confidence bounds (never on point means alone).

        With targets: the cheapest plan (by the upper 90% bound of its operating cost) whose bounds meet every
        target; if none does, the plan closest to them. Without: the plan with the best pessimistic bound of the
        key figure whose improvement over the baseline is detectable; the baseline if none is.
        """
        cost = FIGURES["cost"]
        conf = self.confidence

        def pessimistic(name: str, fig: Figure) -> float:
            return one_sided_bound(self.plans[name].values(fig.name), conf, upper=fig.better != "higher")

        if self.targets:
            rows = self.target_rows()
            met = [p for p in self.plans if all(r["met"] for r in rows if r["plan"] == p)]
            if met:
                pick = min(met, key=lambda p: pessimistic(p, cost))
                why = (f"the cheapest plan (by the {100 * conf:.0f}% upper bound of its operating cost) whose "
                       f"{100 * conf:.0f}% bounds meet every target")
            else:
                pick = min(self.plans, key=lambda p: max(t.slack(r["bound"]) for t in self.targets for r in rows
                                                         if r["plan"] == p and r["figure"] == t.figure.name))
                why = "no plan meets every target; this one comes closest"
            return {"plan": pick, "why": why, "meets": pick in met}
        fig = FIGURES[key]
        better = {d["plan"] for d in self.differences() if d["figure"] == key and d["better"]}
        if not better:
            return {"plan": self.baseline, "why": f"no plan changes {fig.label} detectably from the baseline",
                    "meets": None}
        sign = 1 if fig.better != "higher" else -1
        pick = min(better, key=lambda p: sign * pessimistic(p, fig))
        return {"plan": pick, "why": f"the best {100 * conf:.0f}% pessimistic bound of {fig.label} among the plans "
                                     "that improve it detectably", "meets": None}


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated in (cost, p90): lower is better on both."""
    front = []
    for i, (c, p) in enumerate(points):
        dominated = any((c2 <= c and p2 <= p) and (c2 < c or p2 < p) for j, (c2, p2) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return front


# ---------------------------------------------------------------------------- running


class RunsFailed(Exception):
    """Some runs of a comparison failed (the others finished and their folders are kept)."""

    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} run(s) failed: " + "; ".join(f.line() for f in failures[:3]))


@dataclass(frozen=True)
class Engine:
    """Where and how replications run: see `sim.execution.execute`."""

    workers: int = 1
    executor: Any = None  # a concurrent.futures.Executor, or None for the local process pool
    capacity: int | None = None
    bundle: int = 1
    resume: bool = True


def run_all(specs: list[RunSpec], workers: int | Engine = 1, progress: Callable[[Status], None] | None = None
            ) -> list[dict[str, Any]]:
    """Run replications; results in the order of `specs`, whatever the executor or worker count.

    Every run is attempted; if any failed, `RunsFailed` names each of them afterwards.
    """
    engine = workers if isinstance(workers, Engine) else Engine(workers=workers)
    results = execute(specs, workers=engine.workers, executor=engine.executor, capacity=engine.capacity,
                      bundle=engine.bundle, resume=engine.resume, progress=progress)
    failures = [r for r in results if isinstance(r, Failure)]
    if failures:
        raise RunsFailed(failures)
    return [r for r in results if not isinstance(r, Failure)]


def compare_scenario(path: Path, plans: list[str], reps: int, seed: int | None, hours: int | None, out: Path,
                     workers: int | Engine, plans_file: Path | None, precision: float | None, max_reps: int,
                     key: str, crn_check: bool, progress: Callable[[Status], None] | None = None) -> Comparison:
    """Run `plans` of one scenario over replications (adding some until `precision` is met) and compare them."""
    sf = load_scenario(path)
    if plans_file:
        sf.add_plans_file(plans_file)
    for plan in plans:
        sf.resolve(plan)  # unknown plans fail here, before anything runs
    base_seed = sf.resolve().seed if seed is None else seed
    name = sf.name
    runs_dir = out / "runs"
    results: dict[str, PlanResult] = {p: PlanResult(p) for p in plans}

    def specs_for(seeds: range, plan_list: list[str], tag: str = "") -> list[RunSpec]:
        return [RunSpec(str(path), str(plans_file) if plans_file else None, plan, s, hours,
                        str(runs_dir / f"{plan}{tag}" / f"seed-{s}")) for plan in plan_list for s in seeds]

    have = 0
    target = reps
    total_planned = reps * len(plans)
    while True:
        specs = specs_for(range(base_seed + have, base_seed + target), plans)
        offset = have * len(plans)

        def tick(st: Status, offset: int = offset, total: int = max(total_planned, offset + len(specs))) -> None:
            if progress:
                progress(Status(total, offset + st.done, st.running, st.failed, st.reused))

        for res in run_all(specs, workers, tick):
            results[res["plan"]].reps.append(res)
        have = target
        if precision is None or have >= max_reps:
            break
        worst = max(_half_width_share(results[p], key) for p in plans)
        if worst <= precision:
            break
        target = min(max_reps, have + max(2, have // 2))
        total_planned = target * len(plans)
    for pr in results.values():
        pr.reps.sort(key=lambda r: r["seed"])
    base = sf.resolve()
    comparison = Comparison(name, str(path), plans[0], results, currency=base.currency, start=base.start)
    if crn_check and len(plans) > 1:
        comparison.crn = crn_variance(path, plans_file, plans[0], plans[1], base_seed, have, hours, workers,
                                      results, key, out / "runs-independent")
    return comparison


def _half_width_share(pr: PlanResult, key: str) -> float:
    m, lo, hi = pr.summary(key)
    if not np.isfinite(hi) or m == 0:
        return math.inf
    return (hi - lo) / 2 / abs(m)


def crn_variance(path: Path, plans_file: Path | None, base: str, plan: str, base_seed: int, reps: int,
                 hours: int | None, workers: int | Engine, results: dict[str, PlanResult], key: str,
                 runs_dir: Path | None = None) -> dict[str, Any]:
    """Variance of the paired difference plan - base with common seeds against independent seeds."""
    seeds = range(base_seed + INDEPENDENT_SEED_OFFSET, base_seed + INDEPENDENT_SEED_OFFSET + reps)
    specs = [RunSpec(str(path), str(plans_file) if plans_file else None, plan, s, hours,
                     str(runs_dir / plan / f"seed-{s}") if runs_dir else None) for s in seeds]
    independent = np.array([r["figures"][key] for r in run_all(specs, workers)])
    crn_diff = results[plan].values(key) - results[base].values(key)
    ind_diff = independent - results[base].values(key)
    v_crn = float(np.var(crn_diff, ddof=1)) if reps > 1 else float("nan")
    v_ind = float(np.var(ind_diff, ddof=1)) if reps > 1 else float("nan")
    return {"plan": plan, "base": base, "figure": key, "reps": reps, "var_crn": v_crn, "var_independent": v_ind,
            "shrink": v_ind / v_crn if v_crn > 0 else float("inf")}


# ---------------------------------------------------------------------------- several scenarios


def robustness(comparisons: list[Comparison], key: str, target_p90_h: float, target_paid_7d: float,
               confidence: float = 0.9) -> dict[str, Any]:
    """Plan x scenario matrix of the key figure, each plan's regret, and four robustness rules.

    Rules and targets use the pessimistic one-sided bound of each plan's mean at `confidence` (the upper bound
    where lower is better), not the point mean: a plan does not win on noise.
    """
    plans = list(comparisons[0].plans)
    lower_better = FIGURES[key].better != "higher"
    matrix = {c.scenario: {p: one_sided_bound(c.plans[p].values(key), confidence, upper=lower_better)
                           for p in plans} for c in comparisons}
    regret = {}
    for scen, row in matrix.items():
        best = min(row.values()) if lower_better else max(row.values())
        regret[scen] = {p: (v - best) if lower_better else (best - v) for p, v in row.items()}
    meets = {}
    for c in comparisons:
        meets[c.scenario] = {p: bool(one_sided_bound(c.plans[p].values("latency_p90"), confidence) <= target_p90_h
                                     and one_sided_bound(c.plans[p].values("paid_7d"), confidence, upper=False)
                                     >= target_paid_7d) for p in plans}
    pick = min if lower_better else max
    mean_over = {p: float(np.mean([matrix[s][p] for s in matrix])) for p in plans}
    worst = {p: (max if lower_better else min)(matrix[s][p] for s in matrix) for p in plans}
    max_regret = {p: max(regret[s][p] for s in matrix) for p in plans}
    share_meeting = {p: float(np.mean([meets[s][p] for s in matrix])) for p in plans}
    return {
        "figure": key, "matrix": matrix, "regret": regret, "meets_target": meets,
        "target": {"p90_h": target_p90_h, "paid_7d": target_paid_7d}, "confidence": confidence,
        "rules": {
            "best mean over scenarios": pick(plans, key=lambda p: mean_over[p]),
            "best worst case": pick(plans, key=lambda p: worst[p]),
            "minimax regret": min(plans, key=lambda p: max_regret[p]),
            "most scenarios meeting the target": max(plans, key=lambda p: share_meeting[p]),
        },
        "mean_over_scenarios": mean_over, "worst_case": worst, "max_regret": max_regret,
        "share_meeting_target": share_meeting,
    }


# ---------------------------------------------------------------------------- output


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x))


def _csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    buf = io.StringIO(newline="")
    if rows:
        names = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=names)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()})
    return buf.getvalue()
