"""The claimsim command line: help, a run's results folder, check, one-line errors, shipped scenarios.

Commands run in this process through `helpers.cli` (the console script's own entry point); a few end-to-end
tests start a fresh interpreter (`helpers.claimsim`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import REPO, SMALL, claimsim, cli, line_of, shipped_scenarios
from typer.testing import CliRunner

from sim.cli import app
from sim.vocab import POPULATIONS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLAIM_COLUMNS = ["claim_id", "agent_type", "region", "incident_type", "loss_amount", "track", "outcome",
                 "incident_h", "reported_h", "first_contact_h", "surveyed_h", "first_payment_h", "settled_h"]
PLOTS = ["storm_and_incidents.png", "backlog_by_stage.png", "settlement_latency_cdf.png"]
BIG = "national-blizzard-1m.yaml"


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------- help


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["check", "--help"]])
def test_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    if args[0] == "run":
        for option in ("--plan", "--seed", "--hours", "--out"):
            assert option in result.output
    if args == ["--help"]:
        assert "run" in result.output and "check" in result.output


def test_version_and_help_in_a_fresh_interpreter(tmp_path: Path) -> None:
    from sim import __version__

    proc = claimsim("--version", cwd=tmp_path)
    assert proc.returncode == 0 and __version__ in proc.stdout
    proc = claimsim("run", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "--seed" in proc.stdout
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- run


def test_run_writes_the_results_folder(tmp_path: Path, results_dir: Path) -> None:
    out = results_dir
    done = cli("run", SMALL, "--seed", "3", "--hours", "24", "--out", out)
    assert done.code == 0, done.err
    folder = out / "small" / "baseline" / "seed-3"
    assert folder.is_dir()
    assert str(folder) in "".join(done.out.split())  # (rich may wrap it: see the test below)
    # nothing else: no temporary or partial folders next to it
    assert [p.name for p in (out / "small" / "baseline").iterdir()] == ["seed-3"]
    names = {p.name for p in folder.iterdir()}
    assert {"summary.json", "claims.parquet", "events.parquet", "series.parquet", "report.md", *PLOTS} <= names
    assert (folder / ".claimsim-output").is_file() and (out / ".claimsim-output").is_file()  # marked as ours

    summary = json.loads((folder / "summary.json").read_text(), parse_constant=reject_constant)  # strict JSON
    assert summary["scenario"] == "small" and summary["plan"] == "baseline" and summary["seed"] == 3
    assert summary["scenario_sha256"] == hashlib.sha256(SMALL.read_bytes()).hexdigest()
    assert summary["hours"] == 24
    assert isinstance(summary["version"], str) and summary["version"]
    f = summary["figures"]
    for key in ("claims_total", "claims_settled", "claims_open", "abandonment_rate", "settlement_latency_hours"):
        assert key in f, key
    assert set(f["settlement_latency_hours"]) >= {"p50", "p90", "p99", "mean"}
    assert f["claims_settled"] + f["claims_open"] <= f["claims_total"]
    # the manifest of every other file, checked before a resumed sweep reuses the folder
    assert set(summary["files"]) == names - {"summary.json", ".claimsim-output"}
    assert summary["files"]["claims.parquet"] == {"bytes": (folder / "claims.parquet").stat().st_size,
                                                  "sha256": hashlib.sha256((folder / "claims.parquet")
                                                                           .read_bytes()).hexdigest()}

    claims = pq.read_table(folder / "claims.parquet").to_pandas()
    for col in CLAIM_COLUMNS:
        assert col in claims.columns, col
    assert len(claims) == f["incidents_total"] > 0
    assert set(claims["agent_type"]) <= {"driver", "farmer", "firm"}
    assert set(claims["region"]) <= {"yc", "sz"}
    assert list(claims["claim_id"]) == list(range(len(claims)))
    assert int(claims["reported_h"].notna().sum()) == f["claims_total"]
    assert int(claims["settled_h"].notna().sum()) == f["claims_settled"]
    assert int((claims["outcome"] == "open").sum()) == f["claims_open"]
    assert (claims["incident_h"] < 24).all()

    events = pq.read_table(folder / "events.parquet").to_pandas()
    assert {"t_h", "claim_id", "event"} <= set(events.columns)
    assert (events["t_h"].diff().dropna() >= 0).all()  # ordered in time
    assert set(events.loc[events["claim_id"] >= 0, "claim_id"]) <= set(claims["claim_id"])
    assert (events["event"].astype(str) == "incident").sum() == len(claims)
    series = pq.read_table(folder / "series.parquet").to_pandas()
    assert len(series) == 24 and series["incidents"].sum() == len(claims)
    for png in PLOTS:
        data = (folder / png).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000
    report = (folder / "report.md").read_text()
    assert "small" in report and "baseline" in report
    for png in PLOTS:
        assert png in report


def test_run_prints_the_results_folder_on_one_line(tmp_path: Path) -> None:
    out = tmp_path / ("long-folder-name-" * 4) / "results"
    done = cli("run", SMALL, "--hours", "2", "--out", out, "-q")
    assert done.code == 0, done.err
    folder = out / "small" / "baseline" / "seed-7"
    assert folder.is_dir()
    assert f"results: {folder}" in done.out.splitlines()


def test_run_a_plan_with_the_scenario_seed(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(SMALL), "--plan", "sms", "--hours", "6", "--out",
                                      str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "r" / "small" / "sms" / "seed-7"  # the scenario's own seed
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["plan"] == "sms" and summary["seed"] == 7 and summary["hours"] == 6


def test_writing_a_short_run_raises_no_warnings(tmp_path: Path) -> None:
    import warnings

    from sim import runner
    from sim.scenario import load_scenario

    result = runner.simulate(load_scenario(SMALL), "baseline", seed=1, hours=2)
    assert result.summary["figures"]["claims_settled"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runner.write(result, tmp_path / "short")


def test_run_twice_replaces_the_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["run", str(SMALL), "--seed", "1", "--hours", "4", "--out", str(tmp_path), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    folder = tmp_path / "small" / "baseline" / "seed-1"
    first = (folder / "claims.parquet").read_bytes()
    (folder / "stale.txt").write_text("old")
    assert runner.invoke(app, args).exit_code == 0
    assert (folder / "claims.parquet").read_bytes() == first
    assert not (folder / "stale.txt").exists()
    assert [p.name for p in (tmp_path / "small" / "baseline").iterdir()] == ["seed-1"]


# ---------------------------------------------------------------- check


def test_check_prints_regions_and_plans(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(SMALL)])
    assert result.exit_code == 0, result.output
    out = result.output
    for word in ("Yinchuan", "Shizuishan", "yc", "sz", "baseline", "more_phone", "sms", "prepay",
                 "Twice the phone agents."):
        assert word in out, word
    assert "3,000" in out  # drivers in yc
    assert "valid" in out and "4 plan" in out


# ---------------------------------------------------------------- bad input: one line, exit code 2


def bad_scenarios(tmp_path: Path) -> dict[str, tuple[Path, int | None]]:
    text = SMALL.read_text()
    malformed = text.replace("duration_h: 48\n", "duration_h:\t48\n")
    unknown = text.replace("duration_h: 48\n", "duration_h: 48\ncolour: red\n")
    (tmp_path / "malformed.yaml").write_text(malformed)
    (tmp_path / "unknown.yaml").write_text(unknown)
    return {
        "missing": (tmp_path / "missing.yaml", None),
        "malformed": (tmp_path / "malformed.yaml", line_of(malformed, "duration_h:")),
        "unknown": (tmp_path / "unknown.yaml", line_of(unknown, "colour:")),
    }


@pytest.mark.parametrize("case", ["missing", "malformed", "unknown"])
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_scenario_is_one_line_exit_2(tmp_path: Path, results_dir: Path, case: str, command: str) -> None:
    path, line = bad_scenarios(tmp_path)[case]
    out = results_dir
    args = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    msg = cli(*args).error_line()
    assert str(path) in msg
    if line is not None:
        assert f"{path}:{line}:" in msg
    if case == "unknown":
        assert "colour" in msg
    assert not out.exists()


PLANS_LINE = line_of(SMALL.read_text(), "plans:")


@pytest.mark.parametrize(("args", "words"), [
    (["run", SMALL, "--plan", "nope"], [f"{SMALL}:{PLANS_LINE}:", "nope", "more_phone"]),
    (["run", SMALL, "--seed", "-1"], ["--seed"]),
    (["run", SMALL, "--seed", str(2**32)], ["--seed"]),
    (["run", SMALL, "--hours", "0"], ["--hours"]),
    (["run", SMALL, "--hours", "9000"], ["--hours"]),
    (["run", SMALL, "--seed", "abc"], ["--seed"]),
    (["run"], ["FILE"]),
    (["frobnicate"], ["frobnicate"]),
    (["run", SMALL, "--bogus"], ["--bogus"]),
], ids=["unknown-plan", "negative-seed", "seed-over-32-bit", "zero-hours", "hours-over-a-year", "word-seed",
        "no-file", "unknown-command", "unknown-option"])
def test_bad_command_line_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list,
                                             words: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    extra = ["--out", tmp_path / "results"] if args[0] == "run" and len(args) > 1 else []
    msg = cli(*args, *extra).error_line()
    for word in words:
        assert word in msg
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_out_that_is_a_file_is_one_line_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.write_text("not a folder")
    msg = cli("run", SMALL, "--hours", "2", "--out", out).error_line()
    assert str(out) in msg and out.read_text() == "not a folder"


def test_bad_input_from_a_fresh_interpreter_is_one_line(tmp_path: Path) -> None:
    """End to end: the console script itself, as a user runs it."""
    proc = claimsim("run", SMALL, "--plan", "nope", "--out", tmp_path / "results", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and f"{SMALL}:{PLANS_LINE}:" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_runs_are_identical_across_interpreters(tmp_path: Path) -> None:
    """A run is a pure function of scenario, plan, seed and code: not of the process (hash seed) it runs in."""
    folders = []
    for hash_seed in ("1", "2"):
        env_out = tmp_path / f"h{hash_seed}"
        proc = subprocess.run([sys.executable, "-m", "sim", "run", str(SMALL), "--plan", "prepay", "--seed", "5",
                               "--hours", "30", "--out", str(env_out), "-q"], cwd=tmp_path, capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)},
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        folders.append(env_out / "small" / "prepay" / "seed-5")
    for name in ("claims.parquet", "events.parquet", "series.parquet"):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    a, b = (json.loads((f / "summary.json").read_text()) for f in folders)
    a.pop("wall_time_s")
    b.pop("wall_time_s")
    assert a == b


# ---------------------------------------------------------------- every shipped scenario

SHIPPED = shipped_scenarios()


def test_scenarios_are_shipped() -> None:
    names = {p.name for p in SHIPPED}
    assert names, "no scenarios/*.yaml"
    assert BIG in names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_passes_check(path: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_runs(path: Path, tmp_path: Path) -> None:
    from sim.scenario import load_scenario

    sf = load_scenario(path)
    hours = 2 if path.name == BIG else 12
    out = tmp_path / "results"
    done = cli("run", path, "--hours", str(hours), "--out", out, "--quiet", "--seed", "1")
    assert done.code == 0, done.err
    folder = out / sf.name / "baseline" / "seed-1"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["hours"] == hours
    claims = pd.read_parquet(folder / "claims.parquet")
    assert len(claims) == summary["figures"]["incidents_total"]
    assert set(claims["region"]) <= set(sf.resolve().region_ids)
    assert (claims["incident_h"] < hours).all()


def plan_cases(limit: int = 300_000) -> list:
    """(scenario, plan) pairs of the shipped scenarios small enough to build a few times over (the large
    ones are run through the CLI above); a file that does not load still yields a case, which then fails."""
    from sim.errors import InputError
    from sim.scenario import load_scenario

    cases = []
    for path in SHIPPED:
        try:
            sf = load_scenario(path)
            size = sum(sf.resolve().policyholders(t) for t in POPULATIONS)
            plans = list(sf.plans) if size <= limit else []
        except InputError:
            plans = ["baseline"]
        cases += [pytest.param(path, plan, id=f"{path.stem}-{plan}") for plan in plans]
    return cases


@pytest.mark.parametrize(("path", "plan"), plan_cases())
def test_shipped_scenario_every_plan_runs_in_memory(path: Path, plan: str) -> None:
    from helpers import run

    from sim.scenario import load_scenario

    r = run(load_scenario(path).resolve(plan), seed=2, hours=6)
    assert r.model.hour == 6
    assert r.figures["incidents_total"] == len(r.claims)
    assert list(r.claims["claim_id"]) == list(range(len(r.claims)))
