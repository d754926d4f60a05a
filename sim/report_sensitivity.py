"""Charts, report section, tables and workbook of a sensitivity analysis (sim/sensitivity.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sim.charts import money_axis  # noqa: E402
from sim.files import SIGNATURE, atomic_write  # noqa: E402
from sim.sensitivity import Sensitivity  # noqa: E402
from sim.workbook import write_workbook  # noqa: E402

PLOTS = {"tornado": "tornado.png", "global": "global.png"}


def _axis(ax: Any, fig: Any, currency: str) -> None:
    if fig.unit == "money":
        money_axis(ax, currency, "x")


def tornado_chart(s: Sensitivity, path: Path) -> None:
    """One panel per figure: a bar from the lowest to the highest mean each lever or unknown reaches, sorted."""
    n = len(s.figures)
    rows = sorted(s.tornado, key=lambda r: r.get(f"{s.figures[0].name}.swing", 0.0))
    fig, axes = plt.subplots(1, n, figsize=(4 + 4 * n, 0.45 * len(rows) + 1.8), squeeze=False, sharey=True)
    for k, (ax, f) in enumerate(zip(axes[0], s.figures, strict=True)):
        centre = s.centre[f.name]
        for i, r in enumerate(rows):
            lo, hi = r[f"{f.name}.low"], r[f"{f.name}.high"]
            colour = "C0" if r["kind"] == "lever" else "C1"
            ax.barh(i, r[f"{f.name}.max"] - r[f"{f.name}.min"], left=r[f"{f.name}.min"], color=colour, alpha=0.75)
            ax.plot([lo], [i], "v", color="k", ms=4)
            ax.plot([hi], [i], "^", color="k", ms=4)
        ax.axvline(centre, color="k", lw=1)
        ax.set_yticks(range(len(rows)))
        if k == 0:
            ax.set_yticklabels([f"{r['label']} ({r['low_value']} .. {r['high_value']})"
                                + (" *" if r["kind"] == "unknown" else "") for r in rows], fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_xlabel(f.heading(s.currency))
        _axis(ax, f, s.currency)
        ax.set_title(f"{f.label}: centre {f.format(centre, s.currency)}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{s.scenario}, plan {s.plan}: one at a time (blue: levers, orange *: unknowns; "
                 f"v low end, ^ high end; {len(s.seeds)} common seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def global_chart(s: Sensitivity, path: Path) -> None:
    """Sobol total (and first-order) indices, or Morris mu*, of each unknown, with confidence bars."""
    n = len(s.figures)
    fig, axes = plt.subplots(1, n, figsize=(6 * n, 4), squeeze=False)
    for ax, f in zip(axes[0], s.figures, strict=True):
        rows = sorted(s.indices.get(f.name, []), key=lambda r: r["index"])
        y = np.arange(len(rows))
        ax.barh(y, [r["index"] for r in rows], xerr=[r["conf"] for r in rows], color="C1", alpha=0.8,
                label="total index" if s.method == "sobol" else "mu*", capsize=3)
        if s.method == "sobol":
            ax.plot([r["first_order"] for r in rows], y, "kx", label="first-order index")
            ax.set_xlabel("share of the variance over the design")
        else:
            ax.set_xlabel(f"mean absolute elementary effect on {f.heading(s.currency)}")
            _axis(ax, f, s.currency)
        ax.set_yticks(y)
        ax.set_yticklabels([r["label"] for r in rows], fontsize=8)
        ax.set_title(f.label, fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Unknowns varied together: {s.method} indices ({s.design_points} design points x "
                 f"{len(s.global_seeds)} seed(s))", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table_rows(s: Sensitivity) -> list[dict[str, Any]]:
    """The tornado as a table, figures in plain labels."""
    out = []
    for r in s.tornado:
        row = {"lever or unknown": r["label"], "kind": r["kind"], "settings": r["settings"],
               "in the plan": r["centre_value"]}
        for f in s.figures:
            row[f"{f.heading(s.currency)}: low end"] = r[f"{f.name}.low"]
            row[f"{f.heading(s.currency)}: high end"] = r[f"{f.name}.high"]
            row[f"{f.heading(s.currency)}: swing"] = r[f"{f.name}.swing"]
        out.append(row)
    return out


def index_rows(s: Sensitivity) -> list[dict[str, Any]]:
    out = []
    for f in s.figures:
        for r in s.indices.get(f.name, []):
            out.append({"figure": f.label, "unknown": r["label"], "method": s.method, "index": r["index"],
                        "confidence half-width": r["conf"], "first-order index": r.get("first_order"),
                        "sigma": r.get("sigma")})
    return out


def section(s: Sensitivity, prefix: str = "") -> list[str]:
    """The report section: sentences, tornado table, charts."""
    say = s.sentences()
    lines = ["## Sensitivity: what the recommendation depends on", ""]
    lines += [say[k] for k in ("lever", "unknown") if k in say]
    lines += ["", f"One at a time around plan `{s.plan}` on {len(s.seeds)} common seeds (each bar: the lowest to the "
              "highest mean that moving one lever or unknown over its range gives, everything else held).", ""]
    f0 = s.figures[0]
    lines += [f"| lever or unknown | settings | in the plan | {f0.label}: low end | high end | swing |",
              "|---|---|---|---|---|---|"]
    for r in sorted(s.tornado, key=lambda r: -r.get(f"{f0.name}.swing", 0.0)):
        tag = " (unknown)" if r["kind"] == "unknown" else ""
        lines.append(f"| {r['label']}{tag} | {r['settings']} | {r['centre_value']} | "
                     f"{f0.format(r[f0.name + '.low'], s.currency)} | {f0.format(r[f0.name + '.high'], s.currency)} | "
                     f"{f0.format(r[f0.name + '.swing'], s.currency)} |")
    lines += ["", f"![tornado]({prefix}{PLOTS['tornado']})", ""]
    if s.method:
        lines += [f"![{s.method} indices]({prefix}{PLOTS['global']})", ""]
    return lines


def write_sensitivity(s: Sensitivity, out: Path, command: str | None = None) -> dict[str, Any]:
    """tornado.png, global.png, sensitivity.csv, sensitivity.xlsx, report.md and (last) summary.json."""
    import csv
    import io

    out.mkdir(parents=True, exist_ok=True)
    tornado_chart(s, out / PLOTS["tornado"])
    if s.method:
        global_chart(s, out / PLOTS["global"])
    rows = table_rows(s)
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    atomic_write(out / "sensitivity.csv", buf.getvalue())
    sheets = {"Tornado": rows}
    if s.method:
        sheets["Global indices"] = index_rows(s)
    write_workbook(out / "sensitivity.xlsx", sheets, {"Tornado": f"{s.scenario}, plan {s.plan}, currency "
                                                                 f"{s.currency}"})
    say = s.sentences()
    lines = [f"<!-- {SIGNATURE} -->", f"# Sensitivity: {s.scenario}, plan `{s.plan}`", "",
             "## In short", "", *[f"- {say[k]}" for k in ("lever", "unknown") if k in say], ""]
    lines += section(s)[2:]
    lines += [f"{s.runs} runs. Command: `{command}`" if command else f"{s.runs} runs.", ""]
    atomic_write(out / "report.md", "\n".join(lines))
    summary = {"scenario": s.scenario, "plan": s.plan, "currency": s.currency, "seeds": s.seeds,
               "figures": [f.name for f in s.figures], "centre": s.centre, "tornado": s.tornado,
               "method": s.method, "indices": s.indices, "design_points": s.design_points, "runs": s.runs,
               "sentences": say}
    atomic_write(out / "summary.json", json.dumps(summary, indent=2, default=float) + "\n")
    return summary
