"""Running the tiers: the exact tier's one seed per plan, the statistical tier's fresh and paired seed blocks."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

from sim.errors import InputError
from sim.execution import POOL_CONTEXT, Failure, RunSpec, Status, execute
from sim.regress.config import RegressConfig, Target
from sim.regress.exact import exact_task
from sim.regress.stat import stat_task, stat_values, tier_figures

FRESH_OFFSET = 1_000_000  # the check's fresh seeds: block `fresh` of the baseline's seeds, this far apart
Task = Callable[[RunSpec], dict[str, Any]]


def _specs(t: Target, tier: str, seeds: list[int], overrides: str | dict[str, str] | None) -> list[RunSpec]:
    hours = t.exact_hours if tier == "exact" else t.stat_hours
    plans = t.plans if tier == "exact" else t.stat_plans
    pf = str(t.plans_file) if t.plans_file else None
    return [RunSpec(str(t.path), pf, plan, s, hours, None,
                    overrides if overrides is None or isinstance(overrides, str) else overrides.get(plan))
            for plan in plans for s in seeds]


def measure(targets: list[Target], cfg: RegressConfig, tiers: list[str], workers: int, fresh: int,
            overrides: dict[str, str | dict[str, str]] | None = None, progress: Callable[[Status], None] | None = None,
            paired: bool = True, wrap: Callable[..., dict[str, Any]] | None = None,
            seconds: dict[str, float] | None = None, executor: cf.Executor | None = None
            ) -> dict[str, dict[str, Any]]:
    """Run the tiers for every target: {scenario: {"exact": {...}, "stat": {...}, "paired": {...}}}.

    `fresh`: the first seed offset of the stat tier (0: the baseline's own seeds; a check uses a multiple of
    FRESH_OFFSET). `paired`: in a check (fresh != 0), also rerun the baseline's seeds for the paired test.
    `overrides`: per scenario name, JSON settings deep-merged onto every plan, or a mapping of plan to JSON
    (planted changes in experiments).
    `wrap`: a picklable `wrap(task, spec)` run in the workers instead of each task (experiments that patch
    code). `seconds`: filled with the wall time of each tier. `executor`: a pool to reuse (one process pool of
    `workers` is started for both tiers otherwise).
    """
    names = [f.name for f in tier_figures(cfg.stat)]
    jobs: list[tuple[str, str, list[RunSpec]]] = []
    for t in targets:
        ov = (overrides or {}).get(t.name)
        if "exact" in tiers and "exact" in t.tiers:
            jobs.append((t.name, "exact", _specs(t, "exact", [cfg.exact.seed], ov)))
        if "stat" in tiers and "stat" in t.tiers:
            jobs.append((t.name, "stat", _specs(t, "stat", [cfg.stat.seed + fresh + i for i in range(t.reps)], ov)))
            if fresh and paired:  # the baseline's own seeds again, for the paired comparison
                jobs.append((t.name, "paired", _specs(t, "stat", [cfg.stat.seed + i for i in range(t.reps)], ov)))
    exact_specs = [s for _, tier, specs in jobs if tier == "exact" for s in specs]
    stat_specs = [s for _, tier, specs in jobs if tier != "exact" for s in specs]
    total = len(exact_specs) + len(stat_specs)
    done = [0]

    def tick(st: Status) -> None:
        if progress:
            progress(Status(total, done[0] + st.done, st.running, st.failed, 0))

    def task(inner: Task) -> Task:
        return functools.partial(wrap, inner) if wrap else inner

    with contextlib.ExitStack() as stack:
        if executor is None and workers > 1 and total:
            executor = stack.enter_context(cf.ProcessPoolExecutor(max_workers=workers, mp_context=POOL_CONTEXT))
        run = functools.partial(execute, workers=workers, executor=executor, capacity=workers, progress=tick)
        clock = time.perf_counter()
        exact_res = run(exact_specs, task=task(exact_task)) if exact_specs else []
        if seconds is not None and exact_specs:
            seconds["exact"] = time.perf_counter() - clock
        done[0] = len(exact_specs)
        clock = time.perf_counter()
        stat_res = run(stat_specs, task=task(stat_task)) if stat_specs else []
        if seconds is not None and stat_specs:
            seconds["stat"] = time.perf_counter() - clock
    out: dict[str, dict[str, Any]] = {}
    ei = si = 0
    for name, tier, specs in jobs:
        entry = out.setdefault(name, {})
        if tier == "exact":
            rs = exact_res[ei:ei + len(specs)]
            ei += len(specs)
            block: dict[str, Any] = {"seed": cfg.exact.seed, "hours": specs[0].hours, "plans": {}}
            for spec, r in zip(specs, rs, strict=True):
                if isinstance(r, Failure):
                    raise InputError(f"run failed: {r.line()}")
                block["plans"][spec.plan] = {"figures": r["figures"], "claims_digest": r["claims_digest"],
                                             "claims": r["claims"]}
            entry["exact"] = block
        else:
            rs = stat_res[si:si + len(specs)]
            si += len(specs)
            plans = list(dict.fromkeys(s.plan for s in specs))
            per = len(specs) // len(plans)
            block = {"hours": specs[0].hours, "seeds": [s.seed for s in specs[:per]], "plans": {}}
            for k, plan in enumerate(plans):
                block["plans"][plan] = stat_values(rs[k * per:(k + 1) * per], names)
            entry[tier] = block
    return out
