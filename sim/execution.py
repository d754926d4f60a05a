"""Running many replications: on local processes or a Dask cluster, resumable, and a failure never stops the rest.

The engine accepts any `concurrent.futures.Executor`. With none given it uses a process pool started by
forkserver (`workers` processes), or runs in this process when `workers` is 1. `executor_for("dask", ...)`
gives the executor of a Dask client (`Client.get_executor()`): a cluster at an address, or a local one.

Replications are bundled into tasks (`bundle` runs per task) so that per-task overhead (milliseconds on
Dask) stays small against a run. Each run writes its own folder from the worker, atomically (built under a
temporary name, renamed when complete), with a `run_key` in its summary.json: the scenario's sha256 (with its
CSVs and any plans file), plan, seed, requested hours, package version and a digest of the package's code.
`execute(..., resume=True)` reuses a folder whose key matches, and whose files still match the manifest
(size and sha256 of each) recorded when it was written and read back as parquet, instead of running it
again, so a killed sweep loses no finished run and a damaged folder is run again. An interrupt (Ctrl-C,
SIGTERM) stops the local pool's workers at once: queued runs are cancelled, running ones killed (their
half-written folders stay `.partial`, removed by `clean_partials`), and the interrupt goes on up.
Results come back in the order of the specs whatever the executor or worker count, and one run's failure
is returned as a `Failure` naming its scenario, plan and seed while the others finish.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.errors import InputError
from sim.files import manifest_problem

# Workers start from a clean server process: forking a process that runs library threads can deadlock.
POOL_CONTEXT = multiprocessing.get_context("forkserver")
PACKAGE = Path(__file__).resolve().parent
# Sanity bounds on one command (docs/SAFETY.md): more local workers than any machine has cores is a typo (a
# cluster is `--executor dask`); 100,000 runs is more than a day of one-second runs on 1,000 cores.
MAX_WORKERS = 256
MAX_RUNS = 100_000


@dataclass(frozen=True)
class RunSpec:
    """One replication of one plan: what a worker needs to run it and write its folder."""

    scenario: str
    plans_file: str | None
    plan: str
    seed: int
    hours: int | None
    folder: str | None
    overrides: str | None = None  # JSON of settings deep-merged onto the plan (experiments, planted changes)

    def label(self) -> str:
        return f"{self.scenario} plan {self.plan} seed {self.seed}"


@dataclass(frozen=True)
class Failure:
    """A run that raised: which run, the one-line error, and the traceback for the log."""

    spec: RunSpec
    error: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.spec.label()}: {self.error}"


@dataclass
class Status:
    """Progress of an `execute` call, passed to its progress callback."""

    total: int
    done: int = 0  # finished, reused or failed
    running: int = 0
    failed: int = 0
    reused: int = 0


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the package's own source: results made by other code are not reused."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _file_sha(path: str | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def run_key(spec: RunSpec, scenario_sha256: str) -> dict[str, Any]:
    """What makes a run folder reusable: same inputs, same code."""
    return {"scenario_sha256": scenario_sha256, "plans_sha256": _file_sha(spec.plans_file), "plan": spec.plan,
            "seed": spec.seed, "hours": spec.hours, "overrides": spec.overrides, "version": __version__,
            "code": code_digest()}


def simulate_spec(spec: RunSpec) -> Any:
    """Run a spec to its horizon in this process (a `runner.RunResult`)."""
    from sim import runner
    from sim.model import ClaimsModel
    from sim.scenario import load_scenario

    sf = load_scenario(spec.scenario)
    if spec.plans_file:
        sf.add_plans_file(spec.plans_file)
    if not spec.overrides:
        res = runner.simulate(sf, spec.plan, spec.seed, spec.hours, release=True)
    else:
        started = time.perf_counter()
        model = ClaimsModel(sf.variant(json.loads(spec.overrides), spec.plan), seed=spec.seed, hours=spec.hours)
        model.run()
        res = runner.collect(model, sf, started, release=True)
    res.summary["run_key"] = run_key(spec, sf.sha256)
    return res


def run_replication(spec: RunSpec) -> dict[str, Any]:
    """Run one plan and seed, write its run folder (if asked), return its figures and raw arrays."""
    from sim import runner

    res = simulate_spec(spec)
    if spec.folder:
        runner.write(res, Path(spec.folder))
    out = replication(res.summary, res.claims, res.series["backlog_open"].to_numpy())
    out["scenario"] = res.summary["scenario"]
    return out


def replication(summary: dict[str, Any], claims: Any, backlog: np.ndarray) -> dict[str, Any]:
    """A run's figures by name (every registered figure; the headline ones are sim.figures.REPLICATED) and raw
    arrays, from its summary, claims and backlog."""
    from sim.figures import ALL, values

    settled = claims["settled_h"].notna()
    latency = (claims.loc[settled, "settled_h"] - claims.loc[settled, "reported_h"]).to_numpy()
    return {
        "plan": summary["plan"], "seed": summary["seed"],
        "figures": values(summary["figures"], ALL),
        "latency": latency.astype(np.float32),
        "backlog": np.asarray(backlog, dtype=np.float32),
        "horizon": float(summary["hours"]),
        "wall_time_s": summary.get("wall_time_s"),
    }


def load_replication(folder: Path) -> dict[str, Any]:
    """The same result as `run_replication` returned, read back from a complete run folder."""
    import pyarrow.parquet as pq

    summary = json.loads((folder / "summary.json").read_text())
    claims = pq.read_table(folder / "claims.parquet", columns=["reported_h", "settled_h"]).to_pandas()
    backlog = pq.read_table(folder / "series.parquet", columns=["backlog_open"]).column(0).to_numpy()
    pq.read_metadata(folder / "events.parquet")  # the event log must at least be a whole parquet file
    out = replication(summary, claims, backlog)
    out["scenario"] = summary["scenario"]
    out["reused"] = True
    return out


def reusable(spec: RunSpec, key: dict[str, Any]) -> bool:
    """Whether the spec's folder is complete, was made from the same inputs and code, and every file it
    recorded at write time is still there with the same size and sha256."""
    if not spec.folder:
        return False
    folder = Path(spec.folder)
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(summary, dict) or summary.get("run_key") != key:
        return False
    return manifest_problem(folder, summary.get("files")) is None


def run_bundle(specs: list[RunSpec], task: Callable[[RunSpec], dict[str, Any]] | None = None
               ) -> list[dict[str, Any] | Failure]:
    """One task: several runs in a row; each failure is caught and returned, the others still run."""
    out: list[dict[str, Any] | Failure] = []
    for spec in specs:
        try:
            out.append((task or run_replication)(spec))
        except InputError as err:
            out.append(Failure(spec, err.one_line()))
        except Exception as exc:
            out.append(Failure(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    return out


def clean_partials(root: Path) -> int:
    """Remove run folders left half-written by a killed run (they never look complete); returns how many."""
    n = 0
    if root.is_dir():
        for tmp in root.rglob(".*.partial"):
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
                n += 1
    return n


def execute(specs: list[RunSpec], *, workers: int = 1, executor: cf.Executor | None = None, capacity: int | None = None,
            bundle: int = 1, resume: bool = True, progress: Callable[[Status], None] | None = None,
            task: Callable[[RunSpec], dict[str, Any]] | None = None) -> list[dict[str, Any] | Failure]:
    """Run every spec (reusing complete folders when `resume`), results in the order of `specs`.

    `executor`: any concurrent.futures executor (a Dask client's, say); None means a forkserver process
    pool of `workers` processes, or this process when `workers` is 1. `capacity`: how many tasks the
    executor runs at once (for the progress display; default `workers`). `task`: a module-level function
    run for each spec instead of `run_replication` (folders are then not reused).
    """
    from sim.scenario import load_scenario

    results: list[dict[str, Any] | Failure | None] = [None] * len(specs)
    status = Status(total=len(specs))
    shas: dict[str, str] = {}
    todo: list[int] = []
    for i, spec in enumerate(specs):
        if resume and spec.folder and task is None:
            if spec.scenario not in shas:
                try:
                    shas[spec.scenario] = load_scenario(spec.scenario).sha256
                except InputError:
                    shas[spec.scenario] = ""  # the run itself will fail, naming the problem
            if shas[spec.scenario] and reusable(spec, run_key(spec, shas[spec.scenario])):
                try:
                    results[i] = load_replication(Path(spec.folder))
                    status.reused += 1
                    status.done += 1
                    continue
                except Exception:  # unreadable however it fails: run it again
                    pass
        todo.append(i)
    if progress:
        progress(status)

    def record(i: int, res: dict[str, Any] | Failure) -> None:
        results[i] = res
        status.done += 1
        if isinstance(res, Failure):
            status.failed += 1

    bundles = [todo[k:k + max(1, bundle)] for k in range(0, len(todo), max(1, bundle))]
    if executor is None and workers <= 1:
        for b in bundles:
            status.running = len(b)
            if progress:
                progress(status)
            for i, res in zip(b, run_bundle([specs[i] for i in b], task), strict=True):
                record(i, res)
        status.running = 0
    elif bundles:
        with _pool(executor, workers) as pool:
            _drain(pool, bundles, specs, record, status, capacity or workers, progress, task)
    if progress:
        progress(status)
    return [r for r in results if r is not None]


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them all (see `_stop`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_forkserver() -> None:
    """Start the pool's server process with Ctrl-C ignored, so that its workers ignore it from birth (an
    ignored signal survives exec; a handler does not)."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, old)


def _stop(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a process pool now: queued tasks are cancelled, running workers killed (no orphan processes)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    processes = list((getattr(pool, "_processes", None) or {}).values())
    if terminate is not None:
        terminate()
    for proc in processes:
        with contextlib.suppress(Exception):  # already gone
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


@contextmanager
def _pool(executor: cf.Executor | None, workers: int) -> Iterator[cf.Executor]:
    if executor is not None:
        yield executor
        return
    _start_forkserver()
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=POOL_CONTEXT, initializer=_ignore_sigint)
    try:
        yield pool
    except BaseException:  # an interrupt, or anything else: no worker outlives the call
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _drain(pool: cf.Executor, bundles: list[list[int]], specs: list[RunSpec],
           record: Callable[[int, dict[str, Any] | Failure], None], status: Status, capacity: int,
           progress: Callable[[Status], None] | None, task: Callable[[RunSpec], dict[str, Any]] | None = None
           ) -> None:
    futures = {pool.submit(run_bundle, [specs[i] for i in b], task): b for b in bundles}
    pending = set(futures)
    while pending:
        finished, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
        for fut in finished:
            b = futures[fut]
            try:
                outs = fut.result()
            except Exception as exc:  # the worker died (killed, out of memory) or the task could not be sent
                outs = [Failure(specs[i], f"worker lost: {type(exc).__name__}: {exc}") for i in b]
            for i, res in zip(b, outs, strict=True):
                record(i, res)
        visible = [futures[f] for f in pending if f.running()]
        if visible:
            status.running = sum(len(b) for b in visible)
        else:  # executors that do not report running tasks (Dask's)
            status.running = sum(len(futures[f]) for f in list(pending)[:capacity])
        if progress:
            progress(status)
    status.running = 0


def map_tasks(fn: Callable[[Any], Any], items: list[Any], *, workers: int = 1, executor: cf.Executor | None = None,
              progress: Callable[[int, int], None] | None = None, order: list[int] | None = None) -> list[Any]:
    """`fn` (a module-level function) over picklable `items` on the engine's executors; results in item order.

    For work that is not a run of a scenario (validation's measurements): the same process pool (or a Dask
    client's executor) as `execute`, without run folders. `order` submits the items in another order (longest
    first keeps every worker busy to the end). An exception in any item is raised here.
    """
    results: list[Any] = [None] * len(items)
    sequence = order if order is not None else list(range(len(items)))
    done = 0
    if executor is None and workers <= 1:
        for i in sequence:
            results[i] = fn(items[i])
            done += 1
            if progress:
                progress(done, len(items))
        return results
    with _pool(executor, workers) as pool:
        futures = {pool.submit(fn, items[i]): i for i in sequence}
        for fut in cf.as_completed(futures):
            results[futures[fut]] = fut.result()
            done += 1
            if progress:
                progress(done, len(items))
    return results


# ---------------------------------------------------------------------------- executors


def check_executor(kind: str, scheduler: str | None) -> None:
    """The options of `executor_for`, checked before anything runs or is written."""
    if kind not in ("local", "dask"):
        raise InputError(f"unknown executor '{kind[:20]}' (local or dask)", key_path="--executor")
    if kind == "local" and scheduler:
        raise InputError("--scheduler needs --executor dask", key_path="--scheduler")


@contextmanager
def executor_for(kind: str, workers: int, scheduler: str | None = None
                 ) -> Iterator[tuple[cf.Executor | None, int]]:
    """(executor, capacity) for `--executor local|dask`: local gives None (the engine's process pool).

    With dask and no scheduler address, a local Dask cluster of `workers` single-threaded worker
    processes is started and closed afterwards.
    """
    check_executor(kind, scheduler)
    if kind == "local":
        yield None, workers
        return
    try:
        import logging

        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("the dask executor needs the optional extra: pip install 'claimsim[dask]'",
                         key_path="--executor") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}", key_path="--scheduler") \
                from None
        try:
            capacity = max(1, sum(client.nthreads().values()))
            yield client.get_executor(pure=False), capacity
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client.get_executor(pure=False), workers
    finally:
        client.close()
        cluster.close()


def default_bundle(n_runs: int, capacity: int, kind: str) -> int:
    """Runs per task: one on the local pool; on Dask about four tasks per worker, at most 8 runs each."""
    if kind == "local" or n_runs <= capacity:
        return 1
    return int(max(1, min(8, n_runs // (4 * capacity))))
