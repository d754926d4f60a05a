"""The power benchmark's planted changes still apply to the shipped scenarios (settings by name, no line
numbers), its code patch is never a silent no-op, and its store resumes and refuses mixed settings."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import regress as rg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def power():  # noqa: ANN201 - the benchmark module
    spec = importlib.util.spec_from_file_location("regress_power", ROOT / "benchmarks" / "regress_power.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["regress_power"] = module
    spec.loader.exec_module(module)
    return module


def test_at_least_ten_changes_from_gross_to_subtle_apply_to_the_shipped_scenarios(power) -> None:  # noqa: ANN001
    _, targets, _ = rg.read_config(rg.CONFIG)
    stat = [t for t in targets if "stat" in t.tiers]
    planted = [c for c in power.CHANGES if c.plant is not None]
    assert len(power.CHANGES) >= 10 and len(planted) >= 10
    for change in planted:
        ov, skipped = power.overrides(change, stat)
        assert not [s for s in skipped if "(" in s], skipped  # a setting the schema refused: the plant is stale
        applied = [(scen, plan) for scen, per in ov.items() for plan in per]
        assert applied, f"{change.name} applies to no shipped scenario"
        for scen, plan in applied:
            t = next(t for t in stat if t.name == scen)
            assert t.file.variant(json.loads(ov[scen][plan]), plan) != t.file.resolve(plan), change.name


def test_the_night_shift_and_the_roster_plants_move_hours_not_people(power) -> None:  # noqa: ANN001
    shifts = [{"start": 0, "end": 8, "share": 0.2}, {"start": 8, "end": 16, "share": 0.8}]
    assert power._night_late(shifts) and shifts[0] == {"start": 1, "end": 8, "share": 0.2}
    late = [{"start": 22, "end": 30, "share": 1.0}]
    assert power._night_late(late) and late[0]["start"] == 23
    assert not power._night_late([{"start": 8, "end": 17, "share": 1.0}])  # no night shift: not applicable
    day = [{"start": 8.5, "end": 16.5, "share": 1.0}]
    assert power._ends_early(day) and day[0]["end"] == 15.5


def test_the_random_stream_patch_changes_draws_and_restores_them(power) -> None:  # noqa: ANN001
    from sim.rng import Streams

    s = Streams(5)
    before = s.claim_uniforms(17, 4)
    with power.patched("random-stream"):
        during = s.claim_uniforms(17, 4)
    assert not np.array_equal(before, during) and np.all((during >= 0) & (during < 1))
    assert np.array_equal(before, s.claim_uniforms(17, 4))
    with pytest.raises(ValueError, match="unknown patch"), power.patched("no-such-patch"):
        pass


def test_the_store_resumes_and_refuses_other_settings(power, tmp_path: Path) -> None:  # noqa: ANN001
    store = power.Store(tmp_path, {"reps": 16}, restart=False)
    store.add({"kind": "stat", "change": "none", "check": 0, "alarm": False})
    with (tmp_path / "checks.jsonl").open("a") as fh:
        fh.write('{"kind": "stat", "change": "none", "che')  # a line cut by a kill
    again = power.Store(tmp_path, {"reps": 16}, restart=False)
    assert set(again.done) == {("none", 0)}
    with pytest.raises(SystemExit, match="other settings"):
        power.Store(tmp_path, {"reps": 8}, restart=False)
    assert not power.Store(tmp_path, {"reps": 8}, restart=True).done
    lo, hi = power.wilson(0, 30)
    assert lo == 0 and 0.11 < hi < 0.12  # the rule of three, about 3.7/n
