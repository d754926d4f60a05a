"""`claimsim calibrate`: fit a scenario's unknown parameters to an observed claim-progress curve."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sim.cli.app import ExecutorOpt, FileArg, SchedulerOpt, _executor, _fail, _load, app, err_console, out_console
from sim.errors import InputError


@app.command()
def calibrate(
    file: FileArg,
    observed: Annotated[Path, typer.Option(help="Observed progress CSV: day, metric (reported, closed, paid), value, "
                                                "segment (see scenarios/observed/).")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/calibrate"),
    param: Annotated[list[str] | None, typer.Option(help="A parameter to fit: PATH=LOW:HIGH (a number) or "
                                                         "PATH*=LOW:HIGH (a multiplier of what is under PATH, "
                                                         "e.g. operations.staff.repair.headcount*=0.5:3). "
                                                         "Repeat for several; default: reporting delays, "
                                                         "survey and repair capacity, documents.")] = None,
    plan: Annotated[str, typer.Option(help="The plan to fit (the calibrated plan extends it).")] = "baseline",
    budget: Annotated[int, typer.Option(min=4, max=2000, help="Candidates searched for the fit (the "
                                                              "out-of-sample check adds half as many).")] = 40,
    reps: Annotated[int, typer.Option(min=1, max=50, help="Replications per candidate (the same seeds for "
                                                          "every candidate).")] = 2,
    scale: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fit on a model of this share of the portfolio "
                                                                 "and staff (shares are scale-free; 0.05 runs 20x "
                                                                 "faster).")] = 1.0,
    seed: Annotated[int | None, typer.Option(min=0, help="First seed (default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Stop each run after this many hours.")] = None,
    out_of_sample: Annotated[bool, typer.Option("--out-of-sample/--no-out-of-sample", help="Also fit the early "
                                                "points alone and predict the later ones.")] = True,
    fit_until_day: Annotated[float | None, typer.Option(help="Out-of-sample split: fit the points up to this day "
                                                              "(default: the middle observed day).")] = None,
    objective: Annotated[str, typer.Option(help="What the search minimises: rmse (the root mean square error "
                                                 "over the points) or worst (the largest miss: for a fit that "
                                                 "must hold every point within a tolerance).")] = "rmse",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Write into an existing folder not written by claimsim "
                                                         "(nothing in it is deleted).")] = False,
) -> None:
    """Fit a scenario to observed claim progress (Optuna TPE, common random numbers); write the calibrated plan."""
    from sim import calibrate as cal
    from sim import calibrate_report as rep
    from sim.files import check_output_dir

    sf = _load(file)
    try:
        points = cal.read_observed(observed)
        setup = cal.make_setup(sf, plan, points, list(param or []), reps, seed, scale, hours, objective)
        check_output_dir(out, force)
    except InputError as err:
        _fail(err)
    started = time.perf_counter()
    storage = out.with_name(f".{out.name}.optuna.sqlite3")  # beside the output: a killed calibration resumes
    with _executor(executor, workers, scheduler) as (pool, capacity), \
            Progress(TextColumn("[bold]calibrate"), BarColumn(), MofNCompleteColumn(), TextColumn("candidates"),
                     TimeElapsedColumn(), TimeRemainingColumn(), console=err_console) as bar:
        task = bar.add_task("calibrate", total=None)
        try:
            res = cal.calibrate(setup, budget, pool, capacity if pool is not None else workers, storage,
                                out_of_sample, fit_until_day,
                                progress=lambda n, total: bar.update(task, completed=n, total=total))
        except InputError as err:
            bar.stop()
            _fail(err)
    table, params = res["table"], res["params"]
    summary = {
        "scenario": sf.name, "scenario_file": str(file), "plan": plan, "observed": str(observed),
        "scale": scale, "reps": reps, "candidates": budget, "seed": setup.seed, "objective": objective,
        "rmse_pp": float(np.sqrt(np.mean(table["error_pp"] ** 2))),
        "max_error_pp": float(table["error_pp"].abs().max()),
        "within_5pp": int((table["error_pp"].abs() <= 5).sum()),
        "best": res["fit"].best, "oos": res["oos_info"],
        "not_identified": [r.parameter for r in params.itertuples() if not r.identified],
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    plans = rep.plans_yaml(plan, res["overrides"], f"calibrated to {observed.name} ({len(points)} points, RMSE "
                                                   f"{summary['rmse_pp']:.1f} points)")
    png = rep.plot(table, f"{sf.name}: observed and simulated progress")
    try:
        folder = rep.write(out, summary, table, params, res["oos"], plans, png, force)
    except InputError as err:
        _fail(err)
    storage.unlink(missing_ok=True)
    out_console.print(f"fit: RMSE {summary['rmse_pp']:.1f} points, largest miss {summary['max_error_pp']:.1f}, "
                      f"{summary['within_5pp']} of {len(table)} points within 5")
    if res["oos_info"]:
        o = res["oos_info"]
        out_console.print(f"out of sample (fit to day {o['fit_until_day']:g}): RMSE {o['rmse_pp']:.1f} points")
    if summary["not_identified"]:
        out_console.print(f"not identified by the data: {', '.join(summary['not_identified'])}")
    out_console.print(f"results: {folder}", highlight=False, soft_wrap=True)
