"""Scenario regression: the exact tier catches any change and passes a pure refactor; the statistical tier
passes a change of random-number consumption and catches a real change; baselines, JUnit and expectations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from helpers import SMALL

from sim import regress as rg
from sim import vulnerability as vul
from sim.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config for the small scenario (short horizons) and its baselines, made once."""
    folder = tmp_path_factory.mktemp("regress")
    shutil.copy(SMALL, folder / "small.yaml")
    (folder / "regress.yaml").write_text(
        "exact: {seed: 3, hours: 12}\nstat: {reps: 6, hours: 24, seed: 50}\nbaselines: baselines\n"
        "scenarios:\n  small.yaml: {plans: [baseline, more_phone], stat_plans: [baseline]}\n")
    cfg, targets, base = rg.read_config(folder / "regress.yaml")
    measured = rg.measure(targets, cfg, ["exact", "stat"], workers=1, fresh=0)
    rg.write_baseline(base, "small", targets[0], measured["small"], None)
    return folder, base


def run_check(folder: Path, tiers: list[str], fresh: int = rg.FRESH_OFFSET, overrides: dict | None = None
              ) -> rg.Outcome:
    cfg, targets, base = rg.read_config(folder / "regress.yaml")
    measured = rg.measure(targets, cfg, tiers, workers=1, fresh=fresh,
                          overrides={"small": json.dumps(overrides)} if overrides else None)
    return rg.check(measured, {"small": rg.load_baseline(base, "small")}, cfg.stat.alpha, targets)


def test_unchanged_code_passes_both_tiers(setup: tuple[Path, Path]) -> None:
    outcome = run_check(setup[0], ["exact", "stat"])
    assert not outcome.failed, [r.message for r in outcome.failed]
    exact = [r for r in outcome.rows if r.tier == "exact"]
    assert {r.plan for r in exact} == {"baseline", "more_phone"} and any(r.figure == "claims_digest" for r in exact)
    stat = [r for r in outcome.rows if r.tier == "stat"]
    assert len(stat) == 2 * len(rg.STAT_FIGURES)  # fresh seeds (two-sample) and the baseline's seeds (paired)
    assert all(r.p == 1.0 for r in stat if r.figure.endswith("(same seeds)"))  # same code, same seeds: identical


def test_exact_tier_flags_a_one_line_change_in_a_vulnerability_function(setup: tuple[Path, Path],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    original = vul.crash_risk
    monkeypatch.setattr(vul, "crash_risk", lambda p, hz, hour: original(p, hz, hour) * 1.3)  # 30% more crashes
    outcome = run_check(setup[0], ["exact"])
    failed = outcome.failed
    assert failed and {r.plan for r in failed} == {"baseline", "more_phone"}
    assert any(r.figure == "claims_digest" for r in failed) and any(r.figure == "claims_total" for r in failed)
    assert all(r.scenario == "small" and r.message for r in failed)


def test_exact_tier_passes_a_pure_refactor(setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # the same function written another way: different last bits, the same figures to 6 significant digits
    monkeypatch.setattr(vul, "rate_to_probability", lambda rate: 1.0 - np.exp(-np.asarray(rate, dtype=float)))
    monkeypatch.setattr(vul, "battery_risk", lambda p, t: np.exp(p.battery_gamma * (
        np.log(vul.battery_ratio(t)) - np.log(vul.battery_ratio(0.0)))))
    outcome = run_check(setup[0], ["exact"])
    assert not outcome.failed, [r.message for r in outcome.failed]


def test_stat_tier_passes_new_random_numbers_but_exact_does_not(setup: tuple[Path, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A refactor that consumes random numbers differently: every claim gets other (equally uniform) draws."""
    from sim.rng import Streams

    original = Streams.claim_uniforms_batch
    monkeypatch.setattr(Streams, "claim_uniforms_batch",
                        lambda self, keys, n: original(self, np.asarray(keys, dtype=np.uint64) ^ np.uint64(0x5DEECE66D),
                                                       n))
    exact = run_check(setup[0], ["exact"])
    assert exact.failed
    stat = run_check(setup[0], ["stat"])
    assert not stat.failed, [r.message for r in stat.failed]


def test_stat_tier_catches_a_real_change(setup: tuple[Path, Path]) -> None:
    slower = {"operations": {"service": {"assessment_min": {
        "fast_track": {"dist": "lognormal", "mean": 120, "cv": 0.5},
        "video": {"dist": "lognormal", "mean": 240, "cv": 0.5},
        "field": {"dist": "lognormal", "mean": 360, "cv": 0.5},
        "large_loss": {"dist": "lognormal", "mean": 900, "cv": 0.5}}}}}
    outcome = run_check(setup[0], ["stat"], overrides=slower)
    moved = {r.figure.split(" (")[0] for r in outcome.failed}
    assert moved & {"latency_p50", "latency_mean", "latency_p90", "peak_backlog", "first_payment_mean"}
    assert all(r.p_holm is not None and r.p_holm < 0.05 for r in outcome.failed)


def test_update_writes_diff_friendly_baselines_and_reports_changes(setup: tuple[Path, Path], tmp_path: Path) -> None:
    folder, base = setup
    data = json.loads((base / "small.json").read_text())
    assert data["scenario"] == "small" and data["exact"]["seed"] == 3 and len(data["stat"]["seeds"]) == 6
    assert (base / "small.json").read_text().count("\n") > 100  # one value per line
    changed = dict(data)
    changed["exact"] = json.loads(json.dumps(data["exact"]))
    changed["exact"]["plans"]["baseline"]["figures"]["claims_total"] = -1.0
    lines = rg.describe_changes("small", changed, data)
    assert any("exact claims_total: -1.0 ->" in line for line in lines)


@pytest.mark.parametrize("content, message", [
    (None, "no baseline for scenario 'small'"),
    ('{"scenario": "small",\n "oops"\n}', "broken baseline file"),
    ('{"scenario": "small"}', "broken baseline file: Field required"),
])
def test_a_missing_or_broken_baseline_is_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    shutil.copy(SMALL, tmp_path / "small.yaml")
    (tmp_path / "regress.yaml").write_text("baselines: b\nscenarios:\n  small.yaml: [baseline]\n")
    (tmp_path / "b").mkdir()
    if content is not None:
        (tmp_path / "b" / "small.json").write_text(content)
    r = subprocess.run([sys.executable, "-m", "sim", "regress", "--config", str(tmp_path / "regress.yaml")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "small.json" in r.stderr
    if content and "oops" in content:
        assert "small.json:3" in r.stderr  # where the parser found the missing colon


def test_cli_check_writes_junit_and_report_and_exits_1_on_a_regression(setup: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    folder, base = setup
    ok = subprocess.run([sys.executable, "-m", "sim", "regress", "--config", str(folder / "regress.yaml"),
                         "--tier", "exact", "--junit", str(tmp_path / "ok.xml"), "--report", str(tmp_path / "ok.md"),
                         "--workers", "1"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    suites = ET.parse(tmp_path / "ok.xml").getroot()
    cases = suites.findall(".//testcase")
    assert cases and all(c.get("classname", "").startswith("regress.exact.small.") for c in cases)
    assert suites.find("testsuite").get("failures") == "0"
    # a changed scenario file: the exact tier fails and names what moved
    edited = tmp_path / "cfg"
    shutil.copytree(folder, edited)
    text = (edited / "small.yaml").read_text().replace("phone: {headcount: 4", "phone: {headcount: 3")
    assert text != (edited / "small.yaml").read_text()
    (edited / "small.yaml").write_text(text)
    bad = subprocess.run([sys.executable, "-m", "sim", "regress", "--config", str(edited / "regress.yaml"),
                          "--tier", "exact", "--junit", str(tmp_path / "bad.xml"), "--report",
                          str(tmp_path / "bad.md"), "--workers", "1"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1
    failures = ET.parse(tmp_path / "bad.xml").getroot().findall(".//failure")
    assert failures and any("changed" in f.get("message", "") for f in failures)
    md = (tmp_path / "bad.md").read_text()
    assert "**FAILED**" in md and "What moved" in md and "--update" in md


def test_expectations_are_checked_by_name(tmp_path: Path) -> None:
    text = SMALL.read_text() + (
        "\nexpectations:\n"
        "  - {name: latency within a day, plan: baseline, figure: latency_p90, at_most: 1000}\n"
        "  - {name: impossible speed, plan: more_phone, figure: latency_mean, at_most: 0.01, confidence: 0.9}\n"
        "  - {name: most claims paid in a week, plan: baseline, figure: paid_7d, at_most: 1.0}\n")
    (tmp_path / "small.yaml").write_text(text)
    (tmp_path / "regress.yaml").write_text("stat: {reps: 4, hours: 24, seed: 5}\nbaselines: b\n"
                                           "scenarios:\n  small.yaml: {plans: [baseline, more_phone], "
                                           "tiers: [stat]}\n")
    cfg, targets, _ = rg.read_config(tmp_path / "regress.yaml")
    measured = rg.measure(targets, cfg, ["stat"], workers=1, fresh=0)
    rows = {r.figure: r for r in rg.check_expectations(measured, targets)}
    assert rows["latency within a day"].passed and rows["most claims paid in a week"].passed
    assert not rows["impossible speed"].passed and "latency_mean" in rows["impossible speed"].message


def test_an_expectation_with_an_unknown_plan_or_two_bounds_is_refused(tmp_path: Path) -> None:
    from sim.scenario import load_scenario

    for extra, message in (("  - {name: x, plan: nope, figure: latency_p90, at_most: 1}\n", "no plan named 'nope'"),
                           ("  - {name: x, figure: latency_p90, at_most: 1, at_least: 0}\n", "exactly one")):
        path = tmp_path / "s.yaml"
        path.write_text(SMALL.read_text() + "\nexpectations:\n" + extra)
        with pytest.raises(InputError, match=message) as err:
            load_scenario(path)
        assert "expectations[0]" in err.value.one_line()


def test_the_shipped_config_names_real_scenarios_and_plans() -> None:
    cfg, targets, base = rg.read_config(rg.CONFIG)
    assert len(targets) >= 4 and base == ROOT / "results" / "baselines"
    for t in targets:
        assert (base / f"{t.file.name}.json").is_file(), f"missing committed baseline for {t.file.name}"


def test_load_adjusted_test_holds_its_level_and_gains_power() -> None:
    """Analysis of covariance on the claim count: about alpha false alarms under no change (binomial bound),
    and far more power than Welch when the storm's size drives the figure."""
    rng = np.random.default_rng(11)

    def sample(shift: float) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(400, 13, 16)
        return 0.07 + shift + 0.002 * (x - 400) + rng.normal(0, 0.01, 16), x

    null = []
    for _ in range(2000):
        (a, xa), (b, xb) = sample(0.0), sample(0.0)
        null.append(rg.ancova_p(a, b, xa, xb) < 0.05)
    assert 0.035 < np.mean(null) < 0.065  # 0.05 +- 3.1 standard errors
    ancova, welch = [], []
    for _ in range(300):
        (a, xa), (b, xb) = sample(0.0), sample(0.02)
        ancova.append(rg.ancova_p(a, b, xa, xb) < 0.05 / 8)
        welch.append(rg.welch_p(a, b) < 0.05 / 8)
    assert np.mean(ancova) > 0.9 and np.mean(ancova) > np.mean(welch) + 0.4
    # no information in the covariate: the same as Welch
    assert rg.ancova_p([1.0, 2, 3], [2.0, 3, 4], [5.0] * 3, [5.0] * 3) == rg.welch_p([1.0, 2, 3], [2.0, 3, 4])
