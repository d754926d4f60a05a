"""optimize: targets on bounds, Kim-Nelson selection, the command end to end (resumable), and sensitivity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import DATA, SMALL

from sim.compare import Engine
from sim.errors import InputError
from sim.figures import figure
from sim.selection import kim_nelson, kn_constants
from sim.targets import parse_target

SPACE = DATA / "small-space.yaml"


def test_targets_name_figures_as_summary_json_does_or_by_short_name() -> None:
    t = parse_target("settlement_latency_hours.p90<=48")
    assert t.figure is figure("latency_p90") and t.upper and t.value == 48
    assert parse_target("latency_p90 <= 48").figure is t.figure
    r = parse_target("paid_7d>=90%")
    assert not r.upper and r.value is None and r.resolve(0.5).value == pytest.approx(0.45)
    # judged on the one-sided bound, not the mean: 10 values of mean 47 and sd 3 have a 90% upper bound > 48
    v = 47 + 3 * np.array([-1.5, -1, -0.5, -0.2, 0, 0, 0.2, 0.5, 1, 1.5]) / 0.88
    assert np.mean(v) < 48 and not t.met(v, 0.9) and t.met(v, 0.5)
    for bad in ("latency_p90<48", "latency_p95<=48", "latency_p90<=-5%", "<=48"):
        with pytest.raises(InputError):
            parse_target(bad)


def test_kn_constants_match_kim_and_nelson() -> None:
    eta, h2 = kn_constants(k=5, n0=5, alpha=0.1)
    assert eta == pytest.approx(0.5 * ((2 * 0.1 / 4) ** (-2 / 4) - 1))
    assert h2 == pytest.approx(2 * eta * 4)


def test_kim_nelson_selects_the_best_with_at_least_its_stated_probability() -> None:
    """Four systems, the best better than the others by exactly delta (the least favourable case), with common
    random numbers: over 300 macro-replications KN picks the best at least 90% of the time (minus 3 se)."""
    rng = np.random.default_rng(1)
    means = {"a": 10.0, "b": 11.0, "c": 11.0, "d": 11.0}
    delta, alpha, wins, reps = 1.0, 0.1, 0, 300
    for _ in range(reps):
        def draw(names: list[str]) -> dict[str, float]:
            shared = rng.normal(0, 3)                     # the common storm
            return {s: means[s] + shared + rng.normal(0, 2) for s in names}
        first = {s: [] for s in means}
        for _ in range(5):
            for s, x in draw(list(means)).items():
                first[s].append(x)
        res = kim_nelson(first, alpha, delta, draw, max_reps=500)
        wins += res.best == "a"
        assert res.guaranteed
    pcs = wins / reps
    assert pcs >= 0.9 - 3 * np.sqrt(0.09 / reps), pcs


def test_kim_nelson_drops_a_clearly_worse_system_at_once() -> None:
    first = {"cheap": [1.0, 1.1, 0.9, 1.0], "dear": [5.0, 5.1, 4.9, 5.0]}
    res = kim_nelson(first, 0.1, 0.1, lambda names: pytest.fail("no more replications needed"), max_reps=10)
    assert res.best == "cheap" and res.eliminated == {"dear": 4}


def claimsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True)


def test_optimize_end_to_end_resumes_and_writes_a_plan_compare_and_run_accept(tmp_path: Path) -> None:
    out = tmp_path / "opt"
    args = ["optimize", str(SMALL), "--space", str(SPACE), "--target", "settlement_latency_hours.p90<=24",
            "--target", "claims<=60", "--out", str(out), "--budget", "4", "--reps", "2", "--hours", "8",
            "--finalists", "2", "--confirm-reps", "2", "--max-reps", "3", "--workers", "1"]
    proc = claimsim(*args)
    assert proc.returncode == 0, proc.stderr
    for name in ("best-plan.yaml", "frontier.csv", "report.md", "optimize.xlsx", "cost_vs_target.png",
                 "summary.json", "optuna.db"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    sel = summary["selected"]
    assert sel["meets_targets"] and summary["kim_nelson"]["pcs"] == pytest.approx(0.9)
    report = (out / "report.md").read_text()
    assert report.splitlines()[3] == "## Executive summary"
    for words in ("Recommended plan", "What it costs", "What it buys", "How sure", "Most sensitive to", "CNY"):
        assert words in report.split("## The question")[0], words
    assert "video_survey" not in report
    from openpyxl import load_workbook

    wb = load_workbook(out / "optimize.xlsx")
    assert {"Plans tried", "Recommended vs now"} <= set(wb.sheetnames)
    rows = list(wb["Plans tried"].iter_rows(values_only=True))
    assert len(rows) >= 3 + 5 and "candidate" in rows[2]
    frontier = (out / "frontier.csv").read_text().splitlines()
    assert frontier[0].startswith("candidate,stage") and "lever.phone" in frontier[0]
    assert len(frontier) == 1 + 1 + summary["candidates"]
    # best-plan.yaml is a plans file compare and run accept
    best = out / "best-plan.yaml"
    cmp_out = tmp_path / "cmp"
    proc = claimsim("compare", str(SMALL), "--plans-file", str(best), "--plans", "baseline,best", "--reps", "2",
                    "--hours", "12", "--out", str(cmp_out), "--no-crn-check", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    proc = claimsim("run", str(SMALL), "--plans-file", str(best), "--plan", "best", "--hours", "6", "--out",
                    str(tmp_path / "run"), "-q")
    assert proc.returncode == 0, proc.stderr
    # the same command again resumes: the study and every run folder are reused
    again = claimsim(*args)
    assert again.returncode == 0, again.stderr
    second = json.loads((out / "summary.json").read_text())
    assert second["reused"] == second["runs"] and second["selected"]["levers"] == sel["levers"]
    # other targets: the previous report is kept, not overwritten
    proc = claimsim(*[a if a != "claims<=60" else "claims<=70" for a in args])
    assert proc.returncode == 0, proc.stderr
    kept = list((out / "history").glob("*/report.md"))
    assert len(kept) == 1 and "claims reported at most 60" in kept[0].read_text()


def test_optimize_bad_input_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    for extra, needle in ((["--target", "latency_p95<=4"], "--target"),
                          (["--target", "latency_p90<=4", "--minimize", "paid_7d"], "--minimize")):
        proc = claimsim("optimize", str(SMALL), "--space", str(SPACE), "--out", str(tmp_path / "o"), *extra)
        assert proc.returncode == 2 and needle in proc.stderr and proc.stderr.strip().count("\n") == 0
        assert not (tmp_path / "o").exists()


def test_sensitivity_ranks_levers_and_unknowns_with_salib(tmp_path: Path) -> None:
    from sim.report_sensitivity import write_sensitivity
    from sim.sensitivity import run_sensitivity

    s = run_sensitivity(SMALL, SPACE, [figure("claims"), figure("cost")], tmp_path, Engine(workers=1), reps=2,
                        hours=12, method="morris", samples=2)
    names = {r["name"] for r in s.tornado}
    assert names == {"phone", "assessors", "assessor_shifts", "sms", "crash_rate", "patience"}
    say = s.sentences()
    # claims: the SMS is the only lever that changes how many claims come in; the crash rate the only unknown
    assert "Which lever matters most: **warning SMS**" in say["lever"]
    assert "Which unknown matters most: **crash rate**" in say["unknown"] and "Morris" in say["unknown"]
    top = max(s.indices["claims"], key=lambda r: r["index"])
    assert top["name"] == "crash_rate"
    summary = write_sensitivity(s, tmp_path)
    assert (tmp_path / "tornado.png").is_file() and (tmp_path / "global.png").is_file()
    assert summary["runs"] == s.runs > 0
    from openpyxl import load_workbook

    assert {"Tornado", "Global indices"} <= set(load_workbook(tmp_path / "sensitivity.xlsx").sheetnames)
