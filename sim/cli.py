"""The `claimsim` command line. Exit codes: 0 ok, 2 bad input."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sim import __version__

if TYPE_CHECKING:
    from sim.compare import Comparison
    from sim.execution import Status
from sim.errors import InputError
from sim.files import mark_unfinished
from sim.scenario import AGENT_TYPES, ROLES, ScenarioFile, load_scenario

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Simulate insurance claims operations through a storm, plan by plan.")
out_console = Console()
err_console = Console(stderr=True)


def _fail(err: InputError) -> None:
    err_console.print(f"error: {err.one_line()}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _load(file: Path) -> ScenarioFile:
    try:
        return load_scenario(file)
    except InputError as err:
        _fail(err)
        raise  # unreachable


FileArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False, metavar="FILE")]


@app.command()
def run(
    file: FileArg,
    plan: Annotated[str, typer.Option(help="Plan name from the scenario's `plans:`.")] = "baseline",
    seed: Annotated[int | None, typer.Option(min=0, help="Run seed (default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Stop after this many hours (quick look).")] = None,
    out: Annotated[Path, typer.Option(help="Results root folder.")] = Path("results"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Run one scenario under one plan and seed; write results/<scenario>/<plan>/seed-<n>/."""
    from sim import report, runner

    sf = _load(file)
    try:
        scenario = sf.resolve(plan)
    except InputError as err:
        _fail(err)
    seed = scenario.seed if seed is None else seed
    horizon = scenario.duration_h if hours is None else min(hours, scenario.duration_h)
    folder = runner.run_dir(out, scenario.name, plan, seed)
    try:  # find an unusable --out now, not after the run
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(InputError(f"cannot create the results folder: {exc.strerror}", key_path="--out", file=out))
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("h"), TimeElapsedColumn(), console=err_console, disable=quiet,
                  transient=False) as bar:
        task = bar.add_task(f"{scenario.name} / {plan} / seed {seed}", total=horizon)
        result = runner.simulate(sf, plan, seed, hours, progress=lambda h, _n: bar.update(task, completed=h))
    folder = runner.write(result, folder)
    if not quiet:
        table = Table(title=f"{scenario.name} / {plan} / seed {seed}", show_header=True)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in report.headline_rows(result.summary):
            table.add_row(key, value)
        out_console.print(table)
    out_console.print(f"results: {folder}", highlight=False, soft_wrap=True)


@app.command()
def check(file: FileArg) -> None:
    """Validate a scenario and all its plans without running; print what it describes."""
    sf = _load(file)
    base = sf.resolve("baseline")
    out_console.print(f"[bold]{base.name}[/]: {base.description.strip()}")
    out_console.print(f"start {base.start.isoformat()}, horizon {base.duration_h} h, default seed {base.seed}")
    regions = Table(title="regions")
    for col in ("id", "name", "radius km", "road km/h", *AGENT_TYPES):
        regions.add_column(col)
    for r in base.regions:
        regions.add_row(r.id, r.name, f"{r.service_radius_km:g}", f"{r.road_speed_kmh:g}",
                        *(f"{getattr(r.portfolio, t).count:,}" for t in AGENT_TYPES))
    out_console.print(regions)
    staff = Table(title="baseline staff (headcount, roster, leave)")
    for col in ("role", "headcount", "roster", "leave"):
        staff.add_column(col)
    for role in ROLES:
        spec = base.operations.staff[role]
        hc = spec.headcount if isinstance(spec.headcount, int) else ", ".join(
            f"{k} {v}" for k, v in spec.headcount.items())
        staff.add_row(role, str(hc), spec.roster, f"{spec.leave_share:.0%}")
    out_console.print(staff)
    plans = Table(title="plans")
    plans.add_column("plan")
    plans.add_column("description")
    for name, description in sf.plans.items():
        plans.add_row(name, description.strip() or "-")
    out_console.print(plans)
    if base.injects:
        out_console.print(f"{len(base.injects)} inject(s) listed (played in tabletop mode)")
    out_console.print(f"ok: {file} is valid ({len(sf.plans)} plan(s))", highlight=False)


ExecutorOpt = Annotated[str, typer.Option(help="Where runs execute: local (process pool) or dask (a Dask cluster: "
                                               "--scheduler ADDRESS, or a local cluster of --workers).")]
SchedulerOpt = Annotated[str | None, typer.Option(help="Address of a running Dask scheduler, e.g. "
                                                       "tcp://10.0.0.5:8786 (with --executor dask).")]
BundleOpt = Annotated[int | None, typer.Option(min=1, help="Runs per task (default: 1 locally; on Dask about four "
                                                           "tasks per worker, at most 8 runs each).")]
ResumeOpt = Annotated[bool, typer.Option("--resume/--fresh", help="Reuse complete run folders made from the "
                                                                  "same inputs and code (default), or run all again.")]


def _run_progress(description: str, total: int, quiet: bool = False) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("runs · {task.fields[running]} running · {task.fields[failed]} failed · "
                               "{task.fields[reused]} reused"), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err_console, disable=quiet)


def _status_updater(bar: Progress, task: Any) -> Callable[[Status], None]:
    def update(st: Status) -> None:
        bar.update(task, completed=st.done, total=st.total, running=st.running, failed=st.failed, reused=st.reused)
    return update


@contextmanager
def _executor(kind: str, workers: int, scheduler: str | None) -> Iterator[tuple[Any, int]]:
    """The executor of --executor/--scheduler; a bad option or an unreachable scheduler is a one-line error."""
    from sim.execution import executor_for

    stack = ExitStack()
    try:
        pair = stack.enter_context(executor_for(kind, workers, scheduler))
    except InputError as err:
        _fail(err)
    with stack:
        yield pair


@app.command()
def compare(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).", show_default=False, metavar="FILE...")],
    plans: Annotated[str | None, typer.Option(help="Comma-separated plans; the first is the baseline for "
                                                   "differences (default: every plan, baseline first).")] = None,
    reps: Annotated[int, typer.Option(min=2, help="Replications per plan (seeds seed, seed+1, ...).")] = 10,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (local, or of a local Dask cluster).")] = 2,
    seed: Annotated[int | None, typer.Option(min=0, help="First seed (default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Stop each run after this many hours.")] = None,
    out: Annotated[Path, typer.Option(help="Results root folder.")] = Path("results/compare"),
    plans_file: Annotated[Path | None, typer.Option(help="YAML file of extra plans (top-level `plans:`), "
                                                         "reused across scenarios.")] = None,
    precision: Annotated[float | None, typer.Option(min=0.0, help="Add replications until the key figure's 95% "
                                                                  "CI half-width is under this share of its mean.")]
    = None,
    max_reps: Annotated[int, typer.Option(min=2, help="Most replications per plan with --precision.")] = 200,
    key: Annotated[str, typer.Option(help="Key figure for --precision and the scenario matrix.")] = "latency_p90",
    crn_check: Annotated[bool, typer.Option(help="Also run the second plan with independent seeds to measure "
                                                 "what common random numbers save.")] = True,
    target_p90: Annotated[float, typer.Option(help="Service target: p90 settlement latency (h).")] = 72.0,
    target_paid_7d: Annotated[float, typer.Option(help="Service target: share paid or pre-paid within 7 days.")]
    = 0.3,
    executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None,
    bundle: BundleOpt = None,
    resume: ResumeOpt = True,
) -> None:
    """Compare plans over replications with common random numbers; write results/compare/<scenario>/."""
    from sim import compare as cmp
    from sim.report_compare import matrix_report

    if key not in cmp.FIGURES:
        _fail(InputError(f"unknown figure '{key}' (figures: {', '.join(cmp.FIGURES)})", key_path="--key"))
    checked = []
    for file in files:  # every file and plan is checked before anything runs
        sf = _load(file)
        try:
            if plans_file is not None:
                sf.add_plans_file(plans_file)
            chosen = [p.strip() for p in plans.split(",") if p.strip()] if plans else list(sf.plans)
            if "baseline" in chosen and not plans:
                chosen.remove("baseline")
                chosen.insert(0, "baseline")
            for plan in chosen:
                sf.resolve(plan)
        except InputError as err:
            _fail(err)
        if len(chosen) < 1:
            _fail(InputError("name at least one plan", key_path="--plans"))
        checked.append((file, sf, chosen))
    comparisons = []
    with _executor(executor, workers, scheduler) as (pool, capacity):
        for file, sf, chosen in checked:
            final = out / sf.name
            try:
                mark_unfinished(final)
            except OSError as exc:
                _fail(InputError(f"cannot create the results folder: {exc.strerror}", key_path="--out", file=out))
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
        names = [set(c.plans) for c in comparisons]
        if any(n != names[0] for n in names):
            _fail(InputError("the scenarios must share the compared plans for a matrix", key_path="--plans"))
        rob = cmp.robustness(comparisons, key, target_p90, target_paid_7d)
        folder = out / "matrix"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.md").write_text(matrix_report(rob))
        import json

        (folder / "matrix.json").write_text(json.dumps(rob, indent=2) + "\n")
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
    reps: Annotated[int, typer.Option(min=1, help="Seeds per plan when --seeds is not given.")] = 10,
    seed: Annotated[int | None, typer.Option(min=0, help="First seed (default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Stop each run after this many hours.")] = None,
    plans_file: Annotated[Path | None, typer.Option(help="YAML file of extra plans shared by the scenarios.")]
    = None,
    out: Annotated[Path, typer.Option(help="Sweep folder.")] = Path("results/sweep"),
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (local, or of a local Dask cluster).")] = 2,
    executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None,
    bundle: BundleOpt = None,
    resume: ResumeOpt = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Run a plans x scenarios x seeds grid; resumable; exit 1 if any run failed (the others finish)."""
    import time

    from sim import execution
    from sim import sweep as sw

    try:
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
        mark_unfinished(out)
    except InputError as err:
        _fail(err)
    except OSError as exc:
        _fail(InputError(f"cannot create the sweep folder: {exc.strerror}", key_path="--out", file=out))
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
        label, unit, _ = FIGURES[key]
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
        out_console.print(f"  {d['plan']} vs {comp.baseline}: {FIGURES[d['figure']][0]} "
                          f"{d['diff']:+,.2f} [{d['low']:+,.2f}, {d['high']:+,.2f}] "
                          f"({'better' if d['better'] else 'worse'})")
    if comp.crn:
        out_console.print(f"  common random numbers shrink the variance of the paired difference "
                          f"{comp.crn['shrink']:.1f}x")
    out_console.print(f"results: {folder}", highlight=False, soft_wrap=True)


@app.command()
def validate(
    full: Annotated[bool, typer.Option("--full", help="All configurations, more replications, tight intervals.")]
    = False,
    cases: Annotated[str, typer.Option(help="Comma-separated case numbers (1-7).")] = "1,2,3,4,5,6,7",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/validation"),
    doc: Annotated[Path | None, typer.Option(help="Also copy the Markdown report here (e.g. docs/VALIDATION.md).")]
    = None,
) -> None:
    """Check the engine against queueing theory and the documented storm figures; exit 1 if a row fails."""
    import time

    from sim import validation

    chosen = [c.strip() for c in cases.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in validation.CASES]
    if unknown or not chosen:
        _fail(InputError(f"unknown case(s) {', '.join(unknown) or '(none)'}; cases are "
                         f"{', '.join(validation.CASES)}", key_path="--cases"))
    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("replications"), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task(f"validate ({'full' if full else 'quick'})", total=None)
        rows = validation.validate(chosen, full, workers,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total))
    elapsed = time.perf_counter() - started
    command = "claimsim validate" + (" --full" if full else "") + (
        f" --cases {','.join(chosen)}" if chosen != list(validation.CASES) else "")
    folder = validation.write(rows, out, full, elapsed, command)
    if doc is not None:
        doc.parent.mkdir(parents=True, exist_ok=True)
        text = (folder / "report.md").read_text().replace("](stationary.png)", "](validation/stationary.png)")
        text = text.replace("](storm.png)", "](validation/storm.png)")
        doc.write_text(text)
        img = doc.parent / "validation"
        img.mkdir(exist_ok=True)
        for name in ("stationary.png", "storm.png"):
            (img / name).write_bytes((folder / name).read_bytes())
    table = Table(title=f"validation ({'full' if full else 'quick'} set)")
    for col in ("case", "configuration", "measure", "theory", "simulated (95% CI)", "result"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.case, r.name, r.measure, validation._fmt(r.theory),
                      f"{validation._fmt(r.mean)} [{validation._fmt(r.low)}, {validation._fmt(r.high)}]",
                      "[green]pass[/]" if r.passed else "[red]FAIL[/]")
    out_console.print(table)
    failed = sum(not r.passed for r in rows)
    out_console.print(f"{len(rows) - failed} of {len(rows)} rows pass; results: {folder}", highlight=False,
                      soft_wrap=True)
    if failed:
        raise typer.Exit(code=1)


@app.command()
def tabletop(
    file: FileArg,
    plan: Annotated[str, typer.Option(help="Plan the exercise starts from.")] = "baseline",
    seed: Annotated[int | None, typer.Option(min=0, help="Run seed (default: the scenario's).")] = None,
    injects: Annotated[Path | None, typer.Option(help="YAML file of injects (top-level `injects:`), instead of "
                                                      "the scenario's own.")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Shorter exercise than the scenario.")] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the local web server.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: the "
                                           "room too, with a token printed at start).")] = "127.0.0.1",
    replay: Annotated[Path | None, typer.Option(help="Replay an exercise log without a browser (with --out).")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the replayed exercise's report.")] = None,
) -> None:
    """Serve a tabletop-exercise page (step the storm, fire injects, take decisions, fork), or --replay a log."""
    from sim.exercise import Exercise, read_injects, read_log
    from sim.tabletop.config import missing_extra_error

    if replay is None and (missing := missing_extra_error()) is not None:  # the replay needs only the core
        _fail(missing)
    sf = _load(file)
    try:
        sf.resolve(plan)
        if replay is not None:
            if out is None:
                raise InputError("--replay writes a report: give --out DIR", key_path="--out")
            log, logged = read_log(replay, scenario=file)
            ex = Exercise.replay(log, sf)
        else:
            listed = read_injects(injects, sf) if injects is not None else None
            Exercise(sf, plan, seed, listed, hours)  # any problem shows now, before the server starts
    except InputError as err:
        _fail(err)
    if replay is not None:
        from sim.aar import figure_rows, write_report

        assert out is not None
        folder = write_report(ex, out)
        table = Table(title=f"{sf.name}: exercise replayed to hour {ex.hour} (plan {log.plan}, seed {log.seed})")
        for col in ("figure", "exercise", "no decisions"):
            table.add_column(col)
        from sim.aar import _fmt

        for r in figure_rows(ex, ex.counterfactual()):
            table.add_row(r["figure"], _fmt(r["exercise"], r["unit"]), _fmt(r["no_decisions"], r["unit"]))
        out_console.print(table)
        out_console.print(f"report: {folder}", highlight=False, soft_wrap=True)
        return
    from sim.tabletop.server import serve

    try:
        serve(file, plan, seed, injects, port, host=host, hours=hours)
    except InputError as err:
        _fail(err)


@app.command()
def regress(
    files: Annotated[list[Path] | None, typer.Argument(help="Scenario files to check (default: those in the "
                                                            "config).", show_default=False, metavar="[SCENARIO...]")]
    = None,
    tier: Annotated[str, typer.Option(help="exact, stat or all.")] = "all",
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here (one test case per scenario x plan x "
                                                    "figure).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a Markdown report here (for a pull-request comment).")]
    = None,
    update: Annotated[bool, typer.Option("--update", help="Rewrite the baselines from this code and print what "
                                                          "changed.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    config: Annotated[Path, typer.Option(help="What to check: scenarios, plans, seeds, horizons, replications.")]
    = Path("scenarios/regress/regress.yaml"),
    reps: Annotated[int | None, typer.Option(min=3, help="Replications per plan in the stat tier (overrides the "
                                                          "config; baselines must be updated with the same).")] = None,
    fresh: Annotated[int, typer.Option(min=1, help="Seed block of the stat tier's fresh replications (block 0 is "
                                                   "the baseline's).")] = 1,
) -> None:
    """Check scenarios against committed baselines (exact and statistical tiers); exit 1 on a regression."""
    import time

    from sim import regress as rg

    tiers = ["exact", "stat"] if tier == "all" else [tier]
    if tier not in ("exact", "stat", "all"):
        _fail(InputError(f"unknown tier '{tier}' (exact, stat or all)", key_path="--tier"))
    try:
        cfg, targets, folder = rg.read_config(config, files or None)
        if reps is not None:
            cfg = cfg.model_copy(update={"stat": cfg.stat.model_copy(update={"reps": reps})})
            for t in targets:
                t.reps = reps
        old = {t.file.name: (rg.load_baseline(folder, t.file.name) if not update else
                             (rg.load_baseline(folder, t.file.name)
                              if rg.baseline_path(folder, t.file.name).exists() else None)) for t in targets}
    except InputError as err:
        _fail(err)
    started = time.perf_counter()
    with _run_progress("regress", 0) as bar:
        task = bar.add_task(f"regress ({', '.join(tiers)})", total=None, running=0, failed=0, reused=0)
        try:
            measured = rg.measure(targets, cfg, tiers, workers, 0 if update else fresh * rg.FRESH_OFFSET,
                                  progress=_status_updater(bar, task))
        except InputError as err:
            bar.stop()
            _fail(err)
    if update:
        for t in targets:
            for line in rg.write_baseline(folder, t.file.name, t, measured.get(t.file.name, {}), old[t.file.name]):
                out_console.print(line, highlight=False, markup=False)
        out_console.print(f"baselines written to {folder} ({time.perf_counter() - started:.0f} s); review and "
                          "commit them", highlight=False)
        return
    outcome = rg.check(measured, old, cfg.stat.alpha, targets)  # type: ignore[arg-type]
    meta = {"tiers": tiers, "scenarios": len(targets), "reps": cfg.stat.reps, "alpha": cfg.stat.alpha}
    if junit:
        rg.junit(outcome, junit)
    text = rg.report(outcome, meta)
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text)
    table = Table(title=f"regression check ({time.perf_counter() - started:.0f} s)")
    for col in ("tier", "scenario / plan", "checks", "failed", "first failure"):
        table.add_column(col, overflow="fold")
    groups: dict[tuple[str, str, str], list] = {}
    for r in outcome.rows:
        groups.setdefault((r.tier, r.scenario, r.plan), []).append(r)
    for (tr, scen, plan), rows in groups.items():
        bad = [r for r in rows if not r.passed]
        table.add_row(tr, f"{scen} / {plan}", str(len(rows)), f"[red]{len(bad)}[/]" if bad else "0",
                      bad[0].message if bad else "")
    out_console.print(table)
    out_console.print(f"{len(outcome.rows) - len(outcome.failed)} of {len(outcome.rows)} checks pass",
                      highlight=False)
    if outcome.failed:
        raise typer.Exit(code=1)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"claimsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    """Simulate insurance claims operations through a storm, plan by plan."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: usage errors, like input errors, are one line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="claimsim", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as err:
        # Click's usage errors (bad option value, missing argument) carry exit code 2 and a message.
        if getattr(err, "exit_code", None) != 2 or not hasattr(err, "format_message"):
            raise
        if not err.format_message().strip():  # no arguments at all: the help was shown
            sys.exit(0)
        ctx = getattr(err, "ctx", None)
        hint = f" (see 'claimsim {ctx.info_name} --help')" if ctx is not None and ctx.parent else ""
        err_console.print(f"error: {err.format_message()}{hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
