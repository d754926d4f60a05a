"""Scenario files: the typed, frozen schema and a loader whose errors name file, line and key path.

A scenario file says the world (regions, portfolio, storm over time, baseline operations) and names
plans as overrides deep-merged onto that baseline (DESIGN rule 1). `load_scenario` reads and checks a
file and every plan in it; `ScenarioFile.resolve(plan)` gives the frozen `Scenario` one run uses. The
schema is split by section: populations, storm, operations, measures, events (injects and decisions),
and the scenario that holds them (spec).
"""

from sim.scenario.base import Dist, Frozen
from sim.scenario.events import Decision, Inject, InjectsFile
from sim.scenario.loader import ScenarioFile, deep_merge, load_scenario
from sim.scenario.operations import Move, RosterSpec, StaffRole
from sim.scenario.spec import Expectation, Region, Scenario, cross_check, inject_problems
from sim.scenario.storm import RegionHazard

__all__ = ["Decision", "Dist", "Expectation", "Frozen", "Inject", "InjectsFile", "Move", "Region", "RegionHazard",
           "RosterSpec", "Scenario", "ScenarioFile", "StaffRole", "cross_check", "deep_merge", "inject_problems",
           "load_scenario"]
