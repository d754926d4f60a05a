"""Fuzzing every input file: valid documents, mutated, must end in exit 0, or exit 2 with one line naming file:line.

Hypothesis takes valid documents (scenarios, plans files, injects files, exercise logs, sweep grids, regression
configs) and mutates them: values of the wrong type, non-finite and huge numbers, missing and unknown keys,
deep nesting, shared values (YAML anchors and aliases), alias bombs, random bytes and truncation. Each
mutated document goes through the command that reads it, in this process, exactly as the console script
runs it (`helpers.cli`). For every one: exit 0, or exit 2 with exactly one stderr line `error: FILE:LINE: ...`
naming one of the files given; never a traceback; `check` within a few seconds. A valid mutated scenario is
also estimated and, when small, run for a few hours. A few real processes check time and peak memory.

Budgets: the CI profile (default) is deterministic (derandomize) with a fixed number of examples per kind,
about a minute in all; `CLAIMSIM_FUZZ=long` runs 20 times as many, with fresh random examples
(docs/SAFETY.md).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import math
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, SCENARIOS, SMALL, Cli, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

LONG = os.environ.get("CLAIMSIM_FUZZ") == "long"
EXAMPLES = {"scenario": 60, "plans": 20, "injects": 20, "log": 8, "grid": 25, "regress": 20}
TRIED: Counter = Counter()  # examples tried, by kind and exit code (printed at the end of the module)


def budget(kind: str) -> settings:
    """The CI profile: a fixed, deterministic set of examples; the long one: 20x as many, fresh each time."""
    return settings(max_examples=EXAMPLES[kind] * (20 if LONG else 1), derandomize=not LONG, deadline=None,
                    database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                          HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    yield
    documents = sum(v for k, v in TRIED.items() if k.split(" exit")[0] in EXAMPLES or k == "regress accepted")
    if documents:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(TRIED.items()))
        print(f"\nfuzz: {documents} documents tried ({parts})", file=sys.stderr)


# ---------------------------------------------------------------------------- documents and mutations


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def dump(doc: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def paths(node: Any, prefix: tuple = (), seen: set[int] | None = None) -> list[tuple]:
    """Every key path in a document (its root excluded); a shared value is walked once."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return []
    seen.add(id(node))
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        out.append(prefix + (key,))
        out += paths(child, prefix + (key,), seen)
    return out


def parent_of(doc: Any, path: tuple) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


ODD_VALUES = [math.nan, math.inf, -math.inf, 1e300, -1e300, 10**30, -(10**30), 2**63, 2**32, -1, 0, 0.5, -0.5, "",
              "x" * 300, None, True, False, [], {}, "forty", "-1", "1e9", "2024-13-45T99:00:00", [[[[1]]]],
              {"dist": "uniform", "low": -5, "high": 1}, {"dist": "lognormal", "mean": 1e12, "cv": 20},
              dt.datetime(2024, 1, 1), "!!python/object:os.system"]
VALUES = st.one_of(st.sampled_from(ODD_VALUES), st.integers(-(10**12), 10**12), st.floats(), st.text(max_size=20),
                   st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(),
                                                                              max_size=2))


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def bomb(levels: int) -> Any:
    """Shared lists: dumped as anchors and aliases, they expand to 10^(levels + 1) values."""
    lol: Any = ["lol"] * 10
    for _ in range(levels):
        lol = [lol] * 10
    return lol


@st.composite
def mutated(draw: st.DrawFn, text: str) -> bytes:
    """A valid document with one to three structural mutations, and perhaps one to its text."""
    doc = load(text)
    for _ in range(draw(st.integers(1, 3))):
        where = paths(doc)
        kind = draw(st.sampled_from(["scale", "scale", "replace", "replace", "delete", "unknown", "nest", "alias",
                                     "bomb"]))
        if kind == "bomb" or not where:
            if isinstance(doc, dict):
                doc[draw(st.sampled_from(["bomb", "description", "name", "plans"]))] = bomb(draw(st.integers(2, 7)))
            break  # nothing more is done to a bomb (it is expanded by nobody but the reader under test)
        numbers = [w for w in where if is_number(parent_of(doc, w)[w[-1]])]
        path = draw(st.sampled_from(numbers if kind == "scale" and numbers else where))
        parent = parent_of(doc, path)
        value = parent[path[-1]]
        if kind == "scale" and is_number(value):
            factor = draw(st.sampled_from([0, -1, 2, 10, 1000, 1e6, 1e12, 0.5, 1e-3, 1e-9]))
            parent[path[-1]] = type(value)(value * factor) if isinstance(value, float) or factor == int(factor) \
                else value * factor  # same type where it can be: plausible but extreme
        elif kind in ("scale", "replace"):
            parent[path[-1]] = copy.deepcopy(draw(VALUES))
        elif kind == "delete":
            del parent[path[-1]]
        elif kind == "unknown":
            target = parent if isinstance(parent, dict) else doc
            if isinstance(target, dict):
                target[draw(st.sampled_from(["colour", "zz", "plans", "extends", "1", "hours"]))] = draw(VALUES)
        elif kind == "nest":
            parent[path[-1]] = nested(draw(st.integers(20, 80)))
        elif kind == "alias":
            other = draw(st.sampled_from(where))
            if other[:len(path)] == path or path[:len(other)] == other:
                continue  # a value inside itself: a cycle
            with contextlib.suppress(KeyError, IndexError, TypeError):  # the other path went with a mutation
                parent[path[-1]] = parent_of(doc, other)[other[-1]]  # the same object twice: an anchor and alias
    raw = dump(doc).encode()
    change = draw(st.sampled_from(["none"] * 6 + ["bytes", "truncate", "text"]))
    if change == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=40)) + raw[at:]
    elif change == "truncate":
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif change == "text":
        raw = draw(st.text(max_size=200)).encode()
    return raw


def assert_clean(done: Cli, files: list[Path], kind: str) -> None:
    """Exit 0, or exit 2 with one line `error: FILE:LINE: ...` naming one of `files`; never a traceback."""
    TRIED[f"{kind} exit {done.code}"] += 1
    assert "Traceback" not in done.err + done.out, done.err
    assert done.code in (0, 2), (done.code, done.err[-2000:])
    if done.code == 2:
        line = done.error_line()
        m = re.match(r"error: (.+?):(\d+): ", line)
        assert m, f"no file:line in {line!r}"
        assert m.group(1) in {str(f) for f in files}, (m.group(1), files)


def timed(*args: Any) -> tuple[Cli, float]:
    started = time.perf_counter()
    done = cli(*args)
    return done, time.perf_counter() - started


# ---------------------------------------------------------------------------- scenarios

SCENARIO_BASES = [SMALL, *(SCENARIOS / n for n in ("yinchuan-first-snow.yaml", "tabletop-city-blizzard.yaml",
                                                   "cold-wave-farms.yaml", "north-china-blizzard.yaml"))]
CHECK_SECONDS = 5.0


@budget("scenario")
@given(data=st.data())
def test_mutated_scenarios(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    from sim.estimate import estimate
    from sim.scenario import load_scenario

    base = data.draw(st.sampled_from(SCENARIO_BASES), label="base")
    folder = tmp_path_factory.mktemp("scenario")
    path = folder / base.name
    path.write_bytes(data.draw(mutated(base.read_text()), label="document"))
    done, seconds = timed("check", path)
    assert_clean(done, [path], "scenario")
    assert seconds < CHECK_SECONDS
    if done.code != 0:
        return
    assert_clean(cli("run", path, "--estimate", "--hours", "24"), [path], "scenario estimate")
    sc = load_scenario(path).resolve()
    from sim.scenario.spec import staff_total

    est = estimate(sc, 6)
    if base == SMALL and est.claims < 2000 and est.policyholders < 50_000 and staff_total(sc) < 500:
        assert_clean(cli("run", path, "--hours", "6", "-q", "--out", folder / "out"), [path], "scenario run")


# ---------------------------------------------------------------------------- plans, injects, grids, configs


@budget("plans")
@given(data=st.data())
def test_mutated_plans_files(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("plans") / "plans.yaml"
    path.write_bytes(data.draw(mutated((SCENARIOS / "plans" / "founding-article.yaml").read_text())))
    done, seconds = timed("check", SMALL, "--plans-file", path)
    assert_clean(done, [path, SMALL], "plans")
    assert seconds < CHECK_SECONDS


DRILL = SCENARIOS / "tabletop-city-blizzard.yaml"


@budget("injects")
@given(data=st.data())
def test_mutated_injects_files(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("injects") / "injects.yaml"
    path.write_bytes(data.draw(mutated((SCENARIOS / "injects" / "city-blizzard-surprises.yaml").read_text())))
    done, seconds = timed("check", DRILL, "--injects", path)
    assert_clean(done, [path, DRILL], "injects")
    assert seconds < CHECK_SECONDS


GRID = """description: fuzzed grid
scenarios: [small.yaml]
plans: [baseline, sms]
plans_file: plans.yaml
seeds: {first: 0, count: 3}
hours: 6
"""


@budget("grid")
@given(data=st.data())
def test_mutated_sweep_grids(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    folder = tmp_path_factory.mktemp("grid")
    (folder / "small.yaml").write_text(SMALL.read_text())
    (folder / "plans.yaml").write_text("plans:\n  calm:\n    measures: {sms_warning: {enabled: true}}\n")
    path = folder / "grid.yaml"
    path.write_bytes(data.draw(mutated(GRID)))
    done, seconds = timed("sweep", "--grid", path, "--dry-run", "--out", folder / "out")
    assert_clean(done, [path, folder / "small.yaml", folder / "plans.yaml"], "grid")
    assert seconds < CHECK_SECONDS and not (folder / "out").exists()


CONFIG = """description: fuzzed regression config
exact: {seed: 1, hours: 6}
stat: {reps: 3, hours: 6, seed: 1000, alpha: 0.05}
baselines: baselines
scenarios:
  small.yaml: {stat_plans: [baseline, sms]}
  other.yaml: [baseline]
"""


class Measured(Exception):
    """Raised instead of measuring: the configuration was accepted."""


@budget("regress")
@given(data=st.data())
def test_mutated_regression_configs(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    from sim import regress

    folder = tmp_path_factory.mktemp("regress")
    (folder / "small.yaml").write_text(SMALL.read_text())
    (folder / "other.yaml").write_text(SMALL.read_text().replace("name: small", "name: other"))
    path = folder / "regress.yaml"
    path.write_bytes(data.draw(mutated(CONFIG)))

    def measured(*_a: Any, **_k: Any) -> None:
        raise Measured

    real = regress.measure
    regress.measure = measured  # type: ignore[assignment]
    try:
        done = cli("regress", "--config", path, "--update")
    except Measured:
        TRIED["regress accepted"] += 1
        return
    finally:
        regress.measure = real  # type: ignore[assignment]
    assert_clean(done, [path, folder / "small.yaml", folder / "other.yaml"], "regress")


@pytest.fixture(scope="module")
def log_text() -> str:
    """An exercise log of the small scenario: an inject by hand and a decision."""
    from sim.exercise import Exercise
    from sim.scenario import Decision, Inject, load_scenario
    from sim.scenario.events import CallOut

    ex = Exercise(load_scenario(SMALL), "baseline", 2, [], hours=8)
    ex.run_to(2)
    ex.fire(Inject.model_validate({"at_h": 0, "title": "Outage", "effect": {"type": "phone_outage", "hours": 2}}))
    ex.run_to(3)
    ex.decide(Decision(title="Call out", call_out=[CallOut(role="assessment", count=2)],
                       changes={"operations": {"staff": {"phone": {"headcount": 6}}}}))
    ex.run_to(5)
    return ex.log_yaml()


@budget("log")
@given(data=st.data())
def test_mutated_exercise_logs(tmp_path_factory: pytest.TempPathFactory, log_text: str,
                               data: st.DataObject) -> None:
    folder = tmp_path_factory.mktemp("log")
    path = folder / "exercise-log.yaml"
    path.write_bytes(data.draw(mutated(log_text)))
    done = cli("tabletop", SMALL, "--replay", path, "--out", folder / "report")
    assert_clean(done, [path, SMALL], "log")


# ---------------------------------------------------------------------------- real processes


NASTY: dict[str, Callable[[], bytes]] = {
    "alias bomb": lambda: dump({"name": "x", "bomb": bomb(8)}).encode(),
    "deep nesting": lambda: ("name: " + "[" * 3000 + "]" * 3000 + "\n").encode(),
    "random bytes": lambda: bytes((i * 7919) % 256 for i in range(200_000)),
    "keyframes just under the size bound": lambda: SMALL.read_text().replace(
        "      - {h: 40, temp_c: -5}\n",
        "".join(f"      - {{h: {40 + i / 100:.2f}, temp_c: -5}}\n" for i in range(8_000))).encode(),
}


@pytest.mark.parametrize("name", list(NASTY))
def test_check_in_a_real_process_is_quick_and_small(tmp_path: Path, name: str) -> None:
    """`claimsim check` on the nastiest documents, in a fresh interpreter: a few seconds, a few hundred MB."""
    path = tmp_path / "nasty.yaml"
    path.write_bytes(NASTY[name]())
    # VmHWM is this process's own peak: ru_maxrss would carry the forking test worker's peak across exec()
    probe = ("import atexit, sys\n"
             "def peak():\n"
             "    kb = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0]\n"
             "    print('MAXRSS', kb, file=sys.stderr)\n"
             "atexit.register(peak)\n"
             "from sim.cli import main\nmain(sys.argv[1:])\n")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", probe, "check", str(path)], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    seconds = time.perf_counter() - started
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    peak_mb = int(lines[-1].split()[1]) * 1024 / 1e6 if lines and lines[-1].startswith("MAXRSS") else None
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 2), proc.stderr
    if proc.returncode == 2:
        assert len(lines) == 2 and re.match(rf"error: {re.escape(str(path))}:\d+: ", lines[0]), lines
    assert peak_mb is not None and peak_mb < 400, peak_mb
    assert seconds < 15, seconds  # interpreter start-up included (a few seconds on a busy machine)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
