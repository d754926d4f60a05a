"""The size of a run before it starts: claims, peak memory and wall time, from the scenario alone.

A scenario can ask for more than a machine has (millions of policyholders over months, an incident rate
that makes every policyholder claim every hour). `estimate` answers in well under a second, without
running: it builds each population for a sample of at most SAMPLE policyholders per region (the columns
are cheap), follows each sampled policyholder's incident probabilities through the storm
(`Population.probabilities`), and scales each region's mean by its real count: the expected number of
claims. Memory and time follow from costs per policyholder, per claim, per region-hour and per staff member
measured by `benchmarks/estimate_costs.py` (constants below).
`claimsim run` refuses a run whose memory does not fit in what the machine has available
(`--skip-memory-check` runs it anyway) and `claimsim run --estimate` prints the estimate.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.hazard import HazardField, build_hazard
from sim.populations import POPULATION_CLASSES
from sim.rng import Streams
from sim.scenario import Scenario
from sim.scenario.spec import staff_total

# ---------------------------------------------------------------------------- measured costs
# Measured by `python benchmarks/estimate_costs.py` (it prints these lines; re-run it after the engine
# changes and paste them here). Peak memory is the resident set (ru_maxrss) of a fresh process that runs
# and writes one run; times are wall seconds of the same runs. Fitted by least squares on runs that vary
# one size at a time (jointly, on relative errors, slopes non-negative).
# Last measured: 2026-12-04 21:30, 2 cores (Intel Xeon), 24 GiB, Python 3.12.1, SimPy 4.1.2, Mesa 3.5.1 (`--quick`:
# 9 runs from 260 to 433 MB and 3 to 9 s, each fitted within 3%). BYTES_PER_CLAIM is the exception: small runs
# fit 6,400 bytes a claim, but a claim costs less at catastrophe size, where the estimate matters: 3,100 is the
# million-claim flood's (scenarios/national-flood-1m.yaml: 3,616 MiB measured, 3.9 GB estimated; small runs are
# then estimated up to ~15% low).
BASE_BYTES = 262_000_000              # interpreter, numpy/pandas/pyarrow/matplotlib, a small run written
BYTES_PER_POLICYHOLDER = 67           # attribute columns and at-risk flags of one policyholder
BYTES_PER_CLAIM = 3_100               # the claim object, its SimPy process, event log rows, tables, parquet
BYTES_PER_REGION_HOUR = 868           # hazard arrays and the hourly series of one region
BYTES_PER_STAFF = 3_245               # a staff member's SimPy process and roster
BASE_SECONDS = 2.75                   # imports, a tiny run written (plots, parquet)
SECONDS_PER_POLICYHOLDER_HOUR = 1.13e-8  # the vectorised hourly draw, per policyholder
SECONDS_PER_CLAIM = 1.17e-4           # a claim's whole life through the operation, and its rows
SECONDS_PER_REGION_HOUR = 2.83e-5     # hazard response and the hourly series, per region
SECONDS_PER_STAFF_HOUR = 8.3e-7       # rosters and job pulls of one staff member
SAMPLE = 2_000                        # policyholders per region and population followed for the claims
MAX_POINTS = 1_000                    # hours evaluated at most (a longer run is sampled every k-th hour)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """What a run will take: claims (the expected number), peak memory, wall time."""

    policyholders: int
    regions: int
    hours: int
    staff: int
    claims: float
    memory_bytes: float
    seconds: float

    def lines(self) -> list[str]:
        """The estimate for people, one figure a line."""
        return [f"policyholders: {self.policyholders:,} in {self.regions} region(s), {self.hours:,} h, "
                f"{self.staff:,} staff",
                f"claims: about {self.claims:,.0f} (expected)",
                f"peak memory: about {gigabytes(self.memory_bytes)}",
                f"wall time: about {duration(self.seconds)} for one run on one core"]


def gigabytes(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"


def duration(s: float) -> str:
    if s < 90:
        return f"{s:,.0f} s"
    if s < 5400:
        return f"{s / 60:,.0f} min"
    return f"{s / 3600:,.1f} h"


class _World:
    """What a population reads of a model: the storm, the random streams and the clock."""

    def __init__(self, scenario: Scenario, hours: int, seed: int) -> None:
        self.hazard: HazardField = build_hazard(scenario, hours)
        self.streams = Streams(seed)
        self._offset = scenario.start.hour + scenario.start.minute / 60.0

    def hour_of_day(self, hour: int) -> int:
        return int(self._offset + hour) % 24


def _sampled(scenario: Scenario, name: str) -> Scenario:
    """The scenario with each region's count of population `name` cut to SAMPLE."""
    regions = []
    for r in scenario.regions:
        part = getattr(r.portfolio, name)
        if part.count > SAMPLE:
            part = part.model_copy(update={"count": SAMPLE})
            r = r.model_copy(update={"portfolio": r.portfolio.model_copy(update={name: part})})
        regions.append(r)
    return scenario.model_copy(update={"regions": regions})


def expected_claims(scenario: Scenario, hours: int | None = None, seed: int | None = None) -> float:
    """The expected number of incidents (claims) of a run, from a sample of each region's policyholders.

    Each sampled policyholder's probability of each incident type is followed hour by hour (at most
    MAX_POINTS hours are evaluated; longer runs take every k-th hour for k hours): a type that happens at
    most once adds 1 - prod(1 - p), one that recurs adds sum(p). Region means times the region's count.
    """
    hours = scenario.duration_h if hours is None else max(1, min(int(hours), scenario.duration_h))
    world = _World(scenario, hours, scenario.seed if seed is None else seed)
    step = max(1, math.ceil(hours / MAX_POINTS))
    total = 0.0
    for name, cls in POPULATION_CLASSES.items():
        counts = np.array([getattr(r.portfolio, name).count for r in scenario.regions], dtype=float)
        if not counts.any():
            continue
        pop = cls(world, _sampled(scenario, name))
        idx = np.arange(pop.n)
        survive = np.ones((len(pop.incident_types), pop.n))
        recurring = np.zeros((len(pop.incident_types), pop.n))
        for h in range(0, hours, step):
            width = min(step, hours - h)
            for k, p in enumerate(pop.probabilities(h, idx)):
                if p is not None:
                    p = np.clip(p, 0.0, 1.0)
                    survive[k] *= (1.0 - p) ** width
                    recurring[k] += p * width
        recovery = pop.params.recovery_h  # type: ignore[attr-defined]
        per_holder = (recurring if recovery is not None else 1.0 - survive).sum(axis=0)
        region = pop.region
        sampled = np.bincount(region, minlength=len(counts)).astype(float)
        sums = np.bincount(region, weights=per_holder, minlength=len(counts))
        means = np.divide(sums, sampled, out=np.zeros_like(sums), where=sampled > 0)
        total += float((means * counts).sum())
    return total


def estimate(scenario: Scenario, hours: int | None = None, seed: int | None = None) -> Estimate:
    """Claims, peak memory and wall time of one run of `scenario` (to `hours`, default its horizon)."""
    hours = scenario.duration_h if hours is None else max(1, min(int(hours), scenario.duration_h))
    n = sum(scenario.policyholders(t) for t in POPULATION_CLASSES)
    regions = len(scenario.regions)
    staff = staff_total(scenario)
    claims = expected_claims(scenario, hours, seed)
    memory = (BASE_BYTES + BYTES_PER_POLICYHOLDER * n + BYTES_PER_CLAIM * claims
              + BYTES_PER_REGION_HOUR * regions * hours + BYTES_PER_STAFF * staff)
    seconds = (BASE_SECONDS + SECONDS_PER_POLICYHOLDER_HOUR * n * hours + SECONDS_PER_CLAIM * claims
               + SECONDS_PER_REGION_HOUR * regions * hours + SECONDS_PER_STAFF_HOUR * staff * hours)
    return Estimate(n, regions, hours, staff, claims, memory, seconds)


def available_memory() -> int | None:
    """Bytes this process could still use: the kernel's MemAvailable, or less under a cgroup limit (None if
    unknown). CLAIMSIM_MEMORY_BYTES overrides it (to try a smaller machine)."""
    forced = os.environ.get("CLAIMSIM_MEMORY_BYTES")
    if forced and forced.isdigit():
        return int(forced)
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(int(limit) - int(used))
    except OSError:
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return max(0, min(found))


def too_big(est: Estimate, available: int | None) -> str | None:
    """Why the run would not fit in `available` bytes, or None if it fits (or the machine does not say)."""
    if available is None or est.memory_bytes <= available:
        return None
    return (f"this run would need about {gigabytes(est.memory_bytes)} of memory (about {est.claims:,.0f} claims "
            f"from {est.policyholders:,} policyholders over {est.hours:,} h) and this machine has "
            f"{gigabytes(available)} available: shorten it with --hours, make the portfolio smaller, or pass "
            "--skip-memory-check to run it anyway")
