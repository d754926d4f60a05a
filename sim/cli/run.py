"""`claimsim run` and `claimsim check`: one run, and a scenario checked without running."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from sim.cli.app import (
    FileArg,
    ForceOpt,
    HoursOpt,
    SeedOpt,
    _load,
    app,
    err_console,
    out_console,
)
from sim.errors import InputError
from sim.vocab import POPULATIONS, ROLES

if TYPE_CHECKING:
    from sim.model import ClaimsModel


@app.command()
def run(
    file: FileArg,
    plan: Annotated[str, typer.Option(help="Plan name from the scenario's `plans:`.")] = "baseline",
    seed: SeedOpt = None,
    hours: HoursOpt = None,
    out: Annotated[Path, typer.Option(help="Results root folder.")] = Path("results"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    plans_file: Annotated[Path | None, typer.Option(help="YAML file of extra plans (e.g. optimize's best-plan.yaml "
                                                         "or calibrate's calibrated.yaml).")] = None,
    force: ForceOpt = False,
    estimate: Annotated[bool, typer.Option("--estimate", help="Print the run's expected claims, peak memory and "
                                                              "wall time, and exit without running.")] = False,
    skip_memory_check: Annotated[bool, typer.Option("--skip-memory-check", help="Run even if the estimate says "
                                                                                "it needs more memory than this "
                                                                                "machine has available.")] = False,
    world_process: Annotated[bool | None, typer.Option(
        "--world-process/--no-world-process",
        help="Compute the world's hours (storm, incidents, new claims' facts) in a second process while this "
             "one runs the operation: the same results, sooner on two cores. Default: on from 50,000 expected "
             "claims when two cores are free.", show_default=False)] = None,
) -> None:
    """Run one scenario under one plan and seed; write results/<scenario>/<plan>/seed-<n>/."""
    from sim import estimate as size
    from sim import report, runner
    from sim.files import check_output_dir, check_writable, make_output_dir

    sf = _load(file)
    if plans_file is not None:
        sf.add_plans_file(plans_file)
    scenario = sf.resolve(plan)
    seed = scenario.seed if seed is None else seed
    horizon = scenario.duration_h if hours is None else min(hours, scenario.duration_h)
    est = size.estimate(scenario, horizon, seed)
    if estimate:
        out_console.print(f"{scenario.name} / {plan} / seed {seed}: estimate", highlight=False)
        for line in est.lines():
            out_console.print(f"  {line}", highlight=False, soft_wrap=True)
        return
    problem = size.too_big(est, size.available_memory())
    if problem and not skip_memory_check:
        raise InputError(problem, file=file, line=sf.lines.get(("regions",)), key_path="regions")
    folder = runner.run_dir(out, scenario.name, plan, seed)
    make_output_dir(out, force)  # a foreign or unusable --out is refused now, not after the run
    check_output_dir(folder, force)
    check_writable(folder.parent)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=12), TextColumn("{task.fields[when]}"),
                  TextColumn("{task.fields[claims]} claims"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=err_console, disable=quiet, transient=False) as bar:
        task = bar.add_task(f"{plan}/{seed}", total=horizon, claims="0",
                            when=f"{scenario.start:%d %b %H:%M} (h 0/{horizon})")

        def show(model: ClaimsModel) -> None:
            when = scenario.start + timedelta(hours=model.hour)
            bar.update(task, completed=model.hour, claims=f"{model.claim_count:,}",
                       when=f"{when:%d %b %H:%M} (h {model.hour}/{horizon})")

        ahead = runner.use_world_process(est.claims) if world_process is None else world_process
        result = runner.simulate(sf, plan, seed, hours, watch=show, release=True, world_process=ahead)
    folder = runner.write(result, folder, force)
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
    injects: Annotated[Path | None, typer.Option(help="Also check a YAML file of tabletop injects against it.")]
    = None,
) -> None:
    """Validate a scenario and all its plans without running; print what it describes."""
    sf = _load(file)
    if plans_file is not None:
        sf.add_plans_file(plans_file)
    lever_space = None
    if space is not None:
        from sim.space import read_space

        lever_space = read_space(space, sf)
    listed = None
    if injects is not None:
        from sim.exercise import read_injects

        listed = read_injects(injects, sf)
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
    if listed is not None:
        out_console.print(f"{len(listed)} inject(s) in {injects}", highlight=False)
    extra = (f", plans file {plans_file}" if plans_file else "") + (f", lever space {space}" if space else "")
    out_console.print(f"ok: {file} is valid ({len(sf.plans)} plan(s){extra})", highlight=False)


