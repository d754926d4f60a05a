"""Ranking and selection: Kim and Nelson's fully sequential procedure (KN), with common random numbers.

Kim, S.-H. and Nelson, B. L. (2001), "A fully sequential procedure for indifference-zone selection in
simulation", ACM TOMACS 11(3): 251-273. Among k systems, KN returns one whose mean is within the
indifference zone `delta` of the best with probability at least 1 - alpha (normal outputs). Each round adds
one replication to every system still in contention and eliminates a system once its running mean is worse
than another's by more than a shrinking allowance computed from the variance of their paired difference.
Replication j of every system uses the same seed (common random numbers): the paired differences then vary
far less than the systems do, and KN stops early. Optimize uses it to choose among its finalists (docs/PLANNING.md
says why KN rather than OCBA: a stated probability of correct selection, paired seeds, early elimination).

`select` runs optimize's selection stage: finalists (the cheapest plans meeting every target), fresh common
replications, KN on the first objective, and a confirmation of the chosen plan on an independent block of seeds;
with several scenarios and rule `regret`, minimax regret instead of KN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.candidates import Candidate, Evaluator, Problem, feasible, objective, series, slacks
from sim.compare import INDEPENDENT_SEED_OFFSET
from sim.targets import Target


@dataclass
class KNResult:
    """The chosen system, the guarantee, and how the procedure went."""

    best: str
    pcs: float                    # stated probability of correct selection (1 - alpha)
    delta: float                  # indifference zone, in the units of the outputs
    n0: int                       # first-stage replications
    reps: dict[str, int]          # replications each system received
    eliminated: dict[str, int] = field(default_factory=dict)  # system -> replications when it was eliminated
    guaranteed: bool = True       # False when the replication cap stopped the procedure early
    means: dict[str, float] = field(default_factory=dict)


def kn_constants(k: int, n0: int, alpha: float) -> tuple[float, float]:
    """(eta, h^2) of KN for k systems, n0 first-stage replications and error alpha."""
    eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1)
    return eta, 2 * eta * (n0 - 1)


def kim_nelson(first: dict[str, list[float]], alpha: float, delta: float,
               more: Callable[[list[str]], dict[str, float]], max_reps: int, minimize: bool = True) -> KNResult:
    """Select the best system with KN: `first` holds each system's first-stage outputs (same seeds, same order),
    `more(systems)` returns one more output for each named system (the next common seed), up to `max_reps`."""
    names = list(first)
    if not names:
        raise ValueError("no system to select from")
    n0 = min(len(v) for v in first.values())
    data = {s: list(first[s][:n0]) for s in names}
    if len(names) == 1:
        return KNResult(names[0], 1.0, delta, n0, {names[0]: n0}, means={names[0]: float(np.mean(data[names[0]]))})
    if n0 < 2:
        raise ValueError("KN needs at least two first-stage replications")
    sign = 1.0 if minimize else -1.0
    _, h2 = kn_constants(len(names), n0, alpha)
    s2 = {}
    for i in names:
        for j in names:
            if i != j:
                d = np.asarray(data[i][:n0]) - np.asarray(data[j][:n0])
                s2[(i, j)] = float(np.var(d, ddof=1))
    alive = list(names)
    eliminated: dict[str, int] = {}
    r = n0
    guaranteed = True
    while len(alive) > 1:
        mean = {s: sign * float(np.mean(data[s][:r])) for s in alive}
        keep = []
        for i in alive:
            out = False
            for j in alive:
                if i == j:
                    continue
                w = max(0.0, delta / (2 * r) * (h2 * s2[(i, j)] / delta ** 2 - r)) if delta > 0 else math.inf
                if mean[i] > mean[j] + w:
                    out = True
                    break
            if not out:
                keep.append(i)
        for s in alive:
            if s not in keep:
                eliminated[s] = r
        alive = keep or alive[:1]
        if len(alive) == 1:
            break
        if r >= max_reps:
            guaranteed = False
            break
        extra = more(alive)
        for s in alive:
            data[s].append(float(extra[s]))
        r += 1
    final = {s: sign * float(np.mean(data[s][:r])) for s in alive}
    best = min(alive, key=lambda s: final[s])
    return KNResult(best, 1 - alpha, delta, n0, {s: len(v) for s, v in data.items()}, eliminated, guaranteed,
                    {s: float(np.mean(v)) for s, v in data.items()})


# ---------------------------------------------------------------------------- selection


@dataclass
class Selection:
    """What the selection stage found: finalists, the KN result, the chosen plan and its confirmation."""

    finalists: list[Candidate]
    kn: KNResult | None
    chosen: Candidate | None
    met: bool
    confirmation: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    confirmed: bool | None = None
    regret: dict[str, float] = field(default_factory=dict)
    note: str = ""


def _unique(cands: list[Candidate]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for c in cands:
        seen.setdefault(c.key, c)
    return list(seen.values())


def select(p: Problem, ev: Evaluator, cands: list[Candidate], targets: tuple[Target, ...]) -> Selection:
    """Finalists, fresh common replications, KN on the first objective, then confirmation on independent seeds."""
    s = p.settings
    f0 = s.minimize[0]
    pool = _unique(cands)
    ok = sorted([c for c in pool if feasible(c, targets, s.confidence)], key=lambda c: objective(c, f0))
    if not ok:
        closest = min(pool, key=lambda c: max(slacks(c, targets, s.confidence)))
        closest.stage = "closest"
        return Selection([], None, closest, False, note="no plan evaluated meets every target")
    if s.rule == "regret":
        sel = _regret(p, ok, targets)
        confirm(p, ev, sel, targets)
        return sel
    finalists = ok[: s.finalists]
    for c in finalists:
        c.stage = "finalist"
    more = list(range(p.seeds[-1] + 1, p.seeds[-1] + 1 + s.reps))
    ev.plan_runs(len(finalists) * len(more) * len(p.spaces))
    ev.run(finalists, more)
    still = [c for c in finalists if feasible(c, targets, s.confidence)]
    if not still:
        closest = min(finalists, key=lambda c: max(slacks(c, targets, s.confidence)))
        return Selection(finalists, None, closest, False,
                         note="no finalist still meets every target once fresh replications are added")
    next_seed = [more[-1] + 1]
    by_key = {c.key: c for c in still}

    def another(keys: list[str]) -> dict[str, float]:
        seed = next_seed[0]
        next_seed[0] += 1
        chosen = [by_key[k] for k in keys]
        ev.plan_runs(len(chosen) * len(p.spaces))
        ev.run(chosen, [seed])
        return {k: float(series(by_key[k], f0.name)[-1]) for k in keys}

    first = {c.key: list(series(c, f0.name)) for c in still}
    best_mean = min(abs(objective(c, f0)) for c in still)
    delta = s.indifference if s.indifference is not None else max(0.01 * best_mean, 1e-9)
    kn = kim_nelson(first, 1 - s.confidence, delta, another, max(s.max_reps, len(next(iter(first.values())))))
    chosen = by_key[kn.best]
    met = feasible(chosen, targets, s.confidence)
    chosen.stage = "selected"
    sel = Selection(finalists, kn, chosen, met)
    confirm(p, ev, sel, targets)
    return sel


def confirm(p: Problem, ev: Evaluator, sel: Selection, targets: tuple[Target, ...]) -> None:
    """Run the chosen plan on an independent block of seeds and judge its targets there alone."""
    s = p.settings
    if sel.chosen is None or s.confirm_reps < 2:
        return
    first = p.seeds[0] + INDEPENDENT_SEED_OFFSET
    probe = Candidate(sel.chosen.key, sel.chosen.label, sel.chosen.params, sel.chosen.overrides)
    ev.plan_runs(s.confirm_reps * len(p.spaces))
    ev.run([probe], list(range(first, first + s.confirm_reps)))
    sel.confirmation = probe.values
    sel.confirmed = feasible(probe, targets, s.confidence)


def _regret(p: Problem, ok: list[Candidate], targets: tuple[Target, ...]) -> Selection:
    """Minimax regret over the scenarios among plans meeting every target (no probability statement)."""
    f0 = p.settings.minimize[0]
    names = list(p.spaces)
    best = {n: min(float(np.nanmean(c.values[n][f0.name])) for c in ok) for n in names}
    regret = {c.key: max(float(np.nanmean(c.values[n][f0.name])) - best[n] for n in names) for c in ok}
    chosen = min(ok, key=lambda c: regret[c.key])
    chosen.stage = "selected"
    return Selection(ok[: p.settings.finalists], None, chosen, True, regret=regret,
                     note="minimax regret over the scenarios among plans meeting every target")
