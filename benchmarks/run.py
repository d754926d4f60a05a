"""Benchmarks: each figure is a ratio against a baseline measured in the same run (machines are noisy).

    python benchmarks/run.py [--scenario scenarios/national-blizzard-1m.yaml] [--repeat 3]

1. hazard step: agent-hours per second of the drivers' vectorised step, against a raw numpy
   Bernoulli draw (`rng.random(n) < p`) over arrays of the same size;
2. claims pipeline: claims per second through the full SimPy claim life, against a bare SimPy
   M/M/c line fed with the same report times;
3. end to end: the 1,000,000-policyholder scenario, wall time and peak memory, in a fresh process;
4. replications: the same replications in this process, on a process pool of 1 and of 2 workers, and on a
   local Dask cluster of 2 workers: speed-up from 1 to 2 workers and the overhead per replication.

    python benchmarks/run.py --profile     # also profile the end-to-end run (pyinstrument), top frames
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import simpy
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.model import ClaimsModel  # noqa: E402
from sim.runner import simulate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_hazard_step(path: Path, repeat: int, hours: int = 24) -> dict:
    scenario = load_scenario(path).resolve("baseline")
    model = ClaimsModel(scenario, seed=1)
    pop = model.populations["drivers"]
    n = pop.n
    storm_hours = range(0, min(hours, scenario.duration_h))

    def ours() -> None:
        for h in storm_hours:
            pop.step(h)
            pop.at_risk[:] = True

    rng = np.random.default_rng(2)
    p = np.full(n, 2e-5)

    def raw() -> None:
        for _ in storm_hours:
            _ = np.flatnonzero(rng.random(n) < p)

    t_ours, t_raw = best_of(ours, repeat), best_of(raw, repeat)
    agent_hours = n * len(storm_hours)
    return {"agent_hours": agent_hours, "ours_per_s": agent_hours / t_ours, "raw_per_s": agent_hours / t_raw,
            "ratio": t_ours / t_raw}


def mmc_baseline(report_times: np.ndarray, servers: int, mean_service_h: float) -> float:
    """Seconds for a bare SimPy M/M/c line to serve the same arrivals."""
    env = simpy.Environment()
    line = simpy.Resource(env, capacity=max(servers, 1))
    rng = np.random.default_rng(3)
    service = rng.exponential(mean_service_h, report_times.size)

    def customer(i: int):
        yield env.timeout(report_times[i])
        with line.request() as req:
            yield req
            yield env.timeout(service[i])

    t = time.perf_counter()
    for i in range(report_times.size):
        env.process(customer(i))
    env.run()
    return time.perf_counter() - t


def bench_pipeline(path: Path) -> dict:
    sf = load_scenario(path)
    res = simulate(sf, "baseline", 1)
    model = res.model
    claims = model.claim_count
    t_ops = model.timings["operation_s"]
    reported = np.sort(res.claims["reported_h"].dropna().to_numpy())
    phone = model.spec.operations.staff["phone"].headcount
    servers = phone if isinstance(phone, int) else sum(phone.values())
    t_bare = mmc_baseline(reported, servers, model.spec.operations.phone.handling_min.mean / 60)
    return {"claims": claims, "events": len(model.log), "ours_per_s": claims / t_ops,
            "bare_mmc_per_s": reported.size / t_bare, "ratio": t_ops / t_bare * reported.size / max(claims, 1)}


def bench_end_to_end(path: Path) -> dict:
    code = (
        "import time, resource, json, sys\n"
        "t=time.perf_counter()\n"
        "from sim.scenario import load_scenario\nfrom sim.runner import simulate\n"
        f"r=simulate(load_scenario({str(path)!r}), 'baseline', 1)\n"
        "wall=time.perf_counter()-t\n"
        "print(json.dumps({'wall_s': wall, 'claims': len(r.claims), 'world_s': r.model.timings['world_s'],"
        " 'operation_s': r.model.timings['operation_s'],"
        " 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # Baseline in the same run: the irreducible numpy work, one uniform per policyholder-hour.
    scenario = load_scenario(path).resolve("baseline")
    n = sum(scenario.policyholders(t) for t in ("drivers", "farmers", "firms"))
    rng = np.random.default_rng(4)
    t = time.perf_counter()
    for _ in range(scenario.duration_h):
        rng.random(n)
    result["raw_draws_s"] = time.perf_counter() - t
    result["policyholders"] = n
    result["hours"] = scenario.duration_h
    return result


def bench_replications(path: Path, reps: int, hours: int) -> dict:
    """Speed-up from 1 to 2 workers, and what a replication costs beyond its own compute."""
    import concurrent.futures as cf

    from sim import execution as ex

    specs = [ex.RunSpec(str(path), None, "baseline", s, hours, None) for s in range(reps)]

    def timed(**kw) -> float:
        t = time.perf_counter()
        out = ex.execute(specs, resume=False, **kw)
        assert not any(isinstance(r, ex.Failure) for r in out)
        return time.perf_counter() - t

    t_inproc = timed(workers=1)
    with cf.ProcessPoolExecutor(1, mp_context=ex.POOL_CONTEXT) as pool:
        t_pool1 = timed(executor=pool, capacity=1)
    t_pool2 = timed(workers=2)
    t = time.perf_counter()
    with ex.executor_for("dask", 2) as (pool, capacity):
        t_start = time.perf_counter() - t
        t_dask2 = timed(executor=pool, capacity=capacity, bundle=ex.default_bundle(reps, capacity, "dask"))
    return {"reps": reps, "hours": hours, "inproc_s": t_inproc, "pool1_s": t_pool1, "pool2_s": t_pool2,
            "dask2_s": t_dask2, "dask_start_s": t_start, "speedup": t_pool1 / t_pool2,
            "overhead_per_rep_s": (t_pool1 - t_inproc) / reps, "dask_vs_pool": t_dask2 / t_pool2}


def profile_end_to_end(path: Path) -> str:
    """Where the end-to-end run spends its time (pyinstrument, the `bench` extra)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.005)
    profiler.start()
    simulate(load_scenario(path), "baseline", 1)
    profiler.stop()
    out = ROOT / "results" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.html").write_text(profiler.output_html())
    return profiler.output_text(unicode=False, color=False, show_all=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "national-blizzard-1m.yaml")
    ap.add_argument("--pipeline-scenario", type=Path, default=ROOT / "scenarios" / "north-china-blizzard.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reps", type=int, default=8, help="replications for the worker benchmark")
    ap.add_argument("--rep-hours", type=int, default=24, help="hours per replication in the worker benchmark")
    ap.add_argument("--profile", action="store_true", help="profile the end-to-end run (results/bench/)")
    args = ap.parse_args()
    console = Console(width=140)
    hz = bench_hazard_step(args.scenario, args.repeat)
    pipe = bench_pipeline(args.pipeline_scenario)
    e2e = bench_end_to_end(args.scenario)
    reps = bench_replications(args.pipeline_scenario, args.reps, args.rep_hours)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(title="claimsim benchmarks (ratios are against a baseline timed in this run)")
    for col in ("benchmark", "ours", "baseline", "ratio (time ours / time baseline)"):
        table.add_column(col)
    table.add_row("hazard step (drivers)", f"{hz['ours_per_s'] / 1e6:,.1f} M agent-h/s",
                  f"{hz['raw_per_s'] / 1e6:,.1f} M agent-h/s (numpy Bernoulli)", f"{hz['ratio']:.2f}x")
    table.add_row("claims pipeline (SimPy)", f"{pipe['ours_per_s']:,.0f} claims/s ({pipe['claims']:,} claims)",
                  f"{pipe['bare_mmc_per_s']:,.0f} calls/s (bare M/M/c)", f"{pipe['ratio']:.1f}x")
    table.add_row(f"end to end ({e2e['policyholders']:,} x {e2e['hours']} h)",
                  f"{e2e['wall_s']:.1f} s, {e2e['peak_mb']:,.0f} MB peak, {e2e['claims']:,} claims",
                  f"{e2e['raw_draws_s']:.2f} s (uniform draws alone)", f"{e2e['wall_s'] / e2e['raw_draws_s']:.1f}x")
    table.add_row(f"replications ({reps['reps']} x {args.pipeline_scenario.stem}, {reps['hours']} h)",
                  f"2 workers {reps['pool2_s']:.1f} s; Dask 2 workers {reps['dask2_s']:.1f} s "
                  f"(+{reps['dask_start_s']:.1f} s cluster start)",
                  f"1 worker {reps['pool1_s']:.1f} s; in this process {reps['inproc_s']:.1f} s",
                  f"speed-up {reps['speedup']:.2f}x; overhead {reps['overhead_per_rep_s'] * 1000:.0f} ms/rep; "
                  f"Dask/pool {reps['dask_vs_pool']:.2f}x")
    console.print(table)
    console.print(f"end to end split: world {e2e['world_s']:.1f} s, operation {e2e['operation_s']:.1f} s; "
                  f"this process peak {peak:,.0f} MB")
    (ROOT / "results" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "results" / "bench" / "latest.json").write_text(json.dumps(
        {"hazard": hz, "pipeline": pipe, "end_to_end": e2e, "replications": reps}, indent=2) + "\n")
    if args.profile:
        console.print(profile_end_to_end(args.scenario))


if __name__ == "__main__":
    main()
