"""The exercise file: what a facilitator prepares before the room meets (YAML).

It names the scenario, plan and seed, the Master Scenario Events List (MSEL: the injects with their times,
descriptions and the actions expected of the players), the exercise's objectives with measurable targets,
and optional wording for the levers. Objectives measure a registry figure (`figure: abandonment`), an hourly
series over time (`series: backlog_open`, the most at any hour, per region if asked) or the share of customers
a claim event reached within so many hours of the report (`within: {event: first_contact, hours: 24}`).
Paths are relative to the exercise file. Every problem is one line naming the file, line and key path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.errors import InputError
from sim.exercise import read_injects
from sim.exercise_log import beside
from sim.figures import UnknownFigure, figure
from sim.injects import Explained
from sim.inputs import error_at, read_yaml, validate
from sim.levers import LEVERS
from sim.scenario import Inject, ScenarioFile, inject_problems, load_scenario
from sim.scenario.base import Frozen, Name
from sim.scenario.events import Text
from sim.vocab import ROLES, STAGES

SERIES: tuple[str, ...] = ("backlog_open", *(f"backlog_{s}" for s in STAGES),
                           *(f"{k}_{r}" for r in ROLES for k in ("waiting", "on_duty", "busy")))
WITHIN_EVENTS = ("first_contact", "first_payment", "settled")


class Within(Frozen):
    """The share of customers whose claim reached `event` within `hours` of its report."""

    event: Literal[WITHIN_EVENTS]  # type: ignore[valid-type]
    hours: Annotated[float, Field(gt=0, le=8760)]


class Objective(Frozen):
    """An exercise objective with a measurable target; `partly` is the looser bound of "partly met"."""

    id: Annotated[str, Field(min_length=1, max_length=16)]
    title: Text
    capability: str = ""
    figure: str | None = None
    series: Literal[SERIES] | None = None  # type: ignore[valid-type]
    over: Literal["max", "min", "final"] = "max"
    per_region: bool = False
    within: Within | None = None
    at_most: float | None = None
    at_least: float | None = None
    partly: float | None = None

    @model_validator(mode="after")
    def _one_measure_one_target(self) -> Objective:
        measures = [k for k in ("figure", "series", "within") if getattr(self, k) is not None]
        if len(measures) != 1:
            raise ValueError("give exactly one measure: figure, series or within")
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError("give exactly one target: at_most or at_least")
        if self.per_region and self.series != "backlog_open":
            raise ValueError("per_region applies to `series: backlog_open` only")
        if self.partly is not None:
            looser = self.partly > self.at_most if self.at_most is not None else self.partly < self.at_least  # type: ignore[operator]
            if not looser:
                raise ValueError("partly must be looser than the target (above at_most, below at_least)")
        return self

    @property
    def target(self) -> float:
        return self.at_most if self.at_most is not None else self.at_least  # type: ignore[return-value]

    @property
    def lower_is_better(self) -> bool:
        return self.at_most is not None

    @property
    def partly_bound(self) -> float:
        """The bound of "partly met": the file's, or 20% looser than the target."""
        if self.partly is not None:
            return self.partly
        t = self.target
        return t + 0.2 * abs(t) if self.lower_is_better else t - 0.2 * abs(t)


class Evaluation(Frozen):
    """How the after-action report weighs the decisions: over how many seeds, and the response window."""

    seeds: Annotated[int, Field(ge=1, le=50, strict=True)] = 5
    response_window_h: Annotated[int, Field(ge=1, le=72, strict=True)] = 6


class LeverWords(Frozen):
    description: Text
    expected_effect: Text


class ExerciseFile(Frozen):
    """An exercise: scenario, plan, MSEL, objectives."""

    name: Name
    title: Text
    description: str = ""
    scenario: str
    plan: str = "baseline"
    seed: Annotated[int, Field(ge=0, strict=True)] | None = None
    hours: Annotated[int, Field(ge=1, strict=True)] | None = None
    msel: str | None = None               # an injects file; without it, the scenario's own injects
    injects: list[Inject] | None = None   # or the MSEL written here
    objectives: list[Objective] = Field(default_factory=list)
    evaluation: Evaluation = Evaluation()
    levers: dict[str, LeverWords] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_msel(self) -> ExerciseFile:
        if self.msel is not None and self.injects is not None:
            raise ValueError("give the MSEL either as a file (msel) or inline (injects), not both")
        ids = [o.id for o in self.objectives]
        if len(set(ids)) != len(ids):
            raise ValueError("objective ids must differ")
        return self


@dataclass(frozen=True)
class Drill:
    """A loaded exercise file with its scenario and MSEL."""

    path: Path
    spec: ExerciseFile
    scenario: ScenarioFile
    injects: list[Inject]

    @property
    def lever_words(self) -> dict[str, Explained]:
        return {k: Explained(w.description, w.expected_effect) for k, w in self.spec.levers.items()}


def load_exercise(path: Path | str) -> Drill:
    """Read and check an exercise file, its scenario and its MSEL (InputError, one line, on any problem)."""
    path = Path(path)
    raw, lines, _ = read_yaml(path, "exercise file")
    spec = validate(ExerciseFile, raw, path, lines)
    for i, o in enumerate(spec.objectives):
        if o.figure is not None:
            try:
                figure(o.figure)
            except UnknownFigure as exc:
                raise error_at(path, lines, ("objectives", i, "figure"), str(exc)) from None
    for key in spec.levers:
        if key not in LEVERS:
            raise error_at(path, lines, ("levers", key), f"unknown lever '{key}' (levers: {', '.join(LEVERS)})")
    scenario = load_scenario(beside(path, spec.scenario))
    try:
        resolved = scenario.resolve(spec.plan)
    except InputError as exc:
        raise error_at(path, lines, ("plan",), exc.message) from None
    if spec.msel is not None:
        injects = read_injects(beside(path, spec.msel), scenario)
    elif spec.injects is not None:
        problems = inject_problems(resolved, spec.injects, ("injects",))
        if problems:
            raise error_at(path, lines, problems[0][0], problems[0][1])
        injects = list(spec.injects)
    else:
        injects = list(resolved.injects)
    return Drill(path, spec, scenario, injects)
