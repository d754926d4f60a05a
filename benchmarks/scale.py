"""Catastrophe scale: the million-claim scenario end to end, the scaling curve, and the claim pipeline against a
bare SimPy skeleton of the same stages, staff and logging, all measured in one run.

    python benchmarks/scale.py [--scenario scenarios/national-flood-1m.yaml] [--points 0.01,0.1,1]
                               [--skeleton-scale 0.25] [--repeat 1] [--json results/bench/scale.json]

1. End to end, per scale point (every policyholder and staff count of the scenario times the factor; 1 is the
   shipped scenario): a fresh process runs it as `claimsim run` does (build, run, figures, run folder written;
   the world process from 50,000 expected claims, sim.world.WorldAhead); wall time, peak memory (the process's
   own VmHWM, and the world process's), claims and claims per second.
2. The pipeline against its skeleton, at `--skeleton-scale`: claimsim runs the scenario in this process (the time
   spent turning incidents into claims and running the SimPy operation), then a bare SimPy model replays the same
   claims: each claim a process that waits the same gaps, takes the same jobs from the same pools (one
   `simpy.Resource` per pool, capacity = the pool's staff) for the same durations, and logs the same
   rows into the same kind of event log. Its time is the baseline of the ratio (goal: claimsim within 2.5x).
   claimsim runs here without the world process (its intake all in the operation's process, as the skeleton's
   feeder is in its own): the ratio is the single-core one.

The machine is shared and noisy: the ratio is measured in the same run; wall times are indicative.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.model import ClaimsModel, fewer_collections  # noqa: E402
from sim.ops.log import JOB_ENDS, JOB_STARTS, Ev, EventLog, RunRecord  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.scenario.scale import scale_overrides  # noqa: E402

DEFAULT = ROOT / "scenarios" / "national-flood-1m.yaml"

# One scale point in a fresh interpreter: the work of `claimsim run` (simulate, then write the run folder).
POINT = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from sim import estimate, runner
from sim.model import ClaimsModel
from sim.scenario import load_scenario
from sim.scenario.scale import scale_overrides
started = time.perf_counter()
sf = load_scenario({scenario!r})
spec = sf.resolve('baseline')
if {factor!r} < 1:
    spec = sf.variant(scale_overrides(spec, {factor!r}))
# as `claimsim run` decides it: the world process from 50,000 expected claims on two cores
ahead = runner.use_world_process(estimate.estimate(spec, spec.duration_h, spec.seed).claims)
model = ClaimsModel(spec, world_process=ahead)
model.run()
result = runner.collect(model, sf, started, release=True)
ran = time.perf_counter()
runner.write(result, runner.run_dir(Path({out!r}), result.summary['scenario'], 'baseline', result.model.seed), False)
done = time.perf_counter()
peak = [int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')][0]
print(json.dumps({{"claims": result.model.claim_count, "events": result.events.num_rows,
                  "run_s": ran - started, "write_s": done - ran, "wall_s": done - started,
                  "world_s": result.model.timings["world_s"], "operation_s": result.model.timings["operation_s"],
                  "world_process": ahead, "world_process_peak_mb": result.model.timings.get("world_process_peak_mb"),
                  "peak_mb": peak / 1024}}))
"""


def end_to_end(scenario: Path, factor: float) -> dict[str, Any]:
    """One scale point in a fresh process (its own peak memory)."""
    with tempfile.TemporaryDirectory() as out:
        code = POINT.format(root=str(ROOT), scenario=str(scenario), factor=float(factor), out=out)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"scale point {factor} failed:\n{proc.stderr[-2000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row.update(factor=factor, process_s=wall, claims_per_s=row["claims"] / row["wall_s"])
    return row


# ---------------------------------------------------------------------------- the skeleton


def claim_paths(rec: RunRecord) -> tuple[list[tuple[float, list[tuple[float, int, float, int]]]], dict[int, int]]:
    """Each claim's path as the skeleton replays it: (start time, [(gap, pool, duration, rows), ...]).

    A step waits `gap` hours after the previous step's end (claimsim's own waits: reporting delay, hand-offs,
    documents, repairs...), logs `rows` rows (the claim's events up to and including the job's end), then takes
    a job of `duration` hours from `pool` (-1: no job, the claim's last rows). Pools are numbered; the second
    value returned is each pool's capacity (its staff, slots counted).
    """
    ev = rec.events
    order = np.lexsort((np.arange(len(ev["t_h"])), ev["t_h"], ev["claim_id"]))
    t, cid, code, staff = ev["t_h"][order], ev["claim_id"][order], ev["code"][order], ev["staff_id"][order]
    mine = cid >= 0
    t, cid, code, staff = t[mine], cid[mine], code[mine], staff[mine]
    pool_of_staff: dict[int, int] = {}
    names: dict[tuple[str, str], int] = {}
    capacity: dict[int, int] = {}
    for sid, role, pool, slots in zip(rec.staff["staff_id"], rec.staff["role"], rec.staff["pool"],
                                      rec.staff["slots"], strict=True):
        p = names.setdefault((role, pool), len(names))
        pool_of_staff[int(sid)] = p
        capacity[p] = capacity.get(p, 0) + int(slots)
    is_start = np.isin(code, np.array([int(c) for c in JOB_STARTS]))
    is_end = np.isin(code, np.array([int(c) for c in JOB_ENDS]))
    is_ask = np.isin(code, np.array([int(Ev.QUEUED), int(Ev.CALL_PLACED)]))
    bounds = np.flatnonzero(np.diff(cid)) + 1
    starts = np.concatenate(([0], bounds))
    stops = np.concatenate((bounds, [len(cid)]))
    paths = []
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        steps: list[tuple[float, int, float, int]] = []
        prev_end, logged, ask = float(t[a]), a, -1.0
        job_start = -1
        for i in range(a, b):
            if is_ask[i]:
                ask = float(t[i])
            elif is_start[i]:
                job_start = i
            elif is_end[i] and job_start >= 0:
                asked = ask if ask >= 0 else float(t[job_start])
                steps.append((max(asked - prev_end, 0.0), pool_of_staff.get(int(staff[job_start]), -1),
                              float(t[i] - t[job_start]), i + 1 - logged))
                prev_end, logged, ask, job_start = float(t[i]), i + 1, -1.0, -1
        steps.append((max(float(t[b - 1]) - prev_end, 0.0), -1, 0.0, b - logged))
        paths.append((float(t[a]), steps))
    return paths, capacity


def skeleton(paths: list[tuple[float, list[tuple[float, int, float, int]]]], capacity: dict[int, int],
             horizon_h: float) -> tuple[float, int]:
    """Replay the paths in a bare SimPy model; returns its wall seconds and rows logged."""
    env = simpy.Environment()
    log = EventLog()
    pools = {p: simpy.Resource(env, capacity=max(c, 1)) for p, c in capacity.items()}

    def claim(cid: int, steps: list[tuple[float, int, float, int]]) -> Generator[simpy.Event, Any, None]:
        for gap, pool, duration, rows in steps:
            if gap > 0:
                yield env.timeout(gap)
            for _ in range(rows):
                log.add(env.now, cid, Ev.STAGE)
            if pool >= 0:
                with pools[pool].request() as req:
                    yield req
                    yield env.timeout(duration)

    def feeder() -> Generator[simpy.Event, Any, None]:
        # claims enter hour by hour, as claimsim's model hands them to its operation
        for cid, (start, steps) in enumerate(sorted(paths, key=lambda p: p[0])):
            if start > env.now:
                yield env.timeout(start - env.now)
            env.process(claim(cid, steps))

    started = time.perf_counter()
    env.process(feeder())
    with fewer_collections():  # the garbage-collector settings claimsim's own run uses (a fair baseline)
        env.run(until=horizon_h)
    return time.perf_counter() - started, len(log)


def _claimsim_pipeline(spec: Any) -> tuple[float, float, ClaimsModel]:
    """One claimsim run: seconds turning incidents into claims, seconds in the SimPy operation, the model."""
    model = ClaimsModel(spec)
    intake = 0.0
    original = model.intake

    def timed(population: Any, incidents: Any) -> None:
        nonlocal intake
        t0 = time.perf_counter()
        original(population, incidents)
        intake += time.perf_counter() - t0

    model.intake = timed  # type: ignore[method-assign]
    model.run()
    return intake, model.timings["operation_s"], model


def pipeline_ratio(scenario: Path, factor: float, repeat: int = 3) -> dict[str, Any]:
    """claimsim's pipeline and the skeleton, alternated `repeat` times (a busy machine slows both alike);
    the ratio is the median of the paired ratios."""
    sf = load_scenario(scenario)
    spec = sf.resolve("baseline")
    if factor < 1:
        spec = sf.variant(scale_overrides(spec, factor))
    pairs = []
    for _ in range(repeat):
        intake, operation, model = _claimsim_pipeline(spec)
        rec = model.record()
        paths, capacity = claim_paths(rec)
        claims, horizon = model.claim_count, float(model.horizon_h)
        del model
        bare_s, rows = skeleton(paths, capacity, horizon)
        pairs.append((intake, operation, bare_s))
    ratios = sorted((i + o) / b for i, o, b in pairs)
    mid = sorted(pairs, key=lambda p: (p[0] + p[1]) / p[2])[len(pairs) // 2]
    claim_rows = int((rec.events["claim_id"] >= 0).sum())
    return {"factor": factor, "claims": claims, "claim_rows": claim_rows, "skeleton_rows": rows,
            "claimsim_pipeline_s": mid[0] + mid[1], "intake_s": mid[0], "operation_s": mid[1],
            "skeleton_s": mid[2], "ratio": ratios[len(ratios) // 2], "ratios": ratios, "repeat": repeat,
            "jobs": sum(1 for _, steps in paths for s in steps if s[1] >= 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=Path, default=DEFAULT)
    ap.add_argument("--points", default="0.01,0.1,1", help="scale factors of the curve (1: the shipped scenario)")
    ap.add_argument("--skeleton-scale", type=float, default=0.25)
    ap.add_argument("--repeat", type=int, default=1, help="alternated runs of claimsim and the skeleton")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    console = Console()
    load = os.getloadavg()[0]
    console.print(f"{args.scenario.name}: load average {load:.1f} at the start, {os.cpu_count()} cores")

    ratio = pipeline_ratio(args.scenario, args.skeleton_scale, args.repeat)
    t = Table(title=f"claim pipeline against a bare SimPy skeleton (scale {args.skeleton_scale:g})")
    for c in ("claims", "jobs", "log rows (claimsim / skeleton)", "claimsim s", "skeleton s", "ratio"):
        t.add_column(c, justify="right")
    t.add_row(f"{ratio['claims']:,}", f"{ratio['jobs']:,}", f"{ratio['claim_rows']:,} / {ratio['skeleton_rows']:,}",
              f"{ratio['claimsim_pipeline_s']:.1f}", f"{ratio['skeleton_s']:.1f}",
              f"{ratio['ratio']:.2f}x (" + ", ".join(f"{r:.2f}" for r in ratio["ratios"]) + ")")
    console.print(t)

    curve = [end_to_end(args.scenario, float(f)) for f in args.points.split(",")]
    t = Table(title="end to end (fresh process each: build, run, figures, run folder written)")
    for c in ("scale", "claims", "events", "wall s", "claims/s", "peak MB", "world process MB", "us per claim"):
        t.add_column(c, justify="right")
    for r in curve:
        t.add_row(f"{r['factor']:g}", f"{r['claims']:,}", f"{r['events']:,}", f"{r['wall_s']:.1f}",
                  f"{r['claims_per_s']:,.0f}", f"{r['peak_mb']:,.0f}",
                  f"{r['world_process_peak_mb']:,.0f}" if r.get("world_process_peak_mb") else "-",
                  f"{1e6 * r['wall_s'] / r['claims']:.0f}")
    console.print(t)
    if len(curve) >= 2:
        a, b = curve[0], curve[-1]
        slope = np.log(b["wall_s"] / a["wall_s"]) / np.log(b["claims"] / a["claims"])
        console.print(f"cost grows as claims^{slope:.2f} from {a['claims']:,} to {b['claims']:,} claims")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"load_average": load, "pipeline": ratio, "curve": curve}, indent=1))


if __name__ == "__main__":
    main()
