"""What every exercise of this server starts from, read from the environment the server sets.

An exercise file (`--exercise`) brings the scenario, plan, seed, MSEL, objectives and lever wording; without
one, the scenario with its own injects (or `--injects FILE`) and no objectives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError
from sim.exercise import Exercise, read_injects
from sim.exercise_file import Drill, load_exercise
from sim.injects import Explained
from sim.scenario import Inject, ScenarioFile, load_scenario
from sim.tabletop.config import ENV_EXERCISE, ENV_HOURS, ENV_INJECTS, ENV_PLAN, ENV_SCENARIO, ENV_SEED


@dataclass(frozen=True)
class Setup:
    """Scenario, plan, seed, injects, horizon and (optionally) the exercise file."""

    file: ScenarioFile
    plan: str = "baseline"
    seed: int | None = None
    injects: list[Inject] | None = None
    hours: int | None = None
    drill: Drill | None = None

    def new_exercise(self) -> Exercise:
        ex = Exercise(self.file, self.plan, self.seed, injects=self.injects, hours=self.hours)
        if self.drill is not None:
            ex.exercise_path = str(self.drill.path)
        return ex

    @property
    def title(self) -> str:
        return self.drill.spec.title if self.drill else self.file.name

    @property
    def lever_words(self) -> dict[str, Explained]:
        return self.drill.lever_words if self.drill else {}


def _int_env(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number, not '{raw}'") from None


def setup_from_env(env: Mapping[str, str] | None = None) -> Setup:
    """The exercise setup from the CLAIMSIM_TABLETOP_* variables; InputError if they are missing or bad."""
    env = os.environ if env is None else env
    exercise = env.get(ENV_EXERCISE, "").strip()
    drill = load_exercise(Path(exercise)) if exercise else None
    scenario = env.get(ENV_SCENARIO, "").strip()
    if drill is not None:
        file = drill.scenario
    elif scenario:
        file = load_scenario(Path(scenario))
    else:
        raise InputError(f"no scenario: set {ENV_SCENARIO} (start the page with `claimsim tabletop SCENARIO`)")
    plan = env.get(ENV_PLAN, "").strip() or (drill.spec.plan if drill else "baseline")
    injects_path = env.get(ENV_INJECTS, "").strip()
    injects = read_injects(Path(injects_path), file) if injects_path else (drill.injects if drill else None)
    seed = _int_env(env, ENV_SEED)
    hours = _int_env(env, ENV_HOURS)
    if drill is not None:
        seed = drill.spec.seed if seed is None else seed
        hours = drill.spec.hours if hours is None else hours
    setup = Setup(file, plan, seed, injects, hours, drill)
    file.resolve(plan)  # an unknown plan fails here, with the scenario's message
    return setup


def error_line(exc: BaseException) -> str:
    """One line for the page: the input error's own line, or the first problem pydantic found."""
    if isinstance(exc, InputError):
        return exc.one_line()
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return f"{where}: {first.get('msg', exc)}" if where else str(first.get("msg", exc))
        except (IndexError, TypeError, KeyError):
            pass
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")
