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
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import InputError
from sim.execution import Failure, RunSpec
from sim.figures import REPLICATED
from sim.inputs import read_document
from sim.scenario import load_scenario


class SeedRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: int | None = Field(default=None, ge=0, strict=True, description="first seed (default: the scenario's)")
    count: int = Field(default=10, ge=1, le=100_000, strict=True)


class Grid(BaseModel):
    """A sweep grid file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    scenarios: list[str] = Field(min_length=1)
    plans: list[str] | None = Field(default=None, min_length=1)
    plans_file: str | None = None
    seeds: list[int] | SeedRange = SeedRange()
    hours: int | None = Field(default=None, ge=1, strict=True)


@dataclass
class Sweep:
    """The runs of a grid, checked: every scenario loads and has every plan named."""

    specs: list[RunSpec]
    scenario_names: dict[str, str]  # scenario file -> scenario name
    description: str = ""


def read_grid(path: Path) -> tuple[Grid, dict[tuple, int]]:
    grid, lines = read_document(path, Grid)
    if isinstance(grid.seeds, list) and any(s < 0 for s in grid.seeds):
        raise InputError("seeds are whole numbers >= 0", file=path, line=lines.get(("seeds",)), key_path="seeds")
    return grid, lines


def plan_sweep(grid: Grid, out: Path, base: Path | None = None, lines: dict[tuple, int] | None = None,
               grid_file: Path | None = None) -> Sweep:
    """Every run of the grid, with its folder under `out/runs`; bad scenarios or plans fail here, before any run."""
    base = base or Path(".")
    lines = lines or {}

    def where(*key: Any) -> dict[str, Any]:
        return {"file": grid_file, "line": lines.get(key) or lines.get(key[:1]), "key_path": ".".join(map(str, key))}

    plans_file = str(base / grid.plans_file) if grid.plans_file else None
    specs: list[RunSpec] = []
    names: dict[str, str] = {}
    for i, rel in enumerate(grid.scenarios):
        path = base / rel
        if not path.exists() and grid_file is not None:
            raise InputError("file not found", **{**where("scenarios", i), "key_path": f"scenarios[{i}]"})
        sf = load_scenario(path)
        if plans_file:
            sf.add_plans_file(plans_file)
        if sf.name in names.values():
            raise InputError(f"two scenarios are named '{sf.name}'", **{**where("scenarios", i),
                                                                        "key_path": f"scenarios[{i}]"})
        names[str(path)] = sf.name
        plans = list(grid.plans) if grid.plans else list(sf.plans)
        for j, plan in enumerate(plans):
            if plan not in sf.plans:
                raise InputError(f"scenario {path} has no plan '{plan}' (plans: {', '.join(sf.plans)})",
                                 **{**where("plans", j), "key_path": f"plans[{j}]" if grid.plans else "--plans"})
            sf.resolve(plan)
        if isinstance(grid.seeds, list):
            seeds = list(grid.seeds)
        else:
            first = sf.resolve().seed if grid.seeds.first is None else grid.seeds.first
            seeds = list(range(first, first + grid.seeds.count))
        for plan in plans:
            for seed in seeds:
                folder = out / "runs" / sf.name / plan / f"seed-{seed}"
                specs.append(RunSpec(str(path), plans_file, plan, seed, grid.hours, str(folder)))
    return Sweep(specs, names, grid.description)


def parse_seeds(text: str) -> list[int]:
    """'0-9' or '1,4,7' (or both: '0-4,10') into seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a:
                    raise ValueError
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise InputError(f"expected seeds like 0-9 or 1,4,7, got '{text}'", key_path="--seeds") from None
    if not seeds or any(s < 0 for s in seeds):
        raise InputError(f"expected seeds >= 0 like 0-9 or 1,4,7, got '{text}'", key_path="--seeds")
    return list(dict.fromkeys(seeds))


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


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
    _atomic_write(out / "sweep.parquet", sink.getvalue().to_pybytes())
    _atomic_write(out / "sweep.csv", _csv(table))
    failures = [r for r in table if r["status"] == "failed"]
    _atomic_write(out / "failures.csv", _csv([{k: r[k] for k in ("scenario", "scenario_file", "plan", "seed",
                                                                  "error")} for r in failures]))
    agg = aggregate(table)
    summary = {"description": sweep.description, **meta, "runs": len(table),
               "ok": len(table) - len(failures), "failed": len(failures),
               "reused": sum(1 for r in table if r["reused"]), "by_plan": agg}
    _atomic_write(out / "report.md", report(summary, failures).encode())
    _atomic_write(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
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
