"""What every population of policyholders shares: attribute columns, the vectorised hourly step, incidents.

A population holds one kind of policyholder as numpy columns (DESIGN rule 3). Each hour it draws its
incidents for the whole population in one vectorised step and hands them on as typed records
(`Incidents`); it knows nothing of claims, the operation or the model, only of the world it reads
(the storm, the clock and its random streams). A policyholder becomes a Mesa agent object only when
something asks for it (`Population.agent`): a million policyholders cost a million rows of a few
columns, not a million Python objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import mesa
import numpy as np
from scipy import special

from sim import vulnerability as vul
from sim.populations.draws import TYPE_OFFSETS, Threshold, candidates, in_interval
from sim.vocab import POPULATION

if TYPE_CHECKING:
    from sim.hazard import HazardField
    from sim.rng import Streams
    from sim.scenario import Scenario


class World(Protocol):
    """What a population reads of the model it lives in (the model itself, seen from below)."""

    hazard: HazardField
    streams: Streams

    def hour_of_day(self, hour: int) -> int: ...


# One incident per record: which policyholder, which incident type (index into the population's types),
# and how many of that type the policyholder had before (0 for the first).
INCIDENT_DTYPE = np.dtype([("index", np.int64), ("kind", np.int16), ("occurrence", np.int32)])
KEY_INDEX_BITS = 36     # policyholder index in a claim key (up to 68 billion)
KEY_OCCURRENCE_BITS = 20


@dataclass(frozen=True)
class Incidents:
    """The incidents one population had in one hour, in policyholder order (a structured array)."""

    population: str
    hour: int
    records: np.ndarray

    def __len__(self) -> int:
        return int(self.records.size)


def lognormal(median: float, sigma: float, u: float) -> float:
    """The u-quantile of a lognormal with this median and log-standard deviation."""
    return median * math.exp(sigma * float(special.ndtri(u)))


class PolicyHolder(mesa.Agent):
    """One insured policyholder as a Mesa agent: its attributes live in its population's columns."""

    def __init__(self, model: mesa.Model, population: Population, index: int) -> None:
        super().__init__(model)
        self.unique_id = population.agent_id(index)  # stable whatever order agents are made in
        self.population = population
        self.index = index

    @property
    def region(self) -> str:
        return self.population.scenario.regions[int(self.population.region[self.index])].id


class Population:
    """All policyholders of one kind: attribute columns, at-risk flags and the vectorised hazard step.

    By default each policyholder can have each incident type at most once in a run (a crashed car is
    off the road, a collapsed greenhouse cannot collapse again; assumption); the type's `recovery_h`
    puts it back at risk that many hours after the incident.
    """

    name: ClassVar[str] = ""
    agent_class: ClassVar[type[PolicyHolder]] = PolicyHolder
    # Incident types a threshold decides (probability 0 or 1: a roof over its capacity, water over a sill):
    # struck by sorted thresholds (`struck`), not by uniforms.
    deterministic: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, world: World, scenario: Scenario, first_id: int = 1) -> None:
        self.world = world
        self.scenario = scenario
        info = POPULATION[self.name]
        self.code = info.code
        self.singular = info.singular
        self.incident_types = info.incident_types
        self.first_id = first_id
        counts = [getattr(r.portfolio, self.name).count for r in scenario.regions]
        self.n = int(sum(counts))
        self.region = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        edges = np.concatenate([[0], np.cumsum(counts)]).astype(int)
        self.slices = [(int(edges[r]), int(edges[r + 1])) for r in range(len(counts))]
        rng = world.streams.generator(f"portfolio.{self.name}")
        self.build(rng, counts)
        self.place(world.streams.generator(f"portfolio.{self.name}.flood"), counts)
        self.at_risk = np.ones((len(self.incident_types), self.n), dtype=bool)
        self.occurrences: dict[tuple[int, int], int] = {}
        self._recovering: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}  # hour -> (kinds, indices)
        self.rate_windows: list[tuple[int, int, float]] = []  # reporting surges: (from, to, factor)
        self._agents: dict[int, PolicyHolder] = {}

    # ------------------------------------------------------------------ identity

    def agent_id(self, index: int) -> int:
        """The policyholder's id, unique in the model (populations take consecutive ranges from 1)."""
        return self.first_id + int(index)

    def agent(self, index: int) -> PolicyHolder:
        """The policyholder as a Mesa agent (made on first request, registered with the model)."""
        index = int(index)
        if not 0 <= index < self.n:
            raise IndexError(f"{self.name} has {self.n} policyholders, not {index + 1}")
        agent = self._agents.get(index)
        if agent is None:
            agent = self._agents[index] = self.agent_class(self.world, self, index)  # type: ignore[arg-type]
        return agent

    def claim_key(self, index: int, kind: int, occurrence: int) -> int:
        """The key of an incident's claim: who, what and which time, never the plan (common random numbers)."""
        return (self.code << 60) | (int(index) << 24) | (int(kind) << 20) | int(occurrence)

    # ------------------------------------------------------------------ to override

    def build(self, rng: np.random.Generator, counts: list[int]) -> None:  # pragma: no cover - abstract
        """Draw the attribute columns of every policyholder, region by region."""
        raise NotImplementedError

    def bound(self, hour: int) -> np.ndarray:  # pragma: no cover - abstract
        """Per incident type and region, an upper bound of any policyholder's probability this hour."""
        raise NotImplementedError

    def probabilities(self, hour: int, idx: np.ndarray) -> list[np.ndarray | None]:  # pragma: no cover
        """Probability of each incident type this hour for policyholders `idx` (None: zero for all)."""
        raise NotImplementedError

    def loss(self, i: int, kind: str, hour: int, u: float) -> float:  # pragma: no cover - abstract
        """The loss of policyholder i's incident of type `kind` in `hour`, from its keyed uniform u."""
        raise NotImplementedError

    def value(self, i: int) -> float:
        """Policyholder i's insured value (a vehicle's value, a building's sum insured)."""
        return float(self.insured_value[i])  # type: ignore[attr-defined]

    def bi_covered(self, i: int) -> bool:
        """Whether policyholder i has business-interruption cover (firms only)."""
        return False

    # ------------------------------------------------------------------ water, wind, everyday (every population)

    def place(self, rng: np.random.Generator, counts: list[int]) -> None:
        """Where each policyholder stands in a flood: zone (0 dry ground, 1 low-lying, 2 floodplain) and a local
        depth factor (lognormal, median 1: some yards and basements are deeper than the street)."""
        zones, factors = [], []
        for r, c in zip(self.scenario.regions, counts, strict=True):
            f = r.flood
            u = rng.random(c)
            zones.append(np.where(u < f.floodplain_share, 2, np.where(u < f.floodplain_share + f.low_lying_share,
                                                                       1, 0)).astype(np.int8))
            factors.append(np.exp(f.local_spread * rng.normal(size=c)))
        self.zone = np.concatenate(zones) if zones else np.zeros(0, dtype=np.int8)
        self.water_factor = np.concatenate(factors) if factors else np.zeros(0)
        self.max_water_factor = np.vstack([self.region_max(np.where(self.zone == z, self.water_factor, 0.0))
                                           for z in (0, 1, 2)]) if self.n else np.zeros((3, len(counts)))
        depth = self.flood_threshold_cm()
        self.flood_thresholds = [Threshold(self.slices, np.where(self.zone == z, depth / np.maximum(
            self.water_factor, 1e-12), np.inf), strict=False) for z in (1, 2)]

    def flood_threshold_cm(self) -> np.ndarray:
        """The water depth (cm) at which each policyholder's property floods (inf: never)."""
        return np.full(self.n, float(self.params.flood_depth_cm))  # type: ignore[attr-defined]

    def flood_struck(self, hour: int) -> np.ndarray:
        """Policyholders the water reaches this hour (their zone's depth over their own threshold)."""
        hz = self.world.hazard
        parts = [self.flood_thresholds[0].struck(hz.ponding_cm[:, hour]),
                 self.flood_thresholds[1].struck(hz.floodplain_cm[:, hour])]
        return np.concatenate(parts)

    def struck(self, hour: int) -> list[tuple[int, np.ndarray]]:
        """The deterministic incident types' strikes this hour: (type, policyholders), at risk or not."""
        return []

    def zone_water(self, hour: int) -> np.ndarray:
        """Water depth (cm) per zone and region this hour: (3 zones, regions)."""
        hz = self.world.hazard
        return np.vstack([np.zeros(len(hz.region_ids)), hz.ponding_cm[:, hour], hz.floodplain_cm[:, hour]])

    def water_cm(self, idx: np.ndarray, hour: int) -> np.ndarray:
        """Water at policyholders `idx` this hour (cm)."""
        return self.zone_water(hour)[self.zone[idx], self.region[idx]] * self.water_factor[idx]

    def water_bound(self, hour: int) -> np.ndarray:
        """Per region, the deepest water any policyholder stands in this hour (cm)."""
        return (self.zone_water(hour) * self.max_water_factor).max(axis=0)

    def water_peak_cm(self, i: int, hour: int) -> float:
        """The deepest water policyholder i stands in from `hour` until its zone is dry again (cm)."""
        hz, z, r = self.world.hazard, int(self.zone[i]), int(self.region[i])
        series = (np.zeros(1), hz.ponding_cm[r, hour:], hz.floodplain_cm[r, hour:])[z]
        dry = np.flatnonzero(series <= 0.0)
        spell = series[: dry[0]] if dry.size and dry[0] > 0 else series[:1]
        return float(spell.max() * self.water_factor[i]) if spell.size else 0.0

    def flood_hit(self, idx: np.ndarray, hour: int) -> np.ndarray | None:
        """1 where the water reaches the population's flood depth this hour (None when no one is wet)."""
        depth = self.params.flood_depth_cm  # type: ignore[attr-defined]
        if not (self.water_bound(hour) >= depth).any() or depth <= 0:
            return None
        return (self.water_cm(idx, hour) >= depth).astype(float)

    def flood_bound(self, hour: int) -> np.ndarray:
        return (self.water_bound(hour) >= self.params.flood_depth_cm).astype(float)  # type: ignore[attr-defined]

    def wind_rate(self, hour: int) -> np.ndarray:
        """Wind-damage claims per policyholder-hour, per region (Emanuel's curve scaled)."""
        wind = self.world.hazard.wind_ms[:, hour]
        return self.params.wind_per_h * vul.wind_vulnerability(wind)  # type: ignore[attr-defined]

    def everyday_rate(self, hour: int) -> np.ndarray:
        """Everyday (not weather) claims per policyholder-hour, per region."""
        n_regions = len(self.slices)
        return np.full(n_regions, self.params.everyday_per_year / vul.HOURS_PER_YEAR)  # type: ignore[attr-defined]

    def common_loss(self, i: int, kind: str, hour: int, u: float) -> float | None:
        """Losses every population shares: everyday claims (fixed severity); None for the population's own types."""
        if kind == "everyday":
            median, sigma = vul.EVERYDAY_SEVERITY[self.name]
            return min(lognormal(median, sigma, u), max(self.value(i), 1.0))
        return None

    def building_loss(self, i: int, kind: str, hour: int, u: float, value: float, commercial: bool) -> float | None:
        """Losses of a building (homes, firms) to water and wind, as a share of its value; None for other types."""
        if kind == "flood":
            ratio = float(vul.building_flood_ratio(self.water_peak_cm(i, hour), commercial=commercial))
            return value * min(max(ratio, 0.01) * lognormal(1.0, 0.4, u), 1.0)
        if kind == "wind":
            f = float(vul.wind_vulnerability(self.world.hazard.wind_ms[int(self.region[i]), hour]))
            return value * min(max(f, 0.005) * lognormal(1.0, 0.8, u), 1.0)
        return None

    # ------------------------------------------------------------------ changes during a run

    def rate_factor_from(self, start: int, end: int, factor: float) -> None:
        """Scale every incident rate of this kind by `factor` over hours [start, end) (a reporting surge)."""
        self.rate_windows.append((start, end, factor))

    def rate_factor(self, hour: int) -> float:
        f = 1.0
        for start, end, factor in self.rate_windows:
            if start <= hour < end:
                f *= factor
        return f

    def replan(self, scenario: Scenario) -> None:
        """A decision changed the plan from now: measures and behaviour follow the new scenario."""
        self.scenario = scenario

    # ------------------------------------------------------------------ helpers for build()

    def per_region(self, values: list, rng: np.random.Generator, counts: list[int]) -> np.ndarray:
        """Draw one attribute region by region from each region's distribution."""
        return np.concatenate([d.sample(rng, c) for d, c in zip(values, counts, strict=True)]) \
            if self.n else np.zeros(0)

    def region_max(self, values: np.ndarray, empty: float = 0.0) -> np.ndarray:
        """Per-region maximum of a per-policyholder column (`empty` for a region with none)."""
        return np.array([values[a:b].max() if b > a else empty for a, b in self.slices])

    def region_min(self, values: np.ndarray, empty: float = np.inf) -> np.ndarray:
        return np.array([values[a:b].min() if b > a else empty for a, b in self.slices])

    # ------------------------------------------------------------------ the hourly step

    def step(self, hour: int) -> Incidents:
        """Draw this hour's incidents, in policyholder order.

        Each policyholder has one uniform u this hour. Incident type k happens when u falls in its own
        interval [o_k, o_k + p_k) (mod 1), with fixed offsets o_k = k x 0.618... spread over [0, 1): the
        intervals of small probabilities never overlap, so the types compete exactly, and a plan that
        changes one type's rate (SMS warnings cut crashes) leaves every other type's incidents identical.
        Where intervals do overlap (a roof failing with certainty), the lower type wins.
        Only policyholders whose u falls in their region's bounding intervals can have an incident, and only
        those u are drawn (`candidates`): a quiet hour costs nothing. The bounds do not depend on the plan,
        so every plan meets the same candidates with the same u (common random numbers).
        """
        empty = Incidents(self.name, hour, np.zeros(0, dtype=INCIDENT_DTYPE))
        if self.n == 0:
            return empty
        for kinds, idx in self._recovering.pop(hour, []):
            self.at_risk[kinds, idx] = True
        factor = self.rate_factor(hour)
        bounds = np.array(self.bound(hour), dtype=float)  # (incident types, regions), a copy we may edit
        if factor != 1.0:
            bounds = bounds * factor
        for k in self.deterministic:
            bounds[k] = 0.0
        idx, uc = self.candidates(hour, bounds)
        fixed = [(k, s[self.at_risk[k, s]]) for k, s in self.struck(hour)]
        fixed = [(k, s) for k, s in fixed if s.size]
        if idx.size == 0 and not fixed:
            return empty
        hit_type = np.full(idx.size, -1, dtype=np.int16)
        for k, p in enumerate(self.probabilities(hour, idx) if idx.size else []):
            if p is None or k in self.deterministic:
                continue
            if factor != 1.0:
                p = np.minimum(p * factor, 1.0)
            inside = in_interval(uc, TYPE_OFFSETS[k], p * self.at_risk[k, idx])
            if inside is not None:
                hit_type[(hit_type < 0) & inside] = k
        hit = hit_type >= 0
        idx, kinds = idx[hit], hit_type[hit]
        if fixed:  # threshold strikes join the drawn incidents; where both strike one policyholder, the lower type
            all_idx = np.concatenate([idx] + [s for _, s in fixed])
            all_kind = np.concatenate([kinds] + [np.full(s.size, k, dtype=np.int16) for k, s in fixed])
            order = np.lexsort((all_kind, all_idx))
            all_idx, all_kind = all_idx[order], all_kind[order]
            first = np.ones(all_idx.size, dtype=bool)
            first[1:] = all_idx[1:] != all_idx[:-1]
            idx, kinds = all_idx[first], all_kind[first]
        self.at_risk[kinds, idx] = False
        recovery = self.params.recovery_h  # type: ignore[attr-defined]
        if recovery is not None and idx.size:
            back = hour + 1 + math.ceil(recovery)
            self._recovering.setdefault(back, []).append((kinds, idx))
        records = np.zeros(idx.size, dtype=INCIDENT_DTYPE)
        records["index"] = idx
        records["kind"] = kinds
        if recovery is not None:  # a policyholder back at risk may have the same incident again
            for j, (i, k) in enumerate(zip(idx.tolist(), kinds.tolist(), strict=True)):
                n = self.occurrences.get((k, i), 0)
                self.occurrences[(k, i)] = n + 1
                records["occurrence"][j] = n
        return Incidents(self.name, hour, records)

    def candidates(self, hour: int, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Policyholders whose uniform this hour falls in their region's bounding intervals, and those uniforms
        (see sim.populations.draws.candidates)."""
        return candidates(self.world.streams.hourly(f"incidents.{self.name}", hour), self.slices, bounds)

    def expected_incidents(self, hour: int) -> float:
        """Expected number of incidents this hour given who is at risk now (for validation)."""
        if self.n == 0:
            return 0.0
        idx = np.arange(self.n)
        total = np.zeros(self.n)
        for k, p in enumerate(self.probabilities(hour, idx)):
            if p is not None:
                total += p * self.at_risk[k]
        return float(np.minimum(total, 1.0).sum())
