"""Scenario schema and loader: valid files, plans and deep-merge, and errors that name file, line and key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from helpers import line_of, minimal_doc, write_yaml
from pydantic import ValidationError
from ruamel.yaml import YAML

from sim.distributions import Exponential, Fixed
from sim.errors import InputError
from sim.scenario import Scenario, ScenarioFile, deep_merge, load_scenario


def variant(text: str, old: str, new: str) -> str:
    """`text` with the one occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return info.value


def assert_error(err: InputError, file: Path, line: int | None, key_path: str | None) -> None:
    assert err.file == str(file)
    assert err.line == line, err.one_line()
    assert (err.key_path or None) == key_path, err.one_line()
    one = err.one_line()
    assert "\n" not in one
    prefix = f"{file}:{line}: " if line is not None else f"{file}: "
    assert one.startswith(prefix + (f"{key_path}: " if key_path else "")), one


def leaf_paths(node: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    """Leaves of nested dicts (lists are leaves: a plan replaces them whole)."""
    if isinstance(node, dict) and node:
        out: dict[tuple, Any] = {}
        for k, v in node.items():
            out.update(leaf_paths(v, prefix + (k,)))
        return out
    return {prefix: node}


# ---------------------------------------------------------------- valid files and plans


def test_small_scenario_loads(small_yaml: Path) -> None:
    sf = load_scenario(small_yaml)
    assert isinstance(sf, ScenarioFile)
    assert sf.name == "small"
    assert list(sf.plans) == ["baseline", "more_phone", "sms", "prepay"]
    assert sf.plans["more_phone"] == "Twice the phone agents."
    assert len(sf.sha256) == 64 and int(sf.sha256, 16) >= 0
    base = sf.resolve()
    assert isinstance(base, Scenario)
    assert base.plan == "baseline"
    assert base.region_ids == ["yc", "sz"]
    assert base.policyholders("drivers") == 4500
    assert base.policyholders("farmers") == 150
    assert base.operations.staff["field_survey"].headcount == {"yc": 3, "sz": 2}
    assert base.hazard["sz"].interpolation == "step"
    assert base.start.hour == 6


def test_every_plan_resolves(small_yaml: Path) -> None:
    sf = load_scenario(small_yaml)
    for name, description in sf.plans.items():
        sc = sf.resolve(name)
        assert sc.plan == name
        assert sc.plan_description == description
        assert sf.resolve(name) is sc  # resolved once, then cached


def test_plan_deep_merge_changes_only_what_the_plan_names(small_yaml: Path) -> None:
    sf = load_scenario(small_yaml)
    raw_plans = YAML(typ="safe", pure=True).load(small_yaml.read_text())["plans"]
    base = sf.resolve("baseline").model_dump(by_alias=True)
    base.pop("plan")
    base.pop("plan_description")
    base_leaves = leaf_paths(base)
    for name in raw_plans:
        body = copy.deepcopy(raw_plans[name])
        body.pop("description", None)
        named = leaf_paths(body)
        sc = sf.resolve(name).model_dump(by_alias=True)
        sc.pop("plan")
        sc.pop("plan_description")
        changed = {path for path, value in leaf_paths(sc).items() if base_leaves.get(path, object()) != value}
        assert changed, f"plan {name} changed nothing"
        for path in changed:
            assert any(path[:len(p)] == p for p in named), f"plan {name} changed {path}, which it does not name"
        for path, value in named.items():
            node: Any = sc
            for part in path:
                node = node[part]
            assert node == value, (name, path)
    # the baseline itself is untouched by resolving plans
    assert sf.resolve("baseline").operations.staff["phone"].headcount == 4
    assert sf.resolve("more_phone").operations.staff["phone"].headcount == 12
    assert sf.resolve("more_phone").operations.staff["phone"].roster == "two"  # kept from the baseline


def test_deep_merge_semantics() -> None:
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 2}
    before = copy.deepcopy(base)
    override = {"a": {"c": [9], "d": {"x": 3}}, "g": {"h": 1}}
    merged = deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": [9], "d": {"e": 1, "x": 3}}, "f": 2, "g": {"h": 1}}
    assert base == before  # inputs are not mutated
    merged["g"]["h"] = 5
    assert override["g"]["h"] == 1  # nor shared with the result
    assert deep_merge({"a": 1}, {"a": None}) == {"a": None}
    assert deep_merge({"a": {"b": 1}}, {"a": 3}) == {"a": 3}


def test_plan_replaces_lists_whole(scenario_file) -> None:
    doc = minimal_doc()
    doc["operations"]["rosters"]["two"] = {"shifts": [{"start": 6, "end": 14, "share": 0.5},
                                                      {"start": 14, "end": 22, "share": 0.5}]}
    doc["plans"] = {"one_shift": {"operations": {"rosters": {"two": {"shifts": [{"start": 8, "end": 16}]}}}}}
    sf = load_scenario(scenario_file(doc))
    shifts = sf.resolve("one_shift").operations.rosters["two"].shifts
    assert [(s.start, s.end, s.share) for s in shifts] == [(8, 16, 1.0)]
    assert len(sf.resolve().operations.rosters["two"].shifts) == 2


def test_bare_numbers_in_the_file_become_fixed_distributions(scenario_file) -> None:
    doc = minimal_doc()
    doc["operations"]["phone"] = {"handling_min": 7, "patience_min": None}
    doc["behaviour"] = {"drivers": {"report_delay_h": {"dist": "exponential", "mean": 2}}}
    sc = load_scenario(scenario_file(doc)).resolve()
    assert isinstance(sc.operations.phone.handling_min, Fixed)
    assert sc.operations.phone.handling_min.value == 7
    assert sc.operations.phone.patience_min is None
    assert isinstance(sc.behaviour.drivers.report_delay_h, Exponential)
    assert sc.behaviour.drivers.report_delay_h.mean == 2


def test_scenario_is_frozen(small_yaml: Path) -> None:
    sc = load_scenario(small_yaml).resolve()
    with pytest.raises(ValidationError):
        sc.duration_h = 5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        sc.operations.staff["phone"].headcount = 99  # type: ignore[misc]


# ---------------------------------------------------------------- errors with file, line and key path


# (old text, new text, the line to point at, key path, words of the message): each a small edit of the small
# scenario that must be refused at its own file, line and key.
BAD_VALUES = {
    "unknown top-level key": ("duration_h: 48\n", "duration_h: 48\ncolour: red\n", "colour: red", "colour",
                              "unknown key"),
    "unknown nested key": ("    road_speed_kmh: 40\n", "    road_speed_kmh: 40\n    speed_limit: 30\n", "speed_limit",
                           "regions[0].speed_limit", "unknown key"),
    "unknown key deep inside a plan": ("phone: {headcount: 12}", "phone:\n          headcont: 12", "headcont: 12",
                                       "plans.more_phone.operations.staff.phone.headcont", "unknown key"),
    "a plan overriding the world": ("    description: Warning SMS before the snow.\n",
                                    "    description: Warning SMS before the snow.\n    hazard: {}\n",
                                    "    hazard: {}", "plans.sms.hazard", "may only override"),
    "wrong type": ("duration_h: 48", "duration_h: forty-eight", "duration_h:", "duration_h", "integer"),
    "wrong type nested": ("service_radius_km: 30", "service_radius_km: far", "service_radius_km: far",
                          "regions[1].service_radius_km", "number"),
    "keyframe hour as a word": ("- {h: 40, temp_c: -5}", "- {h: forty, temp_c: -5}", "h: forty",
                                "hazard.yc.keyframes[5].h", "number"),
    "negative headcount": ("phone: {headcount: 4,", "phone: {headcount: -4,", "headcount: -4",
                           "operations.staff.phone.headcount", "greater than or equal to 0"),
    "negative headcount in a plan": ("phone: {headcount: 12}", "phone:\n          headcount: -12", "headcount: -12",
                                     "plans.more_phone.operations.staff.phone.headcount", "greater than or equal to 0"),
    "negative headcount of one region": (
        "field_survey: {headcount: {yc: 3, sz: 2}, roster: office, hourly_cost: 70}",
        "field_survey:\n      headcount:\n        yc: -3\n        sz: 2\n      roster: office\n      hourly_cost: 70",
        "yc: -3", "operations.staff.field_survey.headcount.yc", "greater than or equal to 0"),
    "roster that does not exist": ("phone: {headcount: 4, roster: two, hourly_cost: 50}",
                                   "phone:\n      headcount: 4\n      roster: three\n      hourly_cost: 50",
                                   "roster: three", "operations.staff.phone.roster", "'three'"),
    "keyframe out of range": ("- {h: 40, temp_c: -5}", "- {h: 40, temp_c: -500}", "temp_c: -500",
                              "hazard.yc.keyframes[5].temp_c", "greater than or equal to -70"),
    "shift longer than a day": ("night: {shifts: [{start: 22, end: 30}]}", "night: {shifts: [{start: 22, end: 47}]}",
                                "night: {shifts", "operations.rosters.night.shifts[0]", "at most 24 hours"),
    "channel shares in a plan": ("    description: Warning SMS before the snow.\n",
                                 "    description: Warning SMS before the snow.\n    behaviour:\n      drivers:\n"
                                 "        channels: {phone: 0.5, app: 0.2}\n", "channels: {phone: 0.5",
                                 "plans.sms.behaviour.drivers.channels", "add up to 1"),
    "negative uniform delay": ("  rosters:\n", "  phone:\n    retry_delay_min: {dist: uniform, low: -10, high: 5}\n"
                               "  rosters:\n", "retry_delay_min", "operations.phone.retry_delay_min", "never negative"),
    "negative triangular age": ("      drivers: {count: 1500}",
                                "      drivers: {count: 1500, vehicle_age_years: {dist: triangular, low: -1, mode: 2, "
                                "high: 9}}", "vehicle_age_years", "regions[1].portfolio.drivers.vehicle_age_years",
                                "never negative"),
    "lognormal cv beyond the bound": ("  rosters:\n",
                                      "  phone:\n    handling_min: {dist: lognormal, mean: 8, cv: 1e9}\n  rosters:\n",
                                      "handling_min", "operations.phone.handling_min.cv", "less than or equal to 20"),
    "huge delay": ("  rosters:\n", "  phone:\n    retry_delay_min: {dist: fixed, value: 1e300}\n  rosters:\n",
                   "retry_delay_min", "operations.phone.retry_delay_min.value", "less than or equal to"),
    "seed beyond 32 bits": ("seed: 7", "seed: 99999999999", "seed:", "seed", "less than or equal to 4294967295"),
    "a region of 10^9 drivers": ("      drivers: {count: 1500}", "      drivers: {count: 1000000000}",
                                 "drivers: {count: 1000000000}", "regions[1].portfolio.drivers.count",
                                 "sanity bound"),
    "a headcount of 10^8": ("phone: {headcount: 4,", "phone: {headcount: 100000000,", "headcount: 100000000",
                            "operations.staff.phone.headcount", "less than or equal to 100000"),
    "a surge check every 0.1 microseconds": (
        "phone: {headcount: 4, roster: two, hourly_cost: 50}",
        "phone: {headcount: 4, roster: two, hourly_cost: 50, surge: {reserve: 2, check_every_h: 1.0e-7}}",
        "check_every_h", "operations.staff.phone.surge.check_every_h", "greater than or equal to"),
    "duration of 8000 days": ("duration_h: 48", "duration_h: 192000", "duration_h:", "duration_h",
                              "less than or equal to 8784"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_a_bad_value_names_its_file_line_and_key(small_text: str, text_file, case: str) -> None:
    old, new, needle, key, words = BAD_VALUES[case]
    text = variant(small_text, old, new)
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, needle), key)
    assert words in err.message, err.one_line()


@pytest.mark.parametrize(("old", "new", "needle", "key_path"), [
    ("crops: {wheat: 0.5, winter_wheat: 0.5}", "crops: {wheat: 0.5, winter_wheat: 0.4}", "crops:",
     "regions[0].portfolio.farmers.crops"),
    ("roof_types: {light_steel: 0.5, concrete: 0.5}", "roof_types: {light_steel: 0.7, concrete: 0.5}",
     "roof_types:", "regions[0].portfolio.firms.roof_types"),
    ("two: {shifts: [{start: 7, end: 15, share: 0.5}", "two: {shifts: [{start: 7, end: 15, share: 0.6}",
     "two: {shifts", "operations.rosters.two"),
])
def test_shares_must_add_up_to_one(small_text: str, text_file, old: str, new: str, needle: str,
                                   key_path: str) -> None:
    text = variant(small_text, old, new)
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, needle), key_path)
    assert "add up to 1" in err.message


@pytest.mark.parametrize("case", [
    "hazard",
    "headcount",
])
def test_cross_checks_name_a_line(small_text: str, text_file, case: str) -> None:
    if case == "hazard":
        text = variant(small_text, "  sz:\n    interpolation", "  zz:\n    interpolation")
        needle, key = "  zz:", "hazard.zz"
    else:
        text = variant(small_text, "field_survey: {headcount: {yc: 3, sz: 2}",
                       "field_survey: {headcount: {yc: 3, zz: 2}")
        needle, key = "field_survey: {headcount", "operations.staff.field_survey.headcount.zz"
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, needle), key)


def test_keyframes_must_be_increasing(small_text: str, text_file) -> None:
    text = variant(small_text, "- {h: 40, temp_c: -5}", "- {h: 4, temp_c: -5}")
    path = text_file(text)
    err = load_error(path)
    assert err.file == str(path)
    assert err.key_path is not None and err.key_path.startswith("hazard.yc")
    assert err.line is not None and line_of(text, "  yc:") <= err.line <= line_of(text, "- {h: 4, temp_c")
    assert "increasing" in err.message


@pytest.mark.parametrize(("old", "new", "needle"), [
    ("duration_h: 48\n", "duration_h:\t48\n", "duration_h:"),                # a tab
    ("    name: Shizuishan\n", "   name: Shizuishan\n", "   name: Shizuishan"),  # bad indentation
    ("duration_h: 48\n", "duration_h: 48\nduration_h: 49\n", "duration_h: 49"),  # duplicate key
    ("duration_h: 48\n", "duration_h: [48\n", "duration_h: [48"),            # unclosed bracket
])
def test_malformed_yaml_reports_the_line(small_text: str, text_file, old: str, new: str, needle: str) -> None:
    text = variant(small_text, old, new)
    path = text_file(text)
    err = load_error(path)
    assert err.file == str(path)
    assert "malformed YAML" in err.message
    bad = line_of(text, needle)
    # the parser may only notice an unclosed bracket on the next line
    assert err.line is not None and bad <= err.line <= bad + 1, err.one_line()
    assert "\n" not in err.one_line()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    err = load_error(path)
    assert_error(err, path, None, None)
    assert "not found" in err.message


def test_directory_is_not_a_scenario(tmp_path: Path) -> None:
    err = load_error(tmp_path)
    assert err.file == str(tmp_path)
    assert "not a file" in err.message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "", "42\n"])
def test_document_must_be_a_mapping(text_file, text: str) -> None:
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, 1, None)
    assert "mapping" in err.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    err = load_error(path)
    assert err.file == str(path)
    assert "UTF-8" in err.message


def test_unknown_plan_name(small_yaml: Path, small_text: str) -> None:
    sf = load_scenario(small_yaml)
    with pytest.raises(InputError) as info:
        sf.resolve("no-such-plan")
    err = info.value
    assert_error(err, small_yaml, line_of(small_text, "plans:"), "plans")
    assert "no-such-plan" in err.message
    for name in ("baseline", "more_phone", "sms", "prepay"):
        assert name in err.message


def test_unknown_plan_name_without_plans(scenario_file) -> None:
    path = scenario_file(minimal_doc())
    sf = load_scenario(path)
    assert list(sf.plans) == ["baseline"]
    with pytest.raises(InputError) as info:
        sf.resolve("x")
    assert info.value.file == str(path)
    assert "baseline" in info.value.message


@pytest.mark.parametrize(("body", "needle", "key"), [
    ("  bad name:\n    description: x\n", "bad name:", "plans.bad name"),
    ("  listy: [1, 2]\n", "listy:", "plans.listy"),
])
def test_malformed_plans(small_text: str, text_file, body: str, needle: str, key: str) -> None:
    text = variant(small_text, "plans:\n", "plans:\n" + body)
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, needle), key)


def test_error_in_a_plan_named_baseline_points_into_the_plan(small_text: str, text_file) -> None:
    text = variant(small_text, "plans:\n", "plans:\n  baseline:\n    operations: {staff: {phone: {headcount: -9}}}\n")
    path = text_file(text)
    err = load_error(path)
    assert err.key_path is not None and err.key_path.startswith("plans.baseline"), err.one_line()
    assert line_of(text, "  baseline:") <= (err.line or 0) <= line_of(text, "headcount: -9")


def test_every_plan_is_checked_at_load_time(small_text: str, text_file) -> None:
    """A typo in a plan is reported by load_scenario, before anyone asks for that plan."""
    text = variant(small_text, "sms_warning: {enabled: true,", "sms_warning: {enabeld: true,")
    path = text_file(text)
    err = load_error(path)
    assert err.key_path == "plans.sms.measures.sms_warning.enabeld"
    assert err.line == line_of(text, "enabeld")


# ---------------------------------------------------------------- hazard from a CSV file

CSV_SZ = """  sz:
    interpolation: step
    csv: storm/sz.csv
"""
INLINE_SZ = """  sz:
    interpolation: step
    keyframes:
      - {h: 0, temp_c: -6, snowfall_cm_h: 1}
      - {h: 10, temp_c: -10, snowfall_cm_h: 0}
"""


def csv_scenario(tmp_path: Path, small_text: str, csv_text: str, encoding: str = "utf-8") -> tuple[Path, Path]:
    folder = tmp_path / "world"
    (folder / "storm").mkdir(parents=True)
    scenario = folder / "s.yaml"
    scenario.write_text(variant(small_text, INLINE_SZ, CSV_SZ), encoding="utf-8")
    csv_path = folder / "storm" / "sz.csv"
    csv_path.write_text(csv_text, encoding=encoding)
    return scenario, csv_path


def test_csv_hazard(tmp_path: Path, small_text: str, monkeypatch) -> None:
    scenario, _ = csv_scenario(tmp_path, small_text, "h,temp_c,snowfall_cm_h\n0,-6,1\n5,,2\n10,-10,0\n")
    monkeypatch.chdir(tmp_path)  # the CSV path is relative to the scenario file, not the working directory
    sc = load_scenario(scenario).resolve()
    frames = [(k.h, k.temp_c, k.snowfall_cm_h) for k in sc.hazard["sz"].keyframes]
    assert frames == [(0, -6, 1), (5, None, 2), (10, -10, 0)]
    # the same storm written inline gives the same scenario
    inline = tmp_path / "inline.yaml"
    inline.write_text(variant(small_text, INLINE_SZ, INLINE_SZ.replace(
        "      - {h: 10", "      - {h: 5, snowfall_cm_h: 2}\n      - {h: 10")))
    assert load_scenario(inline).resolve().hazard["sz"].keyframes == sc.hazard["sz"].keyframes


def test_csv_hazard_changes_the_digest(tmp_path: Path, small_text: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "h,temp_c\n0,-6\n10,-10\n")
    first = load_scenario(scenario).sha256
    csv_path.write_text("h,temp_c\n0,-6\n10,-11\n")
    assert load_scenario(scenario).sha256 != first


@pytest.mark.parametrize(("csv_text", "line", "key", "words"), [
    ("h,temp_c,snowfall_cm_h\n0,-6,1\n10,cold,0\n", 3, "temp_c", "'cold'"),
    ("h,temp_c,snowfall_cm_h\n0,-6,1\n\n10,cold,0\n", 4, "temp_c", "'cold'"),
    ("h,temperature\n0,-6\n", 1, "temperature", "unknown column"),
    ("h,temp_c,snowfall_cm_h\n0,-6,1\n10,-100,0\n", 3, "temp_c", "greater than or equal to -70"),
    ("h,temp_c\n0,-6\n10,nan\n", 3, "temp_c", "finite"),
    ("h,temp_c\n0,-6\n10,-inf\n", 3, "temp_c", "finite"),
    ("h,temp_c\n0,-6,7\n", 2, None, "more values than columns"),
], ids=["word", "word-after-blank-line", "unknown-column", "out-of-range", "nan", "minus-infinity", "extra-value"])
def test_a_bad_hazard_csv_names_the_csv_line(tmp_path: Path, small_text: str, csv_text: str, line: int,
                                              key: str | None, words: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, csv_text)
    err = load_error(scenario)
    assert err.file == str(csv_path) and err.line == line, err.one_line()
    if key is not None:
        assert key in err.one_line()
    assert words in err.message, err.one_line()


@pytest.mark.parametrize("contents", [
    b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    b"\x7fELF\x02\x01\x01\x00secret-bytes\x00\x00",
    b"password=hunter2\nh,temp_c\n",
    b"\xff\xfe s\x00e\x00c\x00r\x00e\x00t\x00",
], ids=["passwd", "binary", "key-value", "utf16"])
def test_a_hazard_csv_that_is_not_one_is_named_not_echoed(tmp_path: Path, small_text: str, contents: bytes) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "")
    csv_path.write_bytes(contents)
    err = load_error(scenario)
    line = err.one_line()
    assert err.file == str(csv_path) and "hazard CSV" in line
    for secret in ("root", "daemon", "secret", "hunter2", "password", "ELF", "bash"):
        assert secret not in line.replace(str(csv_path), ""), line


def test_csv_hazard_missing_file(tmp_path: Path, small_text: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "h,temp_c\n0,-6\n")
    csv_path.unlink()
    err = load_error(scenario)
    text = scenario.read_text()
    assert_error(err, scenario, line_of(text, "csv: storm/sz.csv"), "hazard.sz.csv")
    assert "not found" in err.message


def test_csv_hazard_with_byte_order_mark(tmp_path: Path, small_text: str) -> None:
    scenario, _ = csv_scenario(tmp_path, small_text, "h,temp_c\n0,-6\n10,-10\n", encoding="utf-8-sig")
    sc = load_scenario(scenario).resolve()
    assert [k.h for k in sc.hazard["sz"].keyframes] == [0, 10]


# ---------------------------------------------------------------- schema rules on a document


def test_empty_portfolio_is_refused(tmp_path: Path) -> None:
    doc = minimal_doc(drivers=0)
    err = load_error(write_yaml(doc, tmp_path / "empty.yaml"))
    assert "portfolio is empty" in err.message


def test_staff_role_missing(tmp_path: Path) -> None:
    doc = minimal_doc()
    del doc["operations"]["staff"]["approval"]
    path = write_yaml(doc, tmp_path / "s.yaml")
    err = load_error(path)
    assert "approval" in err.message
    assert err.key_path == "operations.staff"
    assert err.line == line_of(path.read_text(), "  staff:")


def test_duplicate_region_ids(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["regions"].append(copy.deepcopy(doc["regions"][0]))
    path = write_yaml(doc, tmp_path / "s.yaml")
    err = load_error(path)
    assert "used twice" in err.message
    assert err.key_path == "regions[1].id"


def test_lognormal_in_a_scenario_needs_one_parameterisation(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["operations"]["phone"] = {"handling_min": {"dist": "lognormal", "mean": 3, "cv": 1, "median": 2,
                                                   "sigma": 1}}
    path = write_yaml(doc, tmp_path / "s.yaml")
    err = load_error(path)
    assert "either mean and cv, or median and sigma" in err.message
    assert err.line == line_of(path.read_text(), "handling_min:")
    assert err.key_path == "operations.phone.handling_min"
