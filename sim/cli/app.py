"""The command line's shared parts: the Typer app, consoles, one-line errors, progress bars, executors."""

from __future__ import annotations

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

from sim import __version__
from sim.errors import InputError
from sim.scenario import ScenarioFile, load_scenario

if TYPE_CHECKING:
    from sim.execution import Status

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



def _version(value: bool) -> None:
    if value:
        out_console.print(f"claimsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    """Simulate insurance claims operations through a storm, plan by plan."""
