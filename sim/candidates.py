"""Candidate plans of an optimize: their replications per scenario and figure, and the statistics drawn from them.

The evaluator runs candidates on shared seeds (common random numbers), each run in a folder keyed by its inputs
(sim/execution.py), so a candidate seen before, or a killed optimize started again, reuses finished runs.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.compare import Engine, run_all
from sim.errors import InputError
from sim.execution import RunSpec, Status
from sim.figures import REPLICATED, Figure
from sim.scenario import load_scenario
from sim.space import LeverSpace, read_space
from sim.stats import mean_ci
from sim.targets import Target

KEEP = tuple(dict.fromkeys([f.name for f in REPLICATED] + ["economics.night_premium", "economics.rest_day_premium",
                                                             "economics.retainers", "economics.campaigns", "leakage",
                                                             "staff_partner_cost"]))


@dataclass(frozen=True)
class Settings:
    """What the planner asked for."""

    scenarios: tuple[Path, ...]
    space: Path
    targets: tuple[Target, ...]
    minimize: tuple[Figure, ...]
    confidence: float = 0.9
    budget: int = 40
    reps: int = 5
    seed: int | None = None
    hours: int | None = None
    finalists: int = 5
    indifference: float | None = None   # KN's indifference zone in the objective's units (default 1% of the best)
    max_reps: int = 30
    confirm_reps: int = 10
    rule: str = "all"
    sampler_seed: int = 0


@dataclass
class Candidate:
    """One plan of the space: its lever values, overrides and, per scenario and figure, one value per seed."""

    key: str
    label: str
    params: dict[str, Any]
    overrides: dict[str, Any] | None
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    trial: int | None = None
    stage: str = "search"

    def n(self) -> int:
        return min((len(v) for s in self.values.values() for v in s.values()), default=0)


@dataclass
class Problem:
    """The scenarios and the space, checked; the seeds every candidate shares."""

    settings: Settings
    spaces: dict[str, LeverSpace]        # scenario name -> the space read against it
    paths: dict[str, Path]
    seeds: list[int]
    currency: str
    start: Any

    @property
    def space(self) -> LeverSpace:
        return next(iter(self.spaces.values()))


def load_problem(s: Settings) -> Problem:
    """Load every scenario and read the space against each (errors name the file and line); nothing runs yet."""
    if not s.targets:
        raise InputError("give at least one --target", key_path="--target")
    for f in s.minimize:
        if f.better != "lower":
            raise InputError(f"'{f.name}' is not a figure where lower is better", key_path="--minimize")
    if s.rule not in ("all", "regret"):
        raise InputError(f"unknown rule '{s.rule}' (all or regret)", key_path="--rule")
    spaces: dict[str, LeverSpace] = {}
    paths: dict[str, Path] = {}
    for path in s.scenarios:
        sf = load_scenario(path)
        if sf.name in spaces:
            raise InputError(f"two scenarios are named '{sf.name}'", file=path)
        spaces[sf.name] = read_space(s.space, sf)
        paths[sf.name] = Path(path)
    first = next(iter(spaces.values()))
    if not first.levers:
        raise InputError("the space has no levers to search (levers:)", file=s.space, line=1)
    base = first.scenario.resolve(first.space.plan)
    seed = base.seed if s.seed is None else s.seed
    return Problem(s, spaces, paths, list(range(seed, seed + s.reps)), base.currency, base.start)


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


class Evaluator:
    """Runs candidates on seeds (all scenarios), reusing run folders keyed by their inputs."""

    def __init__(self, problem: Problem, out: Path, engine: Engine,
                 progress: Callable[[Status], None] | None = None) -> None:
        self.p = problem
        self.out = out
        self.engine = engine
        self.progress = progress
        self.done = 0
        self.total = 0
        self.runs = 0
        self.reused = 0

    def plan_runs(self, n: int) -> None:
        """Announce n more runs to the progress display."""
        self.total += n

    def run(self, cands: list[Candidate], seeds: list[int]) -> None:
        """Add the values of `seeds` (in order) to each candidate, for every scenario."""
        specs: list[RunSpec] = []
        slots: list[tuple[Candidate, str]] = []
        for c in cands:
            ov = json.dumps(c.overrides, sort_keys=True) if c.overrides is not None else None
            for name, path in self.p.paths.items():
                plan = self.p.spaces[name].space.plan
                for s in seeds:
                    folder = self.out / "runs" / name / c.key / f"seed-{s}"
                    specs.append(RunSpec(str(path), None, plan, s, self.p.settings.hours, str(folder), ov))
                    slots.append((c, name))
        if not specs:
            return
        self.total = max(self.total, self.done + len(specs))
        offset = self.done

        def tick(st: Status) -> None:
            if self.progress:
                self.progress(Status(self.total, offset + st.done, st.running, st.failed, st.reused))

        results = run_all(specs, self.engine, tick)
        self.done += len(specs)
        self.runs += len(specs)
        self.reused += sum(bool(r.get("reused")) for r in results)
        for (c, name), r in zip(slots, results, strict=True):
            per = c.values.setdefault(name, {})
            for k in KEEP:
                per.setdefault(k, []).append(float(r["figures"].get(k, math.nan)))


# ---------------------------------------------------------------------------- statistics of a candidate


def series(c: Candidate, name: str) -> np.ndarray:
    """Per seed, the figure averaged over the scenarios (the objective's replications)."""
    arrays = [np.asarray(v[name], float) for v in c.values.values()]
    n = min(len(a) for a in arrays)
    return np.mean([a[:n] for a in arrays], axis=0)


def objective(c: Candidate, f: Figure) -> float:
    return float(np.nanmean(series(c, f.name)))


def slacks(c: Candidate, targets: tuple[Target, ...], confidence: float) -> list[float]:
    """Per target, the worst slack over the scenarios (<= 0: met in every scenario)."""
    return [max(t.slack(t.bound(v[t.figure.name], confidence)) for v in c.values.values()) for t in targets]


def feasible(c: Candidate, targets: tuple[Target, ...], confidence: float) -> bool:
    return all(x <= 0 for x in slacks(c, targets, confidence))


def stats_row(c: Candidate, p: Problem, targets: tuple[Target, ...]) -> dict[str, Any]:
    """One line of frontier.csv: levers, replications, objectives, and each target's mean and bound per scenario."""
    s = p.settings
    row: dict[str, Any] = {"candidate": c.label, "stage": c.stage, "trial": c.trial, "replications": c.n()}
    row.update({f"lever.{k}": v for k, v in c.params.items()})
    for f in s.minimize:
        ci = mean_ci(series(c, f.name))
        row[f"{f.name}.mean"], row[f"{f.name}.low"], row[f"{f.name}.high"] = ci.mean, ci.low, ci.high
    for name, v in c.values.items():
        tag = "" if len(c.values) == 1 else f"{name}."
        for t in targets:
            vals = v[t.figure.name]
            ci = mean_ci(vals)
            row[f"{tag}{t.figure.name}.mean"] = ci.mean
            row[f"{tag}{t.figure.name}.low"], row[f"{tag}{t.figure.name}.high"] = ci.low, ci.high
            row[f"{tag}{t.figure.name}.bound"] = t.bound(vals, s.confidence)
    row["meets_targets"] = feasible(c, targets, s.confidence)
    return row
