"""The search of an optimize: Optuna proposes plans of the lever space (TPE for one objective, NSGA-II for
several), with the service targets as constraints; the study is stored in DIR/optuna.db, so a killed optimize
resumes, and a plan proposed twice is run once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim.candidates import Candidate, Evaluator, Problem, digest, objective, slacks
from sim.execution import code_digest
from sim.space import LeverSpace
from sim.targets import Target

STUDY_FILE = "optuna.db"


def _distributions(space: LeverSpace) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, lever in space.levers.items():
        if lever.range is not None:
            lo, hi = lever.range
            if lever.integer:
                step = int(lever.step or 1)
                out[name] = IntDistribution(int(lo), int(lo + (int(hi) - int(lo)) // step * step), step=step,
                                            log=lever.log)
            else:
                step = lever.step
                high = lo + math.floor((hi - lo) / step + 1e-9) * step if step else hi
                out[name] = FloatDistribution(float(lo), float(high), step=step, log=lever.log)
        else:
            out[name] = CategoricalDistribution(lever.choices)
    return out


def candidate_of(space: LeverSpace, params: dict[str, Any], label: str, trial: int | None) -> Candidate:
    values = {n: (space.levers[n].snap(v) if space.levers[n].range is not None else v) for n, v in params.items()}
    overrides = space.overrides(values)
    return Candidate(digest(overrides), label, values, overrides, trial=trial)


def reference(space: LeverSpace) -> Candidate:
    """The space's plan as it is (no lever moved): the yardstick of relative targets and of the report."""
    params = {n: space.current(n) for n in space.levers}
    return Candidate("reference", "reference", params, None, stage="reference")


def start_values(space: LeverSpace, dists: dict[str, Any]) -> dict[str, Any]:
    """The reference plan's lever values that lie in the space (a first trial the search starts from)."""
    out = {}
    for name, d in dists.items():
        v = space.current(name)
        lever = space.levers[name]
        if isinstance(lever.set, dict):
            if "off" in lever.set:  # named options: start from "off" (a campaign not run)
                out[name] = "off"
            continue
        if v is None or isinstance(v, dict):
            continue
        if hasattr(d, "choices"):
            if v in d.choices:
                out[name] = v
        elif d.low <= v <= d.high:
            out[name] = int(v) if lever.integer else float(v)
    return out


def study_for(p: Problem, out: Path, targets: tuple[Target, ...]) -> Any:
    """The Optuna study of these inputs in DIR/optuna.db (a changed input starts a study of its own)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = p.settings
    space = p.space
    key = digest({"scenarios": {n: ls.scenario.sha256 for n, ls in p.spaces.items()},
                  "space": space.space.model_dump(), "targets": [t.text for t in targets],
                  "minimize": [f.name for f in s.minimize], "confidence": s.confidence, "seeds": p.seeds,
                  "hours": s.hours, "rule": s.rule, "code": code_digest()})
    # Constraints (one per target: its worst slack over the scenarios, <= 0 when met) are set on each trial
    # before it is told (Trial.set_constraint), and both samplers prefer feasible plans.
    if len(s.minimize) == 1:
        sampler: Any = optuna.samplers.TPESampler(seed=s.sampler_seed, multivariate=True, constant_liar=True,
                                                  n_startup_trials=min(10, max(4, s.budget // 4)))
    else:
        sampler = optuna.samplers.NSGAIISampler(seed=s.sampler_seed, population_size=max(4, min(20, s.budget // 4)))
    storage = f"sqlite:///{(out / STUDY_FILE).resolve()}"
    study = optuna.create_study(storage=storage, study_name=f"optimize-{key}", sampler=sampler,
                                directions=["minimize"] * len(s.minimize), load_if_exists=True)
    study.set_user_attr("space", str(s.space))
    return study


def search(p: Problem, ev: Evaluator, study: Any, targets: tuple[Target, ...], batch: int) -> list[Candidate]:
    """Ask Optuna for plans in batches until `budget` trials are complete; tell it each plan's objective(s)."""
    from optuna.trial import TrialState

    s = p.settings
    space = p.space
    dists = _distributions(space)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # left running by a killed optimize
        study.enqueue_trial(t.params, skip_if_exists=False)
        study.tell(t.number, state=TrialState.FAIL)
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(start_values(space, dists))
    cache: dict[str, dict[str, dict[str, list[float]]]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if "key" in t.user_attrs:
            cache[t.user_attrs["key"]] = t.user_attrs["values"]
    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    ev.plan_runs(max(0, s.budget - complete) * len(p.seeds) * len(p.spaces))
    while complete < s.budget:
        trials = [study.ask(dists) for _ in range(min(batch, s.budget - complete))]
        cands = [candidate_of(space, t.params, f"#{t.number}", t.number) for t in trials]
        fresh = {c.key: c for c in cands if c.key not in cache}
        ev.run(list(fresh.values()), p.seeds)
        for c in fresh.values():
            cache[c.key] = c.values
        for t, c in zip(trials, cands, strict=True):
            c.values = json.loads(json.dumps(cache[c.key]))
            cons = slacks(c, targets, s.confidence)
            t.set_user_attr("key", c.key)
            t.set_user_attr("values", c.values)
            for i, x in enumerate(cons):
                t.set_constraint(f"target{i}", x if math.isfinite(x) else 1e12)
            study.tell(t, [objective(c, f) for f in s.minimize])
        complete += len(trials)
    out = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        c = candidate_of(space, t.params, f"#{t.number}", t.number)
        c.values = json.loads(json.dumps(t.user_attrs["values"]))
        out.append(c)
    return out[: s.budget] if len(out) > s.budget else out


def importance(study: Any, targets: tuple[Target, ...], p: Problem) -> dict[str, dict[str, float]]:
    """Which levers move each target figure and the objective most over the trials (Optuna's fANOVA)."""
    import optuna
    from optuna.trial import TrialState

    out: dict[str, dict[str, float]] = {}
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(trials) < 4:
        return out
    wanted: list[tuple[str, Callable[[Any], float]]] = [
        (f.name, lambda t, f=f: float(np.nanmean([np.nanmean(v[f.name]) for v in t.user_attrs["values"].values()])))
        for f in p.settings.minimize]
    wanted += [(t.figure.name, lambda tr, t=t: float(np.nanmean([np.nanmean(v[t.figure.name])
                                                                 for v in tr.user_attrs["values"].values()])))
               for t in targets]
    import warnings

    for name, fn in wanted:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = dict(optuna.importance.get_param_importances(study, target=fn))
        except (RuntimeError, ValueError, ZeroDivisionError):
            continue
    return out
