"""`claimsim tabletop`: serve the tabletop-exercise page, or replay an exercise log into its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.app import (
    ForceOpt,
    _fail,
    _load,
    app,
    err_console,
    out_console,
)
from sim.errors import InputError


@app.command()
def tabletop(
    file: Annotated[Path | None, typer.Argument(help="Scenario YAML file (not needed with --exercise or --replay).",
                                                show_default=False, metavar="[FILE]")] = None,
    exercise: Annotated[Path | None, typer.Option(help="Exercise file (scenario, plan, MSEL, objectives): see "
                                                       "docs/TABLETOP.md.")] = None,
    plan: Annotated[str | None, typer.Option(help="Plan the exercise starts from (default: the exercise file's, "
                                                  "else baseline).")] = None,
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
    seeds: Annotated[int | None, typer.Option(min=1, max=50, help="Seeds to weigh each decision over in the report "
                                                                 "(default: the exercise file's, else 5).")] = None,
    force: ForceOpt = False,
) -> None:
    """Serve a tabletop-exercise page (step the storm, fire injects, take decisions, branch), or --replay a log
    into its after-action report."""
    if replay is not None:
        _replay(replay, file, out, seeds, force)
        return
    from sim.exercise import Exercise, read_injects
    from sim.tabletop.config import missing_extra_error

    if (missing := missing_extra_error()) is not None:  # the replay needs only the core
        _fail(missing)
    try:
        if exercise is not None:
            from sim.exercise_file import load_exercise

            drill = load_exercise(exercise)
            sf = drill.scenario
            listed = read_injects(injects, sf) if injects is not None else drill.injects
            plan = plan or drill.spec.plan
            seed = seed if seed is not None else drill.spec.seed
            hours = hours or drill.spec.hours
        elif file is None:
            raise InputError("name a scenario FILE or an --exercise file", key_path="FILE")
        else:
            sf = _load(file)
            listed = read_injects(injects, sf) if injects is not None else None
        plan = plan or "baseline"
        sf.resolve(plan)
        Exercise(sf, plan, seed, listed, hours)  # any problem shows now, before the server starts
    except InputError as err:
        _fail(err)
    from sim.tabletop.server import serve

    try:
        serve(Path(sf.path), plan, seed, injects, port, host=host, hours=hours, exercise=exercise)
    except InputError as err:
        _fail(err)


def _replay(log_path: Path, file: Path | None, out: Path | None, seeds: int | None, force: bool) -> None:
    from sim import fmt
    from sim.aar import write_report
    from sim.exercise_file import load_exercise
    from sim.exercise_log import beside
    from sim.figures import figure

    try:
        if out is None:
            raise InputError("--replay writes a report: give --out DIR", key_path="--out")
        from sim.exercise import replay_file
        from sim.files import check_output_dir, check_writable, refuse_working_folder

        refuse_working_folder(out)  # the report folder is checked before the replay runs
        check_output_dir(out, force)
        check_writable(out.parent)
        log, ex = replay_file(log_path, scenario=file)
        sf = ex.file
        drill = load_exercise(beside(log_path, log.exercise)) if log.exercise else None
        if drill is not None:
            ex.exercise_path = str(drill.path)
        n = seeds or (drill.spec.evaluation.seeds if drill else 5)
        with err_console.status(f"weighing the decisions over {n} seeds") as status:
            folder = write_report(ex, out, drill, n, lambda d, t: status.update(f"weighing the decisions: run {d} "
                                                                               f"of {t}"), force=force)
    except InputError as err:
        _fail(err)
        return
    table = Table(title=f"{sf.name}: exercise replayed to hour {ex.hour} (plan {log.plan}, seed {log.seed})")
    for col in ("figure", "as played"):
        table.add_column(col)
    for name in ("claims", "claims_open", "latency_p90", "first_contact_mean", "abandonment", "cost"):
        f = figure(name)
        table.add_row(f.label, f.format(f.value(ex.figures()), ex.model.spec.currency))
    out_console.print(table)
    if drill is not None:
        from sim.objectives import evaluate

        for r in evaluate(ex, drill.spec.objectives):
            out_console.print(r.sentence(ex.model.spec.currency), highlight=False, soft_wrap=True)
    out_console.print(f"report: {folder} (report.html, report.md, figures.json; {fmt.number(len(ex.feed))} feed "
                      "lines)", highlight=False, soft_wrap=True)
