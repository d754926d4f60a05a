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


def test_unknown_top_level_key(small_text: str, text_file) -> None:
    text = variant(small_text, "duration_h: 48\n", "duration_h: 48\ncolour: red\n")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "colour: red"), "colour")
    assert "unknown key" in err.message


def test_unknown_nested_key(small_text: str, text_file) -> None:
    text = variant(small_text, "    road_speed_kmh: 40\n", "    road_speed_kmh: 40\n    speed_limit: 30\n")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "speed_limit"), "regions[0].speed_limit")
    assert "unknown key" in err.message


def test_unknown_key_deep_inside_a_plan(small_text: str, text_file) -> None:
    text = variant(small_text, "phone: {headcount: 12}", "phone:\n          headcont: 12")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "headcont: 12"), "plans.more_phone.operations.staff.phone.headcont")
    assert "unknown key" in err.message


def test_plan_may_not_override_the_world(small_text: str, text_file) -> None:
    text = variant(small_text, "    description: Warning SMS before the snow.\n",
                   "    description: Warning SMS before the snow.\n    hazard: {}\n")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "    hazard: {}"), "plans.sms.hazard")


def test_wrong_type(small_text: str, text_file) -> None:
    text = variant(small_text, "duration_h: 48", "duration_h: forty-eight")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "duration_h:"), "duration_h")
    assert "integer" in err.message


def test_wrong_type_nested(small_text: str, text_file) -> None:
    text = variant(small_text, "service_radius_km: 30", "service_radius_km: far")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "service_radius_km: far"), "regions[1].service_radius_km")


def test_negative_headcount(small_text: str, text_file) -> None:
    text = variant(small_text, "phone: {headcount: 4,", "phone: {headcount: -4,")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "headcount: -4"), "operations.staff.phone.headcount")
    assert "greater than or equal to 0" in err.message


def test_negative_headcount_in_a_plan(small_text: str, text_file) -> None:
    text = variant(small_text, "phone: {headcount: 12}", "phone:\n          headcount: -12")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "headcount: -12"), "plans.more_phone.operations.staff.phone.headcount")
    assert "greater than or equal to 0" in err.message


def test_negative_headcount_of_one_region(small_text: str, text_file) -> None:
    text = variant(small_text, "field_survey: {headcount: {yc: 3, sz: 2}, roster: office, hourly_cost: 70}",
                   "field_survey:\n      headcount:\n        yc: -3\n        sz: 2\n"
                   "      roster: office\n      hourly_cost: 70")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "yc: -3"), "operations.staff.field_survey.headcount.yc")
    assert "greater than or equal to 0" in err.message


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


def test_channel_shares_in_a_plan(small_text: str, text_file) -> None:
    text = variant(small_text, "    description: Warning SMS before the snow.\n",
                   "    description: Warning SMS before the snow.\n    behaviour:\n      drivers:\n"
                   "        channels: {phone: 0.5, app: 0.2}\n")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "channels: {phone: 0.5"), "plans.sms.behaviour.drivers.channels")
    assert "add up to 1" in err.message


def test_roster_that_does_not_exist(small_text: str, text_file) -> None:
    text = variant(small_text, "phone: {headcount: 4, roster: two, hourly_cost: 50}",
                   "phone:\n      headcount: 4\n      roster: three\n      hourly_cost: 50")
    path = text_file(text)
    err = load_error(path)
    assert "'three'" in err.message
    assert_error(err, path, line_of(text, "roster: three"), "operations.staff.phone.roster")


def test_roster_that_does_not_exist_is_an_error_naming_it(small_text: str, text_file) -> None:
    """What works today: the error is raised, names the file, the roster and the known rosters."""
    text = variant(small_text, "phone: {headcount: 4, roster: two,", "phone: {headcount: 4, roster: three,")
    path = text_file(text)
    err = load_error(path)
    assert err.file == str(path)
    assert "three" in err.message and "office" in err.message
    assert err.line is not None and err.line <= line_of(text, "roster: three")


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


def test_hazard_regions_must_match_regions(small_text: str, text_file) -> None:
    """The mismatch is refused at the stray region's key, naming the regions there are."""
    text = variant(small_text, "  sz:\n    interpolation", "  zz:\n    interpolation")
    path = text_file(text)
    err = load_error(path)
    assert err.file == str(path)
    assert err.key_path == "hazard.zz"
    assert "zz" in err.message and "sz" in err.message


def test_keyframe_out_of_range_names_its_line(small_text: str, text_file) -> None:
    text = variant(small_text, "- {h: 40, temp_c: -5}", "- {h: 40, temp_c: -500}")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "temp_c: -500"), "hazard.yc.keyframes[5].temp_c")


def test_keyframes_must_be_increasing(small_text: str, text_file) -> None:
    text = variant(small_text, "- {h: 40, temp_c: -5}", "- {h: 4, temp_c: -5}")
    path = text_file(text)
    err = load_error(path)
    assert err.file == str(path)
    assert err.key_path is not None and err.key_path.startswith("hazard.yc")
    assert err.line is not None and line_of(text, "  yc:") <= err.line <= line_of(text, "- {h: 4, temp_c")
    assert "increasing" in err.message


def test_shift_longer_than_a_day(small_text: str, text_file) -> None:
    text = variant(small_text, "night: {shifts: [{start: 22, end: 30}]}", "night: {shifts: [{start: 22, end: 47}]}")
    path = text_file(text)
    err = load_error(path)
    assert_error(err, path, line_of(text, "night: {shifts"), "operations.rosters.night.shifts[0]")


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


def test_csv_hazard_bad_number(tmp_path: Path, small_text: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "h,temp_c,snowfall_cm_h\n0,-6,1\n10,cold,0\n")
    err = load_error(scenario)
    assert_error(err, csv_path, 3, "temp_c")
    assert "cold" in err.message


def test_csv_hazard_unknown_column(tmp_path: Path, small_text: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "h,temperature\n0,-6\n")
    err = load_error(scenario)
    assert_error(err, csv_path, 1, "temperature")


def test_csv_hazard_missing_file(tmp_path: Path, small_text: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "h,temp_c\n0,-6\n")
    csv_path.unlink()
    err = load_error(scenario)
    text = scenario.read_text()
    assert_error(err, scenario, line_of(text, "csv: storm/sz.csv"), "hazard.sz.csv")
    assert "not found" in err.message


def test_csv_hazard_bad_number_after_blank_line(tmp_path: Path, small_text: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "h,temp_c,snowfall_cm_h\n0,-6,1\n\n10,cold,0\n")
    err = load_error(scenario)
    assert_error(err, csv_path, 4, "temp_c")


def test_csv_hazard_value_out_of_range_names_the_csv_line(tmp_path: Path, small_text: str) -> None:
    scenario, csv_path = csv_scenario(tmp_path, small_text, "h,temp_c,snowfall_cm_h\n0,-6,1\n10,-100,0\n")
    err = load_error(scenario)
    assert err.file == str(csv_path), err.one_line()
    assert err.line == 3


def test_csv_hazard_value_out_of_range_is_refused(tmp_path: Path, small_text: str) -> None:
    scenario, _ = csv_scenario(tmp_path, small_text, "h,temp_c,snowfall_cm_h\n0,-6,1\n10,-100,0\n")
    err = load_error(scenario)
    assert "temp_c" in err.one_line()


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
