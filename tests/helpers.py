"""Shared helpers of the test suite: scenario documents built in code, YAML writing, quick runs."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml import YAML

from sim import metrics
from sim.model import ClaimsModel
from sim.scenario import Scenario
from sim.vocab import REQUIRED_ROLES as ROLES

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
SMALL = DATA / "small.yaml"
REPO = TESTS.parent
SCENARIOS = REPO / "scenarios"


def write_yaml(doc: dict[str, Any], path: Path) -> Path:
    """Dump a plain dict as YAML (block style, so every key has a line of its own)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
    return path


def line_of(text: str, needle: str) -> int:
    """1-based number of the one line of `text` containing `needle` (fails if none or several)."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def staff(headcounts: dict[str, Any] | None = None, roster: str = "h24", **role_extra: Any) -> dict[str, Any]:
    """Staff of every role on one roster (headcount 0 unless given)."""
    headcounts = headcounts or {}
    out = {}
    for role in ROLES:
        out[role] = {"headcount": headcounts.get(role, 0), "roster": roster, **role_extra.get(role, {})}
    return out


# The claim's life after the estimate switched off (no missing documents, repairs, supplements, disputes,
# reopening, total losses or come-backs) and no everyday claims: tests of the front line see its levers alone.
QUIET_LIFE: dict[str, Any] = {
    "come_back": {"share": 0.0},
    "documents": {"missing_share": {"default": 0.0, "drivers": 0.0, "firms": 0.0}},
    "total_loss": {"ratio": 1.0},
    "repair": {"paid_on_repair": {"default": 0.0, "drivers": 0.0, "households": 0.0}},
    "supplement": {"share": {"default": 0.0, "drivers": 0.0, "households": 0.0, "firms": 0.0}},
    "dispute": {"share": {"default": 0.0, "firms": 0.0}},
    "reopen": {"share": {"default": 0.0, "households": 0.0, "firms": 0.0}},
}
NO_EVERYDAY: dict[str, Any] = {p: {"everyday_per_year": 0.0} for p in ("drivers", "farmers", "firms", "households")}


def minimal_doc(drivers: int = 2000, firms: int = 0, farmers: int = 0, duration_h: int = 24,
                keyframes: list[dict[str, Any]] | None = None, headcounts: dict[str, Any] | None = None,
                start: str = "2024-01-10T00:00:00", life: bool = False) -> dict[str, Any]:
    """A one-region scenario document with a 24-hour roster for every role; the claim's long tail and everyday
    claims switched off unless `life` (see QUIET_LIFE)."""
    doc = {
        "name": "mini",
        "start": start,
        "duration_h": duration_h,
        "seed": 3,
        "regions": [{"id": "r1", "name": "Region one", "service_radius_km": 15, "road_speed_kmh": 40,
                     "portfolio": {"drivers": {"count": drivers}, "firms": {"count": firms},
                                   "farmers": {"count": farmers}}}],
        "hazard": {"r1": {"keyframes": copy.deepcopy(keyframes) if keyframes else [
            {"h": 0, "temp_c": -5, "snowfall_cm_h": 0},
            {"h": 2, "snowfall_cm_h": 2},
            {"h": 8, "snowfall_cm_h": 0, "temp_c": -10},
        ]}},
        "operations": {
            "rosters": {"h24": {"shifts": [{"start": 0, "end": 24}]}},
            "staff": staff(headcounts if headcounts is not None else {
                "phone": 10, "video_survey": 3, "field_survey": 3, "tow": 4, "assessment": 5, "approval": 2}),
        },
    }
    if not life:
        doc["operations"]["claim_life"] = copy.deepcopy(QUIET_LIFE)
        doc["vulnerability"] = copy.deepcopy(NO_EVERYDAY)
    return doc


def build(doc: dict[str, Any], plan: str = "baseline") -> Scenario:
    """Validate a scenario document in memory (no file, no plans)."""
    data = copy.deepcopy(doc)
    data.pop("plans", None)
    data["plan"] = plan
    return Scenario.model_validate(data)


@dataclass
class Run:
    model: ClaimsModel
    claims: pd.DataFrame
    backlog: pd.DataFrame
    figures: dict[str, Any]
    events: dict[str, Any]


def run(scenario: Scenario, seed: int = 1, hours: int | None = None) -> Run:
    """Run a scenario in memory and compute its claims table, backlog series and figures."""
    model = ClaimsModel(scenario, seed=seed, hours=hours)
    model.run()
    rec = model.record()
    claims = metrics.claims_table(rec)
    backlog = metrics.backlog_series(claims, rec.events, model.hour)
    return Run(model, claims, backlog, metrics.figures(rec, claims, backlog), rec.events)


def shipped_scenarios() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))


# ---------------------------------------------------------------- the command line


@dataclass
class Cli:
    """What a `claimsim` command did: exit code, standard output and standard error."""

    code: int
    out: str
    err: str

    def error_line(self) -> str:
        """The one error line of a refused command (exit 2, one stderr line, no traceback)."""
        assert self.code == 2, (self.code, self.out, self.err)
        assert "Traceback" not in self.err + self.out, self.err
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        assert len(lines) == 1, self.err
        return lines[0]


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Cli:
    """Run `claimsim ARGS` in this process exactly as the console script does (`sim.cli.main`: usage and input
    errors one line and exit 2), capturing its output; far faster than a fresh interpreter."""
    from typer.testing import CliRunner

    from sim.cli import main

    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "100", **(env or {})}) as (out, err, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        return Cli(code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace"))


def claimsim(*args: str | Path, cwd: Path = REPO, timeout: float = 300, **kw: Any) -> subprocess.CompletedProcess:
    """Run `python -m sim ...` in a fresh interpreter, as a user would run `claimsim ...` (end-to-end tests)."""
    env = {**os.environ, "COLUMNS": "100", "PYTHONPATH": str(REPO), **kw.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **kw)
