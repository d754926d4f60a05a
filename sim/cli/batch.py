"""`claimsim compare` and `claimsim sweep`: many runs over plans, scenarios and seeds."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.table import Table

from sim.cli.app import (
    BundleOpt,
    ExecutorOpt,
    ForceOpt,
    HoursOpt,
    ResumeOpt,
    SchedulerOpt,
    SkipMemoryOpt,
    WorkersOpt,
    _check_memory,
    _executor,
    _load,
    _run_progress,
    _status_updater,
    app,
    err_console,
    finite,
    out_console,
)
from sim.errors import InputError
from sim.files import check_output_dir, keep_previous, make_output_dir, mark_unfinished, write_result
from sim.scenario.base import MAX_SEED

MAX_REPS = 10_000  # replications per plan: far past where a confidence interval stops narrowing usefully
REPORT_FILES = ("report.md", "summary.json", "table.csv", "differences.csv", "replications.csv", "economics.csv",
                "targets.csv", "comparison.xlsx", "latency_cdf.png", "backlog.png", "cost_vs_p90.png")

if TYPE_CHECKING:
    from sim.compare import Comparison


@app.command()
def compare(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).", show_default=False, metavar="FILE...")],
    plans: Annotated[str | None, typer.Option(help="Comma-separated plans; the first is the baseline for "
                                                   "differences (default: every plan, baseline first).")] = None,
    reps: Annotated[int, typer.Option(min=2, max=MAX_REPS, help="Replications per plan (seeds seed, seed+1, ...).")]
    = 10,
    workers: WorkersOpt = 2,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED, help="First seed (default: the scenario's).")]
    = None,
    hours: HoursOpt = None,
    out: Annotated[Path, typer.Option(help="Results root folder.")] = Path("results/compare"),
    plans_file: Annotated[Path | None, typer.Option(help="YAML file of extra plans (top-level `plans:`), "
                                                         "reused across scenarios.")] = None,
    precision: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, callback=finite, help="Add replications until the key figure's 95% CI half-width is under "
                                                "this share of its mean.")] = None,
    max_reps: Annotated[int, typer.Option(min=2, max=MAX_REPS, help="Most replications per plan with "
                                                                    "--precision.")] = 200,
    key: Annotated[str, typer.Option(help="Key figure for --precision and the scenario matrix.")] = "latency_p90",
    crn_check: Annotated[bool, typer.Option(help="Also run the second plan with independent seeds to measure "
                                                 "what common random numbers save.")] = True,
    target: Annotated[list[str] | None, typer.Option(help="Service target FIGURE<=VALUE or FIGURE>=VALUE (e.g. "
                                                          "'settlement_latency_hours.p90<=48', or 'latency_p90<=95%' "
                                                          "of the baseline), judged on one-sided bounds; "
                                                          "repeatable.")] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, callback=finite,
                                              help="Confidence of the targets' one-sided bounds and of the ranking "
                                                   "rules.")] = 0.9,
    min_effect: Annotated[list[str] | None, typer.Option(help="Practical threshold: a share of the baseline's mean "
                                                              "for every figure ('5%'), or FIGURE=VALUE; smaller "
                                                              "differences are not reported as better or worse; "
                                                              "repeatable.")] = None,
    target_p90: Annotated[float, typer.Option(min=0.0, max=1e6, callback=finite,
                                              help="Scenario matrix target: p90 settlement latency (h).")] = 72.0,
    target_paid_7d: Annotated[float, typer.Option(min=0.0, max=1.0, callback=finite,
                                                  help="Service target: share paid or pre-paid within 7 days.")] = 0.3,
    executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None,
    bundle: BundleOpt = None,
    resume: ResumeOpt = True,
    force: ForceOpt = False,
    skip_memory_check: SkipMemoryOpt = False,
) -> None:
    """Compare plans over replications with common random numbers; write results/compare/<scenario>/."""
    from sim import compare as cmp
    from sim import execution
    from sim.report_compare import matrix_report, write_comparison

    execution.check_executor(executor, scheduler)
    if key not in cmp.FIGURES:
        raise InputError(f"unknown figure '{key}' (figures: {', '.join(cmp.FIGURES)})", key_path="--key")
    from sim.targets import parse_target

    targets = [parse_target(t) for t in target or []]
    thresholds, share = _min_effect(min_effect or [])
    checked = []
    names: set[str] = set()
    for file in files:  # every file, plan and output folder is checked before anything runs
        sf = _load(file)
        if plans_file is not None:
            sf.add_plans_file(plans_file)
        chosen = list(dict.fromkeys(p.strip() for p in plans.split(",") if p.strip())) if plans else list(sf.plans)
        if "baseline" in chosen and not plans:
            chosen.remove("baseline")
            chosen.insert(0, "baseline")
        if not chosen:
            raise InputError("name at least one plan", key_path="--plans")
        for plan in chosen:
            sf.resolve(plan)
        if sf.name in names or (len(files) > 1 and sf.name == "matrix"):
            raise InputError(f"two scenarios write to the same folder '{sf.name}'", file=file)
        names.add(sf.name)
        check_output_dir(out / sf.name, force)
        checked.append((file, sf, chosen))
    if len(checked) > 1:
        plan_sets = [set(c[2]) for c in checked]
        if any(s != plan_sets[0] for s in plan_sets):
            raise InputError("the scenarios must share the compared plans for a matrix", key_path="--plans")
        check_output_dir(out / "matrix", force)
    most = max_reps if precision is not None else reps
    if most * max(len(c[2]) for c in checked) * len(checked) * 2 > execution.MAX_RUNS:
        raise InputError(f"more than {execution.MAX_RUNS:,} runs: fewer --reps, --max-reps or plans",
                         key_path="--reps")
    _check_memory([(sf, p, hours) for _, sf, chosen in checked for p in chosen], workers if executor == "local"
                  else 1, skip_memory_check)
    make_output_dir(out, force)
    comparisons = []
    with _executor(executor, workers, scheduler) as (pool, capacity):
        for file, sf, chosen in checked:
            final = out / sf.name
            inputs = _inputs(sf, plans_file, chosen, reps, seed, hours, precision, target, min_effect, confidence)
            kept = keep_previous(final, inputs, REPORT_FILES, dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
            mark_unfinished(final, force)
            for runs in ("runs", "runs-independent"):
                execution.clean_partials(final / runs)
            if kept:
                err_console.print(f"the previous report (other plans or inputs) is kept in {kept}", highlight=False,
                                  soft_wrap=True)
            engine = cmp.Engine(workers=workers, executor=pool, capacity=capacity,
                                bundle=bundle or (1 if executor == "local" else 2), resume=resume)
            with _run_progress(f"{sf.name}: {', '.join(chosen)}", reps * len(chosen)) as bar:
                task = bar.add_task(f"{sf.name}: {', '.join(chosen)}", total=reps * len(chosen), running=0, failed=0,
                                    reused=0)
                try:
                    comp = cmp.compare_scenario(file, chosen, reps, seed, hours, final, engine, plans_file,
                                                precision, max_reps, key, crn_check,
                                                progress=_status_updater(bar, task))
                except cmp.RunsFailed as failed:
                    bar.stop()
                    for f in failed.failures:
                        err_console.print(f"failed: {f.line()}", markup=False, highlight=False, soft_wrap=True)
                    err_console.print(f"{len(failed.failures)} run(s) failed; the others are kept in {final}/runs "
                                      "and a re-run resumes from them", highlight=False, soft_wrap=True)
                    raise typer.Exit(code=1) from None
            base_means = {t.figure.name: float(np.nanmean(comp.plans[comp.baseline].values(t.figure.name)))
                          for t in targets}
            comp.targets = tuple(t.resolve(base_means[t.figure.name]) for t in targets)
            comp.confidence, comp.min_effect, comp.min_effect_share, comp.inputs = confidence, thresholds, share, inputs
            write_comparison(comp, final)
            comparisons.append(comp)
            _print_comparison(comp, final)
    if len(comparisons) > 1:
        import json

        rob = cmp.robustness(comparisons, key, target_p90, target_paid_7d, confidence)
        folder = make_output_dir(out / "matrix", force)
        write_result(folder, "matrix.json", json.dumps(rob, indent=2) + "\n")
        write_result(folder, "report.md", matrix_report(rob))
        for rule, plan in rob["rules"].items():
            out_console.print(f"{rule}: [bold]{plan}[/]")
        out_console.print(f"matrix: {folder}", highlight=False, soft_wrap=True)


@app.command()
def sweep(
    files: Annotated[list[Path] | None, typer.Argument(help="Scenario YAML file(s) (or give --grid).",
                                                       show_default=False, metavar="[FILE...]")] = None,
    grid: Annotated[Path | None, typer.Option(help="Sweep grid YAML: scenarios, plans, seeds, hours "
                                                   "(see scenarios/sweeps/).")] = None,
    plans: Annotated[str | None, typer.Option(help="Comma-separated plans (default: every plan of each "
                                                   "scenario).")] = None,
    seeds: Annotated[str | None, typer.Option(help="Seeds, e.g. 0-9 or 1,4,7 (default: --reps seeds from "
                                                   "--seed).")] = None,
    reps: Annotated[int, typer.Option(min=1, max=MAX_REPS, help="Seeds per plan when --seeds is not given.")] = 10,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED, help="First seed (default: the scenario's).")]
    = None,
    hours: HoursOpt = None,
    plans_file: Annotated[Path | None, typer.Option(help="YAML file of extra plans shared by the scenarios.")]
    = None,
    out: Annotated[Path, typer.Option(help="Sweep folder.")] = Path("results/sweep"),
    workers: WorkersOpt = 2,
    executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None,
    bundle: BundleOpt = None,
    resume: ResumeOpt = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    force: ForceOpt = False,
    skip_memory_check: SkipMemoryOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every input and say what would run; run and "
                                                            "write nothing.")] = False,
) -> None:
    """Run a plans x scenarios x seeds grid; resumable; exit 1 if any run failed (the others finish)."""
    import time

    from sim import execution
    from sim import sweep as sw

    execution.check_executor(executor, scheduler)
    if grid is not None:
        if files or plans or seeds or plans_file:
            raise InputError("give either --grid or scenario files with --plans/--seeds/--plans-file",
                             key_path="--grid")
        g, lines = sw.read_grid(grid)
        if hours is not None:
            g = g.model_copy(update={"hours": hours})
        plan = sw.plan_sweep(g, out, grid.parent, lines, grid)
    else:
        if not files:
            raise InputError("name scenario files or a --grid file", key_path="FILE")
        seed_spec: Any = sw.parse_seeds(seeds) if seeds else sw.SeedRange(first=seed, count=reps)
        g = sw.Grid(scenarios=[str(f) for f in files], plans=[p.strip() for p in plans.split(",") if p.strip()]
                    if plans else None, plans_file=str(plans_file) if plans_file else None, seeds=seed_spec,
                    hours=hours)
        plan = sw.plan_sweep(g, out)
    _check_memory(plan.variants, min(workers, len(plan.specs)) if executor == "local" else 1, skip_memory_check)
    check_output_dir(out, force)
    if dry_run:
        scenarios = len({s.scenario for s in plan.specs})
        out_console.print(f"{len(plan.specs):,} runs ({scenarios} scenario(s), {len(plan.variants)} scenario x plan "
                          f"pair(s)) would write to {out}", highlight=False, soft_wrap=True)
        return
    mark_unfinished(out, force)
    cleaned = execution.clean_partials(out / "runs")
    started = time.perf_counter()
    with _executor(executor, workers, scheduler) as (pool, capacity):
        size = bundle or execution.default_bundle(len(plan.specs), capacity, executor)
        with _run_progress("sweep", len(plan.specs), quiet) as bar:
            task = bar.add_task(f"sweep ({executor})", total=len(plan.specs), running=0, failed=0, reused=0)
            results = execution.execute(plan.specs, workers=workers, executor=pool, capacity=capacity, bundle=size,
                                        resume=resume, progress=_status_updater(bar, task))
    meta = {"executor": executor if not scheduler else f"dask at {scheduler}", "workers": capacity, "bundle": size,
            "wall_time_s": time.perf_counter() - started, "partials_removed": cleaned,
            "grid": str(grid) if grid else None, "command": " ".join(sys.argv[1:]) if sys.argv else None}
    summary = sw.write(out, plan, results, meta)
    if not quiet:
        _print_sweep(summary)
    failures = [r for r in results if isinstance(r, execution.Failure)]
    for f in failures:
        err_console.print(f"failed: {f.line()}", markup=False, highlight=False, soft_wrap=True)
    out_console.print(f"{summary['ok']} of {summary['runs']} runs ok ({summary['reused']} reused), "
                      f"{summary['failed']} failed; results: {out}", highlight=False, soft_wrap=True)
    if failures:
        raise typer.Exit(code=1)


def _print_sweep(summary: dict[str, Any]) -> None:
    from sim.sweep import _fmt

    table = Table(title="sweep: mean [95% CI] over seeds")
    for col in ("scenario", "plan", "runs", "latency p50 h", "latency p90 h", "paid in 7 d", "cost"):
        table.add_column(col, overflow="fold")
    for e in summary["by_plan"]:
        table.add_row(e["scenario"], e["plan"], f"{e['runs']}" + (f" ({e['failed']} failed)" if e["failed"] else ""),
                      _fmt(e["latency_p50"]), _fmt(e["latency_p90"]), _fmt(e["paid_7d"]), _fmt(e["cost"]))
    out_console.print(table)


def _print_comparison(comp: Comparison, folder: Path) -> None:
    from sim.compare import FIGURES

    table = Table(title=f"{comp.scenario}: mean [95% CI] over replications")
    table.add_column("figure")
    rows = comp.table()
    for r in rows:
        table.add_column(r["plan"], justify="right")
    for key in ("latency_mean", "latency_p90", "first_contact_mean", "first_payment_mean", "abandonment",
                "peak_backlog", "cost", "losses", "net_cost"):
        f = FIGURES[key]
        cells = [f"{f.format(r[key]['mean'], comp.currency)} [{f.format(r[key]['low'], comp.currency)}, "
                 f"{f.format(r[key]['high'], comp.currency)}]" for r in rows]
        table.add_row(f.label, *cells)
    out_console.print(table)
    for d in comp.differences():
        if d["figure"] not in ("latency_mean", "latency_p90", "cost", "net_cost", "losses"):
            continue
        f = FIGURES[d["figure"]]
        out_console.print(f"  {d['plan']} vs {comp.baseline}: {f.label} {f.format_diff(d['diff'], comp.currency)} "
                          f"[{f.format_diff(d['low'], comp.currency)}, {f.format_diff(d['high'], comp.currency)}] "
                          f"({d['verdict']})", highlight=False)
    for r in comp.target_rows():
        out_console.print(f"  {r['plan']}: {r['target']}: {'met' if r['met'] else 'NOT met'} "
                          f"({100 * comp.confidence:.0f}% bound {FIGURES[r['figure']].format(r['bound'])})",
                          highlight=False)
    rec = comp.recommendation()
    out_console.print(f"  recommended: [bold]{rec['plan']}[/] ({rec['why']})")
    if comp.crn:
        out_console.print(f"  common random numbers shrink the variance of the paired difference "
                          f"{comp.crn['shrink']:.1f}x")
    out_console.print(f"results: {folder}", highlight=False, soft_wrap=True)




def _min_effect(items: list[str]) -> tuple[dict[str, float], float]:
    """--min-effect values: '5%' (a share of the baseline's mean, every figure) or FIGURE=VALUE (absolute)."""
    from sim.figures import UnknownFigure, replicated

    absolute: dict[str, float] = {}
    share = 0.0
    for item in items:
        text = item.strip()
        try:
            if "=" in text:
                name, value = text.split("=", 1)
                absolute[replicated(name.strip()).name] = abs(float(value))
            elif text.endswith("%"):
                share = abs(float(text[:-1])) / 100
            else:
                raise ValueError
        except UnknownFigure as err:
            raise InputError(str(err), key_path="--min-effect") from None
        except ValueError:
            raise InputError(f"expected a share like 5% or FIGURE=VALUE like latency_p90=2, got '{item}'",
                             key_path="--min-effect") from None
    return absolute, share


def _inputs(sf: Any, plans_file: Path | None, plans: list[str], reps: int, seed: int | None, hours: int | None,
            precision: float | None, targets: list[str] | None, min_effect: list[str] | None,
            confidence: float) -> str:
    """Digest of what a comparison compared: a report from other inputs is kept, not overwritten."""
    import hashlib
    import json

    plans_sha = hashlib.sha256(plans_file.read_bytes()).hexdigest() if plans_file else None
    return hashlib.sha256(json.dumps({"scenario": sf.sha256, "plans_file": plans_sha, "plans": plans, "reps": reps,
                                      "seed": seed, "hours": hours, "precision": precision, "targets": targets,
                                      "min_effect": min_effect, "confidence": confidence},
                                     sort_keys=True).encode()).hexdigest()[:16]
