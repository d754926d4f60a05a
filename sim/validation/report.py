"""The validation report: table, plots and report.md under the output folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sim.validation.common import Row


def fmt_value(x: float) -> str:
    if x != x:  # NaN
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.3f}"


def markdown(rows: list[Row], full: bool, elapsed_s: float, command: str) -> str:
    from sim import __version__

    failed = [r for r in rows if not r.passed]
    lines = [
        "<!-- written by claimsim validate: run it again rather than editing this file -->",
        "# Validation",
        "",
        f"`{command}` (claimsim {__version__}, {'full' if full else 'quick'} set, {elapsed_s / 60:.1f} min): "
        f"**{len(rows) - len(failed)} of {len(rows)} rows pass**.",
        "",
        "Each row compares the simulated mean over independent replications (seeds) with theory. The simulated",
        "column shows the 95% confidence interval; a row passes when theory lies within the 99.9% interval, unless",
        "its rule says otherwise. Where a replication's own arrival rate differs slightly from the nominal one,",
        "the comparison is paired: each replication is compared with theory at its own rate.",
        "",
        "How the stationary cases are made stationary: firms at a constant temperature just below the burst-pipe",
        "threshold, each back at risk the hour after an incident (`recovery_h: 0`), give a constant-rate stream of",
        "claims (`scenarios/validation/stationary.yaml`); reports follow an exponential delay, which keeps it",
        "Poisson. Runs start empty; customers are measured only after a warm-up of five relaxation times",
        "1 / (c mu (1 - sqrt(rho))^2) of the queue (at least 20 mean service times), over a window of at least 20",
        "relaxation times, and the run continues until every measured customer has been served.",
        "",
        "| case | configuration | measure | theory | simulated (95% CI) | reps | result | rule |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sim = f"{fmt_value(r.mean)} [{fmt_value(r.low)}, {fmt_value(r.high)}]"
        lines.append(f"| {r.case} | {r.name} | {r.measure} | {fmt_value(r.theory)} | {sim} | {r.reps} | "
                     f"{'pass' if r.passed else '**FAIL**'} | {r.rule} |")
    lines += [
        "",
        "## Notes",
        "",
        "- Case 1-3 theory: Erlang C for P(wait), mean wait C/(c mu - lambda) and service level",
        "  1 - C exp(-(c mu - lambda) t); Erlang A solved exactly as a birth-death chain (sim/theory.py).",
        "- Survey pools: the region's service radius is 1 m, so travel (distance / snow-slowed speed) adds",
        "  about a second to the exponential on-site time; video surveyors with k concurrent cases are c k servers.",
        "- Case 4: the storm's own expected incidents each hour (from the populations' probabilities at the start",
        "  of the hour), spread uniformly in the hour, delayed by each type's reporting delay and thinned by its",
        "  phone share, then held for the handling time: E[N(t)] = integral of lambda(s) P(H > t - s) ds,",
        "  computed on a one-minute grid. With ample staff N(t) is Poisson, so the test is exact.",
        "- Case 5: L from the hourly backlog series (what plots and reports use) against lambda W from each",
        "  claim's entry and exit in the event log; the interval is that of the hour-end sampling error.",
        "- Case 6: founding article, Yinchuan 14 Dec 2023: reports above 10 an hour, three times normal.",
        "- Case 7: mean time from report to settlement, counting claims not settled by the horizon to the",
        "  horizon, paired over seeds with the same incidents (common random numbers).",
        "",
        "Regenerate: `claimsim validate --full --doc docs/VALIDATION.md` (quick set: `claimsim validate`).",
        "",
        "![stationary cases](stationary.png)",
        "",
        "![storm case](storm.png)",
        "",
    ]
    return "\n".join(lines)


def plots(rows: list[Row], folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prob = [r for r in rows if r.case[0] in "123" and r.measure.startswith(("P(", "service level"))]
    fig, ax = plt.subplots(figsize=(6, 6))
    if prob:
        th = np.array([r.theory for r in prob])
        m = np.array([r.mean for r in prob])
        err = np.array([[r.mean - r.low for r in prob], [r.high - r.mean for r in prob]])
        colors = ["C2" if r.passed else "C3" for r in prob]
        ax.errorbar(th, m, yerr=err, fmt="none", ecolor="grey", alpha=0.6)
        ax.scatter(th, m, c=colors, s=18, zorder=3)
    ax.plot([0, 1], [0, 1], color="black", lw=0.8)
    ax.set_xlabel("theory (Erlang C / Erlang A)")
    ax.set_ylabel("simulated mean, 95% CI")
    ax.set_title("Stationary cases: probabilities")
    fig.tight_layout()
    fig.savefig(folder / "stationary.png", dpi=100)
    plt.close(fig)
    storm = [r for r in rows if r.case.startswith("4") and "hour" in r.name and "all" not in r.name]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if storm:
        hours = [int(r.name.rsplit(" ", 1)[-1]) for r in storm]
        ax.plot(hours, [r.theory for r in storm], "o-", label="theory E[N(t)]")
        ax.errorbar(hours, [r.mean for r in storm], yerr=[[r.mean - r.low for r in storm],
                                                          [r.high - r.mean for r in storm]],
                    fmt="s", capsize=3, label="simulated mean, 95% CI")
        ax.legend()
    ax.set_xlabel("hour of the storm")
    ax.set_ylabel("calls on the line")
    ax.set_title("Storm with ample staff against the infinite-server mean")
    fig.tight_layout()
    fig.savefig(folder / "storm.png", dpi=100)
    plt.close(fig)


def write(rows: list[Row], out: Path, full: bool, elapsed_s: float, command: str, force: bool = False) -> Path:
    """Write the validation folder atomically: table (CSV, JSON), report.md and plots (sim.files.atomic_dir)."""
    import csv

    from sim import __version__
    from sim.files import atomic_dir

    out = Path(out)
    with atomic_dir(out, force) as tmp:
        with open(tmp / "validation.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(Row.__dataclass_fields__))
            writer.writeheader()
            for r in rows:
                writer.writerow(r.as_dict())
        summary = {"version": __version__, "full": full, "elapsed_s": round(elapsed_s, 1),
                   "passed": sum(r.passed for r in rows), "failed": sum(not r.passed for r in rows),
                   "rows": [r.as_dict() for r in rows]}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (tmp / "report.md").write_text(markdown(rows, full, elapsed_s, command))
        plots(rows, tmp)
    return out


KEPT = "<!-- This section is kept by hand"


def keep_hand_sections(new: str, old: str) -> str:
    """The regenerated report followed by the old one's hand-kept part: from the `## ` heading of the first section
    that opens with the KEPT comment to the end of the file (hand-kept sections go last)."""
    at = old.find(KEPT)
    if at < 0:
        return new
    start = old.rfind("\n## ", 0, at)
    if start < 0:
        return new
    return new.rstrip("\n") + "\n" + old[start:]

