"""The exercise log: what makes a tabletop exercise reproducible, and what the room wrote during it.

The log names the scenario (with its sha256), plan, seed, horizon, scheduled injects and every action of the
room (injects fired by hand, decisions) with the hour it took effect: replaying it from hour 0 gives the same
figures, byte for byte. It also carries what does not change the simulation: the facilitator's timestamped
hot-wash notes and the improvement plan (action, owner, due date), so the after-action report made from a
replay is the one the room saw. Relative paths in a log are read relative to the log's own folder.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sim import __version__
from sim.errors import InputError
from sim.inputs import key_path, line_of, parse_key_path, read_document
from sim.scenario import Decision, Inject, ScenarioFile, load_scenario
from sim.scenario.base import MAX_SEED
from sim.scenario.spec import MAX_DURATION_H, inject_problems

LOG_VERSION = 2  # 2: notes, improvements, exercise file; version 1 logs read the same


class Action(BaseModel):
    """One thing the room did: fire an inject by hand, or take a decision."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kind: str = Field(pattern="^(inject|decision)$")
    hour: int = Field(ge=0, le=MAX_DURATION_H)
    inject: Inject | None = None
    scheduled: int | None = None  # index of the scheduled inject fired ahead of its time
    decision: Decision | None = None


Line = Annotated[str, Field(min_length=1, max_length=4000)]


class HotWashNote(BaseModel):
    """A facilitator's note during play: the simulated hour it refers to, when it was written, by whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hour: int = Field(ge=0)
    text: Line
    by: str = ""
    branch: str = ""
    wall_time: str | None = None


class Improvement(BaseModel):
    """One line of the improvement plan: an action, who owns it, by when (and the objective it serves)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Line
    owner: str = ""
    due: dt.date | None = None
    objective: str = ""


class ExerciseLog(BaseModel):
    """What makes an exercise reproducible; saved as YAML, replayed by `claimsim tabletop --replay`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    version: int = Field(LOG_VERSION, ge=1, le=LOG_VERSION)
    scenario: str
    scenario_sha256: str
    exercise: str | None = None   # the exercise file (objectives, MSEL), when the exercise had one
    plan: str = "baseline"
    seed: int = Field(ge=0, le=MAX_SEED)
    hours: int | None = Field(None, ge=1, le=MAX_DURATION_H)
    reached_h: int = Field(0, ge=0, le=MAX_DURATION_H)
    branch: str = "main"
    injects: list[Inject] = Field(default_factory=list, max_length=10_000)
    actions: list[Action] = Field(default_factory=list, max_length=100_000)
    notes: list[HotWashNote] = Field(default_factory=list, max_length=10_000)
    improvements: list[Improvement] = Field(default_factory=list, max_length=10_000)
    claimsim: str = __version__


def log_yaml(log: ExerciseLog) -> str:
    """The log as YAML (block style, keys in schema order, unset optional keys left out)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(json.loads(log.model_dump_json(exclude_none=True)), buf)
    return buf.getvalue()


def beside(path: Path, name: str) -> Path:
    """A path named in a file, read relative to that file's folder (then to the working folder)."""
    p = Path(name)
    if p.is_absolute():
        return p
    near = path.parent / p
    return near if near.exists() or not p.exists() else p


def read_log(path: Path, scenario: Path | None = None) -> tuple[ExerciseLog, ScenarioFile]:
    """An exercise log and its scenario (`scenario`, or the one the log names); it must be the one the
    exercise ran (same sha256)."""
    path = Path(path)
    log, lines = read_document(path, ExerciseLog, "exercise log")
    return log, _log_scenario(path, log, lines, scenario)


def _log_scenario(path: Path, log: ExerciseLog, lines: dict[tuple, int], scenario: Path | None) -> ScenarioFile:
    scen = Path(scenario) if scenario is not None else beside(path, log.scenario)
    if scenario is None and not scen.is_file():
        raise InputError("scenario file not found (give it on the command line)", file=path,
                         line=lines.get(("scenario",)), key_path="scenario")
    file = load_scenario(scen)
    if file.sha256 != log.scenario_sha256:
        raise InputError(f"the scenario {scen} has changed since the exercise (sha256 differs, now "
                         f"{file.sha256[:12]}): replay with the scenario as it was, or put its new sha256 in the log "
                         "if the change does not matter to the exercise", file=path,
                         line=lines.get(("scenario_sha256",)), key_path="scenario_sha256")
    return file


def checked_log(path: Path, scenario: Path | None = None) -> tuple[ExerciseLog, ScenarioFile, dict[tuple, int]]:
    """An exercise log read and checked against its scenario before any replay: its plan and every inject
    (scheduled or fired by hand) fit the scenario; a problem is one error at the log's own file and line."""
    path = Path(path)
    log, lines = read_document(path, ExerciseLog, "exercise log")
    file = _log_scenario(path, log, lines, scenario)
    if log.plan not in file.plans:
        raise log_error(path, lines, "plan", f"no plan named '{log.plan[:64]}' in {file.path} "
                                             f"(plans: {', '.join(file.plans)})")
    resolved = file.resolve(log.plan)
    problems = inject_problems(resolved, log.injects, ("injects",))
    for i, action in enumerate(log.actions):
        if action.inject is not None:
            problems += inject_problems(resolved, [action.inject], ("actions", i, "inject"))
    if problems:
        loc, msg = problems[0]
        if loc[-1] == "at_h" and loc[0] == "actions":
            loc, msg = loc[:2] + ("hour",), f"after the end of the scenario ({resolved.duration_h} h)"
        raise log_error(path, lines, key_path(loc), msg)
    return log, file, lines


def log_error(path: Path, lines: dict[tuple, int], key: str, message: str) -> InputError:
    """An error at the log's own line for `key` (the document's first line when the key has none)."""
    return InputError(message, file=path, line=line_of(lines, parse_key_path(key)) or 1, key_path=key)
