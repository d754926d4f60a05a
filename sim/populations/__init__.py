"""The policyholders: one module per population (drivers, farmers, firms, ...), each a `Population` subclass.

Every module of this package that defines a Population subclass is found here, so adding a population
is its vocabulary entry (sim/vocab.py), its scenario section (sim/scenario/populations.py) and its own
module in this package: nothing else to register.
"""

from __future__ import annotations

import importlib
import pkgutil

from sim.populations.base import INCIDENT_DTYPE, Incidents, PolicyHolder, Population, World
from sim.vocab import POPULATIONS


def _discover() -> dict[str, type[Population]]:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    found: dict[str, type[Population]] = {}
    stack = list(Population.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        if cls.name and cls.__module__.startswith(__name__ + "."):
            found.setdefault(cls.name, cls)
    missing = [p for p in POPULATIONS if p not in found]
    if missing:  # pragma: no cover - a vocabulary entry without its module
        raise ImportError(f"no Population module for {', '.join(missing)} in sim/populations/")
    return {p: found[p] for p in POPULATIONS}  # in the vocabulary's order (agent ids follow it)


POPULATION_CLASSES: dict[str, type[Population]] = _discover()

__all__ = ["INCIDENT_DTYPE", "POPULATION_CLASSES", "Incidents", "PolicyHolder", "Population", "World"]
