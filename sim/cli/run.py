"""`claimsim run` and `claimsim check`: one run, and a scenario checked without running."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.cli.app import (
    FileArg,
    _fail,
    _load,
    app,
    err_console,
    out_console,
)
from sim.errors import InputError
from sim.vocab import POPULATIONS, ROLES


@app.command()
def run(
    file: FileArg,
    plan: Annotated[str, typer.Option(help="Plan name from the scenario's `plans:`.")] = "baseline",
    seed: Annotated[int | None, typer.Option(min=0, help="Run seed (default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Stop after this many hours (quick look).")] = None,
    out: Annotated[Path, typer.Option(help="Results root folder.")] = Path("results"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    plans_file: Annotated[Path | None, typer.Option(help="YAML file of extra plans (e.g. optimize's best-plan.yaml "
                                                         "or calibrate's calibrated.yaml).")] = None,
) -> None:
    """Run one scenario under one plan and seed; write results/<scenario>/<plan>/seed-<n>/."""
    from sim import report, runner

    sf = _load(file)
    try:
        if plans_file is not None:
            sf.add_plans_file(plans_file)
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
def check(
    file: FileArg,
    plans_file: Annotated[Path | None, typer.Option(help="Also check a plans file (top-level `plans:`) against "
                                                         "the scenario; errors point at its own lines.")] = None,
    space: Annotated[Path | None, typer.Option(help="Also check a lever space file (claimsim optimize --space) "
                                                    "against the scenario.")] = None,
) -> None:
    """Validate a scenario and all its plans without running; print what it describes."""
    sf = _load(file)
    try:
        if plans_file is not None:
            sf.add_plans_file(plans_file)
        lever_space = None
        if space is not None:
            from sim.space import read_space

            lever_space = read_space(space, sf)
    except InputError as err:
        _fail(err)
    base = sf.resolve("baseline")
    out_console.print(f"[bold]{base.name}[/]: {base.description.strip()}")
    out_console.print(f"start {base.start.isoformat()}, horizon {base.duration_h} h, default seed {base.seed}")
    regions = Table(title="regions")
    present = [t for t in POPULATIONS if base.policyholders(t)]
    for col in ("id", "name", "radius km", "road km/h", *present):
        regions.add_column(col)
    for r in base.regions:
        regions.add_row(r.id, r.name, f"{r.service_radius_km:g}", f"{r.road_speed_kmh:g}",
                        *(f"{getattr(r.portfolio, t).count:,}" for t in present))
    out_console.print(regions)
    staff = Table(title="baseline staff (headcount, roster, leave)")
    for col in ("role", "headcount", "roster", "leave"):
        staff.add_column(col)
    for role in ROLES:
        if role not in base.operations.staff:
            staff.add_row(role, "not modelled", "-", "-")  # an optional role left out: no capacity limit
            continue
        spec = base.operations.staff[role]
        hc = spec.headcount if isinstance(spec.headcount, int) else ", ".join(
            f"{k} {v}" for k, v in spec.headcount.items())
        staff.add_row(role, str(hc), spec.roster, f"{spec.leave_share:.0%}")
    out_console.print(staff)
    plans = Table(title="plans")
    plans.add_column("plan")
    plans.add_column("description")
    plans.add_column("file")
    for name, description in sf.plans.items():
        plans.add_row(name, description.strip() or "-", str(sf.plan_source(name)))
    out_console.print(plans)
    if lever_space is not None:
        levers = Table(title=f"lever space {space} (on plan {lever_space.space.plan})")
        for col in ("lever", "kind", "values", "in the plan now"):
            levers.add_column(col)
        for section in ("levers", "uncertain"):
            for name, lever in getattr(lever_space, section).items():
                kind = "range" if lever.range else ("factor" if lever.factor else "set")
                lo, hi = lever.ends()
                values = f"{lo} .. {hi}" if kind != "set" else ", ".join(map(str, lever.choices))
                levers.add_row(lever_space.label(name) + (" (unknown)" if section == "uncertain" else ""), kind,
                               values, str(lever_space.current(name)))
        out_console.print(levers)
    if base.injects:
        out_console.print(f"{len(base.injects)} inject(s) listed (played in tabletop mode)")
    extra = (f", plans file {plans_file}" if plans_file else "") + (f", lever space {space}" if space else "")
    out_console.print(f"ok: {file} is valid ({len(sf.plans)} plan(s){extra})", highlight=False)


