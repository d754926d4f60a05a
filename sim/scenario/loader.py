"""Loading scenario files and plans files: read, check every plan, and resolve a plan to a frozen Scenario.

A scenario file says the world and names plans as overrides deep-merged onto its baseline (DESIGN rule
1); a plans file (`--plans-file`) adds plans that several scenarios share. A plan may `extends:` another
plan (of the same file or the scenario), so a family of plans says only what differs. Every error names
the file and line where it should be fixed: the plans file's own line for a plan read from it, the hazard
CSV's row for a keyframe read from a CSV.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import math
import re
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.inputs import Lines, explain, key_path, line_of, mapping_start, read_bytes, read_yaml
from sim.scenario.spec import _LOADER_CHECKS, PLAN_KEYS, REPLACED_WHOLE, Scenario, cross_check
from sim.vocab import HAZARD_VARIABLES

PLAN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_PLANS = 1000
MAX_HAZARD_CSV_ROWS = 100_000


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else in `override` (and share maps, REPLACED_WHOLE) replaces `base`."""
    if isinstance(base, dict) and isinstance(override, dict):
        if "dist" in override:  # a distribution given in full replaces the old one, whatever its family
            return copy.deepcopy(override)
        merged = dict(base)
        for key, value in override.items():
            merged[key] = (deep_merge(base[key], value) if key in base and key not in REPLACED_WHOLE
                           else copy.deepcopy(value))
        return merged
    return copy.deepcopy(override)


class ScenarioFile:
    """A checked scenario file: its baseline, its plans, and where each key stands in the file."""

    def __init__(self, path: Path, raw: dict[str, Any], lines: Lines, digest: str,
                 files: dict[tuple, Path] | None = None) -> None:
        self.path = path
        self.lines = lines
        self.files = files or {}  # key paths that come from another file (hazard CSV rows)
        self.sha256 = digest
        raw_plans = raw.pop("plans", None) or {}
        self._base = raw
        self.plans: dict[str, str] = {"baseline": ""}
        self._raw_plans: dict[str, dict[str, Any]] = {}
        self._resolved: dict[str, Scenario] = {}
        self._plan_files: dict[str, tuple[Path, Lines]] = {}  # plans read from a plans file
        if not isinstance(raw_plans, dict):
            raise self._error(("plans",), "expected a mapping of plan name to overrides")
        self._check_plans(raw_plans)

    def add_plans_file(self, path: str | Path) -> list[str]:
        """Add the plans of a separate YAML file (top-level `plans:`), checked against this scenario."""
        file = Path(path)
        raw, lines, _ = read_yaml(file, "plans file")
        unknown = sorted(set(raw) - {"plans", "description"})
        if unknown:
            raise InputError("a plans file has only `plans:` (and a `description:`)", file=file,
                             line=lines.get((unknown[0],)), key_path=unknown[0])
        plans = raw.get("plans")
        if not isinstance(plans, dict) or not plans:
            raise InputError("expected a mapping of plan name to overrides", file=file,
                             line=line_of(lines, ("plans",)) or 1, key_path="plans")
        for name in plans:
            if name in self.plans:
                raise InputError(f"plan '{name}' is also defined in {self.path}", file=file,
                                 line=lines.get(("plans", name)), key_path=f"plans.{name}")
            self._plan_files[str(name)] = (file, lines)
        self._check_plans(plans)
        return list(plans)

    def _check_plans(self, plans: dict[str, Any]) -> None:
        if len(self.plans) + len(plans) > MAX_PLANS:
            raise self._error(("plans",), f"more than {MAX_PLANS} plans")
        for name, body in plans.items():
            name = str(name)
            body = body or {}
            if not isinstance(body, dict):
                raise self._error(("plans", name), "a plan is a mapping of overrides")
            if not PLAN_NAME.fullmatch(name):
                raise self._error(("plans", name), "plan names use letters, digits, '-', '_' and '.'")
            if name == "baseline" and set(body) - {"description"}:
                raise self._error(("plans", name), "the baseline plan is the scenario itself: it may only have a "
                                  "description (put its settings in the scenario, or name the plan otherwise)")
            unknown = sorted(set(body) - PLAN_KEYS)
            if unknown:
                raise self._error(("plans", name, unknown[0]),
                                  f"a plan may only override {', '.join(sorted(PLAN_KEYS))}")
            if "extends" in body and not isinstance(body["extends"], str):
                raise self._error(("plans", name, "extends"), "the name of another plan")
            self._raw_plans[name] = body
            self.plans[name] = str(body.get("description", "") or "")
        for name in plans:  # check every plan now: a typo in a plan must not wait for its run
            self.resolve(str(name))
        for i, exp in enumerate(self.resolve("baseline").expectations):
            if exp.plan not in self.plans and not self._plan_files:
                raise self._error(("expectations", i, "plan"),
                                  f"no plan named '{exp.plan}' (plans: {', '.join(self.plans)})")

    @property
    def name(self) -> str:
        return str(self._base.get("name", self.path.stem))

    def plan_source(self, plan: str) -> Path:
        """The file a plan is written in (the scenario, or a plans file)."""
        return self._plan_files[plan][0] if plan in self._plan_files else self.path

    def _error(self, path: tuple, message: str, kind: str = "") -> InputError:
        where = path[:-1] if kind == "missing" else path
        if len(path) >= 2 and path[0] == "plans" and path[1] in self._plan_files:
            file, lines = self._plan_files[path[1]]
            return InputError(message, file=file, line=line_of(lines, where) or mapping_start(lines),
                              key_path=key_path(path))
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.files:  # a key read from a hazard CSV: name that file and row
                return InputError(message, file=self.files[path[:cut]], line=self.lines.get(path[:cut]),
                                  key_path=key_path(path[cut:]) or None)
        line = (line_of(self.lines, where) if where else None) or mapping_start(self.lines)
        return InputError(message, file=self.path, line=line, key_path=key_path(path) or None)

    def _plan_body(self, plan: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        """A plan's overrides with those of the plans it extends merged under them."""
        body = dict(self._raw_plans.get(plan, {}))
        parent = body.pop("extends", None)
        if parent is None:
            return body
        if parent in seen + (plan,):
            raise self._error(("plans", plan, "extends"), "plans extend each other in a circle: "
                              + " -> ".join(seen + (plan, parent)))
        if parent not in self.plans:
            raise self._error(("plans", plan, "extends"),
                              f"no plan named '{parent}' (plans: {', '.join(self.plans)})")
        inherited = self._plan_body(parent, seen + (plan,))
        inherited.pop("description", None)
        return deep_merge(inherited, body)

    def resolve(self, plan: str = "baseline") -> Scenario:
        """The frozen scenario for `plan`: the baseline with the plan's overrides deep-merged on."""
        if plan in self._resolved:
            return self._resolved[plan]
        if plan not in self.plans:
            raise InputError(f"no plan named '{plan}' (plans: {', '.join(self.plans)})",
                             file=self.path, line=self.lines.get(("plans",)), key_path="plans")
        body = self._plan_body(plan)
        description = str(body.pop("description", ""))
        data = deep_merge(self._base, body)
        data["plan"] = plan
        data["plan_description"] = description
        token = _LOADER_CHECKS.set(True)
        try:
            scenario = Scenario.model_validate(data)
        except Exception as exc:
            if not hasattr(exc, "errors"):
                raise
            loc, msg, kind = explain(exc, data)  # type: ignore[arg-type]
            raise self._located(plan, body, loc, msg, kind) from None
        finally:
            _LOADER_CHECKS.reset(token)
        problems = cross_check(scenario)
        if problems:
            loc, msg = problems[0]
            raise self._located(plan, body, loc, msg)
        self._resolved[plan] = scenario
        return scenario

    def variant(self, overrides: dict[str, Any], plan: str = "baseline") -> Scenario:
        """The plan's scenario with `overrides` deep-merged on top, as one more plan would be (validated).

        For experiments that vary a setting programmatically (validation, sweeps, optimize); any top-level
        key may be overridden, e.g. {"duration_h": 100, "operations": {"staff": {"phone": {"headcount": 9}}}}.
        """
        base = self.resolve(plan).model_dump(mode="python", by_alias=True, exclude_unset=False)
        data = deep_merge(base, overrides)
        try:
            return Scenario.model_validate(data)
        except Exception as exc:
            if not hasattr(exc, "errors"):
                raise
            loc, msg, _ = explain(exc, data)  # type: ignore[arg-type]
            raise InputError(msg, file=self.path, key_path=key_path(loc) or None) from None

    def _located(self, plan: str, body: dict[str, Any], loc: tuple, message: str, kind: str = "") -> InputError:
        """The error at the key of the plan that set it (this plan or one it extends), else at the baseline's."""
        owner = self._owner(plan, loc)
        return self._error(("plans", owner) + loc if owner else loc, message, kind)

    def _owner(self, plan: str, loc: tuple) -> str | None:
        """The plan (this one, or one it extends) whose own overrides set the key at `loc`; None: the baseline."""
        seen: set[str] = set()
        current: str | None = plan
        while current and current != "baseline" and current not in seen:
            seen.add(current)
            raw = self._raw_plans.get(current, {})
            node: Any = raw
            sets = bool(loc)
            for part in loc:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, dict):
                    sets = False  # this plan does not touch the key
                    break
                else:
                    break  # the plan replaced this value whole
            if sets:
                return current
            parent = raw.get("extends")
            current = parent if isinstance(parent, str) else None
        return None


def _read_hazard_csv(base_dir: Path, spec: dict[str, Any], region: str, file: Path,
                     lines: Lines) -> tuple[list[tuple[dict[str, Any], int]], bytes, Path]:
    """Rows of a hazard CSV file as keyframes, each with its line in the file.

    A file that is not a hazard CSV is named with the problem; its contents are never echoed.
    """
    where = ("hazard", region, "csv")
    csv_path = (base_dir / str(spec["csv"])).resolve()
    if not csv_path.is_file():
        raise InputError(f"hazard file not found: {csv_path}", file=file, line=lines.get(where),
                         key_path=key_path(where))
    data = read_bytes(csv_path, "hazard CSV")
    rows: list[tuple[dict[str, Any], int]] = []
    try:
        text = data.decode("utf-8-sig")  # spreadsheets write a byte-order mark
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (a hazard CSV is expected)", file=csv_path) from None
    if "\x00" in text:
        raise InputError("not a text file (a hazard CSV is expected)", file=csv_path)
    reader = csv.DictReader(text.splitlines())
    allowed = {"h", *HAZARD_VARIABLES}
    try:
        columns = reader.fieldnames or []
    except csv.Error:
        raise InputError("not a CSV file (a hazard CSV is expected)", file=csv_path, line=1) from None
    if "h" not in columns:  # not a hazard CSV at all: say so, without echoing its contents
        raise InputError(f"not a hazard CSV: the first line must name the columns h and any of "
                         f"{', '.join(HAZARD_VARIABLES)}", file=csv_path, line=1)
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        name = unknown[0][:40] if unknown[0].isprintable() else "?"
        raise InputError(f"unknown column (expected h and any of {', '.join(HAZARD_VARIABLES)})",
                         file=csv_path, line=1, key_path=name)
    try:
        for row in reader:
            if len(rows) >= MAX_HAZARD_CSV_ROWS:
                raise InputError(f"more than {MAX_HAZARD_CSV_ROWS:,} rows", file=csv_path, line=reader.line_num)
            frame: dict[str, Any] = {}
            for key, value in row.items():
                if key is None:
                    raise InputError("more values than columns", file=csv_path, line=reader.line_num)
                if value is None or value.strip() == "":
                    continue
                try:
                    number = float(value)
                except ValueError:
                    shown = value.strip()[:20] if value.strip().isprintable() else "?"
                    raise InputError(f"expected a number, got '{shown}'", file=csv_path, line=reader.line_num,
                                     key_path=key) from None
                if not math.isfinite(number):
                    raise InputError("numbers must be finite", file=csv_path, line=reader.line_num, key_path=key)
                frame[key] = number
            rows.append((frame, reader.line_num))
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", file=csv_path, line=reader.line_num) from None
    return rows, data, csv_path


def load_scenario(path: str | Path) -> ScenarioFile:
    """Read, check and resolve every plan of a scenario file; raises `InputError` on any problem."""
    file = Path(path)
    raw, lines, raw_bytes = read_yaml(file, "scenario file")
    digest = hashlib.sha256(raw_bytes)
    files: dict[tuple, Path] = {}
    hazard = raw.get("hazard")
    if isinstance(hazard, dict):
        for region, spec in hazard.items():
            if isinstance(spec, dict) and spec.get("csv"):
                rows, data, csv_path = _read_hazard_csv(file.parent, spec, region, file, lines)
                digest.update(data)
                own = spec.get("keyframes") or []
                if not isinstance(own, list):
                    raise InputError("expected a list of keyframes", file=file,
                                     line=lines.get(("hazard", region, "keyframes")),
                                     key_path=f"hazard.{region}.keyframes")
                # keyframes from the YAML keep their lines; rows from the CSV point at the CSV file
                merged = [(k, lines.get(("hazard", region, "keyframes", i)), None) for i, k in enumerate(own)]
                merged += [(k, line, csv_path) for k, line in rows]
                merged.sort(key=lambda m: m[0].get("h", 0) if isinstance(m[0], dict) and
                            isinstance(m[0].get("h", 0), (int, float)) else 0)
                spec["keyframes"] = [m[0] for m in merged]
                for i, (_, line, src) in enumerate(merged):
                    path = ("hazard", region, "keyframes", i)
                    if line is not None:
                        lines[path] = line
                    if src is not None:
                        files[path] = src
    return ScenarioFile(file, raw, lines, digest.hexdigest(), files)
