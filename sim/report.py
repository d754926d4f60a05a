"""Plots and the human summary of one run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.vocab import STAGES  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd


class RunResult(Protocol):
    """What the plots and the report read of a run (sim.runner.RunResult is one)."""

    claims: pd.DataFrame
    series: pd.DataFrame
    summary: dict[str, Any]
    model: Any

PLOTS = {
    "storm": "storm_and_incidents.png",
    "backlog": "backlog_by_stage.png",
    "latency": "settlement_latency_cdf.png",
}


def write_plots(result: RunResult, folder: Path) -> None:
    _storm(result, folder / PLOTS["storm"])
    _backlog(result, folder / PLOTS["backlog"])
    _latency(result, folder / PLOTS["latency"])


def _storm(result: RunResult, path: Path) -> None:
    s = result.series
    rids = result.model.spec.region_ids
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    for rid in rids:
        axes[0].plot(s["hour"], s[f"snowfall_cm_h.{rid}"] + s[f"ice_mm_h.{rid}"] + s[f"rain_mm_h.{rid}"] / 10,
                     label=rid)
        axes[1].plot(s["hour"], s[f"temp_c.{rid}"], label=rid)
    axes[0].set_ylabel("snow cm/h + ice mm/h\n+ rain cm/h")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].set_ylabel("temperature (°C)")
    # the hourly incidents as one filled outline (the bars of a long run, one patch each, cost seconds to draw)
    hours = s["hour"].to_numpy(dtype=float)
    if len(hours):
        axes[2].stairs(s["incidents"].to_numpy(dtype=float), np.append(hours, hours[-1] + 1.0) - 0.5, fill=True,
                       alpha=0.5, label="incidents")
    axes[2].step(s["hour"], s["reports"], where="mid", color="C3", label="reports")
    axes[2].set_ylabel("per hour")
    axes[2].set_xlabel("hours since scenario start")
    axes[2].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"{result.model.spec.name} / {result.model.spec.plan}: storm and incidents")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _backlog(result: RunResult, path: Path) -> None:
    s = result.series
    fig, ax = plt.subplots(figsize=(11, 5))
    stacks = [s[f"backlog_{st}"].to_numpy() for st in STAGES]
    ax.stackplot(s["hour"], *stacks, labels=STAGES, alpha=0.8)
    ax.plot(s["hour"], s["backlog_open"], color="black", lw=1, label="all open claims")
    ax.set_xlabel("hours since scenario start")
    ax.set_ylabel("claims waiting")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # outside: never hides data
    ax.set_title("Backlog by stage (end of each hour)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _latency(result: RunResult, path: Path) -> None:
    c = result.claims
    # from the columns as arrays: a copy of the settled claims' frame is half a gigabyte at a million claims
    settled = c["settled_h"].notna().to_numpy()
    reported = c["reported_h"].notna().to_numpy()
    types = c["agent_type"].to_numpy()
    latency = (c["settled_h"] - c["reported_h"]).to_numpy()
    curves = {}
    for key in sorted(set(types[settled].tolist())):
        mine = types == key
        n = int((mine & reported).sum())
        curves[f"{key} (n={n})"] = (latency[mine & settled], n)
    latency_cdf(curves, "Settlement latency by claim type", path)


CDF_POINTS = 4000   # steps drawn per latency curve (about five per pixel of the plot's width)


def latency_cdf(curves: dict[str, tuple[np.ndarray, int]], title: str, path: Path) -> None:
    """Settled share of reported claims against latency, one curve per label: (latencies, claims reported).

    The share is of all reported claims, so claims not yet settled keep a curve below 1."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, (latency, reported) in curves.items():
        lat = np.sort(latency)
        if lat.size:
            # at most CDF_POINTS steps a curve (both ends kept): the same picture at this size, and a million
            # claims no longer draw a million steps
            idx = np.unique(np.linspace(0, lat.size - 1, min(lat.size, CDF_POINTS)).round().astype(np.int64))
            ax.step(lat[idx], (idx + 1) / max(reported, 1), where="post", label=label)
    ax.set_xlabel("settlement latency, report to settled (hours)")
    ax.set_ylabel("share of reported claims settled")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(loc="lower right")
    else:
        ax.text(0.5, 0.5, "no claim settled yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(x: Any, unit: str = "", digits: int = 1) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.{digits}f}{unit}"
    return f"{x:,}{unit}"


def headline_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The one-screen table: (figure, value) pairs, shared by the terminal and report.md."""
    f = summary["figures"]
    lat = f["settlement_latency_hours"]
    km = f["settlement_latency_censored_hours"] or {}
    fc, fp = f["first_contact_hours"], f["first_payment_hours"]
    def pct(v):
        return ("n/a" if v is None else f"{100 * v:.1f}%")
    rows = [
        ("incidents / claims reported", f"{f['incidents_total']:,} / {f['claims_total']:,}"),
        ("settled (paid + closed) / open", f"{f['claims_settled']:,} ({f['claims_paid']:,} paid) / "
                                           f"{f['claims_open']:,}"),
        ("withdrawn or gave up reporting", f"{f['claims_withdrawn']:,}"),
        ("settlement latency p50 / p90 / p99 (h)",
         f"{_fmt(lat['p50'])} / {_fmt(lat['p90'])} / {_fmt(lat['p99'])}"),
        ("settlement latency mean (h)", _fmt(lat["mean"])),
        ("  counting open claims (Kaplan-Meier) p50 / p90",
         f"{_fmt(km.get('p50'))} / {_fmt(km.get('p90'))}"),
        ("time to first contact p50 / p90 (h)", f"{_fmt(fc['p50'], digits=2)} / {_fmt(fc['p90'], digits=2)}"),
        ("time to first payment p50 / p90 (h)", f"{_fmt(fp['p50'])} / {_fmt(fp['p90'])}"),
        ("paid or pre-paid within 7 days", pct(f["paid_or_prepaid_within_7d_share"])),
        ("phone abandonment / service level 20 s", f"{pct(f['abandonment_rate'])} / {pct(f['service_level_20s'])}"),
        ("peak backlog (hour) / cleared at hour",
         f"{f['backlog']['peak']:,} (h{f['backlog']['peak_hour']}) / {_fmt(f['backlog']['cleared_hour'])}"),
        ("utilisation", ", ".join(f"{k} {pct(v)}" for k, v in f["utilisation"].items() if v is not None)),
        ("plan cost (staff + partner fees)", f"{_fmt(f['cost']['total'], digits=0)} "
                                             f"(overtime premium {_fmt(f['cost']['overtime_premium'], digits=0)})"),
    ]
    return rows


def write_markdown(result: RunResult, folder: Path) -> None:
    s = result.summary
    spec = result.model.spec
    f = s["figures"]
    lines = [
        f"# {spec.name}: plan `{spec.plan}`, seed {s['seed']}",
        "",
        spec.description.strip(),
        "",
        f"Simulated {s['hours']} h from {s['start']} (scenario horizon {spec.duration_h} h); claimsim {s['version']}; "
        f"scenario file `{s['scenario_file']}` (sha256 `{s['scenario_sha256'][:12]}`).",
        "",
    ]
    if spec.plan_description:
        lines += [f"Plan: {spec.plan_description.strip()}", ""]
    lines += ["## Headline figures", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k.strip()} | {v} |" for k, v in headline_rows(s)]
    open_share = f["claims_open"] / f["claims_total"] if f["claims_total"] else 0.0
    lines += [""]
    if open_share > 0.05:
        lines += [f"**Note:** {100 * open_share:.0f}% of reported claims are still open at the end of the run; "
                  "latency over settled claims alone understates what customers experience. The Kaplan-Meier "
                  "row counts open claims as censored; run a longer horizon for a complete picture.", ""]
    lines += ["## Settlement latency by claim type and track (hours, settled claims)", "",
              "| group | n | p50 | p90 | mean |", "|---|---|---|---|---|"]
    for title, table in (("type", f["settlement_latency_by_agent_type"]), ("track", f["settlement_latency_by_track"])):
        for key, v in table.items():
            lines.append(f"| {title}: {key} | {v['n']} | {_fmt(v['p50'])} | {_fmt(v['p90'])} | {_fmt(v['mean'])} |")
    lines += ["", "## Plots", ""]
    lines += [f"![{name}]({file})" for name, file in PLOTS.items()]
    lines += ["", "## Files", "",
              "- `claims.parquet`: one row per claim, every timestamp in hours since the scenario start",
              "- `events.parquet`: the ordered event log every figure is computed from",
              "- `series.parquet`: hourly hazard, incidents, reports, backlog by stage, staff on duty",
              "- `summary.json`: these figures, machine-readable", ""]
    (folder / "report.md").write_text("\n".join(lines))
