"""Regenerate the worked example of docs/PLANNING.md: from the planner's question to a recommended plan.

    python benchmarks/planning_example.py [--out results/planning] [--workers 2] [--budget 24] [--reps 4]

Steps (each a claimsim command, printed as it runs; every step resumes from its run folders):
1. compare the baseline, the hand-tuned lean plan (scenarios/plans/north-china-lean.yaml) and all-hands;
2. optimize the lever space scenarios/spaces/north-china.yaml for the cheapest plan whose p90 settlement
   latency is at most TARGET% of the baseline's with 90% confidence, with the sensitivity analysis;
3. compare best-plan.yaml against the baseline and the lean plan on fresh seeds (an independent check);
4. sensitivity around the recommended plan: tornado of every lever and unknown, Sobol indices of the unknowns.
The numbers docs/PLANNING.md quotes are collected in OUT/example.json, and its charts are copied to
docs/img/planning/. The target is relative to the baseline so that the example stays meaningful when the
model's absolute latencies change.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "north-china-blizzard.yaml"
SPACE = ROOT / "scenarios" / "spaces" / "north-china.yaml"
LEAN = ROOT / "scenarios" / "plans" / "north-china-lean.yaml"
FRESH_SEED = 5000


def claimsim(*args: str) -> None:
    cmd = [sys.executable, "-m", "sim", *args]
    print("$ claimsim " + " ".join(args), flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "planning")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--target", default="95%", help="p90 target as a share of the baseline's mean")
    ap.add_argument("--compare-reps", type=int, default=6)
    ap.add_argument("--steps", default="1,2,3,4")
    a = ap.parse_args()
    steps = set(a.steps.split(","))
    out = a.out.resolve()
    w = str(a.workers)
    if "1" in steps:
        claimsim("compare", str(SCENARIO), "--plans-file", str(LEAN), "--plans", "baseline,lean-desk,all-hands",
                 "--reps", str(a.compare_reps), "--workers", w, "--out", str(out / "compare"), "--no-crn-check",
                 "--target", f"latency_p90<={a.target}")
    if "2" in steps:
        claimsim("optimize", str(SCENARIO), "--space", str(SPACE), "--target", f"latency_p90<={a.target}",
                 "--minimize", "cost", "--confidence", "0.9", "--budget", str(a.budget), "--reps", str(a.reps),
                 "--finalists", "3", "--confirm-reps", "6", "--max-reps", "8", "--workers", w,
                 "--out", str(out / "optimize"))
    if "3" in steps:
        best = out / "optimize" / "best-plan.yaml"
        combined = out / "best-and-lean.yaml"
        yaml = YAML(typ="safe", pure=True)
        doc = yaml.load(best.read_text())
        doc["plans"].update(yaml.load(LEAN.read_text())["plans"])
        with combined.open("w") as fh:
            yaml.dump(doc, fh)
        claimsim("compare", str(SCENARIO), "--plans-file", str(combined), "--plans", "baseline,lean-desk,best",
                 "--reps", str(a.compare_reps), "--seed", str(FRESH_SEED), "--workers", w, "--out",
                 str(out / "check"), "--no-crn-check", "--target", f"latency_p90<={a.target}")
    if "4" in steps:
        claimsim("sensitivity", str(SCENARIO), "--space", str(SPACE), "--plans-file",
                 str(out / "optimize" / "best-plan.yaml"), "--plan", "best", "--figure", "latency_p90", "--figure",
                 "cost", "--reps", "2", "--method", "sobol", "--samples", "4", "--workers", w,
                 "--out", str(out / "sensitivity"))
    collect(out)


def collect(out: Path) -> None:
    """The numbers the doc quotes, and its charts."""
    facts: dict = {}
    for name in ("compare", "check"):
        p = out / name / "north-china-blizzard" / "summary.json"
        if p.exists():
            facts[name] = json.loads(p.read_text())
    for name in ("optimize", "sensitivity"):
        p = out / name / "summary.json"
        if p.exists():
            facts[name] = json.loads(p.read_text())
    (out / "example.json").write_text(json.dumps(facts, indent=2, default=str) + "\n")
    img = ROOT / "docs" / "img" / "planning"
    img.mkdir(parents=True, exist_ok=True)
    for src, dst in ((out / "optimize" / "cost_vs_target.png", "cost_vs_target.png"),
                     (out / "sensitivity" / "tornado.png", "tornado.png"),
                     (out / "sensitivity" / "global.png", "sobol.png"),
                     (out / "check" / "north-china-blizzard" / "backlog.png", "check_backlog.png"),
                     (out / "check" / "north-china-blizzard" / "cost_vs_p90.png", "check_cost_vs_p90.png")):
        if src.exists():
            shutil.copyfile(src, img / dst)
    print(f"numbers: {out / 'example.json'}; charts: {img}")


if __name__ == "__main__":
    main()
