"""ClaimsModel: one step is one simulated hour of storm, policyholders and the insurer's operation.

Mesa owns the agents and the world clock; SimPy owns the insurer's queues (DESIGN rule 2). Each
step the policyholders react to the hour's hazard and produce incidents, then the SimPy
environment, which lives inside the model and is advanced by nothing else, runs to the end of
the hour. A run is a pure function of (scenario, plan, seed, code version) (DESIGN rule 7).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import time
from collections.abc import Iterator

import mesa
import numpy as np
import pandas as pd
import simpy

from sim.hazard import HazardField, Terrain, build_hazard, derive, scaled
from sim.ops.claim import Claim
from sim.ops.log import Ev, EventLog, RunRecord
from sim.ops.operation import Operation
from sim.populations import POPULATION_CLASSES, Incidents, Population
from sim.rng import Streams
from sim.scenario import Scenario
from sim.vocab import HAZARD_STATE, HAZARD_VARIABLES, ROLES
from sim.world import ClaimFacts, WorldAhead, claim_facts


class ClaimsModel(mesa.Model):
    """The world and the operation for one scenario, plan and seed.

    Drive it from outside with `step()` (one hour), `run_for(n)`, `run_until(t)` or `run()`;
    read it with `spec` (the resolved scenario), `hour`, `claims`, `claim_count`, `log`, `snapshot` (queues and
    staff at the end of the last hour), `record()` and `datacollector`. After `record(release=True)` only the
    scenario, hazard, clock, `claim_count`, timings and hourly series remain (a finished run's last reading).
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, hours: int | None = None,
                 world_process: bool = False) -> None:
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.spec = scenario  # `Model.scenario` is Mesa's own experiment object
        self.seed = seed
        self.horizon_h = scenario.duration_h if hours is None else max(1, min(int(hours), scenario.duration_h))
        self.streams = Streams(seed)
        self.hazard: HazardField = build_hazard(scenario)
        self.env = simpy.Environment()
        self.log = EventLog()
        self.released = False   # set once record(release=True) has emptied the log
        self.claims: list[Claim] = []
        self.incidents_by_hour: list[int] = []
        self.ops = Operation(self.env, scenario, self.hazard, self.log)
        self.populations: dict[str, Population] = {}
        first_id = 1
        for name, cls in POPULATION_CLASSES.items():
            self.populations[name] = cls(self, scenario, first_id)
            first_id += self.populations[name].n
        self._clock_offset_h = scenario.start.hour + scenario.start.minute / 60.0
        # wall-clock seconds spent in each half of the step (for benchmarks; never part of a result)
        self.timings = {"world_s": 0.0, "operation_s": 0.0}
        self.snapshot: dict[str, float] = self.ops.snapshot()
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        # `world_process`: the world's hours computed ahead in a second process (sim.world.WorldAhead; a batch
        # run from hour 0 to the horizon, with nothing changing the world meanwhile: no tabletop, no injects).
        # This model's own policyholders then stay as built (its claims come from the other process's).
        self._ahead: WorldAhead | None = WorldAhead(scenario, seed, self.horizon_h) if world_process else None

    # ------------------------------------------------------------------ clock

    @property
    def hour(self) -> int:
        """Hours simulated so far."""
        return int(self.time)

    def hour_of_day(self, hour: int) -> int:
        return int(self._clock_offset_h + hour) % 24

    # ------------------------------------------------------------------ stepping

    def step(self) -> None:
        """Simulate the hour [h, h+1): hazard response and incidents, then the operation catches up."""
        h = self.steps - 1
        if h >= self.horizon_h:  # stepping past the horizon simulates nothing
            self.running = False
            return
        before = len(self.claims)
        t0 = time.perf_counter()
        if self._ahead is not None:
            for facts in self._ahead.hour(h):
                self.make_claims(facts)
        else:
            for population in self.populations.values():
                self.intake(population, population.step(h))
        self.incidents_by_hour.append(len(self.claims) - before)
        t1 = time.perf_counter()
        self.ops.calendar.release(h)
        self.env.run(until=h + 1)
        self.timings["world_s"] += t1 - t0
        self.timings["operation_s"] += time.perf_counter() - t1
        self.snapshot = self.ops.snapshot()
        self.datacollector.collect(self)
        if h + 1 >= self.horizon_h:
            self.running = False
            self._close_world_process()

    def _close_world_process(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            if self._ahead.peak_mb is not None:
                self.timings["world_process_peak_mb"] = self._ahead.peak_mb
            self._ahead = None

    def run_until(self, end_time: float) -> None:
        """Advance to `end_time` hours, never past the horizon."""
        end = min(float(end_time), float(self.horizon_h))
        if end > self.time:
            super().run_until(end)
        self.running = self.time < self.horizon_h

    def run_for(self, duration: float) -> None:
        """Advance `duration` hours, never past the horizon."""
        self.run_until(self.time + duration)

    # ------------------------------------------------------------------ changes from outside (tabletop)

    def scale_hazard(self, region: str | None, variables: list[str], factor: float, add: dict[str, float],
                     start: int, end: int) -> None:
        """Scale the storm in a region (every region if None) over hours [start, end); past hours stay as they were."""
        hz = self.hazard
        rows = list(range(len(hz.region_ids))) if region is None else [hz.region_ids.index(region)]
        raw = scaled({v: getattr(hz, v) for v in HAZARD_VARIABLES}, rows, variables, factor, add, start,
                            min(end, hz.hours))
        self.hazard = derive(hz.region_ids, raw, Terrain.of(self.spec))
        self.ops.hazard = self.hazard

    def replan(self, scenario: Scenario) -> list[str]:
        """Switch to another plan of the same world from the current hour (a tabletop decision)."""
        notes = self.ops.replan(scenario)
        self.spec = scenario
        for population in self.populations.values():
            population.replan(scenario)
        return notes

    def run(self, progress: object | None = None) -> None:
        """Run to the horizon; `progress(hour, horizon)` is called after every hour."""
        with fewer_collections():
            while self.running:
                self.step()
                if callable(progress):
                    progress(self.hour, self.horizon_h)

    def intake(self, population: Population, incidents: Incidents) -> None:
        """Turn a population's incidents into claims: loss, reporting channel and delay, then the operation.

        Each claim draws from uniforms keyed by who, what and which time (never the plan), so the same
        incident has the same loss, channel and work content under every plan (common random numbers).
        """
        self.make_claims(claim_facts(self.spec, self.hazard, self.streams, population, incidents))

    def make_claims(self, facts: ClaimFacts) -> None:
        """The claims of one population's hour, from their facts (sim.world.claim_facts), handed to the operation."""
        agent_type, population = facts.singular, facts.population
        for key, base, agent_id, region, name, incident_h, loss, value, bi, channel, report_at_h in zip(
                facts.keys, facts.bases, facts.agent_ids, facts.regions, facts.incident_types, facts.incident_h,
                facts.losses, facts.values, facts.bi_cover, facts.channels, facts.report_at_h, strict=True):
            claim = Claim(claim_id=len(self.claims), key=key, agent_type=agent_type, agent_id=agent_id,
                          region=region, incident_type=name, incident_h=incident_h, loss_amount=loss, base=base,
                          population=population, value=value, bi_cover=bi)
            claim.channel = channel
            self.register_claim(claim, report_at_h)

    def register_claim(self, claim: Claim, report_at_h: float) -> None:
        """Record an incident in the log and hand the claim to the operation."""
        self.claims.append(claim)
        self.log.add(claim.incident_h, claim.claim_id, Ev.INCIDENT)
        self.ops.submit(claim, report_at_h)

    # ------------------------------------------------------------------ reading the run

    def record(self, release: bool = False) -> RunRecord:
        """The log, claim facts and staff of the run so far, for `sim.metrics`. With `release` the run is over:
        the event log's own buffers are emptied as they are copied (a second record() is refused)."""
        if self.released:
            raise RuntimeError("this run's event log was released by an earlier record(release=True)")
        rids = self.spec.region_ids
        claims = pd.DataFrame({
            "claim_id": np.array([c.claim_id for c in self.claims], dtype=np.int64),
            "agent_type": pd.Series([c.agent_type for c in self.claims], dtype=object),
            "agent_id": np.array([c.agent_id for c in self.claims], dtype=np.int64),
            "region": pd.Series([rids[c.region] for c in self.claims], dtype=object),
            "incident_type": pd.Series([c.incident_type for c in self.claims], dtype=object),
            "loss_amount": np.array([c.loss_amount for c in self.claims], dtype=np.float64),
            "channel": pd.Series([c.channel for c in self.claims], dtype=object),
            "incident_h": np.array([c.incident_h for c in self.claims], dtype=np.float64),
        })
        roles = self.spec.operations.staff
        staff = pd.DataFrame({
            "staff_id": [s.staff_id for s in self.ops.staff],
            "role": [s.role for s in self.ops.staff],
            "pool": [s.pool for s in self.ops.staff],
            "slots": [s.slots for s in self.ops.staff],
            "shift_start_h": [s.roster.start_h for s in self.ops.staff],
            "shift_end_h": [s.roster.end_h for s in self.ops.staff],
            "hourly_cost": [s.hourly_cost for s in self.ops.staff],
            "overtime_factor": [roles[s.role].overtime_factor for s in self.ops.staff],
            "standard_hours_per_day": [roles[s.role].standard_hours_per_day for s in self.ops.staff],
            "fee_per_job": [roles[s.role].fee_per_job for s in self.ops.staff],
        })
        # Incidents are logged when drawn, at their time within the hour; nothing later than now counts.
        claims = claims[claims["incident_h"] <= self.time].reset_index(drop=True)
        if release:
            self._shed()
        events = self.log.ordered(float(self.time), release)
        self.released = release
        return RunRecord(events, claims, staff, float(self.time), tuple(rids), self._clock_offset_h)

    @property
    def claim_count(self) -> int:
        """Claims made so far (still known once `record(release=True)` has let go of the claims themselves)."""
        return self._claim_count if self.released else len(self.claims)

    def _shed(self) -> None:
        """The run is over and its claims are in a table: let go of what only running it needed (each claim's
        object and open story, the SimPy operation, the policyholders and their agents) before the event log is
        sorted and the figures are made. Kept: the scenario, hazard, clock, hourly series and timings."""
        self._claim_count = len(self.claims)
        self._close_world_process()
        self.claims = []
        self.remove_all_agents()
        self.populations = {}
        self.ops = None  # type: ignore[assignment]
        self.env = None  # type: ignore[assignment]
        gc.collect()

    # ------------------------------------------------------------------ hourly series

    def _reporters(self) -> dict[str, object]:
        reporters: dict[str, object] = {
            "hour": lambda m: m.steps - 1,
            "incidents": lambda m: m.incidents_by_hour[-1],
        }
        variables = HAZARD_VARIABLES + HAZARD_STATE
        for r, rid in enumerate(self.spec.region_ids):
            for var in variables:
                reporters[f"{var}.{rid}"] = functools.partial(_hazard_value, var, r)
        for role in ROLES:
            for what in ("waiting", "on_duty", "busy"):
                reporters[f"{what}_{role}"] = functools.partial(_snapshot_value, f"{what}_{role}")
        return reporters


def _hazard_value(variable: str, region: int, model: ClaimsModel) -> float:
    return float(getattr(model.hazard, variable)[region, model.steps - 1])


def _snapshot_value(key: str, model: ClaimsModel) -> float:
    return model.snapshot[key]


# A run makes millions of short-lived objects (claims, jobs, SimPy events) and keeps millions alive for weeks (a
# catastrophe's open claims); Python's cyclic collector would walk them again and again (a young-generation pass
# every 100,000 allocations cost ~4% of the national flood's operation) to find next to nothing: reference
# counting frees what a run lets go of (the 1:10 national flood leaves 111 unreachable objects in all, and the
# same resident memory with the collector off; tests/test_model.py keeps it so). So a run has no automatic
# collection; what existed before it is frozen (never walked again), and both are undone after it.


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
