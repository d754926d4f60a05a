"""Baselines: results/baselines/<scenario>.json, with where they came from, read strictly and written safely.

Each baseline records its provenance: the scenario file's sha256 (with its hazard CSVs), the plans file's,
claimsim's version, a digest of its code, Python's and the main packages' versions. A check reports a
changed scenario or plans file first, in plain words, and fails on it (the baseline was made from other
inputs); other package versions are a warning. A baseline is read before any run starts: bad JSON, a wrong
type, a number that is not finite or a missing key is one line `file:line: key: message` (exit 2).
`--update` writes only over a file claimsim wrote (its first line says so), and says what changed.
"""

from __future__ import annotations

import contextlib
import json
import math
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import __version__
from sim.errors import InputError
from sim.files import SIGNATURE, atomic_write
from sim.inputs import Lines, explain, key_path, line_of, read_bytes, read_yaml
from sim.regress.config import ROOT, Target
from sim.regress.outcome import Note, Row, label, verdict

FORMAT = 2
HEADER = f"{SIGNATURE} regress --update: a scenario regression baseline; regenerate it, do not edit it"
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "simpy", "mesa", "pydantic")
Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
NonNeg = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class Provenance(_Strict):
    scenario_file: str
    scenario_sha256: Sha
    plans_file: str | None
    plans_sha256: Sha | None
    claimsim: str
    code: str
    python: str
    packages: dict[str, str]


class ExactPlan(_Strict):
    figures: dict[str, float | None]
    claims_digest: Sha
    claims: NonNeg


class ExactBlock(_Strict):
    seed: NonNeg
    hours: Annotated[int, Field(ge=1)]
    storm_peak_h: NonNeg
    storm_peak: str
    plans: dict[str, ExactPlan]


class StatBlock(_Strict):
    hours: Annotated[int, Field(ge=1)]
    seeds: list[NonNeg] = Field(min_length=3)
    plans: dict[str, dict[str, list[float | None]]]


class Baseline(_Strict):
    written_by: str
    format: Literal[2]
    scenario: str
    provenance: Provenance
    exact: ExactBlock | None
    stat: StatBlock | None


def baseline_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.json"


def _rel(p: Path | None) -> str | None:
    if p is None:
        return None
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def _sha(p: Path | None) -> str | None:
    import hashlib

    return hashlib.sha256(read_bytes(p, "plans file")).hexdigest() if p else None


def packages() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(t: Target) -> dict[str, Any]:
    """Where a baseline made now for `t` comes from."""
    from sim.execution import code_digest

    return {"scenario_file": _rel(t.path), "scenario_sha256": t.file.sha256, "plans_file": _rel(t.plans_file),
            "plans_sha256": _sha(t.plans_file), "claimsim": __version__, "code": code_digest(),
            "python": platform.python_version(), "packages": packages()}


# ---------------------------------------------------------------------------- reading


def _safe(part: Any) -> Any:
    """A key path part fit to print: no control characters, not too long (never echo a foreign file)."""
    if isinstance(part, int):
        return part
    s = str(part)
    return s[:60] if s.isprintable() else "?"


def _located(path: Path, loc: tuple, message: str, kind: str = "") -> InputError:
    """An error at a key path of the baseline, with its line (found only now: errors are rare)."""
    lines: Lines = {}
    with contextlib.suppress(InputError):  # JSON is YAML: the reader records every key's line
        _, lines, _ = read_yaml(path, "baseline file")
    where = loc[:-1] if kind == "missing" else loc
    line = line_of(lines, where) if where else 1
    if line is None and where and isinstance(where[-1], str):  # not YAML after all: the key's first mention
        with contextlib.suppress(OSError, UnicodeDecodeError):
            token = json.dumps(where[-1]) + ":"
            for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if token in text.replace('": ', '":'):
                    line = i
                    break
    return InputError(message, file=path, line=line, key_path=key_path(tuple(_safe(p) for p in loc)) or None)


def load_baseline(folder: Path, name: str) -> dict[str, Any]:
    """The baseline of scenario `name`, checked whole; any problem is one located InputError."""
    path = baseline_path(folder, name)
    if not path.exists():
        raise InputError(f"no baseline for scenario '{name}': run `claimsim regress --update` and commit it",
                         file=path)
    raw = read_bytes(path, "baseline file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (a baseline JSON file is expected)", file=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"broken baseline (not valid JSON): {exc.msg}", file=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError("broken baseline: nested too deeply", file=path) from None
    if not isinstance(data, dict):
        raise InputError("broken baseline: expected a JSON object", file=path, line=1)
    if "format" not in data and "scenario_sha256" in data:
        raise InputError("a baseline of an older format (no provenance): regenerate it with `claimsim regress "
                         "--update --force`", file=path, line=1)
    try:
        Baseline.model_validate(data)
    except ValidationError as exc:
        loc, msg, kind = explain(exc, data)
        raise _located(path, loc, f"broken baseline: {msg}", kind) from None
    except RecursionError:
        raise InputError("broken baseline: nested too deeply", file=path) from None
    if data["scenario"] != name:
        raise _located(path, ("scenario",), f"this baseline is for another scenario (expected '{name}')")
    stat = data.get("stat")
    if stat:
        n = len(stat["seeds"])
        for plan, figs in stat["plans"].items():
            for fig, values in figs.items():
                if len(values) != n:
                    raise _located(path, ("stat", "plans", plan, fig),
                                   f"broken baseline: {len(values)} values for {n} seeds")
    return data


# ---------------------------------------------------------------------------- provenance


def compare_provenance(t: Target, base: dict[str, Any]) -> tuple[list[Note], list[Row]]:
    """What differs between how the baseline was made and this check: notes said first, failed rows."""
    old, now = base["provenance"], provenance(t)
    notes: list[Note] = []
    rows: list[Row] = []
    name = t.name
    for what, key, file_key in (("scenario file", "scenario_sha256", "scenario_file"),
                                ("plans file", "plans_sha256", "plans_file")):
        if old[key] != now[key]:
            if old[key] is None or now[key] is None:
                text = (f"{name}: the baseline was made {'without' if old[key] is None else 'with'} a {what} "
                        f"({old[file_key] or 'none'}), this check runs {'with' if now[key] else 'without'} one "
                        f"({now[file_key] or 'none'}): run `claimsim regress --update` if that is intended")
            else:
                text = (f"{name}: the {what} {now[file_key]} has changed since its baseline was made (sha256 "
                        f"{old[key][:12]} then, {now[key][:12]} now): figures may differ because of the file, "
                        f"not the code; review the file's change and run `claimsim regress --update`")
            notes.append(Note("fail", name, text))
            rows.append(Row("provenance", name, "-", what, False, str(old[key])[:12], str(now[key])[:12],
                            message=text, verdict="changed"))
    moved = [f"{p} {old['packages'].get(p, 'none')} then, {v} now" for p, v in now["packages"].items()
             if old["packages"].get(p) != v]
    if old["python"] != now["python"]:
        moved.insert(0, f"Python {old['python']} then, {now['python']} now")
    if moved:
        notes.append(Note("warn", name, f"{name}: the baseline was made with other packages ({'; '.join(moved)}): "
                                        "last-digit differences in the exact tier may come from them"))
    if old["claimsim"] != now["claimsim"]:
        notes.append(Note("info", name, f"{name}: the baseline was made by claimsim {old['claimsim']}, this is "
                                        f"{now['claimsim']}"))
    return notes, rows


# ---------------------------------------------------------------------------- writing


def _sorted(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _sorted(x[k]) for k in sorted(x)}
    if isinstance(x, list):
        return [_sorted(v) for v in x]
    return x


def write_baseline(folder: Path, t: Target, measured: dict[str, Any], old: dict[str, Any] | None,
                   force: bool = False) -> list[str]:
    """Write a scenario's baseline (a tier not measured keeps its old values); returns what changed.

    A file claimsim did not write is refused unless `force` (sim.files.check_output_file).
    """
    data: dict[str, Any] = {"written_by": HEADER, "format": FORMAT, "scenario": t.name,
                            "provenance": provenance(t)}
    for tier in ("exact", "stat"):
        block = measured.get(tier) or (old or {}).get(tier)
        if tier == "exact" and block is not None and tier in measured and t.peak is not None:
            block = {**block, "storm_peak_h": t.peak.hour, "storm_peak": t.peak.what}
        data[tier] = _sorted(block) if block is not None else None
    text = json.dumps(data, indent=1, allow_nan=False) + "\n"
    atomic_write(baseline_path(folder, t.name), text, force=force, option="--update")
    return describe_changes(t.name, old, data)


def describe_changes(name: str, old: dict[str, Any] | None, new: dict[str, Any], limit: int = 12) -> list[str]:
    """What an update changed, in plain words: the inputs and packages first, then the figures."""
    if old is None:
        return [f"{name}: new baseline"]
    lines = []
    op, np_ = old.get("provenance") or {}, new["provenance"]
    if op.get("scenario_sha256") != np_["scenario_sha256"]:
        lines.append(f"{name}: scenario file {np_['scenario_file']} changed (sha256 "
                     f"{str(op.get('scenario_sha256'))[:12]} -> {np_['scenario_sha256'][:12]})")
    if op.get("plans_sha256") != np_["plans_sha256"]:
        lines.append(f"{name}: plans file changed ({op.get('plans_file') or 'none'} -> {np_['plans_file'] or 'none'})")
    for key, what in (("claimsim", "claimsim"), ("python", "Python"), ("code", "code digest")):
        if op.get(key) != np_[key]:
            lines.append(f"{name}: {what} {op.get(key)} -> {np_[key]}")
    for p, v in np_["packages"].items():
        if (op.get("packages") or {}).get(p) != v:
            lines.append(f"{name}: {p} {(op.get('packages') or {}).get(p, 'none')} -> {v}")
    oe, ne = old.get("exact") or {}, new.get("exact") or {}
    for key in ("seed", "hours", "storm_peak_h"):
        if ne and oe.get(key) != ne.get(key):
            lines.append(f"{name} exact: {key} {oe.get(key)} -> {ne.get(key)}")
    for plan, e in (ne.get("plans") or {}).items():
        o = (oe.get("plans") or {}).get(plan)
        if o is None:
            lines.append(f"{name}/{plan} exact: new plan")
            continue
        moved = [f"{k}: {o['figures'].get(k)} -> {v}" for k, v in e["figures"].items() if o["figures"].get(k) != v]
        if o.get("claims_digest") != e["claims_digest"]:
            lines.append(f"{name}/{plan} exact: claims table changed ({o.get('claims')} -> {e['claims']} claims), "
                         f"{len(moved)} figure(s) changed")
        for m in moved[:limit]:
            lines.append(f"{name}/{plan} exact {m}")
        if len(moved) > limit:
            lines.append(f"{name}/{plan} exact: ... and {len(moved) - limit} more")
    os_, ns = old.get("stat") or {}, new.get("stat") or {}
    if ns and (os_.get("hours"), os_.get("seeds")) != (ns.get("hours"), ns.get("seeds")):
        lines.append(f"{name} stat: {len(os_.get('seeds') or [])} replications of {os_.get('hours')} h -> "
                     f"{len(ns['seeds'])} of {ns['hours']} h")
    for plan, figs in (ns.get("plans") or {}).items():
        o = (os_.get("plans") or {}).get(plan, {})
        for k, vals in figs.items():
            if o.get(k) == vals:
                continue
            a, b = _mean(o.get(k)), _mean(vals)
            if math.isnan(a):
                lines.append(f"{name}/{plan} stat {label(k)}: new figure, mean {b:.4g}")
                continue
            rel = f"{100 * (b - a) / abs(a):+.1f}%, " if a else ""
            lines.append(f"{name}/{plan} stat {label(k)}: mean {a:.4g} -> {b:.4g} ({rel}{verdict(k, b - a)})")
    return lines


def _mean(values: list[float | None] | None) -> float:
    v = [x for x in (values or []) if x is not None]
    return sum(v) / len(v) if v else math.nan
