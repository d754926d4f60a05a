"""False alarms and detection power of the statistical regression tier (`claimsim regress --tier stat`).

    python benchmarks/regress_power.py [--checks 40] [--reps 8] [--workers 2]

Each "check" is one run of the stat tier with a fresh seed block against a baseline made here (seed block 0),
on one scenario and plan (default: tabletop-city-blizzard, baseline, 48 h), with Holm's adjustment across its
key figures at alpha 0.05. A check alarms if any figure moved. Over many checks:

- unchanged model: the share of checks that alarm (the family-wise false-alarm rate; nominal at most alpha);
- planted changes, each a settings override deep-merged onto the plan: one phone agent fewer (the peak has the
  fewest spare agents), surveys 10% slower (field on-site time and video survey time), and a 20% higher
  incident rate for drivers. The share of checks that alarm is the tier's power against that change.

Writes results/bench/regress_power.json and prints a table (with a Wilson 95% interval for each rate).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sim import regress as rg  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    z = 1.96
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def planted(scenario: Path, plan: str) -> dict[str, dict]:
    s = load_scenario(scenario).resolve(plan)
    phone = s.operations.staff["phone"].headcount
    svc = s.operations.service
    drivers = s.vulnerability.drivers

    def scaled(dist, f: float) -> dict:
        d = dist.model_dump(mode="python", by_alias=True)
        if "mean" in d and d["mean"] is not None:
            d["mean"] *= f
        if "median" in d and d["median"] is not None:
            d["median"] *= f
        return d

    return {
        "one phone agent fewer": {"operations": {"staff": {"phone": {"headcount": phone - 1}}}},
        "surveys 10% slower": {"operations": {"service": {"field_onsite_min": scaled(svc.field_onsite_min, 1.1),
                                                          "video_survey_min": scaled(svc.video_survey_min, 1.1)}}},
        "drivers' incident rate +20%": {"vulnerability": {"drivers": {
            k: getattr(drivers, k) * 1.2 for k in ("crash_per_vehicle_h", "battery_per_vehicle_h",
                                                   "strand_per_vehicle_h_per_10cm", "flood_per_vehicle_h")}}},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "tabletop-city-blizzard.yaml")
    ap.add_argument("--plan", default="baseline")
    ap.add_argument("--hours", type=int, default=48)
    ap.add_argument("--reps", type=int, default=16)
    ap.add_argument("--checks", type=int, default=40, help="checks on the unchanged model")
    ap.add_argument("--power-checks", type=int, default=20, help="checks per planted change")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rng-refactor", type=int, default=0, metavar="N",
                    help="also N checks after a refactor that draws every claim's random numbers differently "
                         "(same distribution; run in this process, one worker)")
    args = ap.parse_args()
    started = time.perf_counter()
    cfg = rg.RegressConfig(stat=rg.StatConfig(reps=args.reps, hours=args.hours, seed=0),
                           scenarios={str(args.scenario): rg.ScenarioEntry(plans=[args.plan], tiers=["stat"])})
    sf = load_scenario(args.scenario)
    target = rg.Target(args.scenario, sf, [args.plan], [args.plan], ["stat"], args.hours, args.hours, args.reps)
    name = sf.name
    base = rg.measure([target], cfg, ["stat"], args.workers, fresh=0)
    baseline = {name: {"stat": base[name]["stat"]}}

    def alarms(n: int, overrides: dict | None) -> tuple[int, dict[str, int]]:
        k = 0
        by_figure: dict[str, int] = {}
        for i in range(1, n + 1):
            ov = {name: json.dumps(overrides)} if overrides else None
            m = rg.measure([target], cfg, ["stat"], args.workers, fresh=i * rg.FRESH_OFFSET, overrides=ov)
            out = rg.check(m, baseline, cfg.stat.alpha, [target])
            failed = [r for r in out.rows if r.tier == "stat" and not r.passed]
            k += bool(failed)
            for r in failed:
                by_figure[r.figure] = by_figure.get(r.figure, 0) + 1
        return k, by_figure

    rows = []
    if args.checks:
        k, figs = alarms(args.checks, None)
        rows.append({"change": "none (false alarms)", "checks": args.checks, "alarms": k, "by_figure": figs})
    if args.rng_refactor:
        from sim.rng import Streams

        original = Streams.claim_uniforms
        Streams.claim_uniforms = lambda self, key, n: original(self, key ^ 0x5DEECE66D, n)  # type: ignore
        workers, args.workers = args.workers, 1
        k, figs = alarms(args.rng_refactor, None)
        Streams.claim_uniforms = original  # type: ignore
        args.workers = workers
        rows.append({"change": "refactor: other random numbers, same model (false alarms)",
                     "checks": args.rng_refactor, "alarms": k, "by_figure": figs})
    for label, ov in planted(args.scenario, args.plan).items() if args.power_checks else ():
        k, figs = alarms(args.power_checks, ov)
        rows.append({"change": label, "checks": args.power_checks, "alarms": k, "by_figure": figs, "overrides": ov})
    table = Table(title=f"stat tier on {name} / {args.plan}, {args.hours} h, {args.reps} fresh replications "
                        f"per check, Holm over {len(rg.STAT_FIGURES)} figures, alpha {cfg.stat.alpha}")
    for col in ("planted change", "checks", "alarm rate [95% CI]", "figures that moved (checks)"):
        table.add_column(col)
    for r in rows:
        lo, hi = wilson(r["alarms"], r["checks"])
        r["rate"], r["low"], r["high"] = r["alarms"] / r["checks"], lo, hi
        table.add_row(r["change"], str(r["checks"]), f"{100 * r['rate']:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]",
                      ", ".join(f"{f} {n}" for f, n in sorted(r["by_figure"].items(), key=lambda x: -x[1])))
    Console(width=160).print(table)
    out = ROOT / "results" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "regress_power.json").write_text(json.dumps({"scenario": name, "plan": args.plan, "hours": args.hours,
                                                        "reps": args.reps, "rows": rows,
                                                        "wall_s": time.perf_counter() - started}, indent=2) + "\n")
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
