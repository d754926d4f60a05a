"""Plots, workbook and the planning-meeting report of a plan comparison.

The report opens with a one-page executive summary (recommended plan, cost, what it buys, how sure, what it
is most sensitive to). A difference whose interval holds zero is "no detectable difference", never a win for
either side; money carries the scenario's currency; charts read calendar dates and draw the targets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.charts import date_axis, dates, money_axis, target_line  # noqa: E402
from sim.compare import FIGURES, PERCENTILES, _csv, _json_default, pareto_front  # noqa: E402
from sim.figures import figure  # noqa: E402
from sim.files import SIGNATURE  # noqa: E402
from sim.report import latency_cdf  # noqa: E402
from sim.stats import mean_ci, paired_t  # noqa: E402

if TYPE_CHECKING:
    from sim.compare import Comparison

PLOTS = {"cdf": "latency_cdf.png", "backlog": "backlog.png", "pareto": "cost_vs_p90.png"}
ECONOMICS = ("cost", "economics.night_premium", "economics.rest_day_premium", "economics.retainers",
             "economics.campaigns", "leakage", "claims_cost", "losses", "net_cost")


def _target(comp: Comparison, name: str) -> Any:
    return next((t for t in comp.targets if t.figure.name == name), None)


def plots(comp: Comparison, out: Path) -> None:
    cur = comp.currency
    latency_cdf({name: (np.concatenate([r["latency"] for r in pr.reps]),
                        int(sum(r["figures"]["claims"] for r in pr.reps))) for name, pr in comp.plans.items()},
                f"{comp.scenario}: settlement latency by plan (all replications pooled)", out / PLOTS["cdf"])
    fig, ax = plt.subplots(figsize=(11, 5))
    for i, (name, pr) in enumerate(comp.plans.items()):
        n = min(len(r["backlog"]) for r in pr.reps)
        b = np.vstack([r["backlog"][:n] for r in pr.reps])
        hours = np.arange(1, n + 1)
        x = dates(comp.start, hours) if comp.start is not None else hours
        ax.plot(x, np.median(b, axis=0), color=f"C{i}", label=f"{name} (median)")
        ax.fill_between(x, np.percentile(b, 10, axis=0), np.percentile(b, 90, axis=0), color=f"C{i}", alpha=0.2)
    if comp.start is not None:
        date_axis(ax, n)
        ax.set_xlabel(f"date and time (scenario start {comp.start:%a %d %b %Y %H:%M})")
    else:
        ax.set_xlabel("hours since scenario start")
    ax.set_ylabel("open claims")
    ax.set_title("Backlog by plan: median and 10-90% band over replications")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / PLOTS["backlog"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5.5))
    names = list(comp.plans)
    pts = [(comp.plans[p].summary("cost")[0], comp.plans[p].summary("latency_p90")[0]) for p in names]
    front = set(pareto_front(pts))
    for i, (name, (c, p)) in enumerate(zip(names, pts, strict=True)):
        lo, hi = comp.plans[name].summary("latency_p90")[1:]
        clo, chi = comp.plans[name].summary("cost")[1:]
        ax.errorbar(c, p, yerr=[[p - lo], [hi - p]], xerr=[[c - clo], [chi - c]] if np.isfinite(clo) else None,
                    fmt="o", color=f"C{i}", capsize=3, markersize=10 if i in front else 6)
        ax.annotate(name + (" (Pareto)" if i in front else ""), (c, p), textcoords="offset points", xytext=(6, 6))
    fr = sorted(pts[i] for i in front)
    if len(fr) > 1:
        ax.plot([x for x, _ in fr], [y for _, y in fr], "k--", lw=0.8)
    t = _target(comp, "latency_p90")
    if t is not None and t.value is not None:
        target_line(ax, t.value, f"target: {t.describe(cur)}")
    ax.set_xlabel(f"{FIGURES['cost'].label} ({cur}), 95% CI")
    ax.set_ylabel("settlement latency p90 (hours), 95% CI")
    money_axis(ax, cur, "x")
    ax.grid(alpha=0.3)
    ax.set_title("Operating cost against p90 latency; Pareto front dashed")
    fig.tight_layout()
    fig.savefig(out / PLOTS["pareto"], dpi=100)
    plt.close(fig)


def economics_rows(comp: Comparison) -> list[dict[str, Any]]:
    """Per plan, each money figure (mean and 95% CI) and, against the baseline, its paired change."""
    base = comp.plans[comp.baseline]
    rows = []
    for name, pr in comp.plans.items():
        for key in ECONOMICS:
            f = figure(key)
            m, lo, hi = mean_ci(pr.values(f.name))
            row = {"plan": name, "figure": f.label, "currency": comp.currency, "mean": m, "low": lo, "high": hi}
            if name != comp.baseline:
                (d, dlo, dhi), _ = paired_t(pr.values(f.name) - base.values(f.name))
                row.update({"change": d, "change_low": dlo, "change_high": dhi})
            rows.append(row)
    return rows


def _cell(comp: Comparison, key: str, v: dict[str, float]) -> str:
    f = FIGURES[key]
    cell = f"{f.format(v['mean'], comp.currency)} [{f.format(v['low'], comp.currency)}, " \
           f"{f.format(v['high'], comp.currency)}]"
    if key in PERCENTILES:
        cell += f"<br>pooled {f.format(v['pooled'])} [{f.format(v['boot_low'])}, {f.format(v['boot_high'])}]"
    return cell


def executive_summary(comp: Comparison, diffs: list[dict[str, Any]], rec: dict[str, Any]) -> list[str]:
    """Five lines for the people who decide."""
    cur, plan = comp.currency, rec["plan"]
    reps = len(comp.plans[plan].reps)
    cost = FIGURES["cost"]
    lines = ["## Executive summary", ""]
    lines.append(f"- **Recommended plan: `{plan}`**: {rec['why']}.")
    pr = comp.plans[plan]
    c = mean_ci(pr.values("cost"))
    if plan == comp.baseline:
        lines.append(f"- **What it costs:** {cost.label} {cost.format(c.mean, cur)} (the plan in use).")
    else:
        d = next(x for x in diffs if x["plan"] == plan and x["figure"] == "cost")
        lines.append(f"- **What it costs:** {cost.label} {cost.format(c.mean, cur)}, "
                     f"{cost.format_diff(d['diff'], cur)} [{cost.format_diff(d['low'], cur)}, "
                     f"{cost.format_diff(d['high'], cur)}] against `{comp.baseline}`.")
    buys = []
    for key in ("latency_p90", "latency_mean", "net_cost", "losses"):
        d = next((x for x in diffs if x["plan"] == plan and x["figure"] == key), None)
        if d is None:
            continue
        f = FIGURES[key]
        text = (f"{f.label} {f.format_diff(d['diff'], cur)} [{f.format_diff(d['low'], cur)}, "
                f"{f.format_diff(d['high'], cur)}]")
        buys.append(text + ("" if d["detectable"] else f" ({d['verdict']})"))
    for t in comp.targets:
        v = pr.values(t.figure.name)
        b = t.bound(v, comp.confidence)
        buys.append(f"{t.figure.label} {100 * comp.confidence:.0f}% bound {t.figure.format(b, cur)}: target "
                    f"{t.describe(cur)} {'met' if t.slack(b) <= 0 else 'NOT met'}")
    lines.append("- **What it buys:** " + ("; ".join(buys) if buys else "nothing measurable against the baseline")
                 + ".")
    lines.append(f"- **How sure:** {reps} replications per plan on the same seeds (common random numbers); each "
                 "change above is the mean paired difference with its 95% interval, Holm-adjusted across plans and "
                 "figures; a change whose interval holds zero is reported as no detectable difference"
                 + (f"; targets judged on one-sided {100 * comp.confidence:.0f}% bounds" if comp.targets else "")
                 + ".")
    claims = pr.values("claims")
    p90 = pr.values("latency_p90")
    ok = ~(np.isnan(claims) | np.isnan(p90))
    if ok.sum() >= 3 and np.std(claims[ok]) > 0 and np.std(p90[ok]) > 0:
        r = float(np.corrcoef(claims[ok], p90[ok])[0, 1])
        lines.append(f"- **Most sensitive to:** the storm itself: over the {int(ok.sum())} storms simulated its p90 "
                     f"settlement latency ran from {FIGURES['latency_p90'].format(np.nanmin(p90))} to "
                     f"{FIGURES['latency_p90'].format(np.nanmax(p90))}, with {np.nanmin(claims):,.0f} to "
                     f"{np.nanmax(claims):,.0f} claims (correlation {r:+.2f}). `claimsim sensitivity` ranks the "
                     "levers and the unknowns.")
    else:
        lines.append("- **Most sensitive to:** not measured here; `claimsim sensitivity` ranks the levers and the "
                     "unknowns.")
    return lines + [""]


def report(comp: Comparison, table: list[dict[str, Any]], diffs: list[dict[str, Any]], rec: dict[str, Any]
           ) -> str:
    cur = comp.currency
    reps = table[0]["reps"] if table else 0
    lines = [f"<!-- {SIGNATURE} -->", f"# Plan comparison: {comp.scenario}", ""]
    lines += executive_summary(comp, diffs, rec)
    lines += [f"Scenario file `{comp.scenario_file}`; {len(table)} plans x {reps} replications, the same seeds for "
              "every plan (common random numbers). Each figure is computed per replication; the table gives its mean "
              "and 95% t-interval over replications. For percentiles, the pooled value with a whole-replication "
              "bootstrap interval follows. Each replication's run folder is under `runs/<plan>/seed-<n>/`; every "
              "table is also in `comparison.xlsx`.", ""]
    if comp.targets:
        lines += ["## Targets", "", f"Met when the one-sided {100 * comp.confidence:.0f}% bound of the mean over "
                  "replications meets the target (not the mean).", "",
                  "| plan | target | mean | bound | met |", "|---|---|---|---|---|"]
        for r in comp.target_rows():
            f = FIGURES[r["figure"]]
            lines.append(f"| {r['plan']} | {r['target']} | {f.format(r['mean'], cur)} | {f.format(r['bound'], cur)} "
                         f"| {'yes' if r['met'] else 'no'} |")
        lines.append("")
    lines += ["## Figures by plan", "", "| figure | " + " | ".join(r["plan"] for r in table) + " |",
              "|---|" + "---|" * len(table)]
    for key, fig in FIGURES.items():
        lines.append(f"| {fig.heading(cur)} | " + " | ".join(_cell(comp, key, r[key]) for r in table) + " |")
    lines += ["", "## Economics", "",
              "Operating cost = staff pay with overtime, night and rest-day premiums, partner fees, retainers and "
              "campaigns; claims cost = payments, expected payments still due, and leakage; net cost = both. "
              f"Losses incurred fall only where prevention avoids incidents. Amounts in {cur}; change against "
              f"`{comp.baseline}` on the same seeds with its 95% interval.", "",
              "| plan | " + " | ".join(figure(k).label for k in ECONOMICS) + " |", "|---|" + "---|" * len(ECONOMICS)]
    econ = economics_rows(comp)
    for name in comp.plans:
        cells = []
        for k in ECONOMICS:
            f = figure(k)
            r = next(x for x in econ if x["plan"] == name and x["figure"] == f.label)
            cell = f.format(r["mean"], cur)
            if "change" in r:
                cell += f"<br>{f.format_diff(r['change'], cur)} [{f.format_diff(r['change_low'], cur)}, " \
                        f"{f.format_diff(r['change_high'], cur)}]"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name in comp.plans:
        if name == comp.baseline:
            continue
        d = next((x for x in diffs if x["plan"] == name and x["figure"] == "losses"), None)
        if d is not None and d["detectable"] and d["diff"] < 0:
            f = FIGURES["losses"]
            lines += ["", f"`{name}` avoids losses of {f.format(-d['diff'], cur)} [{f.format(-d['high'], cur)}, "
                      f"{f.format(-d['low'], cur)}] against `{comp.baseline}`."]
    lines += ["", f"## Differences against `{comp.baseline}` (paired by seed)", "",
              "Mean difference with its 95% interval. A verdict of better or worse needs Holm-adjusted p < 0.05 "
              "across all plans and figures here, an interval that excludes zero"
              + (", and a change at least the practical threshold (`--min-effect`)"
                 if comp.min_effect or comp.min_effect_share else "")
              + "; anything else is *no detectable difference*.", "",
              "| plan | figure | difference | 95% CI | Holm p | verdict |", "|---|---|---|---|---|---|"]
    for d in diffs:
        f = FIGURES[d["figure"]]
        lines.append(f"| {d['plan']} | {f.label} | {f.format_diff(d['diff'], cur)} | [{f.format_diff(d['low'], cur)}, "
                     f"{f.format_diff(d['high'], cur)}] | {d['p_holm']:.3g} | {d['verdict']} |")
    if comp.crn:
        c = comp.crn
        lines += ["", "## What common random numbers buy", "",
                  f"Variance of the paired difference `{c['plan']}` - `{c['base']}` in {FIGURES[c['figure']].label} "
                  f"over {c['reps']} replications: {c['var_crn']:.4g} with common seeds against "
                  f"{c['var_independent']:.4g} with independent seeds, **{c['shrink']:.1f}x smaller**. The same "
                  "precision with independent seeds would take that many times more replications."]
    lines += ["", "## Plots", ""] + [f"![{k}]({v})" for k, v in PLOTS.items()] + [""]
    return "\n".join(lines)


def workbook_sheets(comp: Comparison, table: list[dict[str, Any]], diffs: list[dict[str, Any]],
                    reps: list[dict[str, Any]], rec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every table of the report, figures named in plain words, money in the scenario's currency."""
    cur = comp.currency
    figures = []
    for row in table:
        for key, f in FIGURES.items():
            v = row[key]
            figures.append({"plan": row["plan"], "figure": f.heading(cur), "replications": row["reps"],
                            "mean": v["mean"], "95% low": v["low"], "95% high": v["high"]})
    differences = [{"plan": d["plan"], "figure": FIGURES[d["figure"]].heading(cur), "difference": d["diff"],
                    "95% low": d["low"], "95% high": d["high"], "Holm p": d["p_holm"], "verdict": d["verdict"]}
                   for d in diffs]
    replications = [{"plan": r["plan"], "seed": r["seed"], **{FIGURES[k].heading(cur): r[k] for k in FIGURES}}
                    for r in reps]
    summary = [{"item": "recommended plan", "value": rec["plan"]}, {"item": "why", "value": rec["why"]},
               {"item": "currency", "value": cur}, {"item": "baseline", "value": comp.baseline},
               {"item": "replications per plan", "value": table[0]["reps"] if table else 0}]
    sheets = {"Summary": summary, "Figures": figures, "Differences": differences,
              "Economics": economics_rows(comp), "Replications": replications}
    if comp.targets:
        sheets["Targets"] = comp.target_rows()
    return sheets


def matrix_report(rob: dict[str, Any]) -> str:
    key = rob["figure"]
    f = FIGURES[key]
    conf = rob.get("confidence", 0.9)
    scenarios = list(rob["matrix"])
    plans = list(next(iter(rob["matrix"].values())))
    lines = [f"<!-- {SIGNATURE} -->", f"# Plans across scenarios: {f.label}", "",
             f"Pessimistic one-sided {100 * conf:.0f}% bound of the mean {f.label} per plan and scenario (the upper "
             "bound where lower is better), with regret (distance from the best plan in that scenario) in brackets. "
             "Rules rank on these bounds, not on point means.", "",
             "| plan | " + " | ".join(scenarios) + " | mean | worst | max regret | share meeting target |",
             "|---|" + "---|" * (len(scenarios) + 4)]
    for p in plans:
        cells = [f"{f.format(rob['matrix'][s][p])} ({f.format(rob['regret'][s][p])})" for s in scenarios]
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {f.format(rob['mean_over_scenarios'][p])} | "
                     f"{f.format(rob['worst_case'][p])} | {f.format(rob['max_regret'][p])} | "
                     f"{100 * rob['share_meeting_target'][p]:.0f}% |")
    t = rob["target"]
    lines += ["", f"Target: settlement latency p90 at most {t['p90_h']:g} h and at least {100 * t['paid_7d']:.0f}% "
              f"of claims paid or pre-paid within 7 days (regulator, 2023 North China floods), each on its "
              f"{100 * conf:.0f}% bound.", "",
              "## Which plan each rule picks", "", "| rule | plan |", "|---|---|"]
    lines += [f"| {rule} | **{plan}** |" for rule, plan in rob["rules"].items()]
    lines += ["", "The rules can disagree: the mean rewards a plan that is good on average, the worst case and "
              "minimax regret protect against the scenario that hurts most, the target share counts scenarios "
              "where the service promise holds.", ""]
    return "\n".join(lines)


def write_comparison(comp: Comparison, out: Path) -> None:
    """Tables, plots, workbook and report.md of one scenario's comparison (run folders are already under out/runs).

    `out` is made by `sim.files.mark_unfinished`; each file is written atomically, and summary.json last: the
    mark of a complete comparison."""
    import tempfile

    from sim.files import write_result
    from sim.workbook import workbook_bytes

    table = comp.table()
    diffs = comp.differences()
    reps = [{"plan": r["plan"], "seed": r["seed"], **{k: r["figures"][k] for k in FIGURES}}
            for pr in comp.plans.values() for r in pr.reps]
    write_result(out, "replications.csv", _csv(reps))
    flat = []
    for row in table:
        for key in FIGURES:
            v = row[key]
            flat.append({"plan": row["plan"], "figure": key, "reps": row["reps"], **v})
    write_result(out, "table.csv", _csv(flat))
    write_result(out, "differences.csv", _csv(diffs))
    write_result(out, "economics.csv", _csv(economics_rows(comp)))
    if comp.targets:
        write_result(out, "targets.csv", _csv(comp.target_rows()))
    with tempfile.TemporaryDirectory() as tmp:
        plots(comp, Path(tmp))
        for png in sorted(Path(tmp).iterdir()):
            write_result(out, png.name, png.read_bytes())
    rec = comp.recommendation()
    write_result(out, "report.md", report(comp, table, diffs, rec))
    write_result(out, "comparison.xlsx", workbook_bytes(workbook_sheets(comp, table, diffs, reps, rec),
                                                        {"Summary": f"{comp.scenario}: plan comparison "
                                                                    f"(currency {comp.currency})"}))
    write_result(out, "summary.json", json.dumps({
        "scenario": comp.scenario, "scenario_file": comp.scenario_file, "baseline": comp.baseline,
        "currency": comp.currency, "inputs": comp.inputs,
        "runs": sum(len(pr.reps) for pr in comp.plans.values()),
        "reused": sum(bool(r.get("reused")) for pr in comp.plans.values() for r in pr.reps),
        "recommendation": rec, "targets": comp.target_rows(), "economics": economics_rows(comp),
        "table": table, "differences": diffs, "crn": comp.crn}, indent=2, default=_json_default) + "\n")

