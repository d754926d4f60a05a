"""The results of a calibration: the calibrated plan, the fit table and plot, the parameters, the report.

DIR/calibrated.yaml is a plans file (plan `calibrated`, extending the plan that was fitted) that `run`,
`compare` and `sweep` accept with --plans-file; DIR/fit.csv has, for every observed point, the simulated mean
and its 90% band over replications; DIR/params.csv the fitted parameters with their uncertainty.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from sim import fmt  # noqa: E402
from sim.files import SIGNATURE  # noqa: E402


def plans_yaml(plan: str, overrides: dict[str, Any], description: str) -> str:
    """The calibrated plan as a plans file."""
    doc = {"description": description, "plans": {"calibrated": {"extends": plan, "description": description,
                                                                 **overrides}}}
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out.write(f"# {SIGNATURE} calibrate: the fitted parameters as a plan (use with --plans-file)\n")
    yaml.dump(doc, out)
    return out.getvalue()


def plot(table: pd.DataFrame, title: str) -> bytes:
    """Observed points against the simulated means with their 90% bands, one panel per metric."""
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        sub = table[table["metric"] == metric]
        for i, (seg, grp) in enumerate(sub.groupby("segment", sort=False)):
            grp = grp.sort_values("day")
            color = f"C{i}"
            ax.fill_between(grp["day"], grp["low"] * 100, grp["high"] * 100, color=color, alpha=0.2)
            ax.plot(grp["day"], grp["simulated"] * 100, "-", color=color, label=f"{seg}: simulated (90% band)")
            ax.plot(grp["day"], grp["observed"] * 100, "o", color=color, mfc="white", label=f"{seg}: observed")
        ax.set_xlabel("days since day 0 of the event")
        ax.set_ylabel(f"share {metric} (%)")
        ax.set_ylim(0, 100)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


OBJECTIVE_TEXT = {"rmse": "minimising the root mean square error", "worst": "minimising the largest miss"}


def report(summary: dict[str, Any], table: pd.DataFrame, params: pd.DataFrame, oos: pd.DataFrame | None) -> str:
    lines = [f"# Calibration: {summary['scenario']} (plan `{summary['plan']}`) to `{summary['observed']}`", "",
             f"<!-- {SIGNATURE} calibrate -->", "",
             f"{summary['candidates']} candidates searched with Optuna's TPE sampler "
             f"({OBJECTIVE_TEXT[summary.get('objective', 'rmse')]}), each on the same "
             f"{summary['reps']} seeds (common random numbers), at scale {summary['scale']:g} of the portfolio "
             f"and staff. Fit: root mean square error **{summary['rmse_pp']:.1f} percentage points**; largest "
             f"miss {summary['max_error_pp']:.1f} points; {summary['within_5pp']} of {len(table)} points within "
             "5 points.", "", "## Fit", "",
             "| day | metric | segment | observed | simulated (90% band) | error (points) |",
             "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.day:g} | {r.metric} | {r.segment} | {fmt.share(r.observed)} | {fmt.share(r.simulated)} "
                     f"[{fmt.share(r.low)}, {fmt.share(r.high)}] | {r.error_pp:+.1f} |")
    lines += ["", "## Fitted parameters", "",
              "Best value, and the mean, sd and 90% interval of the trials weighted by their approximate "
              "likelihood (replication noise of the points as the error scale). *Not identified*: the data "
              "leave the parameter spread over most of its range; its value is then a guess the fit did not need.",
              "", "| parameter | range | best | weighted mean (sd) | 90% interval | identified |",
              "|---|---|---|---|---|---|"]
    for r in params.itertuples():
        lines.append(f"| `{r.parameter}` | {r.range_low:g} to {r.range_high:g} | {r.best:.3g} | {r.mean:.3g} "
                     f"({r.sd:.2g}) | {r.low90:.3g} to {r.high90:.3g} | "
                     f"{'yes' if r.identified else '**not identified**'} |")
    if oos is not None and len(oos):
        lines += ["", "## Out of sample", "",
                  f"Fitted on the points up to day {summary['oos']['fit_until_day']:g} alone "
                  f"({summary['oos']['candidates']} candidates), the later points were predicted with "
                  f"RMSE **{summary['oos']['rmse_pp']:.1f} points** (largest miss "
                  f"{summary['oos']['max_error_pp']:.1f}):", "",
                  "| day | metric | segment | observed | predicted | error (points) |", "|---|---|---|---|---|---|"]
        for r in oos.itertuples():
            lines.append(f"| {r.day:g} | {r.metric} | {r.segment} | {fmt.share(r.observed)} | "
                         f"{fmt.share(r.simulated)} | {r.error_pp:+.1f} |")
    lines += ["", "## Files", "", "- `calibrated.yaml`: the plan `calibrated` (use with `--plans-file`)",
              "- `fit.csv`, `fit.png`: observed against simulated, with the 90% band over replications",
              "- `params.csv`: the fitted parameters and their uncertainty", "- `summary.json`", ""]
    return "\n".join(lines)


def write(out: Path, summary: dict[str, Any], table: pd.DataFrame, params: pd.DataFrame, oos: pd.DataFrame | None,
          plans: str, png: bytes, force: bool = False) -> Path:
    """Write the calibration folder whole (atomic), summary.json last."""
    from sim.files import atomic_dir

    with atomic_dir(Path(out), force=force) as tmp:
        (tmp / "calibrated.yaml").write_text(plans)
        table.to_csv(tmp / "fit.csv", index=False, float_format="%.6g")
        params.to_csv(tmp / "params.csv", index=False, float_format="%.6g")
        if oos is not None:
            oos.to_csv(tmp / "out_of_sample.csv", index=False, float_format="%.6g")
        (tmp / "fit.png").write_bytes(png)
        (tmp / "report.md").write_text(report(summary, table, params, oos))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return Path(out)
