"""Plan comparison: its statistics, common random numbers, determinism and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import SMALL, cli

from sim import compare as cmp


def test_holm_matches_a_hand_computation() -> None:
    # p sorted: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06, kept monotone), 0.5 (x1 = 0.5)
    assert cmp.holm([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    assert cmp.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 0.8 x 2 caps at 1, and stays monotone


def test_pareto_front() -> None:
    pts = [(1.0, 10.0), (2.0, 5.0), (3.0, 6.0), (1.5, 12.0), (4.0, 1.0)]
    assert cmp.pareto_front(pts) == [0, 1, 4]


def test_bootstrap_percentile_brackets_the_pooled_value() -> None:
    rng = np.random.default_rng(2)
    reps = [rng.exponential(10, 200) for _ in range(8)]
    point, lo, hi = cmp.bootstrap_percentile(reps, 90)
    assert lo <= point <= hi
    assert point == pytest.approx(np.percentile(np.concatenate(reps), 90))
    assert 10 * np.log(10) * 0.8 < point < 10 * np.log(10) * 1.2  # exponential p90 = mean ln 10


def spec(plan: str, seed: int, hours: int = 24) -> cmp.RunSpec:
    return cmp.RunSpec(str(SMALL), None, plan, seed, hours, None)


def test_results_do_not_depend_on_the_worker_count() -> None:
    specs = [spec(p, s) for p in ("baseline", "sms") for s in (1, 2)]
    one = cmp.run_all(specs, 1)
    two = cmp.run_all(specs, 2)
    for a, b in zip(one, two, strict=True):
        assert (a["plan"], a["seed"]) == (b["plan"], b["seed"])
        np.testing.assert_equal(a["figures"], b["figures"])  # NaN (no payment yet) equals NaN
        assert np.array_equal(a["latency"], b["latency"])


def test_common_random_numbers_shrink_a_one_person_staffing_difference(tmp_path: Path) -> None:
    """One more assessor: with the same seeds the paired difference varies far less than with new seeds."""
    plans = tmp_path / "plans.yaml"
    plans.write_text("plans:\n  one_more_assessor:\n    operations:\n      staff:\n        assessment: "
                     "{headcount: 4}\n")
    reps = 6
    base = cmp.run_all([cmp.RunSpec(str(SMALL), str(plans), "baseline", 100 + r, 48, None) for r in range(reps)], 2)
    more = cmp.run_all([cmp.RunSpec(str(SMALL), str(plans), "one_more_assessor", 100 + r, 48, None)
                        for r in range(reps)], 2)
    results = {"baseline": cmp.PlanResult("baseline", base), "one_more_assessor": cmp.PlanResult("x", more)}
    crn = cmp.crn_variance(SMALL, plans, "baseline", "one_more_assessor", 100, reps, 48, 2, results,
                           "latency_restricted")
    assert crn["var_crn"] < crn["var_independent"]
    assert crn["shrink"] >= 10.0, crn
    # and the paired difference itself says the extra assessor helps
    diff = results["one_more_assessor"].values("latency_restricted") - results["baseline"].values("latency_restricted")
    assert diff.mean() < 0


def test_compare_scenario_precision_adds_replications(tmp_path: Path) -> None:
    comp = cmp.compare_scenario(SMALL, ["baseline", "sms"], 2, None, 24, tmp_path, 2, None, precision=1e-6,
                                max_reps=4, key="latency_mean", crn_check=False)
    assert all(len(pr.reps) == 4 for pr in comp.plans.values())  # the target is unreachable: stops at max
    seeds = [r["seed"] for r in comp.plans["sms"].reps]
    assert seeds == sorted(seeds) == [r["seed"] for r in comp.plans["baseline"].reps]
    diffs = comp.differences()
    claims = next(d for d in diffs if d["figure"] == "claims")
    assert claims["diff"] < 0 and claims["significant"] and claims["better"]  # SMS keeps drivers home


def test_robustness_rules_on_a_hand_made_matrix() -> None:
    def comp(name: str, values: dict[str, float]) -> cmp.Comparison:
        plans = {p: cmp.PlanResult(p, [{"figures": {"latency_p90": v + e, "paid_7d": 0.5}} for e in (-1, 1)])
                 for p, v in values.items()}
        return cmp.Comparison(name, name, "a", plans)

    rob = cmp.robustness([comp("s1", {"a": 10, "b": 20, "c": 15}), comp("s2", {"a": 100, "b": 60, "c": 70})],
                         "latency_p90", 72.0, 0.3)
    assert rob["regret"]["s1"] == pytest.approx({"a": 0, "b": 10, "c": 5})
    assert rob["regret"]["s2"] == pytest.approx({"a": 40, "b": 0, "c": 10})
    assert rob["max_regret"] == pytest.approx({"a": 40, "b": 10, "c": 10})
    assert rob["rules"]["minimax regret"] == "b"           # b and c tie at 10: the first listed wins
    assert rob["rules"]["best mean over scenarios"] == "b"  # bounds: a 58, b 43, c 45.6
    assert rob["rules"]["best worst case"] == "b"          # worst: a 100, b 60, c 70
    # targets and rules use the 90% upper bound (mean + 3.08 here), not the mean: c's 70 h becomes 73.1 h > 72
    assert rob["share_meeting_target"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert rob["rules"]["most scenarios meeting the target"] == "b"


def test_cli_compare_writes_tables_plots_and_run_folders(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["compare", SMALL, "--plans", "baseline,sms", "--reps", "2", "--hours", "24", "--out", out,
            "--no-crn-check"]
    done = cli(*args)
    assert done.code == 0, done.err
    folder = out / "small"
    for name in ("report.md", "table.csv", "differences.csv", "replications.csv", "summary.json",
                 "latency_cdf.png", "backlog.png", "cost_vs_p90.png"):
        assert (folder / name).is_file(), name
    for plan in ("baseline", "sms"):
        for seed in (7, 8):
            assert (folder / "runs" / plan / f"seed-{seed}" / "claims.parquet").is_file()
    summary = json.loads((folder / "summary.json").read_text())
    assert [r["plan"] for r in summary["table"]] == ["baseline", "sms"]
    assert "Differences against `baseline`" in (folder / "report.md").read_text()
    assert not list(out.glob(".*partial"))
    assert summary["runs"] == 4 and summary["reused"] == 0
    # the same command again reuses every run folder and gives the same table
    again = cli(*args)
    assert again.code == 0, again.err
    second = json.loads((folder / "summary.json").read_text())
    assert second["reused"] == 4 and second["table"] == summary["table"]


def test_cli_compare_several_scenarios_gives_a_matrix(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(SMALL.read_text().replace("name: small", "name: other").replace("count: 3000", "count: 6000"))
    out = tmp_path / "cmp"
    done = cli("compare", SMALL, other, "--plans", "baseline,more_phone", "--reps", "2", "--hours", "12", "--out", out,
               "--no-crn-check")
    assert done.code == 0, done.err
    matrix = json.loads((out / "matrix" / "matrix.json").read_text())
    assert set(matrix["matrix"]) == {"small", "other"}
    assert set(matrix["rules"]) == {"best mean over scenarios", "best worst case", "minimax regret",
                                    "most scenarios meeting the target"}
    assert "minimax regret" in done.out


@pytest.mark.parametrize("args, needle", [
    (["--plans", "baseline,nope"], "nope"),
    (["--key", "latency_p95"], "--key"),
    (["--reps", "1"], "--reps"),
])
def test_cli_compare_bad_input_is_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    assert needle in cli("compare", SMALL, "--out", tmp_path / "o", *args).error_line()
    assert not (tmp_path / "o").exists()


def test_plans_file_errors_name_the_plans_file(tmp_path: Path) -> None:
    from sim.errors import InputError
    from sim.scenario import load_scenario

    bad = tmp_path / "plans.yaml"
    bad.write_text("plans:\n  typo:\n    operations:\n      staf: {}\n")
    sf = load_scenario(SMALL)
    with pytest.raises(InputError) as err:
        sf.add_plans_file(bad)
    assert err.value.file == str(bad) and err.value.line == 4 and err.value.key_path == "plans.typo.operations.staf"
    clash = tmp_path / "clash.yaml"
    clash.write_text("plans:\n  sms: {}\n")
    with pytest.raises(InputError) as err:
        load_scenario(SMALL).add_plans_file(clash)
    assert "also defined" in err.value.message


def test_noise_is_no_detectable_difference_and_a_threshold_is_honoured(tmp_path: Path) -> None:
    """A plan identical to the baseline differs on nothing; a real but small change falls under --min-effect."""
    plans = tmp_path / "plans.yaml"
    plans.write_text("plans:\n  same:\n    description: the baseline again\n  one_more_assessor:\n"
                     "    operations:\n      staff:\n        assessment: {headcount: 4}\n")
    comp = cmp.compare_scenario(SMALL, ["baseline", "same", "one_more_assessor"], 3, None, 24, tmp_path, 1, plans,
                                None, 3, "latency_mean", False)
    diffs = comp.differences()
    assert all(d["verdict"] == "no detectable difference" for d in diffs if d["plan"] == "same")
    cost = next(d for d in diffs if d["plan"] == "one_more_assessor" and d["figure"] == "cost")
    assert cost["verdict"] == "worse" and not cost["better"]
    comp.min_effect = {"cost": 10 * abs(cost["diff"])}
    cost = next(d for d in comp.differences() if d["plan"] == "one_more_assessor" and d["figure"] == "cost")
    assert cost["verdict"] == "below the practical threshold"
    assert comp.recommendation()["plan"] in comp.plans


def test_cli_compare_report_summary_workbook_and_history(tmp_path: Path) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text("plans:\n  lean:\n    operations:\n      staff:\n        phone: {headcount: 3}\n")
    out = tmp_path / "cmp"
    args = ["compare", str(SMALL), "--plans-file", str(plans), "--plans",
            "baseline,lean", "--reps", "2", "--hours", "12", "--out", str(out), "--no-crn-check", "--workers", "1",
            "--target", "latency_p90<=150%", "--target", "cost<=20000"]
    done = cli(*args)
    assert done.code == 0, done.err
    folder = out / "small"
    report = (folder / "report.md").read_text()
    head = report.split("## Targets")[0]
    assert "## Executive summary" in head and "Recommended plan" in head and "CNY" in head
    assert "## Economics" in report and "video_survey" not in report
    from openpyxl import load_workbook

    wb = load_workbook(folder / "comparison.xlsx")
    assert {"Summary", "Figures", "Differences", "Economics", "Replications", "Targets"} <= set(wb.sheetnames)
    header = [c.value for c in wb["Figures"][1]]
    assert header[:3] == ["plan", "figure", "replications"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["currency"] == "CNY" and summary["recommendation"]["plan"] in ("baseline", "lean")
    # a changed plans file: the previous report moves to history/, it is not overwritten
    plans.write_text("plans:\n  lean:\n    operations:\n      staff:\n        phone: {headcount: 2}\n")
    done = cli(*args)
    assert done.code == 0, done.err
    kept = list((folder / "history").glob("*/report.md"))
    assert len(kept) == 1 and kept[0].read_text() == report
    assert (folder / "report.md").is_file() and (folder / "report.md").read_text() != report
