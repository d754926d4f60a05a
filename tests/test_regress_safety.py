"""Scenario regression as a safe gate: any corrupt baseline or config is found before a run starts and is one
line `file:line: key: message` (exit 2, never a traceback); --report, --junit and --update never replace a file
claimsim did not write. Baseline and config documents are mutated at random (hypothesis)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import SMALL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim import regress as rg
from sim.cli import app
from sim.errors import InputError

CONFIG = {"exact": {"seed": 2, "hours": 8, "whole_run_h": 0, "after_peak_h": 1},
          "stat": {"reps": 3, "hours": 10, "seed": 9},
          "baselines": "b", "scenarios": {"small.yaml": {"plans": ["baseline"]}}}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny config for the small scenario, its baseline document, and one check's measurements."""
    folder = tmp_path_factory.mktemp("regress_safety")
    shutil.copy(SMALL, folder / "small.yaml")
    (folder / "regress.yaml").write_text(json.dumps(CONFIG))
    cfg, targets, base = rg.read_config(folder / "regress.yaml")
    rg.write_baseline(base, targets[0], rg.measure(targets, cfg, ["exact", "stat"], workers=1, fresh=0)["small"],
                      None)
    check = rg.measure(targets, cfg, ["exact", "stat"], workers=1, fresh=rg.FRESH_OFFSET)
    return {"folder": folder, "targets": targets, "doc": json.loads((base / "small.json").read_text()),
            "measured": check}


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a JSON document (mappings and lists)."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, prefix + (i,))
    return out


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def _mutate(doc: Any, path: tuple, op: str, value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    node = doc
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if op == "delete" and isinstance(node, dict) and last in node:
        del node[last]
    elif op == "rename" and isinstance(node, dict) and last in node:
        node[f"{last}_x"] = node.pop(last)
    else:
        node[last] = value
    return doc


ONE_LINE = re.compile(r"^\S+?\.json(:\d+)?: \S.*$")


def _load_or_refuse(made: dict[str, Any], folder: Path, text: str) -> None:
    """Loading gives a checked document (and a check that runs to the end) or one located InputError."""
    (folder / "b").mkdir(exist_ok=True)
    (folder / "b" / "small.json").write_text(text)
    try:
        data = rg.load_baseline(folder / "b", "small")
    except InputError as err:
        line = err.one_line()
        assert "\n" not in line and ONE_LINE.match(line), line
        assert line.startswith(str(folder / "b" / "small.json"))
        return
    outcome = rg.check(made["measured"], {"small": data}, 0.05, made["targets"])  # never a traceback
    rg.junit(outcome)
    rg.markdown(outcome, {"tiers": ["exact", "stat"], "scenarios": 1, "reps": 3, "alpha": 0.05, "n_figures": 14,
                          "stat_scenarios": 1})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_baseline_loads_or_is_one_line(made: dict[str, Any], tmp_path_factory: pytest.TempPathFactory,
                                                 data: st.DataObject) -> None:
    paths = _paths(made["doc"])
    path = data.draw(st.sampled_from(paths), label="path")
    op = data.draw(st.sampled_from(["delete", "rename", "replace"]), label="op")
    value = data.draw(VALUES, label="value")
    doc = _mutate(made["doc"], path, op, value)
    _load_or_refuse(made, tmp_path_factory.mktemp("m"), json.dumps(doc, indent=1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_baseline_file_loads_or_is_one_line(made: dict[str, Any], tmp_path_factory: pytest.TempPathFactory,
                                                      data: st.DataObject) -> None:
    text = json.dumps(made["doc"], indent=1)
    at = data.draw(st.integers(0, len(text)), label="at")
    how = data.draw(st.sampled_from(["cut", "insert", "drop"]), label="how")
    junk = data.draw(st.text(min_size=1, max_size=4), label="junk")
    text = text[:at] if how == "cut" else text[:at] + junk + text[at:] if how == "insert" else text[:at] + text[at + 3:]
    _load_or_refuse(made, tmp_path_factory.mktemp("d"), text)


def test_a_baseline_file_is_checked_whole_before_it_is_used(made: dict[str, Any], tmp_path: Path) -> None:
    doc = made["doc"]
    cases = [
        (_mutate(doc, ("stat", "plans", "baseline", "latency_p90", 1), "replace", float("nan")),
         r":\d+: stat\.plans\.baseline\.latency_p90\[1\]: broken baseline: Input should be a finite number"),
        (_mutate(doc, ("exact", "hours"), "replace", "24"), r":\d+: exact\.hours: broken baseline: Input should be"),
        (_mutate(doc, ("provenance", "scenario_sha256"), "delete", None),
         r":\d+: provenance\.scenario_sha256: broken baseline: missing required key 'scenario_sha256'"),
        (_mutate(doc, ("stat", "seeds"), "replace", [1, 2, 3, 4]),
         r":\d+: stat\.plans\.baseline\.\w+: broken baseline: 3 values for 4 seeds"),
        (_mutate(doc, ("scenario",), "replace", "other"), r":\d+: scenario: this baseline is for another scenario"),
    ]
    for bad, pattern in cases:
        (tmp_path / "b").mkdir(exist_ok=True)
        (tmp_path / "b" / "small.json").write_text(json.dumps(bad, indent=1))
        with pytest.raises(InputError) as err:
            rg.load_baseline(tmp_path / "b", "small")
        assert re.search(pattern, err.value.one_line()), err.value.one_line()
    (tmp_path / "b" / "small.json").write_text('{"scenario": "small",\n "oops"\n}')
    with pytest.raises(InputError, match="not valid JSON") as err:
        rg.load_baseline(tmp_path / "b", "small")
    assert ":3: " in err.value.one_line()


CONFIG_PATHS = [("exact",), ("exact", "seed"), ("exact", "hours"), ("exact", "after_peak_h"), ("stat",),
                ("stat", "reps"), ("stat", "alpha"), ("stat", "extra_figures"), ("baselines",), ("scenarios",),
                ("scenarios", "small.yaml"), ("scenarios", "small.yaml", "plans"),
                ("scenarios", "small.yaml", "plans", 0)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(path=st.sampled_from(CONFIG_PATHS), op=st.sampled_from(["delete", "rename", "replace"]), value=VALUES)
def test_a_mutated_config_reads_or_is_one_line(tmp_path_factory: pytest.TempPathFactory, path: tuple, op: str,
                                               value: Any) -> None:
    folder = tmp_path_factory.mktemp("c")
    shutil.copy(SMALL, folder / "small.yaml")
    (folder / "regress.yaml").write_text(json.dumps(_mutate(CONFIG, path, op, value), indent=1))
    try:
        rg.read_config(folder / "regress.yaml")
    except InputError as err:
        line = err.one_line()
        assert "\n" not in line and line.startswith(str(folder / "regress.yaml")), line


class _Result:
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr


def _cli(*args: str) -> _Result:
    """`claimsim regress ARGS` in this process (the runs too, with --workers 1)."""
    result = CliRunner().invoke(app, ["regress", *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return _Result(result.exit_code, result.stderr)


def _no_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a run started although an input or output was refused")

    monkeypatch.setattr(rg, "measure", refuse)


def test_cli_refuses_a_corrupt_baseline_before_any_run(made: dict[str, Any], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _no_runs(monkeypatch)
    shutil.copy(SMALL, tmp_path / "small.yaml")
    (tmp_path / "regress.yaml").write_text(json.dumps(CONFIG))
    (tmp_path / "b").mkdir()
    bad = _mutate(made["doc"], ("exact", "plans", "baseline", "figures", "claims_total"), "replace", "many")
    (tmp_path / "b" / "small.json").write_text(json.dumps(bad, indent=1))
    r = _cli("--config", str(tmp_path / "regress.yaml"), "--workers", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert re.match(rf"error: {re.escape(str(tmp_path / 'b' / 'small.json'))}:\d+: "
                    r"exact\.plans\.baseline\.figures\.claims_total: broken baseline", r.stderr), r.stderr


def test_cli_never_replaces_a_foreign_report_junit_or_baseline(made: dict[str, Any], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder = made["folder"]
    measure = rg.measure
    _no_runs(monkeypatch)
    mine = tmp_path / "notes.md"
    mine.write_text("# my own notes\n")
    r = _cli("--config", str(folder / "regress.yaml"), "--tier", "exact", "--workers", "1", "--report", str(mine))
    assert r.returncode == 2 and "--report: this file exists and was not written by claimsim" in r.stderr
    assert mine.read_text() == "# my own notes\n"
    xml = tmp_path / "results.xml"
    xml.write_text("<testsuites/>")
    r = _cli("--config", str(folder / "regress.yaml"), "--tier", "exact", "--workers", "1", "--junit", str(xml))
    assert r.returncode == 2 and "--junit:" in r.stderr and xml.read_text() == "<testsuites/>"
    monkeypatch.setattr(rg, "measure", measure)
    r = _cli("--config", str(folder / "regress.yaml"), "--tier", "exact", "--workers", "1", "--junit", str(xml),
             "--force")
    assert r.returncode == 0 and "written by claimsim" in xml.read_text()
    # --update: a baseline folder holding someone else's file of that name
    other = tmp_path / "cfg"
    shutil.copytree(folder, other)
    (other / "b" / "small.json").write_text('{"mine": true}\n')
    _no_runs(monkeypatch)
    r = _cli("--config", str(other / "regress.yaml"), "--update", "--workers", "1")
    assert r.returncode == 2 and "--update: this file exists and was not written by claimsim" in r.stderr
    assert (other / "b" / "small.json").read_text() == '{"mine": true}\n'
