"""`claimsim calibrate`: parameters read and applied, scaling kept, and a fit that finds a known truth."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from sim import calibrate as cal
from sim import metrics
from sim.errors import InputError
from sim.model import ClaimsModel
from sim.scenario import load_scenario
from sim.stages import progress
from tests.helpers import SCENARIOS, cli

YINCHUAN = SCENARIOS / "yinchuan-first-snow.yaml"
NORTH_CHINA = SCENARIOS / "north-china-blizzard.yaml"


def base_of(path: Path) -> dict:
    return load_scenario(path).resolve().model_dump(mode="python", by_alias=True, exclude_unset=False)


@pytest.mark.parametrize(("text", "message"), [
    ("operations.staff.nobody.headcount*=0.5:2", "no setting"),
    ("operations.service.documents_h=1:2", "not a number"),
    ("operations.service.documents_h*=0:2", "above 0"),
    ("operations.service documents_h", None),
])
def test_a_bad_parameter_is_one_error_naming_the_option(text: str, message: str | None) -> None:
    with pytest.raises(InputError, match=message) as err:
        cal.parse_param(text, base_of(YINCHUAN))
    assert err.value.key_path == "--param"


def test_a_multiplier_scales_headcounts_and_distribution_centres_only() -> None:
    base = base_of(NORTH_CHINA)
    params = [cal.parse_param("operations.staff.field_survey.headcount*=0.5:3", base),
              cal.parse_param("operations.service.documents_h*=0.3:3", base)]
    out = cal.apply(base, params, {params[0].name: 2.0, params[1].name: 0.5})
    before = base["operations"]["staff"]["field_survey"]["headcount"]
    assert out["operations"]["staff"]["field_survey"]["headcount"] == {k: 2 * v for k, v in before.items()}
    for track, dist in out["operations"]["service"]["documents_h"].items():
        old = base["operations"]["service"]["documents_h"][track]
        assert dist["dist"] == old["dist"] and dist.get("cv") == old.get("cv")
        centre = "mean" if old.get("mean") is not None else "median"
        assert dist[centre] == pytest.approx(0.5 * old[centre])


def test_at_a_smaller_scale_a_headcount_multiplier_multiplies_the_scaled_staff() -> None:
    """A 1:10 model fitted with `headcount*=` must get a tenth of the staff times the factor, not the full-size
    staff times the factor (which would give the scaled world ten times its staff)."""
    sf = load_scenario(NORTH_CHINA)
    points = [cal.Point(day=3.0, metric="closed", segment="all", value=0.5, line=2)]
    setup = cal.make_setup(sf, "baseline", points, ["operations.staff.field_survey.headcount*=0.5:3"], 1, 1, 0.1,
                           None)
    spec = cal.candidate_specs(setup, {setup.params[0].name: 1.0}, "t")[0]
    overrides = json.loads(spec.overrides)
    got = overrides["operations"]["staff"]["field_survey"]["headcount"]
    scaled = setup.scale_overrides["operations"]["staff"]["field_survey"]["headcount"]
    assert got == scaled
    full = base_of(NORTH_CHINA)["operations"]["staff"]["field_survey"]["headcount"]
    assert all(got[k] < v for k, v in full.items())
    spec2 = cal.candidate_specs(setup, {setup.params[0].name: 2.0}, "t")[0]
    doubled = json.loads(spec2.overrides)["operations"]["staff"]["field_survey"]["headcount"]
    assert doubled == {k: 2 * v for k, v in scaled.items()}


def observed_from_a_run(path: Path, factor: float, days: list[float], out: Path) -> Path:
    """The closed curve of the scenario with its documents delays times `factor`: a truth to find."""
    sf = load_scenario(path)
    base = sf.resolve().model_dump(mode="python", by_alias=True, exclude_unset=False)
    docs = copy.deepcopy(base["operations"]["service"]["documents_h"])
    for d in docs.values():
        for key in ("mean", "median"):
            if d.get(key) is not None:
                d[key] *= factor
    spec = sf.variant({"operations": {"service": {"documents_h": docs}}})
    model = ClaimsModel(spec, seed=1)
    model.run()
    claims = metrics.claims_table(model.record())
    table = progress(claims, np.array(days), spec.day0_h)
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["day", "metric", "value", "segment", "source"])
        for d in days:
            row = table[(table["day"] == d) & (table["segment"] == "all")].iloc[0]
            w.writerow([d, "closed", round(float(row["closed_share"]), 4), "all", "a run of the scenario"])
    return out


def test_calibrate_finds_a_known_documents_delay_and_writes_a_plan_the_other_commands_accept(tmp_path: Path) -> None:
    days = [2.0, 4.0, 7.0, 10.0]
    observed = observed_from_a_run(YINCHUAN, 2.0, days, tmp_path / "observed.csv")
    out = tmp_path / "cal"
    done = cli("calibrate", YINCHUAN, "--observed", observed, "--out", out, "--param",
               "operations.service.documents_h*=0.5:4", "--budget", "8", "--reps", "1", "--seed", "1",
               "--workers", "1", "--fit-until-day", "4")
    assert done.code == 0, done.err
    for name in ("calibrated.yaml", "fit.csv"):
        assert (out / name).is_file(), name
    with (out / "fit.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {float(r["day"]) for r in rows} == set(days)
    for r in rows:
        low, high = float(r["low"]), float(r["high"])
        assert low <= float(r["simulated"]) <= high
    # the fitted points: within 5 points of the truth it was made from (same seed, the same world)
    fitted = [r for r in rows if float(r["day"]) <= 4]
    assert max(abs(float(r["observed"]) - float(r["simulated"])) for r in fitted) < 0.05
    checked = cli("check", YINCHUAN, "--plans-file", out / "calibrated.yaml")
    assert checked.code == 0, checked.err


def test_the_worst_objective_ranks_by_the_largest_miss_and_rmse_by_the_mean_square() -> None:
    points = [cal.Point(d, "closed", "all", 0.5, i) for i, d in enumerate((1.0, 2.0, 3.0, 4.0))]
    spread = np.array([[0.53, 0.47, 0.53, 0.47]])    # every point 3 off
    one_big = np.array([[0.5, 0.5, 0.5, 0.555]])     # one point 5.5 off, the rest exact
    assert cal.loss(points, one_big) < cal.loss(points, spread)   # mean square: 7.6 against 9
    assert cal.loss(points, spread, "worst") < cal.loss(points, one_big, "worst")
    assert cal.loss(points, spread, "worst") == pytest.approx(3.0 + 0.01 * 3.0)
    with pytest.raises(InputError, match="objective") as err:
        cal.make_setup(load_scenario(YINCHUAN), "baseline", points, [], 1, None, 1.0, None, "median")
    assert err.value.key_path == "--objective"
