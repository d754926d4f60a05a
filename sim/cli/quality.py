"""`claimsim validate` and `claimsim regress`: the engine against theory, scenarios against baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.cli.app import (
    ForceOpt,
    WorkersOpt,
    _fail,
    _run_progress,
    _status_updater,
    app,
    err_console,
    out_console,
)
from sim.errors import InputError
from sim.files import write_result


@app.command()
def validate(
    full: Annotated[bool, typer.Option("--full", help="All configurations, more replications, tight intervals.")]
    = False,
    cases: Annotated[str, typer.Option(help="Comma-separated case numbers (1-7).")] = "1,2,3,4,5,6,7",
    workers: WorkersOpt = 2,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/validation"),
    doc: Annotated[Path | None, typer.Option(help="Also copy the Markdown report here (e.g. docs/VALIDATION.md); "
                                                  "its plots go to a `validation` folder beside it.")] = None,
    force: ForceOpt = False,
) -> None:
    """Check the engine against queueing theory and the documented storm figures; exit 1 if a row fails."""
    import time

    from sim import validation
    from sim.files import (
        atomic_write,
        check_output_dir,
        check_output_file,
        check_writable,
        make_output_dir,
        refuse_working_folder,
    )

    chosen = [c.strip() for c in cases.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in validation.CASES]
    if unknown or not chosen:
        shown = ", ".join(c[:20] for c in unknown[:5]) if unknown else "(none)"
        raise InputError(f"unknown case(s) {shown}; cases are {', '.join(validation.CASES)}", key_path="--cases")
    refuse_working_folder(out)  # every output is checked before the long part starts
    check_output_dir(out, force)
    check_writable(out.parent)
    if doc is not None:
        check_output_file(doc, force, "--doc")
        check_output_dir(doc.parent / "validation", force, "--doc")
    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("replications"), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task(f"validate ({'full' if full else 'quick'})", total=None)
        rows = validation.validate(chosen, full, workers,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total))
    elapsed = time.perf_counter() - started
    command = "claimsim validate" + (" --full" if full else "") + (
        f" --cases {','.join(chosen)}" if chosen != list(validation.CASES) else "")
    folder = validation.write(rows, out, full, elapsed, command, force)
    if doc is not None:
        text = (folder / "report.md").read_text().replace("](stationary.png)", "](validation/stationary.png)")
        text = text.replace("](storm.png)", "](validation/storm.png)")
        img = make_output_dir(doc.parent / "validation", force, "--doc")
        for name in ("stationary.png", "storm.png"):
            write_result(img, name, (folder / name).read_bytes(), "--doc")
        atomic_write(doc, text, force=True, option="--doc")
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


