"""Named branches of one tabletop exercise: fork at any past hour, undo, go back, compare at the same hour.

A branch is an `Exercise`. Forking re-runs the parent from hour 0 with the same seed and its actions before
the fork hour, so two branches share every random stream and differ by what the room did differently.
Branches are compared at the same simulated hour (the earlier of the two clocks, or one chosen before it):
the figures of the branch that is further on are taken as they stood at that hour. All branches write into
one hot wash (notes) and one improvement plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from sim.errors import InputError
from sim.exercise import Exercise
from sim.figures import Figure, figure

MAIN = "main"
NAME = re.compile(r"^[\w][\w .+()'-]{0,39}$")
# The figures a branch comparison shows, in this order.
COMPARED: tuple[Figure, ...] = tuple(figure(n) for n in (
    "claims", "claims_settled", "claims_open", "latency_p50", "latency_p90", "first_contact_mean",
    "first_payment_mean", "abandonment", "service_level_20s", "lost_customers", "peak_backlog", "cost"))


@dataclass
class Branch:
    """One line of play: its exercise, and where it came from."""

    name: str
    exercise: Exercise
    parent: str | None = None
    forked_at: int | None = None
    how: str = "the exercise as played"


@dataclass(frozen=True)
class ComparedFigure:
    figure: Figure
    a: float | None
    b: float | None

    @property
    def difference(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class Comparison:
    """Two branches at the same simulated hour: figures side by side and their hourly series up to it."""

    a: str
    b: str
    hour: int
    rows: list[ComparedFigure]
    series_a: pd.DataFrame
    series_b: pd.DataFrame


class Branches:
    """The branches of one exercise, by name (the first is `main`)."""

    def __init__(self, first: Exercise, name: str = MAIN) -> None:
        self._all: dict[str, Branch] = {name: Branch(name, first)}

    @property
    def names(self) -> list[str]:
        return list(self._all)

    def __getitem__(self, name: str) -> Exercise:
        return self.branch(name).exercise

    def __contains__(self, name: object) -> bool:
        return name in self._all

    def branch(self, name: str) -> Branch:
        if name not in self._all:
            raise InputError(f"no branch named '{name}' (branches: {', '.join(self._all)})", key_path="branch")
        return self._all[name]

    def _new_name(self, wanted: str, base: str) -> str:
        name = " ".join(wanted.split())
        if name:
            if not NAME.match(name):
                raise InputError("a branch name is 1 to 40 letters, digits, spaces or .+()'- ", key_path="branch")
            if name in self._all:
                raise InputError(f"there is already a branch named '{name}'", key_path="branch")
            return name
        n = 1
        while f"{base} {n}" in self._all:
            n += 1
        return f"{base} {n}"

    def fork(self, source: str, at_h: int | None = None, name: str = "") -> str:
        """A new branch from `source` at a past hour (default: its current hour); returns its name."""
        parent = self[source]
        at = parent.hour if at_h is None else int(at_h)
        child = parent.fork(at)
        new = self._new_name(name, "branch")
        self._all[new] = Branch(new, child, source, at, f"forked from {source} at hour {at}")
        return new

    def counterfactual(self, source: str, name: str = "") -> str:
        """A branch with the same storm and injects as `source` and none of its decisions, at the same hour."""
        child = self[source].counterfactual()
        new = self._new_name(name, "no decisions")
        self._all[new] = Branch(new, child, source, 0, f"{source} without its decisions")
        return new

    def undo(self, name: str) -> str:
        """Take back the last decision of a branch (everything else kept, same hour); returns its title."""
        b = self.branch(name)
        b.exercise, decision = b.exercise.undo()
        return decision.title

    def rewind(self, name: str, hour: int) -> str | None:
        """Go back to an earlier hour of a branch and play on from there. What the room did at or after that
        hour is kept in a new branch (returned), so nothing is lost; None when there was nothing to keep."""
        b = self.branch(name)
        ex = b.exercise
        if not 0 <= hour <= ex.hour:
            raise InputError(f"go back to an hour between 0 and {ex.hour}", key_path="hour")
        kept = None
        if any(a.hour >= hour for a in ex.actions):
            wanted = f"{name} (to hour {ex.hour})"
            kept = self._new_name(wanted if NAME.match(wanted) and wanted not in self._all else "", "kept")
            self._all[kept] = Branch(kept, ex, b.parent, b.forked_at, f"{name} as it was before going back")
        b.exercise = ex.fork(hour)
        return kept

    def close(self, name: str) -> None:
        """Drop a branch (not the first one)."""
        if name == self.names[0]:
            raise InputError(f"the branch '{name}' is the exercise itself: it stays", key_path="branch")
        self.branch(name)
        del self._all[name]

    def compare(self, a: str, b: str, hour: int | None = None) -> Comparison:
        """Branches `a` and `b` at the same simulated hour: the earlier of their clocks, or `hour` before it."""
        ea, eb = self[a], self[b]
        common = min(ea.hour, eb.hour)
        at = common if hour is None else int(hour)
        if not 0 <= at <= common:
            raise InputError(f"compare at an hour both branches have reached (0 to {common})", key_path="hour")
        fa, fb = ea.figures_at(at), eb.figures_at(at)
        rows = [ComparedFigure(f, f.value(fa), f.value(fb)) for f in COMPARED]
        return Comparison(a, b, at, rows, ea.series_at(at), eb.series_at(at))
