"""Scenario regression: the exact tier catches any change and passes a pure refactor; the statistical tier
passes a change of random-number consumption, catches a real change and says whether it is worse or better;
horizons cover each storm's peak; Holm runs within each scenario; baselines carry their provenance."""

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
from sim.files import SIGNATURE, check_output_file
from sim.regress.stat import check_stat

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ("exact: {seed: 3, hours: 12, whole_run_h: 0}\nstat: {reps: 6, hours: 24, seed: 50}\nbaselines: baselines\n"
          "scenarios:\n  small.yaml: {plans: [baseline, more_phone], stat_plans: [baseline]}\n")
NAMES = [f.name for f in rg.tier_figures(rg.StatConfig())]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config for the small scenario (short horizons) and its baselines, made once."""
    folder = tmp_path_factory.mktemp("regress")
    shutil.copy(SMALL, folder / "small.yaml")
    (folder / "regress.yaml").write_text(CONFIG)
    cfg, targets, base = rg.read_config(folder / "regress.yaml")
    measured = rg.measure(targets, cfg, ["exact", "stat"], workers=1, fresh=0)
    rg.write_baseline(base, targets[0], measured["small"], None)
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
    assert not [n for n in outcome.notes if n.level != "info"]  # same files, same packages
    exact = [r for r in outcome.rows if r.tier == "exact"]
    assert {r.plan for r in exact} == {"baseline", "more_phone"} and any(r.figure == "claims_digest" for r in exact)
    stat = [r for r in outcome.rows if r.tier == "stat"]
    assert len(stat) == 2 * len(NAMES) and {r.test for r in stat} == {"fresh seeds", "same seeds"}
    assert {"lost_customers", "abandonment", "cost"} <= {r.figure for r in stat}
    assert all(r.p == 1.0 for r in stat if r.test == "same seeds")  # same code, same seeds: identical


def test_exact_tier_flags_a_one_line_change_in_a_vulnerability_function(setup: tuple[Path, Path],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    original = vul.crash_risk
    monkeypatch.setattr(vul, "crash_risk", lambda p, hz, hour: original(p, hz, hour) * 1.3)  # 30% more crashes
    failed = run_check(setup[0], ["exact"]).failed
    assert failed and {r.plan for r in failed} == {"baseline", "more_phone"}
    assert any(r.figure == "claims_digest" for r in failed)
    claims = [r for r in failed if r.figure == "claims_total"]
    assert claims and all(r.change > 0 and r.verdict == "worse" for r in claims)  # more claims: lower is better
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

    original = Streams.claim_bases
    monkeypatch.setattr(Streams, "claim_bases",
                        lambda self, keys: original(self, np.asarray(keys, dtype=np.uint64) ^ np.uint64(0x5DEECE66D)))
    exact = run_check(setup[0], ["exact"])
    assert exact.failed
    stat = run_check(setup[0], ["stat"])
    assert not stat.failed, [r.message for r in stat.failed]


def test_stat_tier_catches_a_real_change_and_calls_it_worse(setup: tuple[Path, Path]) -> None:
    slower = {"operations": {"service": {"assessment_min": {
        "fast_track": {"dist": "lognormal", "mean": 120, "cv": 0.5},
        "video": {"dist": "lognormal", "mean": 240, "cv": 0.5},
        "field": {"dist": "lognormal", "mean": 360, "cv": 0.5},
        "large_loss": {"dist": "lognormal", "mean": 900, "cv": 0.5}}}}}
    outcome = run_check(setup[0], ["stat"], overrides=slower)
    moved = {r.figure: r for r in outcome.failed}
    assert set(moved) & {"latency_p50", "latency_mean", "latency_p90", "peak_backlog", "first_payment_mean"}
    assert all(r.p_adj is not None and r.p_adj < 0.05 for r in outcome.failed)
    for name in {"latency_mean", "peak_backlog"} & set(moved):
        assert moved[name].change > 0 and moved[name].verdict == "worse" and "worse" in moved[name].message
    assert rg.summary(outcome.failed).startswith("WORSE")


def test_redial_removed_is_reported_worse_not_as_an_improvement(tmp_path: Path) -> None:
    """Customers who do not call again are lost: the abandonment rate falls (fewer calls), and a gate that
    read the sign alone would call that an improvement; the verdict is 'worse', lost customers up."""
    # Customers who give up here do not come back by another channel either (claim_life.come_back), so every
    # caller who does not redial is lost.
    text = SMALL.read_text().replace("phone: {headcount: 4", "phone: {headcount: 2")
    text = text.replace("operations:\n", "operations:\n  claim_life: {come_back: {share: 0}}\n", 1)
    (tmp_path / "small.yaml").write_text(text)
    (tmp_path / "regress.yaml").write_text("stat: {reps: 12, hours: 24, seed: 50}\nbaselines: b\n"
                                           "scenarios:\n  small.yaml: {plans: [baseline], tiers: [stat]}\n")
    cfg, targets, _ = rg.read_config(tmp_path / "regress.yaml")
    base = rg.measure(targets, cfg, ["stat"], workers=1, fresh=0)
    changed = rg.measure(targets, cfg, ["stat"], workers=1, fresh=rg.FRESH_OFFSET,
                         overrides={"small": json.dumps({"operations": {"phone": {"retry_share": 0.0}}})})
    outcome = rg.check(changed, base, cfg.stat.alpha, targets)
    moved = {r.figure: r for r in outcome.failed}
    assert moved["abandonment"].verdict == "better" and moved["abandonment"].change < 0  # the rate alone misleads
    assert moved["lost_customers"].verdict == "worse" and moved["lost_customers"].change > 0
    assert rg.summary(outcome.rows).startswith("WORSE (worse: customers who never reported up from")


def test_summary_puts_worse_first_whatever_else_improved() -> None:
    rows = [rg.Row("stat", "s", "p", "latency_p90", False, change=-2.0, ref=20.0, verdict="better", test="same seeds"),
            rg.Row("stat", "s", "p", "lost_customers", False, change=3.0, ref=12.0, verdict="worse", test="same seeds"),
            rg.Row("stat", "s", "p", "claims", True, p=0.5, change=1.0)]
    text = rg.summary(rows)
    assert text.startswith("WORSE (worse: customers who never reported up from 12 to 15 (+25%); better: "
                           "settlement latency p90 down from 20.0 h to 18.0 h (-10%))")
    assert rg.verdict("abandonment", 0.01) == "worse" and rg.verdict("paid_7d", 0.01) == "better"
    hint = [rg.Row("stat", "s", "p", "abandonment", False, change=-0.05, ref=0.5, verdict="better"),
            rg.Row("stat", "s", "p", "lost_customers", True, p=0.01, change=2.0, ref=10.0)]
    assert rg.summary(hint).startswith("possibly WORSE (better: phone abandonment down from 50.0% to 45.0% (-10%); "
                                       "possibly worse (unadjusted p < 0.05, not significant after adjustment): "
                                       "customers who never reported up from 10 to 12 (+20%))")
    assert rg.summary(hint[1:]) == "no change"
    assert rg.verdict("paid_total", 5.0) == "changed" and rg.verdict("not.a.figure", 1.0) == "changed"


def _fake(values: dict[str, dict[str, list[float]]], seeds: list[int]) -> dict:
    return {"hours": 24, "seeds": seeds, "plans": values}


def test_holm_runs_within_each_scenario_and_bonferroni_across() -> None:
    """A change seen in one scenario competes only with that scenario's tests, whatever the others' size."""
    rng = np.random.default_rng(3)
    seeds = list(range(8))

    def plan(shift: float = 0.0) -> dict[str, list[float]]:
        claims = list(400 + rng.normal(0, 10, 8))
        return {"claims": claims, "latency_p90": list(20 + shift + rng.normal(0, 1, 8))}

    names = ["claims", "latency_p90"]
    small_base, small_new = {"p": plan()}, {"p": plan(3.0)}   # scenario A: one plan, a real change
    measured = {"A": {"stat": _fake(small_new, seeds)}}
    baselines = {"A": {"stat": _fake(small_base, seeds)}}
    alone = check_stat(measured, baselines, 0.05, names)
    for k in (2, 30):  # scenario B: no change, in few or many plans
        m = dict(measured)
        b = dict(baselines)
        b["B"] = {"stat": _fake({f"p{i}": plan() for i in range(k)}, seeds)}
        m["B"] = {"stat": _fake({f"p{i}": plan() for i in range(k)}, seeds)}
        rows = check_stat(m, b, 0.05, names)
        a = [r for r in rows if r.scenario == "A"]
        # the same as alone, times the number of scenario families (2), whatever B's size
        for r, r0 in zip(a, alone, strict=True):
            assert r.p_adj == pytest.approx(min(1.0, 2 * r0.p_adj))
        assert any(not r.passed for r in a if r.figure == "latency_p90")


def test_every_shipped_scenario_has_its_storm_peak_inside_the_exact_horizon() -> None:
    cfg, targets, base = rg.read_config(rg.CONFIG)
    assert len(targets) >= 5 and base == ROOT / "results" / "baselines"
    peaks = {t.name: t.peak.hour for t in targets}
    assert peaks["north-china-blizzard"] >= 30 and peaks["cold-wave-farms"] >= 36  # snow at hours 30 and 36
    for t in targets:
        assert "exact" in t.tiers and t.peak.hour < t.exact_hours <= t.file.resolve().duration_h, t.name
        if "stat" in t.tiers:
            assert t.peak.hour < t.stat_hours
        data = rg.load_baseline(base, t.name)  # committed, readable, made with the same horizon
        assert data["exact"]["hours"] == t.exact_hours and data["exact"]["storm_peak_h"] == t.peak.hour
        assert data["provenance"]["scenario_sha256"] == t.file.sha256, f"stale baseline for {t.name}"


def test_the_exact_horizon_rule(tmp_path: Path) -> None:
    from sim.scenario import load_scenario

    s = load_scenario(SMALL).resolve()
    peak = rg.storm_peak(s)
    assert peak.hour == 6 and peak.what == "snowfall in yc"  # 3 cm/h from 6.5 h (read at mid-hour)
    assert rg.exact_horizon(s, peak, rg.ExactConfig(hours=12, after_peak_h=12, whole_run_h=0)) == 19
    assert rg.exact_horizon(s, peak, rg.ExactConfig(hours=30, after_peak_h=12, whole_run_h=0)) == 30
    assert rg.exact_horizon(s, peak, rg.ExactConfig(hours=12, whole_run_h=48)) == 48  # a short run, whole
    shutil.copy(SMALL, tmp_path / "small.yaml")
    (tmp_path / "regress.yaml").write_text("baselines: b\nscenarios:\n  small.yaml: {exact_hours: 6}\n")
    with pytest.raises(InputError, match="before the storm's peak at hour 6") as err:
        rg.read_config(tmp_path / "regress.yaml")
    assert "regress.yaml:3: scenarios.small.yaml.exact_hours:" in err.value.one_line()


def test_provenance_mismatch_is_said_first_in_plain_words(setup: tuple[Path, Path]) -> None:
    folder, base = setup
    cfg, targets, _ = rg.read_config(folder / "regress.yaml")
    data = rg.load_baseline(base, "small")
    old = json.loads(json.dumps(data))
    old["provenance"]["scenario_sha256"] = "0" * 64
    old["provenance"]["packages"]["numpy"] = "1.0.0"
    notes, rows = rg.compare_provenance(targets[0], old)
    assert [n.level for n in notes] == ["fail", "warn"]
    assert "has changed since its baseline was made" in notes[0].text and "small.yaml" in notes[0].text
    assert "numpy 1.0.0 then" in notes[1].text
    assert rows and not rows[0].passed and rows[0].tier == "provenance"
    outcome = rg.check({}, {"small": old}, 0.05, targets)
    assert outcome.notes[0].level == "fail" and outcome.failed
    md = rg.markdown(outcome, {"tiers": ["exact"], "scenarios": 1})
    assert md.index("Before the figures") < md.index("How this was checked")


def test_update_says_what_changed(setup: tuple[Path, Path]) -> None:
    data = rg.load_baseline(setup[1], "small")
    old = json.loads(json.dumps(data))
    old["provenance"]["scenario_sha256"] = "0" * 64
    old["provenance"]["packages"]["scipy"] = "0.1"
    old["exact"]["plans"]["baseline"]["figures"]["claims_total"] = -1.0
    old["stat"]["plans"]["baseline"]["lost_customers"] = [v * 0.5 for v in data["stat"]["plans"]["baseline"][
        "lost_customers"]]
    lines = rg.describe_changes("small", old, data)
    text = "\n".join(lines)
    assert lines[0].startswith("small: scenario file") and "changed (sha256 000000000000 ->" in lines[0]
    assert "small: scipy 0.1 ->" in text
    assert "small/baseline exact claims_total: -1.0 ->" in text
    assert "small/baseline stat customers who never reported: mean" in text and "+100.0%, worse)" in text


def test_a_baseline_says_where_it_came_from_and_is_diff_friendly(setup: tuple[Path, Path]) -> None:
    path = setup[1] / "small.json"
    text = path.read_text()
    assert SIGNATURE in text.splitlines()[1]
    check_output_file(path, force=False, option="--update")  # claimsim's own: may be replaced
    data = json.loads(text)
    prov = data["provenance"]
    assert prov["scenario_sha256"] == rg.read_config(setup[0] / "regress.yaml")[1][0].file.sha256
    assert prov["plans_sha256"] is None and {"numpy", "simpy", "mesa"} <= set(prov["packages"])
    assert data["exact"]["seed"] == 3 and data["exact"]["hours"] == 19 and len(data["stat"]["seeds"]) == 6
    assert text.count("\n") > 100  # one value per line


def test_coverage_lists_the_defaults_no_scenario_leaves_untouched(setup: tuple[Path, Path]) -> None:
    _, targets, _ = rg.read_config(setup[0] / "regress.yaml")
    cov = rg.defaults_coverage(targets)
    assert cov.used_by["operations.phone.retry_share"] == ["small"]  # small.yaml leaves the phone line out
    assert "operations.staff.video_survey.concurrent_cases" in cov.never  # small.yaml sets it (3)
    assert "operations.rosters.*.shifts[].share" in cov.exercised
    assert not any(k.startswith(("hazard.*.keyframes", "expectations")) for k in cov.used_by)


def test_the_shipped_config_exercises_the_phone_line_defaults() -> None:
    _, targets, _ = rg.read_config(rg.CONFIG)
    cov = rg.defaults_coverage(targets)
    for key in ("operations.phone.retry_share", "operations.phone.patience_min",
                "operations.staff.video_survey.concurrent_cases", "operations.triage.large_loss_min"):
        assert "code-defaults" in cov.used_by[key], key
    assert len(cov.never) < 10


def test_cli_check_writes_junit_and_report_and_exits_1_on_a_regression(setup: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    folder, base = setup
    ok = subprocess.run([sys.executable, "-m", "sim", "regress", "--config", str(folder / "regress.yaml"),
                         "--tier", "exact", "--junit", str(tmp_path / "ok.xml"), "--report", str(tmp_path / "ok.md"),
                         "--workers", "1"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert SIGNATURE in (tmp_path / "ok.xml").read_text().splitlines()[1]
    assert SIGNATURE in (tmp_path / "ok.md").read_text().splitlines()[0]
    suites = ET.parse(tmp_path / "ok.xml").getroot()
    cases = suites.findall(".//testcase")
    assert cases and all(c.get("classname", "").startswith("regress.exact.small.") for c in cases)
    assert suites.find("testsuite").get("failures") == "0"
    # a changed scenario file: said first, then the exact tier fails and names what moved
    edited = tmp_path / "cfg"
    shutil.copytree(folder, edited)
    text = (edited / "small.yaml").read_text().replace("phone: {headcount: 4", "phone: {headcount: 3")
    assert text != (edited / "small.yaml").read_text()
    (edited / "small.yaml").write_text(text)
    bad = subprocess.run([sys.executable, "-m", "sim", "regress", "--config", str(edited / "regress.yaml"),
                          "--tier", "exact", "--junit", str(tmp_path / "ok.xml"), "--report",
                          str(tmp_path / "ok.md"), "--workers", "1"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1
    assert bad.stderr.startswith("fail: small: the scenario file") and "has changed" in bad.stderr
    failures = ET.parse(tmp_path / "ok.xml").getroot().findall(".//failure")  # replaced: claimsim wrote it
    assert failures and any("changed" in f.get("message", "") for f in failures)
    md = (tmp_path / "ok.md").read_text()
    assert "**FAILED**" in md and "What moved" in md and "--update" in md and "Before the figures" in md


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


def test_a_plans_file_is_part_of_the_provenance(tmp_path: Path) -> None:
    shutil.copy(SMALL, tmp_path / "small.yaml")
    plans = tmp_path / "extra.yaml"
    plans.write_text("plans:\n  more_tow:\n    operations: {staff: {tow: {headcount: {yc: 5, sz: 3}}}}\n")
    (tmp_path / "regress.yaml").write_text("baselines: b\nscenarios:\n  small.yaml: {plans: [baseline, more_tow], "
                                           "plans_file: extra.yaml, tiers: [exact]}\n")
    _, targets, _ = rg.read_config(tmp_path / "regress.yaml")
    made = {"provenance": rg.provenance(targets[0])}
    assert made["provenance"]["plans_file"].endswith("extra.yaml") and len(made["provenance"]["plans_sha256"]) == 64
    assert rg.compare_provenance(targets[0], made) == ([], [])
    plans.write_text(plans.read_text().replace("yc: 5", "yc: 6"))
    _, again, _ = rg.read_config(tmp_path / "regress.yaml")
    notes, rows = rg.compare_provenance(again[0], made)
    assert notes[0].level == "fail" and "the plans file" in notes[0].text and "has changed" in notes[0].text
    assert rows[0].figure == "plans file" and not rows[0].passed
    (tmp_path / "regress.yaml").write_text("baselines: b\nscenarios:\n  small.yaml: {plans_file: nope.yaml}\n")
    with pytest.raises(InputError, match="plans file not found") as err:
        rg.read_config(tmp_path / "regress.yaml")
    assert "regress.yaml:3: scenarios.small.yaml.plans_file:" in err.value.one_line()


def test_the_regress_package_has_no_import_circle_and_no_module_over_450_lines() -> None:
    import ast

    folder = ROOT / "sim" / "regress"
    graph: dict[str, set[str]] = {}
    for p in folder.glob("*.py"):
        assert len(p.read_text().splitlines()) <= 450, p.name
        if p.stem == "__init__":
            continue
        found = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim.regress."):
                found.add(node.module)
        graph[f"sim.regress.{p.stem}"] = found
    assert graph["sim.regress.outcome"] == set() and graph["sim.regress.config"] == set()

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(n == target or (n not in seen and reaches(n, target, seen | {n})) for n in graph.get(start, ()))

    assert [m for m in graph if reaches(m, m, set())] == []
