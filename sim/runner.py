"""One run from scenario file to results folder: the engine's entry point for the CLI and scripts."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim import __version__, metrics
from sim.files import atomic_dir, manifest
from sim.model import ClaimsModel
from sim.ops.log import Ev
from sim.scenario import ScenarioFile
from sim.vocab import POPULATIONS


@dataclass
class RunResult:
    """Everything a run produced, in memory."""

    model: ClaimsModel
    claims: pd.DataFrame
    events: pa.Table
    series: pd.DataFrame
    summary: dict[str, Any]


# `claimsim run` computes the world's hours in a second process from this many expected claims, on a machine with
# two cores or more: a process costs ~1 s to start; the national flood at 1:10 (102,000 claims) saves ~6 s.
WORLD_PROCESS_MIN_CLAIMS = 50_000


def use_world_process(expected_claims: float) -> bool:
    """Whether a run of this size gains from the world process here (two usable cores or more)."""
    return expected_claims >= WORLD_PROCESS_MIN_CLAIMS and len(os.sched_getaffinity(0)) >= 2


def simulate(file: ScenarioFile, plan: str = "baseline", seed: int | None = None, hours: int | None = None,
             progress: Callable[[int, int], None] | None = None,
             watch: Callable[[ClaimsModel], None] | None = None, release: bool = False,
             world_process: bool = False) -> RunResult:
    """Run one scenario, plan and seed to the horizon and compute its figures (nothing written).

    `progress(hour, horizon)` is called after every hour; so is `watch(model)`, for a caller that shows more
    (the simulated date, the claims so far). `release`: the model will not be read again (its event log is
    emptied as the figures are made, which lowers a large run's peak memory). `world_process`: the world's
    hours computed ahead in a second process (sim.world.WorldAhead; the same results, sooner on two cores)."""
    scenario = file.resolve(plan)
    seed = scenario.seed if seed is None else seed
    started = time.perf_counter()
    model = ClaimsModel(scenario, seed=seed, hours=hours, world_process=world_process)

    def tick(hour: int, horizon: int) -> None:
        if progress is not None:
            progress(hour, horizon)
        if watch is not None:
            watch(model)

    model.run(tick)
    return collect(model, file, started, release)


def collect(model: ClaimsModel, file: ScenarioFile, started: float | None = None, release: bool = False
            ) -> RunResult:
    """Figures of a model at its current hour (it need not have reached the horizon); `release` as for
    `simulate`."""
    rec = model.record(release)
    claims = metrics.claims_table(rec)
    backlog = metrics.backlog_series(claims, rec.events, model.hour)
    live = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    series = pd.concat([backlog, live.drop(columns=["hour", "incidents"])], axis=1)
    scenario = model.spec
    figures = metrics.figures(rec, claims, backlog, scenario)
    summary = {
        "scenario": scenario.name,
        "plan": scenario.plan,
        "seed": model.seed,
        "version": __version__,
        "scenario_file": str(file.path),
        "scenario_sha256": file.sha256,
        "start": scenario.start.isoformat(),
        "hours": model.hour,
        "horizon_h": model.horizon_h,
        "policyholders": {t: scenario.policyholders(t) for t in POPULATIONS},
        "wall_time_s": round(time.perf_counter() - started, 3) if started is not None else None,
        "figures": figures,
    }
    events = _events_table(rec.events)
    return RunResult(model, claims, events, series, summary)


def _events_table(ev: dict[str, Any]) -> pa.Table:
    # the event names as a dictionary column built from the codes (no Python string per event)
    # (the codes are small numbers: a lookup table, not a sort of tens of millions of them)
    codes = np.asarray(ev["code"])
    order: list[int] = []        # the codes in order of first appearance, as dictionary_encode would give them
    seen: set[int] = set()
    for a in range(0, len(codes), 1 << 20):
        chunk = codes[a:a + (1 << 20)]
        new = [int(c) for c in np.flatnonzero(np.bincount(chunk.astype(np.intp))) if int(c) not in seen]
        new.sort(key=lambda c: int(np.argmax(chunk == c)))
        order += new
        seen.update(new)
    lookup = np.zeros(max(order, default=0) + 1, dtype=np.int32)
    lookup[order] = np.arange(len(order), dtype=np.int32)
    names = [Ev(c).name.lower() for c in order]
    return pa.table({
        "seq": pa.array(np.arange(len(codes), dtype=np.int64)),
        "t_h": ev["t_h"],
        "claim_id": ev["claim_id"],
        "event": pa.DictionaryArray.from_arrays(pa.array(lookup[codes], pa.int32()), pa.array(names, pa.string())),
        "staff_id": ev["staff_id"],
        "value": ev["value"],
    })


CLAIM_COLUMNS_FIRST = ["claim_id", "agent_type", "agent_id", "region", "incident_type", "loss_amount", "channel",
                       "track", "outcome"]


def run_dir(out: Path, scenario: str, plan: str, seed: int) -> Path:
    return out / scenario / plan / f"seed-{seed}"


def write(result: RunResult, folder: Path, force: bool = False) -> Path:
    """Write a run's folder atomically: built under a temporary name, renamed when complete.

    summary.json, written last, lists every other file with its size and sha256 (`files`), so that a
    resumed sweep can tell a finished run from a damaged one (sim.execution.reusable).
    """
    folder = Path(folder)
    with atomic_dir(folder, force) as tmp, ThreadPoolExecutor(max_workers=1) as writer:
        # The event log, the largest file, is encoded and compressed by Arrow in a thread of its own (Arrow lets
        # go of the interpreter meanwhile) while this one builds the other files; the same bytes either way.
        events = writer.submit(pq.write_table, result.events, tmp / "events.parquet")
        from sim import report  # matplotlib is only needed when writing (imported while the events are written)

        # the columns picked by from_pandas, not by a reordered copy of the frame (a million claims: ~0.5 GB)
        order = CLAIM_COLUMNS_FIRST + [c for c in result.claims.columns if c not in CLAIM_COLUMNS_FIRST]
        table = pa.Table.from_pandas(result.claims, columns=order, preserve_index=False)
        pq.write_table(table, tmp / "claims.parquet")
        del table
        pq.write_table(pa.Table.from_pandas(result.series, preserve_index=False), tmp / "series.parquet")
        report.write_plots(result, tmp)
        report.write_markdown(result, tmp)
        events.result()  # (an error writing it is raised here, and the folder is not kept)
        summary = {**result.summary, "files": manifest(tmp)}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    return folder
