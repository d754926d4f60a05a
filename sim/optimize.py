"""`claimsim optimize`: the cheapest plan in a lever space that meets service targets with stated confidence.

1. Search: Optuna proposes plans from the lever space (sim/space.py): TPE for one objective, NSGA-II for
   several, both with the targets as constraints. Every candidate runs on the same seeds (common random
   numbers), so candidates differ by their plan, not by their storm. A target is met when its one-sided bound
   at the stated confidence meets it (sim/targets.py). The study lives in DIR/optuna.db and every run in a
   folder keyed by its inputs (sim/execution.py), so a killed optimize resumes where it stopped.
2. Selection: the cheapest finalists that meet the targets get fresh replications (still common to all of
   them); those still meeting the targets go through Kim and Nelson's fully sequential procedure
   (sim/selection.py), which states its probability of correct selection.
3. Confirmation: the chosen plan runs on an independent block of seeds, and its targets are judged again.

With several scenarios a plan must meet the targets in every one (rule `all`, objective averaged over the
scenarios), or the plan with the least maximum regret is chosen (rule `regret`, as in robust decision making).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.candidates import Candidate, Evaluator, Problem, Settings, load_problem, series
from sim.compare import Engine
from sim.execution import Status
from sim.search import importance, reference, search, study_for
from sim.selection import Selection, select
from sim.targets import Target

__all__ = ["Outcome", "Settings", "optimize"]


@dataclass
class Outcome:
    """Everything optimize found, for the report."""

    problem: Problem
    targets: tuple[Target, ...]
    reference: Candidate
    candidates: list[Candidate]
    selection: Selection
    importance: dict[str, dict[str, float]]
    runs: int
    reused: int = 0


def optimize(s: Settings, out: Path, engine: Engine, progress: Callable[[Status], None] | None = None,
             batch: int | None = None) -> Outcome:
    """Search, select and confirm (see the module docstring); run folders and the study go under `out`."""
    p = load_problem(s)
    ev = Evaluator(p, out, engine, progress)
    ref = reference(p.space)
    ev.plan_runs(len(p.seeds) * len(p.spaces))
    ev.run([ref], p.seeds)
    targets = tuple(t.resolve(float(np.nanmean(series(ref, t.figure.name)))) for t in s.targets)
    study = study_for(p, out, targets)
    cands = search(p, ev, study, targets, batch or max(2, engine.capacity or engine.workers))
    sel = select(p, ev, cands, targets)
    return Outcome(p, targets, ref, cands, sel, importance(study, targets, p), ev.runs, ev.reused)
