"""`claimsim optimize` and `claimsim sensitivity`: from comparing plans to recommending one."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.app import (
    BundleOpt,
    ExecutorOpt,
    ResumeOpt,
    SchedulerOpt,
    _executor,
    _fail,
    _run_progress,
    _status_updater,
    app,
    err_console,
    out_console,
)
from sim.errors import InputError

OUTPUTS = ("report.md", "summary.json", "frontier.csv", "best-plan.yaml", "optimize.xlsx", "cost_vs_target.png")


def _figures(names: list[str], option: str) -> list:
    from sim.figures import UnknownFigure, figure

    out = []
    for n in names:
        try:
            out.append(figure(n))
        except UnknownFigure as err:
            _fail(InputError(str(err), key_path=option))
    return out


def _failed(failed: Exception, out: Path) -> None:
    for f in getattr(failed, "failures", []):
        err_console.print(f"failed: {f.line()}", markup=False, highlight=False, soft_wrap=True)
    err_console.print(f"run(s) failed; finished runs are kept in {out}/runs and a re-run resumes from them",
                      highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


@app.command()
def optimize(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).", show_default=False, metavar="FILE...")],
    space: Annotated[Path, typer.Option(help="Lever space YAML (see scenarios/spaces/).")],
    target: Annotated[list[str], typer.Option(help="FIGURE<=VALUE or FIGURE>=VALUE, e.g. "
                                                   "'settlement_latency_hours.p90<=48' or 'latency_p90<=90%' (share "
                                                   "of the plan in use now); repeatable.")],
    out: Annotated[Path, typer.Option(help="Output folder (runs, study, report).")],
    minimize: Annotated[list[str] | None, typer.Option(help="Figure(s) to minimise (default: cost, the full "
                                                            "operating cost); two or more: NSGA-II.")] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence of the one-sided bounds and of "
                                                                       "the selection.")] = 0.9,
    budget: Annotated[int, typer.Option(min=2, help="Plans the search evaluates.")] = 40,
    reps: Annotated[int, typer.Option(min=2, help="Replications per plan in the search (common seeds).")] = 5,
    finalists: Annotated[int, typer.Option(min=1, help="Cheapest target-meeting plans taken to selection.")] = 5,
    indifference: Annotated[float | None, typer.Option(help="Kim-Nelson indifference zone, in the objective's "
                                                            "units (default 1% of the best finalist).")] = None,
    max_reps: Annotated[int, typer.Option(min=2, help="Most replications per finalist in selection.")] = 30,
    confirm_reps: Annotated[int, typer.Option(min=0, help="Independent seeds the chosen plan is confirmed on.")]
    = 10,
    rule: Annotated[str, typer.Option(help="Several scenarios: all (meet targets in every one) or regret "
                                           "(minimax regret).")] = "all",
    seed: Annotated[int | None, typer.Option(min=0, help="First seed (default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Stop each run after this many hours.")] = None,
    sensitivity: Annotated[bool, typer.Option(help="Also run the sensitivity analysis around the chosen plan.")]
    = False,
    method: Annotated[str, typer.Option(help="Global method of --sensitivity: sobol, morris or none.")] = "sobol",
    samples: Annotated[int, typer.Option(min=2, help="SALib base samples of --sensitivity.")] = 8,
    sensitivity_reps: Annotated[int, typer.Option(min=2, help="Seeds per tornado setting of --sensitivity.")] = 3,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (local, or of a local Dask cluster).")] = 2,
    executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None,
    bundle: BundleOpt = None,
    resume: ResumeOpt = True,
    force: Annotated[bool, typer.Option(help="Write into an existing folder claimsim did not write.")] = False,
) -> None:
    """Find the cheapest plan of a lever space that meets the targets with stated confidence; write best-plan.yaml."""
    import warnings

    from optuna.exceptions import ExperimentalWarning

    from sim import execution
    from sim.candidates import Settings
    from sim.compare import Engine, RunsFailed
    from sim.files import keep_previous, make_output_dir
    from sim.optimize import optimize as run
    from sim.report_optimize import write_optimize
    from sim.targets import parse_target

    warnings.filterwarnings("ignore", category=ExperimentalWarning)  # TPE's multivariate mode is marked experimental
    started = time.perf_counter()
    try:
        targets = tuple(parse_target(t) for t in target)
        mins = tuple(_figures(minimize or ["cost"], "--minimize"))
        settings = Settings(tuple(files), space, targets, mins, confidence, budget, reps, seed, hours, finalists,
                            indifference, max_reps, confirm_reps, rule)
        from sim.candidates import digest, load_problem

        problem = load_problem(settings)  # every file, lever and target is checked before anything runs
        make_output_dir(out, force)
        inputs = digest({"scenarios": [ls.scenario.sha256 for ls in problem.spaces.values()],
                         "space": space.read_text(), "targets": target, "minimize": [f.name for f in mins],
                         "confidence": confidence, "budget": budget, "reps": reps, "seed": seed, "hours": hours})
        kept = keep_previous(out, inputs, OUTPUTS, dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
        for name in ("summary.json", "report.md"):
            (out / name).unlink(missing_ok=True)
    except InputError as err:
        _fail(err)
    if kept:
        err_console.print(f"the previous report (other inputs) is kept in {kept}", highlight=False)
    execution.clean_partials(out / "runs")
    command = "claimsim " + " ".join(sys.argv[1:]) if sys.argv else "claimsim optimize"
    with _executor(executor, workers, scheduler) as (pool, capacity):
        engine = Engine(workers=workers, executor=pool, capacity=capacity, bundle=bundle or 1, resume=resume)
        with _run_progress("optimize", 0) as bar:
            task = bar.add_task("optimize", total=None, running=0, failed=0, reused=0)
            try:
                outcome = run(settings, out, engine, progress=_status_updater(bar, task))
            except RunsFailed as failed:
                bar.stop()
                _failed(failed, out)
            sens = None
            if sensitivity and outcome.selection.chosen is not None:
                from sim.sensitivity import run_sensitivity

                bar.update(task, description="sensitivity")
                try:
                    sens = run_sensitivity(files[0], space, [t.figure for t in outcome.targets] + [mins[0]],
                                           out / "sensitivity", engine, centre=outcome.selection.chosen.overrides,
                                           reps=sensitivity_reps, seed=seed, hours=hours,
                                           method=None if method == "none" else method, samples=samples,
                                           progress=_status_updater(bar, task))
                except RunsFailed as failed:
                    bar.stop()
                    _failed(failed, out)
                except InputError as err:
                    bar.stop()
                    _fail(err)
    if sens is not None:
        from sim.report_sensitivity import write_sensitivity

        write_sensitivity(sens, out / "sensitivity", command)
    meta = {"inputs": inputs, "command": command, "wall_time_s": time.perf_counter() - started,
            "executor": executor if not scheduler else f"dask at {scheduler}"}
    try:
        summary = write_optimize(outcome, out, sens, meta)
    except InputError as err:
        _fail(err)
    sel = summary["selected"]
    if sel is None:
        out_console.print("no plan evaluated")
        raise typer.Exit(code=1)
    cur = outcome.problem.currency
    levers = ", ".join(f"{a} {b}" for a, b, _ in outcome.problem.space.describe(sel["levers"]))
    out_console.print(f"recommended: {levers}", highlight=False, soft_wrap=True)
    out_console.print(f"{mins[0].label}: {mins[0].format(sel['objective'], cur)} (now "
                      f"{mins[0].format(summary['reference']['objective'], cur)}); meets every target: "
                      f"{'yes' if sel['meets_targets'] else 'NO'}; confirmed on fresh seeds: "
                      f"{ {True: 'yes', False: 'NO', None: 'not run'}[sel['confirmed']] }")
    out_console.print(f"{summary['runs']} runs; results: {out}", highlight=False, soft_wrap=True)


@app.command(name="sensitivity")
def sensitivity_cmd(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False, metavar="FILE")],
    space: Annotated[Path, typer.Option(help="Lever space YAML with levers and uncertain parameters.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    figure: Annotated[list[str] | None, typer.Option(help="Figure(s) to explain (default: latency_p90 and cost); "
                                                          "repeatable.")] = None,
    plan: Annotated[str | None, typer.Option(help="Centre plan (default: the space's plan).")] = None,
    plans_file: Annotated[Path | None, typer.Option(help="Plans file holding the centre plan (e.g. best-plan.yaml)."
                                                    )] = None,
    reps: Annotated[int, typer.Option(min=2, help="Seeds per setting of the tornado (common to all).")] = 3,
    method: Annotated[str, typer.Option(help="Global indices of the unknowns: sobol, morris or none.")] = "sobol",
    samples: Annotated[int, typer.Option(min=2, help="SALib base samples (Sobol: rounded up to a power of two; "
                                                     "runs = samples x (unknowns + 2)).")] = 8,
    global_reps: Annotated[int, typer.Option(min=1, help="Seeds per global design point.")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, help="First seed (default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Stop each run after this many hours.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = True,
    force: Annotated[bool, typer.Option(help="Write into an existing folder claimsim did not write.")] = False,
) -> None:
    """Which lever matters most, which unknown matters most: tornado and Sobol (or Morris) indices with SALib."""
    from sim.compare import Engine, RunsFailed
    from sim.files import make_output_dir
    from sim.report_sensitivity import write_sensitivity
    from sim.sensitivity import run_sensitivity

    figs = _figures(figure or ["latency_p90", "cost"], "--figure")
    try:
        make_output_dir(out, force)
        (out / "summary.json").unlink(missing_ok=True)
    except InputError as err:
        _fail(err)
    command = "claimsim " + " ".join(sys.argv[1:]) if sys.argv else "claimsim sensitivity"
    with _executor(executor, workers, scheduler) as (pool, capacity):
        engine = Engine(workers=workers, executor=pool, capacity=capacity, resume=resume)
        with _run_progress("sensitivity", 0) as bar:
            task = bar.add_task("sensitivity", total=None, running=0, failed=0, reused=0)
            try:
                res = run_sensitivity(file, space, figs, out, engine, plans_file=plans_file, plan=plan, reps=reps,
                                      seed=seed, hours=hours, method=None if method == "none" else method,
                                      samples=samples, global_reps=global_reps, progress=_status_updater(bar, task))
            except InputError as err:
                bar.stop()
                _fail(err)
            except RunsFailed as failed:
                bar.stop()
                _failed(failed, out)
    summary = write_sensitivity(res, out, command)
    for text in summary["sentences"].values():
        out_console.print(text.replace("**", ""), highlight=False, soft_wrap=True)
    out_console.print(f"{res.runs} runs; results: {out}", highlight=False, soft_wrap=True)
