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

import contextlib
import os
import pickle
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

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


def peak_mb() -> float | None:
    """This process's own peak resident memory (VmHWM, MiB); None where /proc has no such line."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _serve(scenario: Scenario, seed: int, hours: int, out: BinaryIO) -> None:
    """The world process: every hour's claim facts, in order, then the end with its peak memory."""
    try:
        world = HourlyWorld(scenario, seed)
        for h in range(hours):
            pickle.dump((h, world.hour(h)), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()   # (the pipe holds a few hours: a world far ahead waits here)
        pickle.dump((hours, peak_mb()), out, protocol=pickle.HIGHEST_PROTOCOL)
    except BrokenPipeError:   # the model has stopped listening (closed early): nothing to report
        return
    except BaseException:  # noqa: BLE001 - anything that stops the world is reported to the model, then it exits
        with contextlib.suppress(OSError):
            pickle.dump((-1, traceback.format_exc(limit=4)), out, protocol=pickle.HIGHEST_PROTOCOL)
    with contextlib.suppress(OSError):
        out.flush()


class WorldAhead:
    """A process that computes the world's hours [0, hours) ahead of the model that runs the operation.

    A fresh interpreter (`python -m sim.world`, nothing inherited from this process's threads or main script)
    is given the scenario and seed on its standard input and writes each hour's facts to its standard output;
    the pipe holds a few hours at most, so it runs a little ahead and its memory stays that of the
    policyholders."""

    def __init__(self, scenario: Scenario, seed: int, hours: int) -> None:
        package_root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH"))
                                                           if p)}
        # its own process group: a Ctrl-C at the terminal goes to the model, which stops it (or, gone, breaks its
        # pipe: it ends at its next hour)
        self._proc = subprocess.Popen([sys.executable, "-m", "sim.world"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env, process_group=0)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._out = self._proc.stdout
        try:
            pickle.dump((scenario, seed, hours), self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.close()
        except BrokenPipeError:   # it has stopped already: the first hour says so
            pass
        self.hours = hours
        self._next = 0   # the next hour to read
        self.peak_mb: float | None = None   # the world process's peak memory, once it has finished

    def hour(self, h: int) -> list[ClaimFacts]:
        """Hour h's claim facts (hours are asked for in order, from 0)."""
        try:
            got, payload = pickle.load(self._out)
        except (EOFError, pickle.UnpicklingError, OSError):
            raise RuntimeError(f"the world process stopped before hour {h} (exit code {self._proc.poll()})") \
                from None
        if got == -1:
            raise RuntimeError(f"the world process failed at hour {h}:\n{payload}")
        if got != h:  # pragma: no cover - hours are always asked for in order
            raise RuntimeError(f"the world process sent hour {got}, the model is at hour {h}")
        self._next = h + 1
        return payload

    def close(self) -> None:
        """After the last hour, read its last word (its peak memory); before it, stop it at once."""
        if self._next < self.hours:
            self._proc.kill()
        else:
            try:
                got, payload = pickle.load(self._out)
                if got == self.hours:
                    self.peak_mb = payload
            except (EOFError, pickle.UnpicklingError, OSError):
                pass
        self._out.close()
        self._proc.wait(timeout=30)

    def __del__(self) -> None:
        proc: Any = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


if __name__ == "__main__":
    from sim.world import _serve as serve  # the module's own name, so that what it sends unpickles as sim.world's

    facts_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)   # anything else written to standard output goes to standard error, not into the facts
    serve(*pickle.load(sys.stdin.buffer), out=facts_out)
