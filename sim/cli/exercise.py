"""`claimsim tabletop`: serve the tabletop-exercise page, or replay an exercise log into its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.app import (
    FileArg,
    ForceOpt,
    _fail,
    _load,
    app,
    out_console,
)
from sim.errors import InputError


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
    force: ForceOpt = False,
) -> None:
    """Serve a tabletop-exercise page (step the storm, fire injects, take decisions, fork), or --replay a log."""
    from sim.exercise import Exercise, read_injects, replay_file
    from sim.tabletop.config import missing_extra_error

    if replay is None and (missing := missing_extra_error()) is not None:  # the replay needs only the core
        _fail(missing)
    sf = _load(file)
    sf.resolve(plan)
    if replay is not None:
        from sim.files import check_output_dir, check_writable, refuse_working_folder

        if out is None:
            raise InputError("--replay writes a report: give --out DIR", key_path="--out")
        refuse_working_folder(out)  # the report folder is checked before the replay runs
        check_output_dir(out, force)
        check_writable(out.parent)
        log, ex = replay_file(replay, scenario=file)
    else:
        listed = read_injects(injects, sf) if injects is not None else None
        Exercise(sf, plan, seed, listed, hours)  # any problem shows now, before the server starts
    if replay is not None:
        from sim.aar import figure_rows, write_report

        assert out is not None
        folder = write_report(ex, out, force)
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


