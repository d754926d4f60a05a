"""What optimize writes: best-plan.yaml, frontier.csv, the cost-against-target plot, report.md, optimize.xlsx.

report.md opens with a one-page executive summary (the recommended plan, what it costs, what it buys, how
sure we are, what it is most sensitive to); every money figure carries the scenario's currency.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from sim.candidates import Candidate, feasible, objective, series, slacks, stats_row  # noqa: E402
from sim.charts import money_axis, target_line  # noqa: E402
from sim.compare import pareto_front  # noqa: E402
from sim.errors import InputError  # noqa: E402
from sim.figures import BY_NAME, REPLICATED  # noqa: E402
from sim.files import SIGNATURE, atomic_write  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.stats import differs, mean_ci, paired_t  # noqa: E402
from sim.workbook import write_workbook  # noqa: E402

if TYPE_CHECKING:
    from sim.optimize import Outcome
    from sim.sensitivity import Sensitivity

PLOT = "cost_vs_target.png"


def _money(o: Outcome, x: float) -> str:
    return o.problem.settings.minimize[0].format(x, o.problem.currency)


# ---------------------------------------------------------------------------- best-plan.yaml


def best_plan_text(o: Outcome, overrides: dict[str, Any], description: str) -> str:
    """A plans file with one plan, `best` (extending the space's plan when it is not the baseline)."""
    plan: dict[str, Any] = {"description": description}
    base = o.problem.space.space.plan
    if base != "baseline":
        plan["extends"] = base
    plan.update(overrides)
    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 110
    yaml.dump({"description": f"Plan found by claimsim optimize ({', '.join(o.problem.spaces)})",
               "plans": {"best": plan}}, buf)
    return f"# {SIGNATURE} optimize: a plans file for run and compare (--plans-file), plan `best`.\n" + buf.getvalue()


def write_best_plan(o: Outcome, out: Path, description: str) -> Path:
    """Write DIR/best-plan.yaml and check that every scenario resolves `best` to the very plan that was run."""
    chosen = o.selection.chosen
    assert chosen is not None
    overrides = chosen.overrides or {}
    path = out / "best-plan.yaml"
    for _attempt in range(2):
        atomic_write(path, best_plan_text(o, overrides, description))
        ok = True
        for name, ls in o.problem.spaces.items():
            sf = load_scenario(o.problem.paths[name])
            sf.add_plans_file(path)
            got = sf.resolve("best").model_dump(mode="json", exclude={"plan", "plan_description"})
            want = sf.variant(chosen.overrides or {}, ls.space.plan).model_dump(
                mode="json", exclude={"plan", "plan_description"})
            ok = ok and got == want
        if ok:
            return path
        # a lever set a key inside a default the scenario file does not spell out: write whole sections
        want_all = o.problem.space.scenario.variant(overrides, o.problem.space.space.plan).model_dump(
            mode="json", by_alias=True, exclude_none=False)
        overrides = {k: want_all[k] for k in overrides}
    raise InputError("best-plan.yaml does not resolve to the plan that was run", file=path)


# ---------------------------------------------------------------------------- tables and plot


def frontier_rows(o: Outcome) -> list[dict[str, Any]]:
    """Every evaluated plan (the reference first): levers, replications, objectives, targets' means and bounds."""
    rows = [stats_row(o.reference, o.problem, o.targets)]
    seen = set()
    points = [(objective(c, o.problem.settings.minimize[0]), float(np.nanmean(series(c, o.targets[0].figure.name))))
              for c in o.candidates]
    front = set(pareto_front(points))
    for i, c in enumerate(o.candidates):
        row = stats_row(c, o.problem, o.targets)
        row["pareto"] = i in front
        row["duplicate"] = c.key in seen
        seen.add(c.key)
        rows.append(row)
    return rows


def pareto_plot(o: Outcome, path: Path) -> None:
    """Cost against the first target's figure for every plan tried: 95% intervals both ways, the one-sided bound,
    the target line, the Pareto front, the reference and the recommendation."""
    s = o.problem.settings
    f0, t0 = s.minimize[0], o.targets[0]
    fig, ax = plt.subplots(figsize=(9, 6))
    pts = []
    for c in o.candidates + [o.reference]:
        x = mean_ci(series(c, f0.name))
        y = mean_ci(series(c, t0.figure.name))
        ok = feasible(c, o.targets, s.confidence)
        style = dict(fmt="o", ms=5, alpha=0.6, color="C2" if ok else "C7", mfc="C2" if ok else "none", capsize=2)
        ax.errorbar(x.mean, y.mean, xerr=[[x.mean - x.low], [x.high - x.mean]] if np.isfinite(x.low) else None,
                    yerr=[[y.mean - y.low], [y.high - y.mean]] if np.isfinite(y.low) else None, **style)
        pts.append((x.mean, y.mean, c))
    front = [pts[i] for i in pareto_front([(a, b) for a, b, _ in pts])]
    front.sort(key=lambda p: p[0])
    if len(front) > 1:
        ax.plot([p[0] for p in front], [p[1] for p in front], "k--", lw=0.8, label="Pareto front (means)")
    ref = o.reference
    ax.plot(objective(ref, f0), np.nanmean(series(ref, t0.figure.name)), "s", color="C0", ms=10,
            label="reference plan (now)")
    chosen = o.selection.chosen
    if chosen is not None:
        cy = float(np.nanmean(series(chosen, t0.figure.name)))
        bound = max(t0.bound(v[t0.figure.name], s.confidence) for v in chosen.values.values())
        ax.plot(objective(chosen, f0), cy, "*", color="C3", ms=18, label="recommended (best)")
        ax.plot([objective(chosen, f0)] * 2, [cy, bound], color="C3", lw=2,
                label=f"its {100 * s.confidence:.0f}% one-sided bound")
    if t0.value is not None:
        target_line(ax, t0.value, f"target: {t0.describe(o.problem.currency)}")
    ax.plot([], [], "o", color="C2", label=f"meets the targets ({100 * s.confidence:.0f}% bound)")
    ax.plot([], [], "o", color="C7", mfc="none", label="misses a target")
    ax.set_xlabel(f"{f0.heading(o.problem.currency)}, mean with 95% interval")
    ax.set_ylabel(f"{t0.figure.heading(o.problem.currency)}, mean with 95% interval")
    if f0.unit == "money":
        money_axis(ax, o.problem.currency, "x")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    ax.set_title(f"{', '.join(o.problem.spaces)}: every plan tried ({len(o.candidates)}), "
                 f"{o.problem.settings.reps}+ common seeds each", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def versus_reference(o: Outcome) -> list[dict[str, Any]]:
    """The recommended plan against the reference on the shared seeds: each headline figure and its paired change."""
    chosen = o.selection.chosen
    if chosen is None:
        return []
    rows = []
    n = o.reference.n()
    cur = o.problem.currency
    for f in dict.fromkeys([*REPLICATED, *o.problem.settings.minimize, *(t.figure for t in o.targets)]):
        a, b = series(chosen, f.name)[:n], series(o.reference, f.name)[:n]
        (m, lo, hi), _p = paired_t(a - b)
        ci = mean_ci(a - b)
        verdict = f.verdict(m) if differs(ci) else "no detectable difference"
        rows.append({"name": f.name, "figure": f.label, "unit": f.unit if f.unit != "money" else cur,
                     "reference": nanmean(b), "recommended": nanmean(a),
                     "change": m, "change_low": lo, "change_high": hi, "verdict": verdict})
    return rows


def nanmean(x: np.ndarray) -> float:
    """Mean over the replications that have the figure (NaN when none has, without numpy's warning)."""
    x = np.asarray(x, dtype=float)
    return float(np.mean(x[~np.isnan(x)])) if (~np.isnan(x)).any() else float("nan")


# ---------------------------------------------------------------------------- the report


def report(o: Outcome, sens: Sensitivity | None, meta: dict[str, Any]) -> str:
    s = o.problem.settings
    sel = o.selection
    chosen = sel.chosen
    cur = o.problem.currency
    f0 = s.minimize[0]
    conf = f"{100 * s.confidence:.0f}%"
    names = ", ".join(o.problem.spaces)
    lines = [f"<!-- {SIGNATURE} -->", f"# Optimize: {names}", "", "## Executive summary", ""]
    if chosen is None:
        lines += ["No plan was evaluated.", ""]
        return "\n".join(lines)
    moved = [(lab, v, now) for lab, v, now in o.problem.space.describe(chosen.params) if v != now]
    levers = "; ".join(f"{lab} **{v}** (now {now})" for lab, v, now in moved) or "the reference plan as it is"
    verb = "meets" if sel.met else "does NOT meet"
    n = o.reference.n()
    versus = {r["figure"]: r for r in versus_reference(o)}
    c = versus[f0.label]
    lines += [f"- **Recommended plan:** `best` in `best-plan.yaml`: {levers}.",
              f"- **What it costs:** {f0.label} {f0.format(c['recommended'], cur)} against "
              f"{f0.format(c['reference'], cur)} for the plan in use now on the same {n} seeds: "
              f"{f0.format_diff(c['change'], cur)} "
              f"[{f0.format_diff(c['change_low'], cur)}, {f0.format_diff(c['change_high'], cur)}] "
              f"({c['verdict']}).",
              "- **What it buys:** " + "; ".join(_buys(o, t, versus, conf) for t in o.targets) + "."]
    how = [f"it {verb} every target at {conf} confidence over {chosen.n()} replications on common seeds"]
    if sel.kn is not None:
        k = len(sel.kn.reps)
        how.append(f"Kim-Nelson selection among the {k} cheapest plans that met the targets: with probability at "
                   f"least {conf} its expected {f0.label} is within {f0.format(sel.kn.delta, cur)} of the cheapest of "
                   "them" + ("" if sel.kn.guaranteed else " (the replication cap stopped the procedure first: "
                                                          "the statement is not guaranteed)"))
    if sel.confirmed is not None:
        rep = next(iter(sel.confirmation.values()))
        nconf = len(next(iter(rep.values())))
        how.append(f"on {nconf} independent seeds it {'meets' if sel.confirmed else 'does NOT meet'} every target "
                   f"again")
    if sel.note:
        how.append(sel.note)
    lines.append("- **How sure:** " + "; ".join(how) + ".")
    lines.append("- **Most sensitive to:** " + _sensitive(o, sens) + ".")
    lines += ["", "![cost against target](" + PLOT + ")", ""]
    lines += ["## The question", "",
              f"Cheapest plan by **{', '.join(f.label for f in s.minimize)}** among the levers of `{s.space}` "
              f"(on plan `{o.problem.space.space.plan}`), such that " + " and ".join(t.describe(cur) for t in o.targets)
              + f", each judged on its one-sided {conf} confidence bound over replications, not its mean"
              + (" in every scenario" if len(o.problem.spaces) > 1 and s.rule == "all" else "")
              + (" (minimax regret over the scenarios)" if s.rule == "regret" else "") + ".",
              f"Horizon {'the full scenario' if s.hours is None else f'{s.hours} h'}; search seeds "
              f"{o.problem.seeds[0]}-{o.problem.seeds[-1]} for every plan (common random numbers).", "",
              "## How the answer was found", "",
              f"1. **Search** ({'TPE' if len(s.minimize) == 1 else 'NSGA-II'}, Optuna): {len(o.candidates)} plans "
              f"of a budget of {s.budget}, {s.reps} replications each; "
              f"{sum(feasible(c, o.targets, s.confidence) for c in o.candidates)} met every target. "
              "Every plan tried is in `frontier.csv`.",
              f"2. **Selection**: the {len(sel.finalists)} cheapest plans meeting the targets got {s.reps} fresh "
              "common replications each; those still meeting them went through Kim and Nelson's fully sequential "
              "procedure (it states a probability of correct selection, uses the paired seeds, and drops a clearly "
              "dearer plan early; docs/PLANNING.md).",
              f"3. **Confirmation** on {s.confirm_reps} independent seeds.",
              f"{o.runs} runs in all ({meta.get('wall_time_s', 0):.0f} s wall time).", ""]
    if sel.finalists:
        lines += ["### Finalists", "", f"| plan | replications | {f0.heading(cur)} | "
                  + " | ".join(f"{t.figure.label}: mean / {conf} bound" for t in o.targets) + " | KN |",
                  "|---|---|---|" + "---|" * len(o.targets) + "---|"]
        for c in sel.finalists:
            kn = ""
            if sel.kn is not None and c.key in sel.kn.reps:
                kn = "selected" if c.key == sel.kn.best else (f"eliminated at {sel.kn.eliminated[c.key]}"
                                                              if c.key in sel.kn.eliminated else "")
            elif sel.kn is not None:
                kn = "missed a target with fresh seeds"
            cells = [f"{t.figure.format(np.nanmean(series(c, t.figure.name)), cur)} / "
                     f"{t.figure.format(max(t.bound(v[t.figure.name], s.confidence) for v in c.values.values()), cur)}"
                     for t in o.targets]
            lines.append(f"| {c.label} | {c.n()} | {f0.format(objective(c, f0), cur)} | " + " | ".join(cells)
                         + f" | {kn} |")
        lines.append("")
    lines += ["## The recommended plan against the plan in use now", "",
              "Same seeds; the change is the mean paired difference with its 95% interval. A change whose interval "
              "holds zero is *no detectable difference*.", "",
              "| figure | now | recommended | change [95% CI] | verdict |", "|---|---|---|---|---|"]
    for r in versus_reference(o):
        f = BY_NAME[r["name"]]
        lines.append(f"| {f.label} | {f.format(r['reference'], cur)} | {f.format(r['recommended'], cur)} | "
                     f"{f.format_diff(r['change'], cur)} [{f.format_diff(r['change_low'], cur)}, "
                     f"{f.format_diff(r['change_high'], cur)}] | {r['verdict']} |")
    lines += [""]
    if sens is not None:
        from sim.report_sensitivity import section

        lines += section(sens, "sensitivity/")
    lines += ["## Files", "", "- `best-plan.yaml`: the recommended plan (`claimsim compare SCENARIO --plans-file "
              "best-plan.yaml --plans baseline,best` checks it on fresh seeds)",
              "- `frontier.csv`, `optimize.xlsx`: every plan tried, finalists, the comparison above",
              "- `optuna.db`: the search (a re-run with the same inputs resumes it); `runs/`: every run's folder", "",
              f"Command: `{meta.get('command')}`", ""]
    return "\n".join(lines)


def _buys(o: Outcome, t: Any, versus: dict[str, dict[str, Any]], conf: str) -> str:
    """A target's result: the chosen plan's mean and bound over all its replications, and the paired change."""
    chosen = o.selection.chosen
    assert chosen is not None
    cur, f = o.problem.currency, t.figure
    bound = max(t.bound(v[f.name], o.problem.settings.confidence) for v in chosen.values.values())
    text = (f"{f.label} {f.format(float(np.nanmean(series(chosen, f.name))), cur)} over its {chosen.n()} "
            f"replications, {conf} bound {f.format(bound, cur)} against the target of {t.describe(cur)}")
    r = versus.get(f.label)
    if r is not None:
        text += (f"; {f.format(r['recommended'], cur)} against {f.format(r['reference'], cur)} now on the same "
                 f"{o.reference.n()} seeds ({r['verdict']})")
    return text


def _sensitive(o: Outcome, sens: Sensitivity | None) -> str:
    parts = []
    t0 = o.targets[0]
    imp = o.importance.get(t0.figure.name)
    if imp:
        name, share = max(imp.items(), key=lambda kv: kv[1])
        parts.append(f"over the {len(o.candidates)} plans tried, **{o.problem.space.label(name)}** explains most of "
                     f"the variation of {t0.figure.label} (importance {share:.2f}, Optuna)")
    if sens is not None:
        for kind in ("lever", "unknown"):
            r = sens.top(kind, sens.figures[0])
            if r is not None:
                parts.append(f"the {kind} that moves {sens.figures[0].label} most around the recommendation is "
                             f"**{r['label']}** (swing {sens.figures[0].format(r[sens.figures[0].name + '.swing'], o.problem.currency)})")  # noqa: E501
    return "; ".join(parts) or "not measured (too few plans tried; run with --sensitivity)"


def write_optimize(o: Outcome, out: Path, sens: Sensitivity | None, meta: dict[str, Any]) -> dict[str, Any]:
    """Every output file; summary.json last (the mark of a finished optimize)."""
    s = o.problem.settings
    chosen = o.selection.chosen
    rows = frontier_rows(o)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
    w.writeheader()
    w.writerows(rows)
    atomic_write(out / "frontier.csv", buf.getvalue())
    pareto_plot(o, out / PLOT)
    if chosen is not None:
        desc = ("Found by claimsim optimize: " + "; ".join(f"{a} {b}" for a, b, _ in o.problem.space.describe(
            chosen.params)) + ". Targets: " + "; ".join(t.describe(o.problem.currency) for t in o.targets)
                + f" ({100 * s.confidence:.0f}% one-sided bounds).")
        write_best_plan(o, out, desc)
    atomic_write(out / "report.md", report(o, sens, meta))
    sheets = {"Plans tried": rows, "Recommended vs now": versus_reference(o),
              "Lever importance": [{"figure": BY_NAME[k].label if k in BY_NAME else k,
                                    "lever": o.problem.space.label(n), "importance": v}
                                   for k, imp in o.importance.items() for n, v in imp.items()]}
    if sens is not None:
        from sim.report_sensitivity import index_rows, table_rows

        sheets["Sensitivity"] = table_rows(sens)
        if sens.method:
            sheets["Global indices"] = index_rows(sens)
    write_workbook(out / "optimize.xlsx", sheets, {"Plans tried": f"currency {o.problem.currency}; bounds are "
                                                                  f"one-sided at {100 * s.confidence:.0f}%"})
    summary = {"scenarios": list(o.problem.spaces), "currency": o.problem.currency,
               "targets": [{"figure": t.figure.key, "op": t.op, "value": t.value, "text": t.text} for t in o.targets],
               "minimize": [f.key for f in s.minimize], "confidence": s.confidence, "budget": s.budget,
               "reps": s.reps, "seeds": o.problem.seeds, "runs": o.runs, "reused": o.reused,
               "candidates": len(o.candidates),
               "selected": None if chosen is None else {
                   "label": chosen.label, "levers": chosen.params, "overrides": chosen.overrides,
                   "meets_targets": o.selection.met, "confirmed": o.selection.confirmed,
                   "replications": chosen.n(), "objective": objective(chosen, s.minimize[0]),
                   "slacks": slacks(chosen, o.targets, s.confidence)},
               "reference": {"objective": objective(o.reference, s.minimize[0])},
               "kim_nelson": None if o.selection.kn is None else {
                   "pcs": o.selection.kn.pcs, "delta": o.selection.kn.delta, "reps": o.selection.kn.reps,
                   "guaranteed": o.selection.kn.guaranteed},
               "importance": o.importance, **meta}
    atomic_write(out / "summary.json", json.dumps(summary, indent=2, default=_json) + "\n")
    return summary


def _json(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, Candidate):
        return x.label
    return str(x)
