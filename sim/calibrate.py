"""`claimsim calibrate`: fit unknown parameters of a scenario so that its claims progress like an observed event.

The observed file (scenarios/observed/*.csv) gives points `day, metric, value, segment`: the share of claims
reported (of the event's eventual total), closed or paid (of the claims reported so far) by a day after the
event's day 0. The simulated curve of a candidate is the mean over replications of the same points
(sim.stages.progress), and the fit minimises the mean squared error in percentage points.

Search: Optuna's TPE sampler. A run of a catastrophe is minutes of CPU, so the search must learn from few,
noisy evaluations and handle bounded, mixed parameters; TPE does, is well kept, seeds reproducibly and
resumes from its own storage. ABC samplers (pyabc) would give a proper posterior but need thousands of runs.
Every candidate runs on the same seeds (common random numbers), so candidates differ by their parameters, not
by their luck. Uncertainty: each trial is weighted by its approximate likelihood exp(-SSE / 2 s^2), where s^2
is the replication variance of the points at the best candidate; the weighted spread of a parameter over the
trials is its uncertainty, and a parameter whose spread covers most of its range is reported as not
identified by the data. Out-of-sample: a second fit on the early points alone predicts the later ones.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.execution import Failure, RunSpec, execute
from sim.inputs import read_bytes
from sim.scenario import ScenarioFile, deep_merge
from sim.scenario.spec import PLAN_KEYS
from sim.vocab import SEGMENTS

METRICS = ("reported", "closed", "paid")
OBSERVED_COLUMNS = ("day", "metric", "value", "segment")
SCALED_KEYS = ("mean", "median", "value")   # what a multiplier scales inside a distribution


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Point:
    """One observed point."""

    day: float
    metric: str
    segment: str
    value: float
    line: int


def read_observed(path: Path) -> list[Point]:
    """The observed curve file; one-line errors with the file's line (contents of foreign files never echoed)."""
    path = Path(path)
    text = read_bytes(path, "observed progress CSV").decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(text.splitlines())
    cols = reader.fieldnames or []
    if not set(OBSERVED_COLUMNS) <= set(cols):
        raise InputError(f"not an observed progress CSV: the first line must name the columns "
                         f"{', '.join(OBSERVED_COLUMNS)} (and optionally source)", file=path, line=1)
    points = []
    for row in reader:
        line = reader.line_num
        try:
            day, value = float(row["day"]), float(row["value"])
        except (TypeError, ValueError):
            raise InputError("day and value must be numbers", file=path, line=line) from None
        if not (math.isfinite(day) and math.isfinite(value)) or day < 0 or value < 0:
            raise InputError("day and value must be finite and not negative", file=path, line=line)
        metric, segment = (row.get("metric") or "").strip(), (row.get("segment") or "all").strip() or "all"
        if metric not in METRICS:
            raise InputError(f"metric must be one of {', '.join(METRICS)}", file=path, line=line, key_path="metric")
        if segment not in SEGMENTS:
            raise InputError(f"segment must be one of {', '.join(SEGMENTS)}", file=path, line=line,
                             key_path="segment")
        points.append(Point(day, metric, segment, value, line))
    if not points:
        raise InputError("no observed points", file=path, line=1)
    return points


@dataclass(frozen=True)
class Param:
    """A parameter to fit: a number in the scenario (`path=LOW:HIGH`), or a multiplier of every number under a
    node (`path*=LOW:HIGH`: headcounts by region, the mean of a distribution)."""

    path: tuple[str, ...]
    low: float
    high: float
    multiply: bool

    @property
    def name(self) -> str:
        return ".".join(self.path) + ("*" if self.multiply else "")


PARAM = re.compile(r"^([A-Za-z0-9_.]+)(\*?)=([-+0-9.eE]+):([-+0-9.eE]+)$")

# Fitted when none is named: how fast customers report, and the capacity and habits behind the long tail.
DEFAULT_PARAMS = (
    "behaviour.drivers.report_delay_h*=0.3:3",
    "behaviour.households.report_delay_h*=0.3:3",
    "operations.staff.field_survey.headcount*=0.5:3",
    "operations.staff.repair.headcount*=0.5:4",
    "operations.claim_life.repair.paid_on_repair.drivers=0:1",
    "operations.service.documents_h*=0.3:3",
)


def parse_param(text: str, base: dict[str, Any]) -> Param:
    m = PARAM.match(text.strip())
    if not m:
        raise InputError("a parameter is NAME=LOW:HIGH (a number) or NAME*=LOW:HIGH (a multiplier), e.g. "
                         "operations.staff.repair.headcount*=0.5:3", key_path="--param")
    path = tuple(m.group(1).split("."))
    if path[0] not in PLAN_KEYS - {"description", "extends"}:
        raise InputError(f"{m.group(1)}: only what a plan may change can be fitted (keys under "
                         f"{', '.join(sorted(PLAN_KEYS - {'description', 'extends'}))})", key_path="--param")
    low, high = float(m.group(3)), float(m.group(4))
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise InputError(f"{m.group(1)}: LOW must be below HIGH", key_path="--param")
    node: Any = base
    for part in path:
        if not isinstance(node, dict) or part not in node:
            raise InputError(f"no setting '{'.'.join(path)}' in the scenario (a key path such as "
                             "operations.staff.repair.headcount)", key_path="--param")
        node = node[part]
    multiply = bool(m.group(2))
    if not multiply and not (isinstance(node, (int, float)) and not isinstance(node, bool)):
        raise InputError(f"{'.'.join(path)} is not a number: fit a multiplier with *=", key_path="--param")
    if multiply and low <= 0:
        raise InputError(f"{'.'.join(path)}: a multiplier's range must be above 0", key_path="--param")
    return Param(path, low, high, multiply)


def apply(base: dict[str, Any], params: list[Param], values: dict[str, float]) -> dict[str, Any]:
    """Overrides that set each parameter to its value (plan syntax, deep-merged onto the plan)."""
    out: dict[str, Any] = {}
    for p in params:
        node: Any = base
        for part in p.path:
            node = node[part]
        value = _scaled(node, values[p.name], p.path[-1]) if p.multiply else _typed(node, values[p.name])
        target = out
        for part in p.path[:-1]:
            target = target.setdefault(part, {})
        target[p.path[-1]] = deep_merge(target.get(p.path[-1], {}), value) if isinstance(value, dict) else value
    return out


def _typed(old: Any, x: float) -> Any:
    return int(round(x)) if isinstance(old, int) and not isinstance(old, bool) else float(x)


def _scaled(node: Any, factor: float, key: str) -> Any:
    """Every count (headcounts) or distribution centre under `node` times `factor`."""
    if isinstance(node, dict):
        if "dist" in node:
            return {k: (v * factor if k in SCALED_KEYS and isinstance(v, (int, float)) else v)
                    for k, v in node.items() if v is not None}
        return {k: _scaled(v, factor, k) for k, v in node.items()}
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return node
    return max(1, int(round(node * factor))) if isinstance(node, int) and node > 0 else node * factor


# ---------------------------------------------------------------------------- one evaluation


def progress_task(spec: RunSpec) -> dict[str, Any]:
    """Run one candidate's replication and return its progress table (module level: runs in workers)."""
    from sim.model import ClaimsModel
    from sim.runner import collect
    from sim.scenario import load_scenario
    from sim.stages import progress

    extra = json.loads(spec.overrides or "{}")
    days = np.array(extra.pop("__days"), dtype=float)
    sf = load_scenario(spec.scenario)
    scenario = sf.variant(extra, spec.plan)
    model = ClaimsModel(scenario, seed=spec.seed, hours=spec.hours)
    model.run()
    res = collect(model, sf)
    table = progress(res.claims, days, scenario.day0_h)
    return {"plan": spec.plan, "seed": spec.seed, "progress": table.to_dict(orient="list"),
            "claims": len(res.claims)}


def simulated(points: list[Point], tables: list[dict[str, Any]], scale: float) -> np.ndarray:
    """Each observed point's simulated value in each replication: (replications, points)."""
    out = np.full((len(tables), len(points)), np.nan)
    for r, t in enumerate(tables):
        df = pd.DataFrame(t)
        for j, p in enumerate(points):
            row = df[(df["day"] == p.day) & (df["segment"] == p.segment)]
            if row.empty:
                continue
            if p.value > 1:  # a count: the scaled model's count back at full size
                out[r, j] = float(row["reported"].iloc[0]) / scale if p.metric == "reported" else np.nan
            else:
                out[r, j] = float(row[f"{p.metric}_share"].iloc[0])
    return out


OBJECTIVES = ("rmse", "worst")


def loss(points: list[Point], sims: np.ndarray, objective: str = "rmse") -> float:
    """What the search minimises. `rmse`: the mean squared error in percentage points (counts: relative error in
    percent) over the points. `worst`: the largest miss, in points (for a fit that must hold every point within
    a tolerance), with a hundredth of the root mean square error to rank candidates of equal worst miss."""
    obs = np.array([p.value for p in points])
    mean = np.nanmean(sims, axis=0)
    err = np.where(obs > 1, (mean - obs) / np.maximum(obs, 1) * 100, (mean - obs) * 100)
    err = np.where(np.isnan(err), 100.0, err)  # a point the run cannot show counts as a miss
    mse = float(np.mean(err**2))
    if objective == "worst":
        return float(np.max(np.abs(err))) + 0.01 * math.sqrt(mse)
    return mse


def fit_table(points: list[Point], sims: np.ndarray) -> pd.DataFrame:
    """day, metric, segment, observed, simulated (mean), low, high (5th and 95th percentiles over replications)."""
    rows = []
    for j, p in enumerate(points):
        col = sims[:, j]
        col = col[~np.isnan(col)]
        rows.append({"day": p.day, "metric": p.metric, "segment": p.segment, "observed": p.value,
                     "simulated": float(col.mean()) if col.size else np.nan,
                     "low": float(np.percentile(col, 5)) if col.size else np.nan,
                     "high": float(np.percentile(col, 95)) if col.size else np.nan})
    df = pd.DataFrame(rows)
    df["error_pp"] = (df["simulated"] - df["observed"]) * 100
    return df


@dataclass
class Fit:
    """What a search found."""

    params: list[Param]
    best: dict[str, float]
    best_loss: float
    trials: list[tuple[dict[str, float], float]] = field(default_factory=list)
    sims: np.ndarray | None = None         # best candidate: (replications, points)


# ---------------------------------------------------------------------------- the search


@dataclass(frozen=True)
class Setup:
    """What every candidate of a calibration shares."""

    scenario: str
    plan: str
    points: list[Point]
    params: list[Param]
    base: dict[str, Any]                   # the plan's resolved scenario, as plain data
    scale_overrides: dict[str, Any]        # policyholders and staff scaled (empty at full scale)
    scale: float
    reps: int
    seed: int
    hours: int | None
    days: list[float]
    objective: str = "rmse"                # what the search minimises (loss)


def make_setup(sf: ScenarioFile, plan: str, points: list[Point], param_texts: list[str], reps: int, seed: int | None,
               scale: float, hours: int | None, objective: str = "rmse") -> Setup:
    """Check everything before the first run: plan, parameters, scale."""
    from sim.scenario.scale import scale_overrides

    scenario = sf.resolve(plan)
    base = scenario.model_dump(mode="python", by_alias=True, exclude_unset=False)
    texts = param_texts or [t for t in DEFAULT_PARAMS if _exists(base, t)]
    params = [parse_param(t, base) for t in texts]
    if len({p.name for p in params}) != len(params):
        raise InputError("a parameter is named twice", key_path="--param")
    if not 0 < scale <= 1:
        raise InputError("the scale is a factor above 0 and at most 1", key_path="--scale")
    scaled = scale_overrides(scenario, scale) if scale < 1 else {}
    last = max(p.day for p in points)
    if scenario.day0_h + 24 * last > (hours or scenario.duration_h):
        raise InputError(f"the observed points reach day {last:g}, past the end of the run: run longer or drop "
                         "them", key_path="--hours")
    if objective not in OBJECTIVES:
        raise InputError(f"the objective is one of {', '.join(OBJECTIVES)}", key_path="--objective")
    days = sorted({p.day for p in points})
    return Setup(str(sf.path), plan, points, params, base, scaled, scale, reps,
                 scenario.seed if seed is None else seed, hours, days, objective)


def _exists(base: dict[str, Any], text: str) -> bool:
    node: Any = base
    for part in text.split("=")[0].rstrip("*").split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def candidate_specs(setup: Setup, values: dict[str, float], tag: str) -> list[RunSpec]:
    """The replications of one candidate: the same seeds as every other candidate."""
    # at a scale below 1 a multiplier of a headcount multiplies the scaled headcount (the plan written at the end
    # applies the same factors to the full-size scenario)
    base = deep_merge(copy.deepcopy(setup.base), setup.scale_overrides) if setup.scale_overrides else setup.base
    overrides = deep_merge(copy.deepcopy(setup.scale_overrides), apply(base, setup.params, values))
    overrides["__days"] = setup.days
    text = json.dumps(overrides, sort_keys=True)
    return [RunSpec(setup.scenario, None, setup.plan, setup.seed + r, setup.hours, None, text)
            for r in range(setup.reps)]


def search(setup: Setup, points: list[Point], budget: int, engine: Any = None, workers: int = 1,
           storage: Path | None = None, study_name: str = "fit", sampler_seed: int = 0,
           progress: Any = None) -> Fit:
    """Optuna TPE over the parameters, `budget` candidates, each on the same `setup.reps` seeds."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{storage}" if storage is not None else None
    study = optuna.create_study(study_name=study_name, storage=url, load_if_exists=True, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=
                                                                   max(4, min(10, budget // 3))))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    batch = max(1, workers)
    best_sims: dict[int, np.ndarray] = {}
    while len(done) < budget:
        trials = [study.ask() for _ in range(min(batch, budget - len(done)))]
        values = [{p.name: t.suggest_float(p.name, p.low, p.high) for p in setup.params} for t in trials]
        specs = [s for v in values for s in candidate_specs(setup, v, "")]
        results = execute(specs, workers=workers, executor=engine, task=progress_task, resume=False)
        for k, trial in enumerate(trials):
            chunk = results[k * setup.reps:(k + 1) * setup.reps]
            failed = [r for r in chunk if isinstance(r, Failure)]
            if failed:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise InputError(f"a calibration run failed: {failed[0].line()}")
            sims = simulated(points, [r["progress"] for r in chunk], setup.scale)
            value = loss(points, sims, setup.objective)
            trial.set_user_attr("sims", sims.tolist())
            trial.set_user_attr("mse", loss(points, sims))
            study.tell(trial, value)
            best_sims[trial.number] = sims
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if progress:
            progress(len(done), budget)
    best = study.best_trial
    # (each trial with its mean squared error, whatever the objective: the uncertainty weighs trials by it)
    trials = [({p.name: t.params[p.name] for p in setup.params}, float(t.user_attrs.get("mse", t.value)))
              for t in done]
    sims = np.array(best.user_attrs["sims"], dtype=float)
    return Fit(setup.params, {p.name: best.params[p.name] for p in setup.params}, float(best.value), trials, sims)


def uncertainty(fit: Fit, points: list[Point]) -> pd.DataFrame:
    """Each parameter's best value, weighted mean, sd and 90% interval over the trials, and whether the data
    identify it (its weighted spread well inside its range)."""
    noise = np.nanvar(fit.sims, axis=0, ddof=1) if fit.sims is not None and len(fit.sims) > 1 else None
    # replication variance of a point's mean, in squared percentage points; a floor of 1 pp^2 (observations
    # are rounded and not exact either)
    s2 = max(float(np.nanmean(noise)) * 1e4 / max(len(fit.sims), 1), 1.0) if noise is not None else 4.0
    losses = np.array([lv for _, lv in fit.trials])
    sse = (losses - losses.min()) * len(points)
    w = np.exp(-sse / (2 * s2))
    w = w / w.sum()
    rows = []
    for p in fit.params:
        x = np.array([v[p.name] for v, _ in fit.trials])
        mean = float(np.sum(w * x))
        sd = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
        order = np.argsort(x)
        cw = np.cumsum(w[order])
        lo = float(x[order][np.searchsorted(cw, 0.05)])
        hi = float(x[order][min(np.searchsorted(cw, 0.95), len(x) - 1)])
        prior_sd = (p.high - p.low) / math.sqrt(12)
        rows.append({"parameter": p.name, "best": fit.best[p.name], "mean": mean, "sd": sd, "low90": lo,
                     "high90": hi, "range_low": p.low, "range_high": p.high,
                     "identified": bool(sd < 0.6 * prior_sd), "effective_trials": float(1 / np.sum(w**2))})
    return pd.DataFrame(rows)


def split_points(points: list[Point], fit_until_day: float | None) -> tuple[list[Point], list[Point]]:
    """Early points (fitted) and later ones (predicted) for the out-of-sample check."""
    days = sorted({p.day for p in points if p.metric != "reported"}) or sorted({p.day for p in points})
    cut = fit_until_day if fit_until_day is not None else days[max(0, (len(days) - 1) // 2)]
    early = [p for p in points if p.day <= cut]
    late = [p for p in points if p.day > cut]
    return early, late


def evaluate(setup: Setup, values: dict[str, float], points: list[Point], engine: Any = None,
             workers: int = 1) -> np.ndarray:
    """One candidate's simulated points over the setup's replications."""
    results = execute(candidate_specs(setup, values, ""), workers=workers, executor=engine, task=progress_task,
                      resume=False)
    failed = [r for r in results if isinstance(r, Failure)]
    if failed:
        raise InputError(f"a calibration run failed: {failed[0].line()}")
    return simulated(points, [r["progress"] for r in results], setup.scale)


def calibrate(setup: Setup, budget: int, engine: Any = None, workers: int = 1, storage: Path | None = None,
              out_of_sample: bool = True, fit_until_day: float | None = None, progress: Any = None
              ) -> dict[str, Any]:
    """The whole calibration: an out-of-sample check (fit on the early points with half the budget, predict the
    later ones), then the fit on every point; returns the tables for calibrate_report."""
    points = setup.points
    oos = None
    oos_info: dict[str, Any] | None = None
    early, late = split_points(points, fit_until_day)
    total = budget + (max(4, budget // 2) if out_of_sample and early and late else 0)
    done = [0]

    def tick(n: int, _k: int) -> None:
        if progress:
            progress(done[0] + n, total)

    import hashlib

    tag = hashlib.sha256(json.dumps([setup.scenario, setup.plan, [p.__dict__ for p in points],
                                     [p.name for p in setup.params], [(p.low, p.high) for p in setup.params],
                                     setup.scale, setup.reps, setup.seed, setup.hours, setup.objective],
                                    default=str)
                         .encode()).hexdigest()[:12]
    if out_of_sample and early and late:
        k = max(4, budget // 2)
        first = search(setup, early, k, engine, workers, storage, f"early-{tag}", 1, tick)
        done[0] += k
        sims = evaluate(setup, first.best, points, engine, workers)
        oos = fit_table(late, sims[:, [points.index(p) for p in late]])
        cut = max(p.day for p in early)
        oos_info = {"fit_until_day": cut, "candidates": k, "rmse_pp": float(np.sqrt(np.mean(oos["error_pp"] ** 2))),
                    "max_error_pp": float(oos["error_pp"].abs().max()), "best": first.best}
    fit = search(setup, points, budget, engine, workers, storage, f"all-{tag}", 0, tick)
    table = fit_table(points, fit.sims)
    return {"fit": fit, "table": table, "params": uncertainty(fit, points), "oos": oos, "oos_info": oos_info,
            "overrides": apply(setup.base, setup.params, fit.best)}
