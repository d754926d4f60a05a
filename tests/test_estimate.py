"""The size of a run before it starts: expected claims against real runs, and refusing what would not fit."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from helpers import SMALL, cli, minimal_doc, run, write_yaml

from sim import estimate as size
from sim.scenario import Scenario, load_scenario


def big_doc(drivers: int, duration_h: int = 24) -> dict:
    doc = minimal_doc(drivers=drivers, duration_h=duration_h)
    doc["name"] = "big"
    return doc


def test_expected_claims_match_the_mean_of_real_runs() -> None:
    """The small scenario is followed whole (under SAMPLE per region): the estimate is the expected number of
    incidents, so the mean of real runs lies within a few standard errors of it (Poisson-like counts)."""
    sc = load_scenario(SMALL).resolve()
    est = size.expected_claims(sc, 24)
    counts = np.array([len(run(sc, seed=s, hours=24).claims) for s in range(6)])
    assert abs(counts.mean() - est) < 3 * np.sqrt(est / len(counts)) + 1, (counts, est)


def test_expected_claims_from_a_sample_of_a_large_portfolio() -> None:
    """40,000 drivers a region are followed through a sample of SAMPLE: still within 10% of a real run."""
    doc = minimal_doc(drivers=40_000, duration_h=24)
    doc["regions"].append({**doc["regions"][0], "id": "r2", "name": "Region two"})
    doc["hazard"]["r2"] = {"keyframes": [{"h": 0, "temp_c": -12, "snowfall_cm_h": 4}, {"h": 12, "snowfall_cm_h": 0}]}
    doc["vulnerability"] = {"drivers": {"crash_per_vehicle_h": 2.0e-4, "battery_per_vehicle_h": 4.0e-5}}
    sc = Scenario.model_validate({**doc, "plan": "baseline"})
    est = size.expected_claims(sc)
    real = np.mean([len(run(sc, seed=s).claims) for s in (1, 2)])
    assert real > 200 and abs(real - est) / real < 0.10, (real, est)


def test_estimate_grows_with_the_portfolio_and_the_horizon() -> None:
    small = size.estimate(Scenario.model_validate({**big_doc(10_000), "plan": "baseline"}))
    large = size.estimate(Scenario.model_validate({**big_doc(1_000_000), "plan": "baseline"}))
    longer = size.estimate(Scenario.model_validate({**big_doc(1_000_000, 240), "plan": "baseline"}))
    assert small.memory_bytes < large.memory_bytes < longer.memory_bytes
    assert small.seconds < large.seconds < longer.seconds
    assert large.claims == pytest.approx(100 * small.claims, rel=0.05)
    assert large.memory_bytes - small.memory_bytes >= size.BYTES_PER_POLICYHOLDER * 990_000


def test_a_run_too_big_for_the_memory_is_refused_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the schema's bounds (19 million drivers) but not within a 200 MB machine: refused in a few
    seconds, saying what it would need, before anything is built or written."""
    from sim import (
        estimate,  # noqa: F401 - time the refusal, not the first import of the libraries
        runner,
    )
    from sim.cli import run as _warm  # noqa: F401

    path = write_yaml(big_doc(19_000_000, 24 * 30), tmp_path / "big.yaml")
    monkeypatch.setattr(runner, "simulate", lambda *a, **k: pytest.fail("the run started"))
    started = time.perf_counter()
    line = cli("run", path, "--out", tmp_path / "out", env={"CLAIMSIM_MEMORY_BYTES": str(200_000_000)}).error_line()
    assert time.perf_counter() - started < 5.0  # the estimate, not a run (a busy machine adds seconds)
    est = size.estimate(load_scenario(path).resolve())
    assert f"would need about {size.gigabytes(est.memory_bytes)} of memory" in line
    assert "200 MB available" in line and "--skip-memory-check" in line and f"{path}:" in line
    assert not (tmp_path / "out").exists()


def test_estimate_prints_and_runs_nothing(tmp_path: Path) -> None:
    done = cli("run", SMALL, "--estimate", "--hours", "24", "--out", tmp_path / "out")
    assert done.code == 0, done.err
    est = size.estimate(load_scenario(SMALL).resolve(), 24)
    assert f"claims: about {est.claims:,.0f}" in done.out
    assert "peak memory: about" in done.out and "wall time: about" in done.out
    assert not (tmp_path / "out").exists()


def test_skip_memory_check_runs_anyway(tmp_path: Path) -> None:
    env = {"CLAIMSIM_MEMORY_BYTES": "1000"}
    assert "--skip-memory-check" in cli("run", SMALL, "--hours", "2", "--out", tmp_path / "out", env=env).error_line()
    done = cli("run", SMALL, "--hours", "2", "-q", "--skip-memory-check", "--out", tmp_path / "out", env=env)
    assert done.code == 0, done.err
    assert (tmp_path / "out" / "small" / "baseline" / "seed-7" / "summary.json").is_file()


@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_many_runs_at_once_are_checked_together(tmp_path: Path, command: str) -> None:
    """Each worker holds a run: two workers need twice the memory of the largest run."""
    one = size.estimate(load_scenario(SMALL).resolve("sms"), 2).memory_bytes
    env = {"CLAIMSIM_MEMORY_BYTES": str(int(one * 1.5))}
    args = [command, SMALL, "--plans", "baseline,sms", "--hours", "2", "--workers", "2", "--out", tmp_path / "out"]
    line = cli(*args, *(["--seeds", "0-3"] if command == "sweep" else []), env=env).error_line()
    assert "2 runs at once" in line and "--workers" in line
    assert not (tmp_path / "out").exists()


def test_available_memory_is_known_here() -> None:
    mem = size.available_memory()
    assert mem is None or mem > 0
