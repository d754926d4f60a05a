"""Measure the costs behind `sim/estimate.py`: memory and time per policyholder, claim, region-hour and staff.

    python benchmarks/estimate_costs.py [--quick]

Each configuration runs one scenario in a fresh process (simulate and write, as `claimsim run` does) and
reports its wall time (imports included) and peak resident memory (ru_maxrss). The configurations vary one
size at a time around a small base: policyholders (a calm storm, so few claims), claims (a high crash rate),
regions x hours (many regions, a long calm horizon) and staff (large headcounts). A least-squares fit with
non-negative slopes gives the constants; the script prints them as the lines to paste into sim/estimate.py,
then the estimate against the measurement for every configuration. Takes a few minutes (--quick: fewer
sizes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ruamel.yaml import YAML  # noqa: E402

ROLES = ("phone", "video_survey", "field_survey", "tow", "assessment", "approval")

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from sim import runner
from sim.scenario import load_scenario
sf = load_scenario(sys.argv[1])
res = runner.simulate(sf, "baseline", 1)
runner.write(res, Path(sys.argv[2]))
print(json.dumps({"claims": res.summary["figures"]["incidents_total"], "seconds": time.perf_counter() - t0,
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def scenario(drivers: int = 1000, regions: int = 1, hours: int = 24, crash: float = 1.6e-5, staff: int = 2,
             snow: float = 0.0) -> dict:
    per = max(1, drivers // regions)
    ids = [f"r{i}" for i in range(regions)]
    return {
        "name": "cost", "start": "2024-01-10T00:00:00", "duration_h": hours, "seed": 1,
        "regions": [{"id": r, "name": r, "service_radius_km": 20, "road_speed_kmh": 40,
                     "portfolio": {"drivers": {"count": per}}} for r in ids],
        "hazard": {r: {"keyframes": [{"h": 0, "temp_c": -5, "snowfall_cm_h": snow}]} for r in ids},
        "operations": {"rosters": {"h24": {"shifts": [{"start": 0, "end": 24}]}},
                       "staff": {role: {"headcount": staff, "roster": "h24"} for role in ROLES}},
        "vulnerability": {"drivers": {"crash_per_vehicle_h": crash}},
    }


def measure(doc: dict, folder: Path) -> dict:
    path = folder / "scenario.yaml"
    yaml = YAML(typ="safe", pure=True)
    with path.open("w") as fh:
        yaml.dump(doc, fh)
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(folder / "run")], capture_output=True,
                         text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def configurations(quick: bool) -> list[tuple[str, dict]]:
    sizes = (1, 2) if quick else (1, 2, 4)
    out = [("base", scenario())]
    out += [(f"{m} M policyholders", scenario(drivers=m * 1_000_000)) for m in sizes]
    out += [(f"claims x{k}", scenario(drivers=50_000, hours=48, crash=k * 5e-3, staff=40)) for k in sizes]
    out += [(f"{50 * k} regions x 2000 h", scenario(drivers=50 * k, regions=50 * k, hours=2000)) for k in sizes]
    out += [(f"{2000 * k} staff per role", scenario(staff=2000 * k, hours=48)) for k in sizes]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from sim.scenario import Scenario
    from sim.scenario.spec import staff_total

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, doc in configurations(args.quick):
            folder = Path(tmp) / label.replace(" ", "_")
            folder.mkdir()
            got = measure(doc, folder)
            sc = Scenario.model_validate({**doc, "plan": "baseline"})
            sizes = (sum(sc.policyholders(t) for t in ("drivers", "farmers", "firms")), got["claims"],
                     len(sc.regions) * sc.duration_h, staff_total(sc), sc.duration_h)
            rows.append((label, sizes, got))
            print(f"{label:28s} claims {got['claims']:>8,}  {got['seconds']:7.2f} s  {got['maxrss'] / 1e6:7.0f} MB",
                  flush=True)
    # memory = base + a N + b claims + c region-hours + d staff; time adds N x hours and staff x hours
    mem_x = np.array([[1, n, c, rh, s] for _, (n, c, rh, s, _), _ in rows], dtype=float)
    mem_y = np.array([g["maxrss"] for _, _, g in rows], dtype=float)
    time_x = np.array([[1, n * h, c, rh, s * h] for _, (n, c, rh, s, h), _ in rows], dtype=float)
    time_y = np.array([g["seconds"] for _, _, g in rows], dtype=float)
    mem = nnls(mem_x / mem_y[:, None], np.ones(len(rows)))[0]  # relative errors: every size counts
    sec = nnls(time_x / time_y[:, None], np.ones(len(rows)))[0]
    print("\n# paste into sim/estimate.py:")
    print(f"BASE_BYTES = {mem[0]:_.0f}")
    print(f"BYTES_PER_POLICYHOLDER = {mem[1]:.0f}")
    print(f"BYTES_PER_CLAIM = {mem[2]:_.0f}")
    print(f"BYTES_PER_REGION_HOUR = {mem[3]:_.0f}")
    print(f"BYTES_PER_STAFF = {mem[4]:_.0f}")
    print(f"BASE_SECONDS = {sec[0]:.2f}")
    print(f"SECONDS_PER_POLICYHOLDER_HOUR = {sec[1]:.2e}")
    print(f"SECONDS_PER_CLAIM = {sec[2]:.2e}")
    print(f"SECONDS_PER_REGION_HOUR = {sec[3]:.2e}")
    print(f"SECONDS_PER_STAFF_HOUR = {sec[4]:.2e}")
    print("\n| configuration | memory measured | fitted | time measured | fitted |")
    print("|---|---|---|---|---|")
    for (label, _, got), mx, tx in zip(rows, mem_x, time_x, strict=True):
        print(f"| {label} | {got['maxrss'] / 1e6:,.0f} MB | {mx @ mem / 1e6:,.0f} MB | {got['seconds']:.1f} s "
              f"| {tx @ sec:.1f} s |")


if __name__ == "__main__":
    main()
