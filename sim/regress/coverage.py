"""Which code defaults the scenarios under regression exercise.

A setting with a default in the scenario schema (sim/scenario/) is exercised by a scenario and plan that
leave it out: a change to that default then changes their figures, and the check sees it. A default that
every scenario under regression sets for itself is never run by the check at all, so a change to it would
pass unseen; those are listed. Distributions are settings as a whole (their parameters are not defaults).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.regress.config import Target
from sim.scenario.base import Frozen


@dataclass(frozen=True)
class Coverage:
    """Per default (its key path, list items as []), the scenarios whose runs use it."""

    used_by: dict[str, list[str]]

    @property
    def never(self) -> list[str]:
        """Defaults no scenario under regression leaves untouched."""
        return sorted(k for k, v in self.used_by.items() if not v)

    @property
    def exercised(self) -> list[str]:
        return sorted(k for k, v in self.used_by.items() if v)


def _walk(model: BaseModel, prefix: str) -> Iterator[tuple[str, bool]]:
    """(key path, left at its default) for every setting that has a default, recursively."""
    for name, info in type(model).model_fields.items():
        path = f"{prefix}{name}"
        value = getattr(model, name)
        if not info.is_required() and not isinstance(value, Frozen) and _real(info):
            yield path, name not in model.model_fields_set
        yield from _children(value, path, _names_keys(info.annotation))


def _real(info: FieldInfo) -> bool:
    """A default that does something: not None and not an empty list (a feature left out is not a default)."""
    default = info.get_default(call_default_factory=True)
    return default is not None and not (isinstance(default, list | tuple | dict) and not default)


def _names_keys(annotation: Any) -> bool:
    """Whether a mapping is keyed by names the scenario chooses (regions, rosters), not by vocabulary."""
    args = get_args(annotation)
    return bool(args) and get_origin(annotation) is dict and get_origin(args[0]) is not Literal


def _children(value: Any, path: str, collapse: bool = False) -> Iterator[tuple[str, bool]]:
    if isinstance(value, Frozen):
        yield from _walk(value, path + ".")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _children(v, f"{path}.{'*' if collapse else k}")
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _children(v, f"{path}[]")


def defaults_coverage(targets: list[Target]) -> Coverage:
    """For every schema default met in the targets' plans, the scenarios (and plans) whose runs use it."""
    used: dict[str, list[str]] = {}
    for t in targets:
        for plan in dict.fromkeys(t.plans + t.stat_plans):
            for path, default in _walk(t.file.resolve(plan), ""):
                who = used.setdefault(path, [])
                if default and t.name not in who:
                    who.append(t.name)
    for path in list(used):  # labels, the storm's data and planners' expectations are not behaviour
        if path in ("plan", "plan_description", "description") or path.startswith(("expectations", "hazard.*.key")):
            used.pop(path)
    return Coverage(used)
