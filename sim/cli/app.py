"""The command line's shared parts: the Typer app, consoles, one-line errors, progress bars, executors."""

from __future__ import annotations

import math
import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
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
from typer.core import TyperGroup

from sim import __version__
from sim.errors import InputError, Interrupted
from sim.execution import MAX_WORKERS
from sim.scenario import ScenarioFile, load_scenario
from sim.scenario.base import MAX_SEED
from sim.scenario.spec import MAX_DURATION_H

if TYPE_CHECKING:
    import click

    from sim.execution import Status

out_console = Console(emoji=False)  # ":100:" in "file.yaml:100:" is not an emoji
err_console = Console(stderr=True, emoji=False)


def _fail(err: InputError) -> None:
    err_console.print(f"error: {err.one_line()}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def interrupted(stop: BaseException) -> int:
    """Say that a command was interrupted, in one line; the exit code, 128 + the signal's number."""
    signum = stop.signum if isinstance(stop, Interrupted) else signal.SIGINT
    err_console.print(f"interrupted ({signal.Signals(signum).name}): nothing unfinished looks complete; run the "
                      "same command again to resume", highlight=False, soft_wrap=True)
    return 128 + signum


class _Commands(TyperGroup):
    """The command group: an InputError raised anywhere in a command is one line and exit code 2; an interrupt
    (Ctrl-C, SIGTERM) is one line and exit code 128 + the signal's number."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as err:
            _fail(err)
        except KeyboardInterrupt as stop:
            raise typer.Exit(code=interrupted(stop)) from None


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Simulate insurance claims operations through a storm, plan by plan.")


def _load(file: Path) -> ScenarioFile:
    try:
        return load_scenario(file)
    except InputError as err:
        _fail(err)
        raise  # unreachable


FileArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False, metavar="FILE")]



ExecutorOpt = Annotated[str, typer.Option(help="Where runs execute: local (process pool) or dask (a Dask cluster: "
                                               "--scheduler ADDRESS, or a local cluster of --workers).")]
SchedulerOpt = Annotated[str | None, typer.Option(help="Address of a running Dask scheduler, e.g. "
                                                       "tcp://10.0.0.5:8786 (with --executor dask).")]
BundleOpt = Annotated[int | None, typer.Option(min=1, help="Runs per task (default: 1 locally; on Dask about four "
                                                           "tasks per worker, at most 8 runs each).")]
WorkersOpt = Annotated[int, typer.Option(min=1, max=MAX_WORKERS, help="Worker processes (local, or of a local "
                                                                        "Dask cluster).")]
SkipMemoryOpt = Annotated[bool, typer.Option("--skip-memory-check", help="Run even if the estimate says the runs "
                                                                        "need more memory than this machine has "
                                                                        "available.")]
SeedOpt = Annotated[int | None, typer.Option(min=0, max=MAX_SEED, help="Run seed (default: the scenario's).")]
HoursOpt = Annotated[int | None, typer.Option(min=1, max=MAX_DURATION_H, help="Stop after this many hours.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Write into an existing folder claimsim did not write "
                                                      "(adding files; nothing of yours is deleted or replaced).")]
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



def finite(value: float | None) -> float | None:
    """Option callback: a number option must be finite (`nan` passes every range check)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("must be a finite number")
    return value


def _check_memory(runs: list[tuple[ScenarioFile, str, int | None]], parallel: int, skip: bool) -> None:
    """Refuse runs that would not fit together in this machine's memory: the largest of `runs` (scenario file,
    plan, hours) times the runs that share the machine at once (see sim/estimate.py)."""
    if skip or not runs:
        return
    from sim import estimate as size
    from sim.scenario.spec import staff_total

    seen: dict[str, tuple[size.Estimate, ScenarioFile]] = {}
    for sf, plan, hours in runs:  # plans that change only the operation share their world's estimate
        sc = sf.resolve(plan)
        key = sc.model_dump_json(include={"regions", "hazard", "vulnerability", "measures", "duration_h", "seed"})
        key += f"|{staff_total(sc)}|{hours}"
        if key not in seen:
            seen[key] = (size.estimate(sc, hours), sf)
    est, sf = max(seen.values(), key=lambda pair: pair[0].memory_bytes)
    need = est if parallel <= 1 else replace(est, memory_bytes=est.memory_bytes * parallel)
    problem = size.too_big(need, size.available_memory())
    if problem:
        many = f" ({parallel} runs at once: fewer --workers need less)" if parallel > 1 else ""
        raise InputError(problem + many, file=sf.path, line=sf.lines.get(("regions",)), key_path="regions")


def _version(value: bool) -> None:
    if value:
        out_console.print(f"claimsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    """Simulate insurance claims operations through a storm, plan by plan."""
