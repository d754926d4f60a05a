"""Lever spaces: reading, checking against a scenario (errors at the space file's line), overrides; check options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DATA, SMALL, line_of

from sim.errors import InputError
from sim.scenario import load_scenario
from sim.space import read_space

SPACE = DATA / "small-space.yaml"


def test_space_maps_levers_to_plan_overrides() -> None:
    ls = read_space(SPACE, load_scenario(SMALL))
    assert ls.levers["phone"].integer and ls.levers["phone"].ends() == (2, 12)
    assert ls.levers["sms"].choices == ["off", "on"]
    ov = ls.overrides({"phone": 7, "assessor_shifts": "late", "sms": "on", "crash_rate": 2.0})
    assert ov["operations"]["staff"]["phone"]["headcount"] == 7
    assert ov["operations"]["staff"]["assessment"]["roster"] == "late"
    assert "late" in ov["operations"]["rosters"]               # the space's base goes with every candidate
    assert ov["measures"]["sms_warning"]["enabled"] is True
    assert ov["vulnerability"]["drivers"]["crash_per_vehicle_h"] == pytest.approx(2 * 2.0e-4)  # factor x plan value
    scen = ls.scenario.variant(ov)
    assert scen.operations.staff["phone"].headcount == 7
    assert ls.current("phone") == 4 and ls.current("assessor_shifts") == "office"
    assert ls.levers["phone"].snap(6.6) == 7 and ls.levers["phone"].unit_value(1.0) == 12


@pytest.mark.parametrize("lever, needle", [
    ("phone: {path: operations.staff.phone.headcount, range: [5, 2]}", "low < high"),
    ("phone: {path: operations.staff.phone.headcount, range: [-3, 2]}", "does not make a valid plan"),
    ("phone: {path: operations.staff.phone.headcount, rnage: [1, 2]}", "unknown key"),
    ("phone: {path: operations.staff.phone.headcount, range: [1, 2], set: [1]}", "exactly one of"),
    ("phone: {path: operations.staff.nobody.headcount, range: [1, 2]}", "does not make a valid plan"),
    ("phone: {path: operations.staff.phone.roster, factor: [0.5, 2]}", "a factor needs a number"),
])
def test_a_bad_lever_is_one_line_at_its_own_line(tmp_path: Path, lever: str, needle: str) -> None:
    text = ("description: bad\nlevers:\n  ok: {path: operations.staff.assessment.headcount, range: [1, 4]}\n"
            f"  {lever}\n")
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_space(path, load_scenario(SMALL))
    message = err.value.one_line()
    assert needle in message and "\n" not in message
    assert message.startswith(f"{path}:{line_of(text, '  phone:')}:"), message


def test_a_space_naming_an_unknown_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("plan: nope\nlevers:\n  a: {path: operations.staff.phone.headcount, range: [1, 2]}\n")
    with pytest.raises(InputError, match="no plan named 'nope'"):
        read_space(path, load_scenario(SMALL))


def claimsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True)


def test_check_with_a_plans_file_and_a_space(tmp_path: Path) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text("plans:\n  lean:\n    description: fewer phones\n    operations:\n      staff:\n"
                     "        phone: {headcount: 2}\n  leaner:\n    extends: lean\n    operations:\n      staff:\n"
                     "        assessment: {headcount: 2}\n")
    proc = claimsim("check", str(SMALL), "--plans-file", str(plans), "--space", str(SPACE))
    assert proc.returncode == 0, proc.stderr
    assert "leaner" in proc.stdout and "plans file" in proc.stdout and "phone agents" in proc.stdout


def test_check_points_a_plans_file_error_at_its_own_line(tmp_path: Path) -> None:
    text = ("description: bad plans\nplans:\n  lean:\n    operations:\n      staff:\n"
            "        phone: {headcount: -1}\n")
    plans = tmp_path / "plans.yaml"
    plans.write_text(text)
    proc = claimsim("check", str(SMALL), "--plans-file", str(plans))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and line.startswith(f"error: {plans}:{line_of(text, 'headcount: -1')}:"), line
    bad_space = tmp_path / "space.yaml"
    bad_space.write_text("levers:\n  a: {path: operations.staff.phone.headcount, range: [1, 2], log: maybe}\n")
    proc = claimsim("check", str(SMALL), "--space", str(bad_space))
    assert proc.returncode == 2 and f"{bad_space}:2:" in proc.stderr
