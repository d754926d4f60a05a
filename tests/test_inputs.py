"""Every input file is refused cleanly: one line naming file:line, exit 2, bounded work, nothing echoed.

Scenario files, plans files (also through `extends:`), injects files, exercise logs and sweep grids; YAML
bombs, deep nesting, huge files, non-finite numbers, tags, duplicate keys, foreign files; the bounds of
the command line (seeds, runs, workers) checked before the first run. The scenario schema's own bad values
are in tests/test_scenario.py (BAD_VALUES).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from helpers import SMALL, cli, line_of, minimal_doc, write_yaml

from sim.errors import InputError
from sim.exercise import Exercise
from sim.inputs import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, read_yaml
from sim.scenario import Decision, load_scenario

SF = load_scenario(SMALL)


def small_copy(folder: Path, text: str | None = None) -> Path:
    path = folder / "small.yaml"
    path.write_text(SMALL.read_text() if text is None else text)
    return path


# ---------------------------------------------------------------- bounded reading


def billion_laughs(levels: int = 10, width: int = 10) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\nname: bomb\n"


@pytest.mark.parametrize(("text", "words"), [
    (billion_laughs(), f"more than {MAX_NODES:,} values once aliases are expanded"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    ("x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)) + "  " * 200 + "v: 1\n", "nested"),
], ids=["billion-laughs", "deep-flow-nesting", "deep-block-nesting"])
def test_a_yaml_bomb_is_refused_in_well_under_a_second(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    started = time.perf_counter()
    line = cli("check", path).error_line()
    assert time.perf_counter() - started < 1.0
    assert words in line and str(path) in line


def test_a_file_too_large_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing to read
    started = time.perf_counter()
    line = cli("check", path).error_line()
    assert time.perf_counter() - started < 1.0 and "too large" in line


def test_nesting_within_the_bound_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, MAX_DEPTH - 2)) + "  " * (MAX_DEPTH - 2)
                    + "v: 1\n")
    raw, _, _ = read_yaml(path)
    assert "x" in raw


# ---------------------------------------------------------------- non-finite numbers, tags, duplicates


NON_FINITE = [".nan", ".inf", "-.inf", ".NaN", "1e400"]


@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_numbers_are_refused_in_a_scenario(tmp_path: Path, value: str) -> None:
    text = SMALL.read_text().replace("service_radius_km: 30", f"service_radius_km: {value}")
    path = small_copy(tmp_path, text)
    line = cli("check", path).error_line()
    assert f"{path}:{line_of(text, 'service_radius_km: ' + value)}: regions[1].service_radius_km:" in line
    assert "finite" in line


def plans_file(folder: Path, body: str) -> Path:
    path = folder / "plans.yaml"
    path.write_text("# shared plans\nplans:\n" + body)
    return path


@pytest.mark.parametrize(("kind", "text", "key"), [
    ("plans", "  fast:\n    operations:\n      triage: {large_loss_min: .inf}\n",
     "plans.fast.operations.triage.large_loss_min"),
    ("injects", "injects:\n  - {at_h: .nan, title: x}\n", "injects[0].at_h"),
    ("grid", "scenarios: [small.yaml]\nhours: .inf\n", "hours"),
    ("log", None, "actions[0].decision.at_h"),
])
def test_non_finite_numbers_are_refused_in_every_file(tmp_path: Path, kind: str, text: str | None,
                                                      key: str) -> None:
    small = small_copy(tmp_path)
    if kind == "plans":
        path = plans_file(tmp_path, text)
        args = ["compare", small, "--plans-file", path, "--out", tmp_path / "out"]
    elif kind == "injects":
        path = tmp_path / "injects.yaml"
        path.write_text(text)
        args = ["tabletop", small, "--injects", path]
    elif kind == "grid":
        path = tmp_path / "grid.yaml"
        path.write_text(text)
        args = ["sweep", "--grid", path, "--out", tmp_path / "out"]
    else:
        path = exercise_log(tmp_path, small)
        text = path.read_text().replace("at_h: 3.0", "at_h: -.inf", 1)
        path.write_text(text)
        args = ["tabletop", small, "--replay", path, "--out", tmp_path / "out"]
    line = cli(*args).error_line()
    body = path.read_text()
    number = next(i + 1 for i, ln in enumerate(body.splitlines()) if re.search(r"\.(nan|inf)", ln))
    assert f"{path}:{number}: {key}: numbers must be finite" in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", [
    "name: !!python/object/apply:os.system [echo owned]\n",
    "name: !!python/object:builtins.dict {a: 1}\n",
    "regions: !custom [1]\n",
    "name: !!binary aGVsbG8=\n",
    "name: !!set {a, b}\n",
])
def test_tags_and_binary_values_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tagged.yaml"
    path.write_text(text)
    line = cli("check", path).error_line()
    assert f"{path}:1:" in line and "not allowed" in line


def test_a_duplicate_key_is_named_and_its_values_are_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: small\npassword: hunter2\npassword: correct-horse\n")
    line = cli("check", path).error_line()
    assert f"{path}:3:" in line and "duplicate key" in line and "password" in line
    assert "hunter2" not in line and "correct-horse" not in line


FOREIGN = {
    "passwd": b"root:x:0:0:root:/root:/bin/bash\nsshd:x:74:74:Privilege-separated SSH:/var/empty/sshd:/sbin/nologin\n",
    "ini": b"[default]\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n",
    "binary": bytes(range(256)) * 4,
    "private key": b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
                   b"-----END OPENSSH PRIVATE KEY-----\n",
}


@pytest.mark.parametrize("kind", list(FOREIGN))
@pytest.mark.parametrize("option", ["scenario", "--plans-file", "--injects", "--replay", "--grid"])
def test_a_foreign_file_is_named_and_never_echoed(tmp_path: Path, kind: str, option: str) -> None:
    foreign = tmp_path / "secrets"
    foreign.write_bytes(FOREIGN[kind])
    small = small_copy(tmp_path)
    args = {"scenario": ["check", foreign], "--plans-file": ["compare", small, "--plans-file", foreign],
            "--injects": ["tabletop", small, "--injects", foreign],
            "--replay": ["tabletop", small, "--replay", foreign, "--out", tmp_path / "out"],
            "--grid": ["sweep", "--grid", foreign]}[option]
    line = cli(*args).error_line()
    assert str(foreign) in line
    rest = line.replace(str(foreign), "")
    for secret in ("root", "bash", "sshd", "aws_secret", "wJalr", "b3Blbn", "PRIVATE", "default"):
        assert secret not in rest, line


# ---------------------------------------------------------------- where errors point


def test_a_missing_top_level_key_names_it_and_the_line_the_mapping_starts(tmp_path: Path) -> None:
    doc = minimal_doc()
    del doc["operations"]
    path = tmp_path / "s.yaml"
    write_yaml(doc, path)
    path.write_text("# a scenario\n# with a header\n\n" + path.read_text())
    line = cli("check", path).error_line()
    first_key = next(i + 1 for i, ln in enumerate(path.read_text().splitlines()) if ln and not ln.startswith("#"))
    assert line.startswith(f"error: {path}:{first_key}: operations: missing required key 'operations'"), line


@pytest.mark.parametrize("line", [100, 1234])
def test_a_line_number_is_never_taken_for_an_emoji(tmp_path: Path, line: int) -> None:
    """Found by the fuzz suite: the console turned ":100:" of "file.yaml:100:" into an emoji."""
    path = tmp_path / "s.yaml"
    text = SMALL.read_text().replace("duration_h: 48", "duration_h: .nan")
    path.write_text("#\n" * (line - line_of(text, "duration_h")) + text)
    assert f"{path}:{line}: duration_h: numbers must be finite" in cli("check", path).error_line()


def test_a_missing_nested_key_points_at_its_mapping(tmp_path: Path) -> None:
    doc = minimal_doc()
    del doc["regions"][0]["road_speed_kmh"]
    path = write_yaml(doc, tmp_path / "s.yaml")
    line = cli("check", path).error_line()
    assert f"{path}:{line_of(path.read_text(), '- id: r1')}: regions[0].road_speed_kmh: missing required key" in line


EXTENDS = """  fast:
    extends: more_phone
    operations:
      triage: {large_loss_min: -5}
  faster:
    extends: fast
    operations:
      staff:
        assessment: {headcount: -1}
  orphan:
    extends: nowhere
"""


@pytest.mark.parametrize(("plan_body", "needle", "key"), [
    ("  fast:\n    extends: more_phone\n    operations:\n      triage: {large_loss_min: -5}\n",
     "large_loss_min: -5", "plans.fast.operations.triage.large_loss_min"),
    ("  base:\n    operations: {staff: {phone: {headcount: 3}}}\n  faster:\n    extends: base\n    operations:\n"
     "      staff:\n        assessment: {headcount: -1}\n", "headcount: -1", "plans.faster.operations.staff"
     ".assessment.headcount"),
    ("  orphan:\n    extends: nowhere\n", "extends: nowhere", "plans.orphan.extends"),
    ("  sms:\n    description: again\n", "  sms:", "plans.sms"),
    ("  typo:\n    operatons: {}\n", "operatons", "plans.typo.operatons"),
])
def test_errors_in_a_plans_file_point_at_its_own_lines(tmp_path: Path, plan_body: str, needle: str,
                                                       key: str) -> None:
    """Even through `extends:` (a plans-file plan extending the scenario's own, or another of the file's)."""
    path = plans_file(tmp_path, plan_body)
    line = cli("compare", SMALL, "--plans-file", path, "--out", tmp_path / "out").error_line()
    assert f"{path}:{line_of(path.read_text(), needle)}: {key}:" in line, line


def test_an_error_in_an_extended_scenario_plan_points_at_the_scenario(tmp_path: Path) -> None:
    text = SMALL.read_text().replace("phone: {headcount: 12}", "phone: {headcount: 12, roster: nope}")
    small = small_copy(tmp_path, text)
    path = plans_file(tmp_path, "  fast:\n    extends: more_phone\n")
    line = cli("compare", small, "--plans-file", path, "--out", tmp_path / "out").error_line()
    assert f"{small}:{line_of(text, 'roster: nope')}: plans.more_phone.operations.staff.phone.roster" in line


def exercise_log(folder: Path, scenario: Path) -> Path:
    ex = Exercise(load_scenario(scenario), "baseline", 1, [], hours=8)
    ex.run_to(3)
    ex.decide(Decision(title="More assessors", changes={"operations": {"staff": {"assessment": {"headcount": 5}}}}))
    ex.run_to(5)
    path = folder / "exercise-log.yaml"
    path.write_text(ex.log_yaml())
    return path


@pytest.mark.parametrize(("old", "new", "needle", "key", "words"), [
    ("plan: baseline", "plan: nope", "plan: nope", "plan", "no plan named 'nope'"),
    ("seed: 1", "seed: -1", "seed: -1", "seed", "greater than or equal to 0"),
    ("seed: 1", "seed: 99999999999", "seed: 9", "seed", "less than or equal to"),
    ("reached_h: 5", "reached_h: five", "reached_h", "reached_h", "integer"),
    ("hour: 3", "hour: 30", "hour: 30", "actions[0].hour", "past the horizon"),
    ("headcount: 5", "headcount: -5", "headcount: -5", "actions[0].decision.changes.operations.staff.assessment"
     ".headcount", "greater than or equal to 0"),
    ("kind: decision", "kind: vote", "kind: vote", "actions[0].kind", "pattern"),
    ("reached_h: 5", "reached_h: 5\nsurprise: 1", "surprise", "surprise", "unknown key"),
], ids=["unknown-plan", "negative-seed", "huge-seed", "word-hour", "action-past-horizon", "bad-decision",
        "unknown-kind", "unknown-key"])
def test_errors_in_an_exercise_log_point_at_its_lines(tmp_path: Path, old: str, new: str, needle: str, key: str,
                                                      words: str) -> None:
    small = small_copy(tmp_path)
    path = exercise_log(tmp_path, small)
    text = path.read_text()
    assert text.count(old) == 1, (old, text)
    path.write_text(text.replace(old, new))
    line = cli("tabletop", small, "--replay", path, "--out", tmp_path / "out").error_line()
    assert f"{path}:{line_of(path.read_text(), needle)}: {key}:" in line and words in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("text", "where", "words"), [
    ("scenarios: [small.yaml]\nseeds: [1, -2]\n", "grid.yaml:2: seeds[1]", "greater than or equal to 0"),
    ("scenarios: [small.yaml]\nseeds: {first: 0, count: 1000000000}\n", "grid.yaml:2: seeds.count",
     "less than or equal to 100000"),
    ("scenarios: [small.yaml]\nhours: 100000\n", "grid.yaml:2: hours", "less than or equal to 8784"),
    ("scenarios: [small.yaml]\nplans_file: nowhere.yaml\n", "grid.yaml:2: plans_file", "file not found"),
    ("scenarios: small.yaml\n", "grid.yaml:1: scenarios", "valid list"),
    ("scenarios: [small.yaml]\nseeds: {first: 0, count: 60000}\nplans: [baseline, sms]\n", "grid.yaml:2: seeds",
     "more than 100,000 runs"),
], ids=["negative-seed", "a-billion-seeds", "hours-beyond-a-year", "missing-plans-file", "not-a-list",
        "too-many-runs"])
def test_errors_in_a_sweep_grid_point_at_its_lines(tmp_path: Path, text: str, where: str, words: str) -> None:
    small_copy(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text(text)
    started = time.perf_counter()
    line = cli("sweep", "--grid", grid, "--out", tmp_path / "out").error_line()
    assert time.perf_counter() - started < 5
    assert where in line and words in line, line
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- command-line bounds, before any run


@pytest.mark.parametrize(("args", "words"), [
    (["sweep", SMALL, "--seeds", "0-1000000000"], "1,000,000,001 seeds: at most 100,000"),
    (["sweep", SMALL, "--seeds", "0-99999999999999999999"], "seeds"),
    (["sweep", SMALL, "--seeds", "5000000000"], "at most 4,294,967,295"),
    (["sweep", SMALL, "--seeds", "3-1"], "--seeds"),
    (["sweep", SMALL, "--seeds", "x" * 5000], "--seeds"),
    (["sweep", SMALL, "--workers", "100000"], "--workers"),
    (["sweep", SMALL, "--seeds", "0-99999", "--plans", "baseline,sms"], "more than 100,000 runs"),
    (["compare", SMALL, "--reps", "1000000"], "--reps"),
    (["compare", SMALL, "--precision", "nan"], "--precision"),
    (["compare", SMALL, "--key", "nope"], "unknown figure"),
    (["compare", SMALL, "--target-paid-7d", "nan"], "--target-paid-7d"),
    (["run", SMALL, "--hours", "100000"], "--hours"),
    (["validate", "--cases", "1,99"], "unknown case"),
])
def test_command_line_bounds_are_checked_before_any_run(tmp_path: Path, args: list, words: str) -> None:
    started = time.perf_counter()
    line = cli(*args, "--out", tmp_path / "out").error_line()
    assert time.perf_counter() - started < 5
    assert words in line and len(line) < 400, line
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- tracebacks that were reachable


@pytest.mark.parametrize("roles", [["approval"], ["phone", "tow"], "all"])
def test_roles_with_zero_staff_run_and_report(tmp_path: Path, roles: list[str] | str) -> None:
    text = SMALL.read_text()
    for role in (["phone", "video_survey", "field_survey", "tow", "assessment", "approval"] if roles == "all"
                 else roles):
        text = re.sub(rf"(    {role}: {{headcount: )(\{{yc: 3, sz: 2\}}|\d+)", r"\g<1>0", text)
    path = small_copy(tmp_path, text)
    done = cli("run", path, "--hours", "12", "-q", "--out", tmp_path / "out")
    assert done.code == 0, done.err
    import json

    summary = json.loads((tmp_path / "out" / "small" / "baseline" / "seed-7" / "summary.json").read_text())
    cost = summary["figures"]["cost"]
    assert set(cost) >= {"staff", "overtime_premium", "partner_fees", "by_role", "total"}
    if roles == "all":
        assert cost["total"] == 0 and summary["figures"]["claims_settled"] == 0
    report = (tmp_path / "out" / "small" / "baseline" / "seed-7" / "report.md").read_text()
    assert "overtime premium" in report


def test_input_error_anywhere_in_a_command_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An InputError raised deep inside a command (not caught there) still renders as one line, exit 2."""
    from sim import runner

    def refuse(*_a: object, **_k: object) -> None:
        raise InputError("deep problem", file="x.yaml", line=3, key_path="a.b")

    monkeypatch.setattr(runner, "simulate", refuse)
    assert cli("run", SMALL, "-q", "--out", tmp_path / "out").error_line() == "error: x.yaml:3: a.b: deep problem"
