"""The world's side of an hour: a population's incidents turned into the facts of their claims, and those hours
computed ahead in a second process for a large run.

`claim_facts` is everything `ClaimsModel.intake` decides about a new claim before the operation sees it: its
key and keyed-uniform base, loss, channel and reporting time, drawn from uniforms keyed by who, what and which
time (common random numbers). It reads only the scenario, the hazard, the random streams and the population's
columns, never the operation, so the hours of a batch run can be computed ahead of the operation:
`WorldAhead` starts a process that builds the same policyholders (same scenario and seed, so the same columns)
and sends each hour's facts through a pipe while this process runs the SimPy operation of the hour before.
The claims made from the facts are the same whichever process computed them (the same code on the same numbers;
floats and ints cross the pipe unchanged), so a run's claims, events and figures are byte-identical with or
without it (tests/test_model.py checks).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from sim.hazard import HazardField, build_hazard
from sim.ops.claim import INTAKE_SLOTS, Slot
from sim.populations import POPULATION_CLASSES, Incidents, Population
from sim.rng import Streams, keyed_uniforms
from sim.scenario import Scenario


@dataclass
class ClaimFacts:
    """New claims of one population in one hour, a list per fact (in policyholder order)."""

    population: str
    singular: str
    keys: list[int] = field(default_factory=list)
    bases: list[int] = field(default_factory=list)
    agent_ids: list[int] = field(default_factory=list)
    regions: list[int] = field(default_factory=list)
    incident_types: list[str] = field(default_factory=list)
    incident_h: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    bi_cover: list[bool] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    report_at_h: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)


def choose_channel(shares: dict[str, float], u: float) -> str:
    """The reporting channel whose share interval holds u (shares in the scenario's order)."""
    acc = 0.0
    last = "phone"
    for channel, share in shares.items():
        acc += share
        last = channel
        if u < acc:
            return channel
    return last


def claim_facts(spec: Scenario, hazard: HazardField, streams: Streams, population: Population,
                incidents: Incidents) -> ClaimFacts:
    """The facts of the claims a population's incidents of one hour make: loss, reporting channel and time."""
    facts = ClaimFacts(population.name, population.singular)
    records = incidents.records
    if not len(records):
        return facts
    reporting = getattr(spec.behaviour, population.name)
    storm_end = hazard.storm_end_h
    keys = np.array([population.claim_key(i, k, o) for i, k, o in records.tolist()], dtype=np.uint64)
    bases = streams.claim_bases(keys)
    uniforms = keyed_uniforms(bases, INTAKE_SLOTS)  # the rest are drawn as the claim's story needs them
    facts.keys = keys.tolist()
    facts.bases = bases.tolist()
    for j, (index, kind, _occurrence) in enumerate(records.tolist()):
        u = uniforms[j]
        region = int(population.region[index])
        name = population.incident_types[kind]
        incident_h = incidents.hour + float(u[Slot.INCIDENT_OFFSET])
        delay_h = float(reporting.report_delay_h.ppf(float(u[Slot.REPORT_DELAY])))
        report_from = max(incident_h, float(storm_end[region])) if reporting.report_after_storm else incident_h
        facts.agent_ids.append(population.agent_id(index))
        facts.regions.append(region)
        facts.incident_types.append(name)
        facts.incident_h.append(incident_h)
        facts.losses.append(round(population.loss(index, name, incidents.hour, float(u[Slot.LOSS])), 2))
        facts.values.append(population.value(index))
        facts.bi_cover.append(population.bi_covered(index))
        facts.channels.append(choose_channel(reporting.channels, float(u[Slot.CHANNEL])))
        facts.report_at_h.append(report_from + delay_h)
    return facts


class HourlyWorld:
    """The policyholders, hazard and random streams of a model, without its operation (the world process)."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.spec = scenario
        self.streams = Streams(seed)
        self.hazard = build_hazard(scenario)
        self._clock_offset_h = scenario.start.hour + scenario.start.minute / 60.0
        self.populations: dict[str, Population] = {}
        first_id = 1   # as ClaimsModel numbers them
        for name, cls in POPULATION_CLASSES.items():
            self.populations[name] = cls(self, scenario, first_id)  # type: ignore[arg-type]
            first_id += self.populations[name].n

    def hour_of_day(self, hour: int) -> int:
        return int(self._clock_offset_h + hour) % 24

    def hour(self, h: int) -> list[ClaimFacts]:
        """Hour h of the world: each population's incidents, as the facts of their claims."""
        return [claim_facts(self.spec, self.hazard, self.streams, p, p.step(h)) for p in self.populations.values()]


def _serve(scenario: Scenario, seed: int, hours: int, conn: Connection) -> None:
    """The world process: every hour's claim facts, in order, then the end."""
    try:
        world = HourlyWorld(scenario, seed)
        for h in range(hours):
            conn.send((h, world.hour(h)))
    except BaseException:  # noqa: BLE001 - anything that stops the world is reported to the model, then it exits
        conn.send((-1, traceback.format_exc(limit=4)))
    finally:
        conn.close()


class WorldAhead:
    """A process that computes the world's hours [0, hours) ahead of the model that runs the operation.

    The pipe holds a few hours at most (the world process waits when it is full), so it runs at most a little
    ahead and its memory stays that of the policyholders. Started with `spawn`: a clean interpreter, nothing
    inherited from this process's threads (a progress bar's, a library's)."""

    def __init__(self, scenario: Scenario, seed: int, hours: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_serve, args=(scenario, seed, hours, child), daemon=True,
                                 name="claimsim-world")
        self._proc.start()
        child.close()
        self.hours = hours

    def hour(self, h: int) -> list[ClaimFacts]:
        """Hour h's claim facts (hours are asked for in order, from 0)."""
        try:
            got, payload = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"the world process stopped before hour {h} (exit code {self._proc.exitcode})") \
                from None
        if got == -1:
            raise RuntimeError(f"the world process failed at hour {h}:\n{payload}")
        if got != h:  # pragma: no cover - hours are always asked for in order
            raise RuntimeError(f"the world process sent hour {got}, the model is at hour {h}")
        return payload

    def close(self) -> None:
        """Stop the process (at once if it is still computing hours nobody will ask for)."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=10)
        self._conn.close()

    def __del__(self) -> None:
        proc: Any = getattr(self, "_proc", None)
        if proc is not None and proc.pid is not None and proc.pid != os.getpid() and proc.is_alive():
            proc.terminate()
