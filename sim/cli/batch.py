"""`claimsim compare` and `claimsim sweep`: many runs over plans, scenarios and seeds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from sim.files import check_output_dir, make_output_dir, mark_unfinished, write_result
from sim.scenario.base import MAX_SEED

MAX_REPS = 10_000  # replications per plan: far past where a confidence interval stops narrowing usefully

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
    target_p90: Annotated[float, typer.Option(min=0.0, max=1e6, callback=finite,
                                              help="Service target: p90 settlement latency (h).")] = 72.0,
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
    from sim.report_compare import matrix_report

    execution.check_executor(executor, scheduler)
    if key not in cmp.FIGURES:
        raise InputError(f"unknown figure '{key}' (figures: {', '.join(cmp.FIGURES)})", key_path="--key")
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
            mark_unfinished(final, force)
            for runs in ("runs", "runs-independent"):
                execution.clean_partials(final / runs)
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
            cmp.write_comparison(comp, final)
            comparisons.append(comp)
            _print_comparison(comp, final)
    if len(comparisons) > 1:
        import json

        rob = cmp.robustness(comparisons, key, target_p90, target_paid_7d)
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
                "peak_backlog", "cost"):
        label, unit = FIGURES[key].label, FIGURES[key].unit
        cells = []
        for r in rows:
            v = r[key]
            fmt = (lambda x: f"{100 * x:.1f}%") if unit == "share" else (lambda x: f"{x:,.1f}")
            cells.append(f"{fmt(v['mean'])} [{fmt(v['low'])}, {fmt(v['high'])}]")
        table.add_row(label, *cells)
    out_console.print(table)
    sig = [d for d in comp.differences() if d["significant"] and d["figure"] in ("latency_mean", "latency_p90",
                                                                                  "cost")]
    for d in sig:
        out_console.print(f"  {d['plan']} vs {comp.baseline}: {FIGURES[d['figure']].label} "
                          f"{d['diff']:+,.2f} [{d['low']:+,.2f}, {d['high']:+,.2f}] "
                          f"({'better' if d['better'] else 'worse'})")
    if comp.crn:
        out_console.print(f"  common random numbers shrink the variance of the paired difference "
                          f"{comp.crn['shrink']:.1f}x")
    out_console.print(f"results: {folder}", highlight=False, soft_wrap=True)


