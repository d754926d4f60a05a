"""Lever spaces: which plan settings a search may change, over which range or set, and the scenario's unknowns.

A space file (YAML, read through sim.inputs: every error is one `file:line: key.path: message`) says:

    description: north-china staffing and measures
    plan: baseline                  # the plan the levers change (default baseline)
    base: {}                        # overrides applied to every candidate (extra rosters, say)
    levers:
      phone:    {label: phone agents, path: operations.staff.phone.headcount, range: [10, 30]}
      field_bj: {path: operations.staff.field_survey.headcount.beijing, range: [4, 12]}
      roster:   {path: operations.staff.assessment.roster, set: [office, office_long]}
      fast:     {path: operations.triage.fast_track.max_loss, range: [5000, 20000], step: 1000}
      sms:                          # a set of named options, each a piece of plan
        set: {"off": {}, "on": {measures: {sms_warning: {enabled: true, sent_h: 20}}}}
    uncertain:                      # scenario parameters nobody controls (sensitivity only)
      crash_rate: {path: vulnerability.drivers.crash_per_vehicle_h, factor: [0.7, 1.5]}
      patience:   {path: operations.phone.patience_min.mean, range: [2, 8]}

A lever's `path` is a key path of the plan syntax (scenarios/README.md, "Plan levers"); region ids and
role names are keys like any other. `range: [low, high]` gives whole numbers when both ends are whole (with
an optional `step` and `log: true`); `set:` lists values, or names options that are pieces of plan;
`factor: [low, high]` multiplies the plan's own value. A candidate plan is the levers' values turned into
overrides (`overrides`) deep-merged onto the space's plan, exactly as a plan in a plans file would be.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import InputError
from sim.inputs import Lines, error_at, line_of, read_yaml, validate
from sim.scenario import ScenarioFile, deep_merge

Scalar = bool | int | float | str | None
LeverName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
MAX_LEVERS = 64


class Lever(BaseModel):
    """One lever (or one uncertain parameter): a key path and its range, set or factor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = None
    path: str | None = None
    range: Annotated[list[int | float], Field(min_length=2, max_length=2)] | None = None
    step: Annotated[int | float, Field(gt=0)] | None = None
    log: bool = False
    set: Annotated[list[Scalar], Field(min_length=1)] | dict[str, dict[str, Any]] | None = None
    factor: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Lever:
        kinds = [k for k in ("range", "set", "factor") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of range, set and factor")
        if self.path is None and not isinstance(self.set, dict):
            raise ValueError("give the key path the lever sets (path:), or a set of named plan pieces")
        if self.path is not None and isinstance(self.set, dict):
            raise ValueError("named options are pieces of plan: leave out path")
        bounds = self.range or self.factor
        if bounds is not None:
            lo, hi = bounds
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
                raise ValueError("a range is [low, high] with low < high")
            if self.log and lo <= 0:
                raise ValueError("a log range needs low > 0")
        if self.factor is not None and self.factor[0] < 0:
            raise ValueError("factors are >= 0")
        if (self.step is not None or self.log) and self.range is None:
            raise ValueError("step and log go with a range")
        if self.step is not None and self.log:
            raise ValueError("give either step or log, not both")
        return self

    @property
    def integer(self) -> bool:
        """Whole numbers: a range whose ends (and step) are whole."""
        return (self.range is not None and all(isinstance(x, int) and not isinstance(x, bool) for x in self.range)
                and (self.step is None or isinstance(self.step, int)))

    @property
    def choices(self) -> list[Any]:
        """The values of a set (option names for named options)."""
        if isinstance(self.set, dict):
            return list(self.set)
        return list(self.set or [])

    def ends(self) -> tuple[Any, Any]:
        """The lowest and highest setting (first and last option of a set)."""
        if self.range is not None:
            return self.range[0], self.range[1]
        if self.factor is not None:
            return self.factor[0], self.factor[1]
        c = self.choices
        return c[0], c[-1]

    def unit_value(self, u: float) -> Any:
        """The setting at position u in [0, 1] of the lever's range (sensitivity designs)."""
        if self.range is None and self.factor is None:
            c = self.choices
            return c[min(int(u * len(c)), len(c) - 1)]
        lo, hi = self.ends()
        x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if self.log else lo + u * (hi - lo)
        return self.snap(x)

    def snap(self, x: float) -> int | float:
        """A number of the range rounded to its step (whole numbers for a whole range)."""
        if self.range is None:
            return float(x)
        lo, hi = self.range
        if self.step is not None:
            x = lo + round((x - lo) / self.step) * self.step
        x = min(max(x, lo), hi)
        return int(round(x)) if self.integer else round(float(x), 10)


class Space(BaseModel):
    """A lever space file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    plan: str = "baseline"
    base: dict[str, Any] = Field(default_factory=dict)
    levers: dict[LeverName, Lever] = Field(default_factory=dict)
    uncertain: dict[LeverName, Lever] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> Space:
        both = set(self.levers) & set(self.uncertain)
        if both:
            raise ValueError(f"'{sorted(both)[0]}' is both a lever and an uncertain parameter")
        if len(self.levers) + len(self.uncertain) > MAX_LEVERS:
            raise ValueError(f"more than {MAX_LEVERS} levers and uncertain parameters")
        return self


@dataclass
class LeverSpace:
    """A checked space against one scenario file: the levers, where they stand in the file, their plan values."""

    space: Space
    file: Path
    lines: Lines
    scenario: ScenarioFile
    dump: dict[str, Any]  # the space's plan, resolved, with every default filled in (for current values)

    @property
    def levers(self) -> dict[str, Lever]:
        return dict(self.space.levers)

    @property
    def uncertain(self) -> dict[str, Lever]:
        return dict(self.space.uncertain)

    def label(self, name: str) -> str:
        lever = self.space.levers.get(name) or self.space.uncertain[name]
        return lever.label or name.replace("_", " ")

    def current(self, name: str) -> Any:
        """The value a lever has in the space's plan (None for named options or a missing key)."""
        lever = self.space.levers.get(name) or self.space.uncertain[name]
        if lever.factor is not None:
            return 1.0
        if lever.path is None:
            return None
        return _get(self.dump, lever.path.split("."))

    def overrides(self, values: dict[str, Any]) -> dict[str, Any]:
        """The plan overrides of a candidate: the space's `base` and each named lever's value, merged."""
        out: dict[str, Any] = copy.deepcopy(self.space.base)
        for name, value in values.items():
            lever = self.space.levers.get(name) or self.space.uncertain.get(name)
            if lever is None:
                raise KeyError(name)
            if isinstance(lever.set, dict):
                out = deep_merge(out, lever.set[str(value)])
                continue
            assert lever.path is not None
            keys = lever.path.split(".")
            if lever.factor is not None:
                base = _get(self.dump, keys)
                value = float(base) * float(value)
            out = deep_merge(out, _nest(keys, value))
        return out

    def describe(self, values: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(label, value, value in the space's plan) of each lever, in plain words."""
        return [(self.label(n), show_value(v), show_value(self.current(n))) for n, v in values.items()]


def _get(node: Any, keys: list[str]) -> Any:
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    out: Any = value
    for k in reversed(keys):
        out = {k: out}
    return out


def show_value(v: Any) -> str:
    """A lever's value in plain words (numbers with separators, '-' for none)."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {show_value(x)}" for k, x in v.items())
    return str(v).replace("_", " ")  # plain words: a roster named office_staggered reads "office staggered"


def read_space(path: str | Path, scenario: ScenarioFile) -> LeverSpace:
    """Read a space file and check every lever against the scenario: each end of each range must give a valid
    plan (the error points at the lever's line in the space file)."""
    file = Path(path)
    raw, lines, _ = read_yaml(file, "lever space file")
    space = validate(Space, raw, file, lines)
    if not space.levers and not space.uncertain:
        raise InputError("name at least one lever (levers:) or uncertain parameter (uncertain:)", file=file,
                         line=1)
    if space.plan not in scenario.plans:
        raise error_at(file, lines, ("plan",), f"no plan named '{space.plan}' (plans: {', '.join(scenario.plans)})")
    dump = scenario.resolve(space.plan).model_dump(mode="json", by_alias=True)
    ls = LeverSpace(space, file, lines, scenario, dump)
    try:
        scenario.variant(ls.overrides({}), space.plan)
    except InputError as err:
        raise InputError(err.message, file=file, line=line_of(lines, ("base",)), key_path="base"
                         + (f" ({err.key_path})" if err.key_path else "")) from None
    for section in ("levers", "uncertain"):
        for name, lever in getattr(space, section).items():
            where = (section, name)
            if lever.factor is not None:
                base = _get(dump, lever.path.split(".")) if lever.path else None
                if isinstance(base, bool) or not isinstance(base, (int, float)):
                    raise error_at(file, lines, where + ("path",),
                                   "a factor needs a number at this key path in the plan "
                                   f"(found {show_value(base) if base is not None else 'nothing'})")
            for value in dict.fromkeys([*lever.ends(), *lever.choices]):
                try:
                    scenario.variant(ls.overrides({name: value}), space.plan)
                except InputError as err:
                    raise InputError(f"{show_value(value)} does not make a valid plan: {err.key_path or ''}"
                                     f"{': ' if err.key_path else ''}{err.message}", file=file,
                                     line=line_of(lines, where), key_path=".".join(where)) from None
    return ls
