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
        if doc.exists():  # sections kept by hand (curve shape against observed events) stay
            text = validation.keep_hand_sections(text, doc.read_text(encoding="utf-8"))
        atomic_write(doc, text, force=True, option="--doc")
    table = Table(title=f"validation ({'full' if full else 'quick'} set)")
    for col in ("case", "configuration", "measure", "theory", "simulated (95% CI)", "result"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.case, r.name, r.measure, validation.fmt_value(r.theory),
                      f"{validation.fmt_value(r.mean)} [{validation.fmt_value(r.low)}, {validation.fmt_value(r.high)}]",
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
    report: Annotated[Path | None, typer.Option(help="Write a Markdown report here (for a merge-request comment).")]
    = None,
    update: Annotated[bool, typer.Option("--update", help="Rewrite the baselines from this code and print what "
                                                          "changed.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --report, --junit or baseline files even if "
                                                        "claimsim did not write them.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    config: Annotated[Path, typer.Option(help="What to check: scenarios, plans, seeds, horizons, replications.")]
    = Path("scenarios/regress/regress.yaml"),
    reps: Annotated[int | None, typer.Option(min=3, help="Replications per plan in the stat tier (overrides the "
                                                          "config; baselines must be updated with the same).")] = None,
    fresh: Annotated[int, typer.Option(min=1, help="Seed block of the stat tier's fresh replications (block 0 is "
                                                   "the baseline's).")] = 1,
) -> None:
    """Check scenarios against committed baselines (provenance, exact and statistical tiers); exit 1 on a change."""
    import time

    from sim import regress as rg
    from sim.files import atomic_write, check_output_file

    if tier not in ("exact", "stat", "all"):
        _fail(InputError(f"unknown tier '{tier}' (exact, stat or all)", key_path="--tier"))
    tiers = ["exact", "stat"] if tier == "all" else [tier]
    old: dict[str, dict | None] = {}
    try:  # every input and output is checked before the first run starts
        cfg, targets, folder = rg.read_config(config, files or None)
        if reps is not None:
            cfg = cfg.model_copy(update={"stat": cfg.stat.model_copy(update={"reps": reps})})
            for t in targets:
                t.reps = reps
        for path, option in ((report, "--report"), (junit, "--junit")):
            if path is not None:
                check_output_file(path, force, option)
        for t in targets:
            path = rg.baseline_path(folder, t.name)
            if not update:
                old[t.name] = rg.load_baseline(folder, t.name)
                continue
            check_output_file(path, force, "--update")
            try:
                old[t.name] = rg.load_baseline(folder, t.name) if path.exists() else None
            except InputError as err:
                err_console.print(f"warning: {err.one_line()} (it is replaced)", markup=False, highlight=False,
                                  soft_wrap=True)
                old[t.name] = None
    except InputError as err:
        _fail(err)
    notes = [n for t in targets if not update and old.get(t.name) for n in rg.compare_provenance(t, old[t.name])[0]]
    for n in notes:  # said first: a baseline made from other inputs explains what follows
        err_console.print(f"{n.level}: {n.text}", markup=False, highlight=False, soft_wrap=True)
    coverage = rg.defaults_coverage(targets)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    with _run_progress("regress", 0) as bar:
        task = bar.add_task(f"regress ({', '.join(tiers)})", total=None, running=0, failed=0, reused=0)
        try:
            measured = rg.measure(targets, cfg, tiers, workers, 0 if update else fresh * rg.FRESH_OFFSET,
                                  progress=_status_updater(bar, task), seconds=seconds)
        except InputError as err:
            bar.stop()
            _fail(err)
    if update:
        try:
            for t in targets:
                for line in rg.write_baseline(folder, t, measured.get(t.name, {}), old[t.name], force=force):
                    out_console.print(line, highlight=False, markup=False, soft_wrap=True)
        except InputError as err:
            _fail(err)
        _print_never(coverage)
        out_console.print(f"baselines written to {folder} ({time.perf_counter() - started:.0f} s); review "
                          "`git diff` and commit them", highlight=False, soft_wrap=True)
        return
    names = [f.name for f in rg.tier_figures(cfg.stat)]
    outcome = rg.check(measured, old, cfg.stat.alpha, targets, names)  # type: ignore[arg-type]
    outcome.seconds = seconds
    outcome.budgets = {"exact": cfg.exact.budget_s, "stat": cfg.stat.budget_s}
    meta = {"tiers": tiers, "scenarios": len(targets), "reps": cfg.stat.reps, "alpha": cfg.stat.alpha,
            "n_figures": len(names), "after_peak_h": cfg.exact.after_peak_h,
            "stat_scenarios": sum("stat" in m for m in measured.values()),
            "exact_hours": ", ".join(f"{t.name} {t.exact_hours} h" for t in targets if "exact" in t.tiers)}
    try:
        if junit:
            atomic_write(junit, rg.junit(outcome), force=force, option="--junit")
        if report:
            atomic_write(report, rg.markdown(outcome, meta, coverage), force=force, option="--report")
    except InputError as err:
        _fail(err)
    _print_outcome(outcome, time.perf_counter() - started)
    _print_never(coverage)
    if outcome.failed:
        raise typer.Exit(code=1)


def _print_never(coverage: object) -> None:
    never = getattr(coverage, "never", [])
    if never:
        shown = ", ".join(never[:6]) + (f" and {len(never) - 6} more (the --report lists them)" if len(never) > 6
                                        else "")
        out_console.print(f"note: {len(never)} code default(s) are set by every scenario under regression, so the "
                          f"check never runs them: {shown}", highlight=False, markup=False, soft_wrap=True)


def _print_outcome(outcome: object, elapsed: float) -> None:
    """The console summary: provenance first, then each scenario and plan with its verdict."""
    from sim.regress import Outcome, summary

    assert isinstance(outcome, Outcome)
    table = Table(title=f"regression check ({elapsed:.0f} s)")
    for col in ("tier", "scenario / plan", "checks", "failed", "verdict"):
        table.add_column(col, overflow="fold")
    groups: dict[tuple[str, str, str], list] = {}
    for r in outcome.rows:
        groups.setdefault((r.tier, r.scenario, r.plan), []).append(r)
    for (tr, scen, plan), rows in groups.items():
        bad = [r for r in rows if not r.passed]
        text = "" if not bad else summary(rows) if tr in ("exact", "stat") else bad[0].message
        table.add_row(tr, f"{scen} / {plan}", str(len(rows)), f"[red]{len(bad)}[/]" if bad else "0", text)
    out_console.print(table)
    for tier, secs in outcome.seconds.items():
        budget = outcome.budgets.get(tier, float("inf"))
        if secs > budget:
            out_console.print(f"warning: the {tier} tier took {secs:.0f} s, over its budget of {budget:.0f} s",
                              highlight=False)
    out_console.print(f"{len(outcome.rows) - len(outcome.failed)} of {len(outcome.rows)} checks pass",
                      highlight=False)
