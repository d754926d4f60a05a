"""Plots and the planning-meeting report of a plan comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.compare import FIGURES, PERCENTILES, _json_default, _write_csv, pareto_front  # noqa: E402
from sim.report import latency_cdf  # noqa: E402

if TYPE_CHECKING:
    from sim.compare import Comparison

PLOTS = {"cdf": "latency_cdf.png", "backlog": "backlog.png", "pareto": "cost_vs_p90.png"}


def plots(comp: Comparison, out: Path) -> None:
    latency_cdf({name: (np.concatenate([r["latency"] for r in pr.reps]),
                        int(sum(r["figures"]["claims"] for r in pr.reps))) for name, pr in comp.plans.items()},
                f"{comp.scenario}: settlement latency by plan (all replications pooled)", out / PLOTS["cdf"])

    fig, ax = plt.subplots(figsize=(10, 5))
    for i, (name, pr) in enumerate(comp.plans.items()):
        n = min(len(r["backlog"]) for r in pr.reps)
        b = np.vstack([r["backlog"][:n] for r in pr.reps])
        hours = np.arange(1, n + 1)
        ax.plot(hours, np.median(b, axis=0), color=f"C{i}", label=f"{name} (median)")
        ax.fill_between(hours, np.percentile(b, 10, axis=0), np.percentile(b, 90, axis=0), color=f"C{i}",
                        alpha=0.2)
    ax.set_xlabel("hours since scenario start")
    ax.set_ylabel("open claims")
    ax.set_title("Backlog by plan: median and 10-90% band over replications")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out / PLOTS["backlog"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 5))
    names = list(comp.plans)
    pts = [(comp.plans[p].summary("cost")[0], comp.plans[p].summary("latency_p90")[0]) for p in names]
    front = set(pareto_front(pts))
    for i, (name, (c, p)) in enumerate(zip(names, pts, strict=True)):
        lo, hi = comp.plans[name].summary("latency_p90")[1:]
        ax.errorbar(c, p, yerr=[[p - lo], [hi - p]], fmt="o", color=f"C{i}", capsize=3,
                    markersize=10 if i in front else 6)
        ax.annotate(name + (" (Pareto)" if i in front else ""), (c, p), textcoords="offset points", xytext=(6, 6))
    fr = sorted(pts[i] for i in front)
    if len(fr) > 1:
        ax.plot([x for x, _ in fr], [y for _, y in fr], "k--", lw=0.8)
    ax.set_xlabel("cost (staff hours, overtime, partner fees)")
    ax.set_ylabel("settlement latency p90 (h), 95% CI")
    ax.set_title("Cost against p90 latency; Pareto front dashed")
    fig.tight_layout()
    fig.savefig(out / PLOTS["pareto"], dpi=100)
    plt.close(fig)


def _f(x: float, unit: str = "") -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if unit == "share":
        return f"{100 * x:.1f}%"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.2f}"


def report(comp: Comparison, table: list[dict[str, Any]], diffs: list[dict[str, Any]]) -> str:
    reps = table[0]["reps"] if table else 0
    lines = [
        f"# Plan comparison: {comp.scenario}",
        "",
        f"Scenario file `{comp.scenario_file}`; {len(table)} plans x {reps} replications, the same seeds for every",
        "plan (common random numbers). Each figure is computed per replication; the table gives its mean and 95%",
        "t-interval over replications. For percentiles, the pooled value with a whole-replication bootstrap",
        "interval follows in brackets. Each replication's run folder is under `runs/<plan>/seed-<n>/`.",
        "",
        "## Figures by plan",
        "",
        "| figure | " + " | ".join(r["plan"] for r in table) + " |",
        "|---|" + "---|" * len(table),
    ]
    for key, fig in FIGURES.items():
        label, unit = fig.label, fig.unit
        cells = []
        for r in table:
            v = r[key]
            cell = f"{_f(v['mean'], unit)} [{_f(v['low'], unit)}, {_f(v['high'], unit)}]"
            if key in PERCENTILES:
                cell += f"<br>pooled {_f(v['pooled'])} [{_f(v['boot_low'])}, {_f(v['boot_high'])}]"
            cells.append(cell)
        lines.append(f"| {label} ({unit}) | " + " | ".join(cells) + " |")
    lines += ["", f"## Differences against `{comp.baseline}` (paired by seed)", "",
              "Mean difference with its 95% interval; *significant* means Holm-adjusted p < 0.05 across all plans",
              "and figures here.", "",
              "| plan | figure | difference | 95% CI | Holm p | verdict |", "|---|---|---|---|---|---|"]
    for d in diffs:
        label, unit = FIGURES[d["figure"]].label, FIGURES[d["figure"]].unit
        verdict = ("better" if d["better"] else "worse") if d["significant"] else "no significant change"
        lines.append(f"| {d['plan']} | {label} | {_f(d['diff'], unit)} | [{_f(d['low'], unit)}, "
                     f"{_f(d['high'], unit)}] | {d['p_holm']:.3g} | {verdict} |")
    if comp.crn:
        c = comp.crn
        lines += ["", "## What common random numbers buy", "",
                  f"Variance of the paired difference `{c['plan']}` - `{c['base']}` in {FIGURES[c['figure']].label} "
                  f"over {c['reps']} replications: {c['var_crn']:.4g} with common seeds against "
                  f"{c['var_independent']:.4g} with independent seeds, **{c['shrink']:.1f}x smaller**. The same "
                  "precision with independent seeds would take that many times more replications."]
    lines += ["", "## Plots", ""] + [f"![{k}]({v})" for k, v in PLOTS.items()] + [""]
    return "\n".join(lines)


def matrix_report(rob: dict[str, Any]) -> str:
    key = rob["figure"]
    label, unit = FIGURES[key].label, FIGURES[key].unit
    scenarios = list(rob["matrix"])
    plans = list(next(iter(rob["matrix"].values())))
    lines = [f"# Plans across scenarios: {label}", "",
             f"Mean {label} ({unit}) per plan and scenario, with regret (distance from the best plan in that "
             "scenario) in brackets.", "",
             "| plan | " + " | ".join(scenarios) + " | mean | worst | max regret | share meeting target |",
             "|---|" + "---|" * (len(scenarios) + 4)]
    for p in plans:
        cells = [f"{_f(rob['matrix'][s][p], unit)} ({_f(rob['regret'][s][p], unit)})" for s in scenarios]
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {_f(rob['mean_over_scenarios'][p], unit)} | "
                     f"{_f(rob['worst_case'][p], unit)} | {_f(rob['max_regret'][p], unit)} | "
                     f"{100 * rob['share_meeting_target'][p]:.0f}% |")
    t = rob["target"]
    lines += ["", f"Target: settlement latency p90 at most {t['p90_h']:g} h and at least {100 * t['paid_7d']:.0f}% "
              "of claims paid or pre-paid within 7 days (regulator, 2023 North China floods).", "",
              "## Which plan each rule picks", "", "| rule | plan |", "|---|---|"]
    lines += [f"| {rule} | **{plan}** |" for rule, plan in rob["rules"].items()]
    lines += ["", "The rules can disagree: the mean rewards a plan that is good on average, the worst case and "
              "minimax regret protect against the scenario that hurts most, the target share counts scenarios "
              "where the service promise holds.", ""]
    return "\n".join(lines)


def write_comparison(comp: Comparison, out: Path) -> None:
    """Tables, plots and report.md of one scenario's comparison (run folders are already under out/runs)."""
    out.mkdir(parents=True, exist_ok=True)
    table = comp.table()
    diffs = comp.differences()
    reps = [{"plan": r["plan"], "seed": r["seed"], **r["figures"]} for pr in comp.plans.values() for r in pr.reps]
    _write_csv(out / "replications.csv", reps)
    flat = []
    for row in table:
        for key in FIGURES:
            v = row[key]
            flat.append({"plan": row["plan"], "figure": key, "reps": row["reps"], **v})
    _write_csv(out / "table.csv", flat)
    _write_csv(out / "differences.csv", diffs)
    plots(comp, out)
    (out / "report.md").write_text(report(comp, table, diffs))
    (out / "summary.json").write_text(json.dumps({  # last: the mark of a complete comparison
        "scenario": comp.scenario, "scenario_file": comp.scenario_file, "baseline": comp.baseline,
        "runs": sum(len(pr.reps) for pr in comp.plans.values()),
        "reused": sum(bool(r.get("reused")) for pr in comp.plans.values() for r in pr.reps),
        "table": table, "differences": diffs, "crn": comp.crn}, indent=2, default=_json_default) + "\n")
