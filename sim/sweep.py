"""Sweeps: a plans x scenarios x seeds grid of runs, resumable, on local processes or a Dask cluster.

A grid comes from the command line or a small YAML file:

    description: winter readiness review
    scenarios: [../north-china-blizzard.yaml, ../cold-wave-farms.yaml]   # relative to this file
    plans: [baseline, all-hands]        # default: every plan of each scenario
    plans_file: ../plans/founding-article.yaml   # optional shared plans
    seeds: {first: 0, count: 10}        # or a list: [0, 1, 7]
    hours: 48                           # optional: stop each run early

Each run writes `<out>/runs/<scenario>/<plan>/seed-<n>/` (see `sim.execution`); the sweep writes
`sweep.parquet` and `sweep.csv` (one row per run), `failures.csv`, `report.md` and, last, `summary.json`:
a sweep folder without summary.json is unfinished (re-running the same command resumes it).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import InputError
from sim.execution import MAX_RUNS, Failure, RunSpec
from sim.figures import REPLICATED
from sim.files import write_result
from sim.inputs import read_document
from sim.scenario import ScenarioFile, load_scenario
from sim.scenario.base import MAX_SEED
from sim.scenario.spec import MAX_DURATION_H

MAX_SEEDS = 100_000  # seeds in one sweep: far past where an interval over seeds stops narrowing usefully
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)]


class SeedRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: Seed | None = Field(default=None, description="first seed (default: the scenario's)")
    count: int = Field(default=10, ge=1, le=MAX_SEEDS, strict=True)


class Grid(BaseModel):
    """A sweep grid file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    description: Annotated[str, Field(max_length=10_000)] = ""
    scenarios: list[str] = Field(min_length=1, max_length=1000)
    plans: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    plans_file: str | None = None
    seeds: Annotated[list[Seed], Field(min_length=1, max_length=MAX_SEEDS)] | SeedRange = SeedRange()
    hours: int | None = Field(default=None, ge=1, le=MAX_DURATION_H, strict=True)


@dataclass
class Sweep:
    """The runs of a grid, checked: every scenario loads and has every plan named."""

    specs: list[RunSpec]
    scenario_names: dict[str, str]  # scenario file -> scenario name
    description: str = ""
    variants: list[tuple[ScenarioFile, str, int | None]] = field(default_factory=list)  # (file, plan, hours)


def read_grid(path: Path) -> tuple[Grid, dict[tuple, int]]:
    return read_document(path, Grid, "sweep grid")


def plan_sweep(grid: Grid, out: Path, base: Path | None = None, lines: dict[tuple, int] | None = None,
               grid_file: Path | None = None) -> Sweep:
    """Every run of the grid, with its folder under `out/runs`; bad scenarios or plans fail here, before any run."""
    base = base or Path(".")
    lines = lines or {}

    def where(*key: Any) -> dict[str, Any]:
        return {"file": grid_file, "line": lines.get(key) or lines.get(key[:1]), "key_path": ".".join(map(str, key))}

    plans_file = str(base / grid.plans_file) if grid.plans_file else None
    if plans_file and grid_file is not None and not Path(plans_file).is_file():
        raise InputError("file not found", **where("plans_file"))
    specs: list[RunSpec] = []
    names: dict[str, str] = {}
    runs: list[tuple[ScenarioFile, str, int | None]] = []
    seeds_each = len(grid.seeds) if isinstance(grid.seeds, list) else grid.seeds.count
    for i, rel in enumerate(grid.scenarios):
        path = base / rel
        if not path.is_file() and grid_file is not None:
            raise InputError("file not found", **{**where("scenarios", i), "key_path": f"scenarios[{i}]"})
        sf = load_scenario(path)
        if plans_file:
            sf.add_plans_file(plans_file)
        if sf.name in names.values():
            raise InputError(f"two scenarios are named '{sf.name}'", **{**where("scenarios", i),
                                                                        "key_path": f"scenarios[{i}]"})
        names[str(path)] = sf.name
        plans = list(grid.plans) if grid.plans else list(sf.plans)
        if len(specs) + len(plans) * seeds_each > MAX_RUNS:
            raise InputError(f"more than {MAX_RUNS:,} runs: fewer seeds, plans or scenarios",
                             **{**where("seeds"), "key_path": "seeds" if grid_file else "--seeds"})
        for j, plan in enumerate(plans):
            if plan not in sf.plans:
                raise InputError(f"scenario {path} has no plan '{plan}' (plans: {', '.join(sf.plans)})",
                                 **{**where("plans", j), "key_path": f"plans[{j}]" if grid.plans else "--plans"})
            sf.resolve(plan)
            runs.append((sf, plan, grid.hours))
        if isinstance(grid.seeds, list):
            seeds = list(grid.seeds)
        else:
            first = sf.resolve().seed if grid.seeds.first is None else grid.seeds.first
            seeds = list(range(first, first + grid.seeds.count))
        for plan in plans:
            for seed in seeds:
                folder = out / "runs" / sf.name / plan / f"seed-{seed}"
                specs.append(RunSpec(str(path), plans_file, plan, seed, grid.hours, str(folder)))
    return Sweep(specs, names, grid.description, runs)


def parse_seeds(text: str) -> list[int]:
    """'0-9' or '1,4,7' (or both: '0-4,10') into seeds: at most MAX_SEEDS of them, each at most MAX_SEED."""
    shown = text if len(text) <= 40 and text.isprintable() else text[:40].encode("ascii", "replace").decode() + "..."
    ranges: list[tuple[int, int]] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            a, _, b = part.partition("-")
            first, last = int(a), int(b) if b else int(a)
            if last < first or first < 0:
                raise ValueError
            ranges.append((first, last))
    except ValueError:
        raise InputError(f"expected seeds >= 0 like 0-9 or 1,4,7, got '{shown}'", key_path="--seeds") from None
    if not ranges:
        raise InputError(f"expected seeds >= 0 like 0-9 or 1,4,7, got '{shown}'", key_path="--seeds")
    count = sum(last - first + 1 for first, last in ranges)  # counted before any list is made
    if count > MAX_SEEDS:
        raise InputError(f"{count:,} seeds: at most {MAX_SEEDS:,} in one sweep (a sanity bound; a confidence "
                         "interval stops narrowing usefully long before)", key_path="--seeds")
    if max(last for _, last in ranges) > MAX_SEED:
        raise InputError(f"seeds are at most {MAX_SEED:,} (32-bit)", key_path="--seeds")
    return list(dict.fromkeys(s for first, last in ranges for s in range(first, last + 1)))


# ---------------------------------------------------------------------------- results

FIGURE_KEYS = tuple(f.name for f in REPLICATED)


def rows(sweep: Sweep, results: list[dict[str, Any] | Failure]) -> list[dict[str, Any]]:
    out = []
    for spec, res in zip(sweep.specs, results, strict=True):
        row: dict[str, Any] = {"scenario": sweep.scenario_names[spec.scenario], "scenario_file": spec.scenario,
                               "plan": spec.plan, "seed": spec.seed, "hours": spec.hours}
        if isinstance(res, Failure):
            row.update(status="failed", reused=False, error=res.error, wall_time_s=None,
                       **{k: None for k in FIGURE_KEYS})
        else:
            row.update(status="ok", reused=bool(res.get("reused", False)), error=None,
                       wall_time_s=res.get("wall_time_s"), **{k: res["figures"][k] for k in FIGURE_KEYS})
        row["folder"] = spec.folder
        out.append(row)
    return out


def aggregate(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scenario and plan: successful runs and each figure's mean with its 95% CI over seeds."""
    from sim.stats import mean_ci

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in table:
        groups.setdefault((r["scenario"], r["plan"]), []).append(r)
    out = []
    for (scen, plan), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        entry: dict[str, Any] = {"scenario": scen, "plan": plan, "runs": len(ok), "failed": len(rs) - len(ok)}
        for k in FIGURE_KEYS:
            v = np.array([r[k] for r in ok], dtype=float)
            v = v[~np.isnan(v)]
            m, lo, hi = mean_ci(v)
            entry[k] = {"mean": m, "low": lo, "high": hi}
        out.append(entry)
    return out


def write(out: Path, sweep: Sweep, results: list[dict[str, Any] | Failure], meta: dict[str, Any]) -> dict[str, Any]:
    """Write the sweep's tables and report; summary.json last, as the mark of a complete sweep."""
    table = rows(sweep, results)
    schema = pa.schema([("scenario", pa.string()), ("scenario_file", pa.string()), ("plan", pa.string()),
                        ("seed", pa.int64()), ("hours", pa.int64()), ("status", pa.string()), ("reused", pa.bool_()),
                        ("error", pa.string()), ("wall_time_s", pa.float64())]
                       + [(k, pa.float64()) for k in FIGURE_KEYS] + [("folder", pa.string())])
    arrow = pa.Table.from_pylist(table, schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink)
    write_result(out, "sweep.parquet", sink.getvalue().to_pybytes())
    write_result(out, "sweep.csv", _csv(table))
    failures = [r for r in table if r["status"] == "failed"]
    write_result(out, "failures.csv", _csv([{k: r[k] for k in ("scenario", "scenario_file", "plan", "seed",
                                                                  "error")} for r in failures]))
    agg = aggregate(table)
    summary = {"description": sweep.description, **meta, "runs": len(table),
               "ok": len(table) - len(failures), "failed": len(failures),
               "reused": sum(1 for r in table if r["reused"]), "by_plan": agg}
    write_result(out, "report.md", report(summary, failures).encode())
    write_result(out, "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def _csv(table: list[dict[str, Any]]) -> bytes:
    import io

    buf = io.StringIO()
    if table:
        w = csv.DictWriter(buf, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    return buf.getvalue().encode()


def _num(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.3g}"


def _fmt(v: dict[str, float]) -> str:
    """Mean [95% CI] for a table cell."""
    m, lo, hi = v["mean"], v["low"], v["high"]
    if not np.isfinite(m):
        return "n/a"
    if not np.isfinite(lo):
        return _num(m)
    return f"{_num(m)} [{_num(lo)}, {_num(hi)}]"


def report(summary: dict[str, Any], failures: list[dict[str, Any]]) -> str:
    lines = [f"# Sweep{': ' + summary['description'] if summary.get('description') else ''}", "",
             f"{summary['runs']} runs: {summary['ok']} ok ({summary['reused']} reused from an earlier sweep), "
             f"{summary['failed']} failed. Executor: {summary.get('executor')}; "
             f"wall time {summary.get('wall_time_s', 0):.1f} s.", "",
             "Mean over seeds with its 95% confidence interval (Student t over replications).", "",
             "| scenario | plan | runs | latency p50 (h) | latency p90 (h) | latency mean (h) | paid in 7 days "
             "| abandonment | peak backlog | cost |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for e in summary["by_plan"]:
        failed = f" ({e['failed']} failed)" if e["failed"] else ""
        lines.append(f"| {e['scenario']} | {e['plan']} | {e['runs']}{failed}"
                     f" | {_fmt(e['latency_p50'])} | {_fmt(e['latency_p90'])} | {_fmt(e['latency_mean'])}"
                     f" | {_fmt(e['paid_7d'])} | {_fmt(e['abandonment'])} | {_fmt(e['peak_backlog'])}"
                     f" | {_fmt(e['cost'])} |")
    if failures:
        lines += ["", "## Failed runs", ""]
        lines += [f"- {r['scenario']} plan {r['plan']} seed {r['seed']}: {r['error']}" for r in failures]
    return "\n".join(lines) + "\n"
