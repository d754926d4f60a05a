"""Storm over time: interpolation of keyframes, and the snow, road and first-snow state it leaves."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import build, minimal_doc
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import hazard
from sim.hazard import build_hazard, derive, interpolate
from sim.scenario import RegionHazard
from sim.vocab import HAZARD_VARIABLES


def region(keyframes: list[dict], interpolation: str = "linear", first_snow: bool = False) -> RegionHazard:
    return RegionHazard(keyframes=keyframes, interpolation=interpolation, first_snow_of_season=first_snow)


def raw(n: int, **series: np.ndarray | float) -> dict[str, np.ndarray]:
    """Hourly intensities for one region (variables not given are 0, temperature -5 C)."""
    out = {v: np.zeros((1, n)) for v in HAZARD_VARIABLES}
    out["temp_c"] = np.full((1, n), -5.0)
    for k, v in series.items():
        out[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,)).reshape(1, n).copy()
    return out


# ---------------------------------------------------------------- interpolation


def test_linear_interpolation_at_and_between_keyframes() -> None:
    spec = region([{"h": 0, "temp_c": 0}, {"h": 10, "temp_c": -10}, {"h": 20, "temp_c": 10}])
    t = interpolate(spec, "temp_c", 30)
    assert t.shape == (30,)
    # hour h is the value at its middle, h + 0.5
    assert t[0] == pytest.approx(-0.5)
    assert t[3] == pytest.approx(-3.5)
    assert t[9] == pytest.approx(-9.5)
    assert t[10] == pytest.approx(-9.0)   # just after the keyframe at 10: on the rising leg
    assert t[15] == pytest.approx(1.0)
    # the keyframe value itself is met exactly at the keyframe time, between the hours on either side
    assert (t[9] + t[10]) / 2 == pytest.approx(-9.25)
    assert min(t[9], t[10]) >= -10


def test_step_interpolation_at_and_between_keyframes() -> None:
    spec = region([{"h": 2, "snowfall_cm_h": 1, "temp_c": -1}, {"h": 6.5, "snowfall_cm_h": 3},
                   {"h": 9, "snowfall_cm_h": 0}], interpolation="step")
    s = interpolate(spec, "snowfall_cm_h", 12)
    assert list(s) == [1, 1, 1, 1, 1, 1, 1, 3, 3, 0, 0, 0]


def test_values_held_outside_the_keyframes() -> None:
    for interp in ("linear", "step"):
        spec = region([{"h": 5, "temp_c": -3}, {"h": 8, "temp_c": -9}], interpolation=interp)
        t = interpolate(spec, "temp_c", 20)
        assert np.all(t[:5] == -3), interp
        assert np.all(t[8:] == -9), interp


def test_variables_are_interpolated_over_the_keyframes_that_give_them() -> None:
    spec = region([{"h": 0, "temp_c": -2, "snowfall_cm_h": 0}, {"h": 4, "snowfall_cm_h": 4},
                   {"h": 8, "temp_c": -10}])
    t = interpolate(spec, "temp_c", 8)
    assert t[4] == pytest.approx(-2 - 8 * 4.5 / 8)     # straight from h0 to h8, ignoring the h4 frame
    s = interpolate(spec, "snowfall_cm_h", 8)
    assert s[1] == pytest.approx(1.5)
    assert np.all(s[4:] == 4)
    assert np.all(interpolate(spec, "wind_ms", 8) == 0)  # never given: zero


def test_build_hazard_uses_the_scenario_horizon() -> None:
    sc = build(minimal_doc(duration_h=30))
    hz = build_hazard(sc)
    assert hz.hours == 30
    assert hz.temp_c.shape == (1, 30)
    assert hz.region_ids == ("r1",)
    assert build_hazard(sc, hours=12).hours == 12


# ---------------------------------------------------------------- ground, roof and road


def test_snow_depth_accumulates_while_it_snows_in_the_cold() -> None:
    hz = derive(("a",), raw(24, snowfall_cm_h=np.r_[np.full(12, 2.0), np.zeros(12)]), np.array([False]))
    d = hz.snow_depth_cm[0]
    assert np.all(np.diff(d[:12]) > 0)
    assert d[0] == pytest.approx(2.0)
    # no melt below 0 C: with snowfall s and clearing c, d_{h} = d_{h-1} (1 - c) + s
    expect = 0.0
    for h in range(12):
        expect = expect * (1 - hazard.ROAD_CLEARING_PER_H) + 2.0
        assert d[h] == pytest.approx(expect)
    # roofs are not cleared: all the snow stays on them in the cold
    assert hz.roof_snow_cm[0, 11] == pytest.approx(24.0)
    assert np.all(hz.roof_snow_cm[0, 12:] == pytest.approx(24.0))
    assert hz.roof_load_kn_m2[0, 11] == pytest.approx(24.0 * hazard.SNOW_LOAD_KN_M2_PER_CM)


def test_snow_melts_above_zero() -> None:
    snow = np.r_[np.full(6, 3.0), np.zeros(18)]
    cold = derive(("a",), raw(24, snowfall_cm_h=snow, temp_c=-2.0), np.array([False]))
    at_zero = derive(("a",), raw(24, snowfall_cm_h=snow, temp_c=0.0), np.array([False]))
    thaw = derive(("a",), raw(24, snowfall_cm_h=snow, temp_c=np.r_[np.full(6, -2.0), np.full(18, 10.0)]),
                  np.array([False]))
    # at or below zero only clearing removes road snow and roofs keep theirs
    assert np.allclose(cold.snow_depth_cm, at_zero.snow_depth_cm)
    assert np.all(at_zero.roof_snow_cm[0, 6:] == pytest.approx(18.0))
    # above zero the snow melts faster than it is cleared, and off the roofs as well
    assert np.all(thaw.snow_depth_cm[0, 6:] < cold.snow_depth_cm[0, 6:])
    assert np.all(np.diff(thaw.roof_snow_cm[0, 5:]) <= 0)
    melt = hazard.ROOF_MELT_FACTOR * hazard.SNOW_MELT_CM_PER_DEG_H * 10
    assert thaw.roof_snow_cm[0, 6] == pytest.approx(18.0 - melt)
    assert thaw.snow_depth_cm[0, -1] == 0.0  # all gone, and never negative
    assert np.all(thaw.snow_depth_cm >= 0) and np.all(thaw.roof_snow_cm >= 0)


def test_road_index_bounded_and_monotone_in_snowfall() -> None:
    rates = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0])
    idx = []
    for s in rates:
        hz = derive(("a",), raw(6, snowfall_cm_h=s, wind_ms=10.0), np.array([False]))
        assert np.all((hz.road_index >= 0) & (hz.road_index <= 1))
        idx.append(hz.road_index[0, -1])
    assert idx[0] == 0.0  # dry road
    assert np.all(np.diff(idx) >= 0)
    assert np.all(np.diff(idx[:6]) > 0)  # strictly, until it saturates at 1
    assert idx[-1] <= 1.0
    # ice makes roads worse too
    iced = derive(("a",), raw(6, ice_mm_h=1.0), np.array([False]))
    assert np.all(iced.road_index[0] > 0)


def test_speed_factor_follows_road_index() -> None:
    hz = derive(("a", "b"), {v: np.vstack([raw(4)[v], raw(4, snowfall_cm_h=5.0)[v]]) for v in HAZARD_VARIABLES},
                np.array([False, False]))
    f = hz.speed_factor(2)
    assert f[0] == 1.0
    assert 0.6 <= f[1] < 1.0
    assert np.array_equal(hz.speed_factor(100), hz.speed_factor(3))  # clipped to the horizon
    assert np.array_equal(hz.speed_factor(-5), hz.speed_factor(0))
    for h in (-5, 0, 1, 2, 3, 100):   # the one-region form gives the same float, bit for bit
        assert [hz.speed_factor_at(r, h) for r in (0, 1)] == hz.speed_factor(h).tolist()


@settings(max_examples=200, deadline=None)
@given(hours=st.integers(1, 40), seed=st.integers(0, 10_000), depth=st.sampled_from([0.0, 20.0, 30.0]))
def test_dry_from_is_the_first_dry_hour(hours: int, seed: int, depth: float) -> None:
    """The next-dry-hour table answers as a scan of the water from `hour` on would (the horizon if never dry)."""
    rng = np.random.default_rng(seed)
    hz = derive(("a", "b"), {v: np.zeros((2, hours)) for v in HAZARD_VARIABLES}, np.array([False, False]))
    ponding = rng.choice([0.0, 10.0, 30.0, 50.0], size=(2, hours))
    floodplain = rng.choice([0.0, 25.0, 60.0], size=(2, hours))
    object.__setattr__(hz, "ponding_cm", ponding)
    object.__setattr__(hz, "floodplain_cm", floodplain)
    for region in (0, 1):
        for hour in range(hours):
            wet = np.maximum(ponding[region, hour:], floodplain[region, hour:]) > depth
            dry = np.flatnonzero(~wet)
            assert hz.dry_from(region, hour, depth) == (hour + int(dry[0]) if dry.size else hours)


def test_storm_end() -> None:
    snow = np.zeros(30)
    snow[4:9] = 1.0
    wind = np.zeros(30)
    wind[15] = 20.0  # a gale after the snow
    hz = derive(("snow", "gale", "calm"), {
        **{v: np.vstack([raw(30, snowfall_cm_h=snow)[v], raw(30, wind_ms=wind)[v], raw(30)[v]])
           for v in HAZARD_VARIABLES}}, np.array([False, False, False]))
    assert list(hz.storm_end_h) == [9.0, 16.0, 0.0]
    cold = derive(("a",), raw(10, temp_c=np.r_[np.full(3, -15.0), np.full(7, -5.0)]), np.array([False]))
    assert cold.storm_end_h[0] == 0.0  # cold alone is not a storm: nothing keeps people from reporting


def test_first_snow_factor() -> None:
    snow = np.zeros(48)
    snow[5:8] = 1.0
    snow[30:32] = 1.0
    first = derive(("a",), raw(48, snowfall_cm_h=snow), np.array([True]))
    fs = first.first_snow_factor[0]
    assert np.all(fs[:5] == 0)
    assert fs[5] == 1.0
    assert np.all(np.diff(fs[5:]) < 0)  # decays from the onset, later snow does not restart it
    assert fs[17] == pytest.approx(np.exp(-1.0))
    assert np.all((fs >= 0) & (fs <= 1))
    later = derive(("a",), raw(48, snowfall_cm_h=snow), np.array([False]))
    assert np.all(later.first_snow_factor == 0)
    trace = derive(("a",), raw(48, snowfall_cm_h=0.05), np.array([True]))  # flurries below the storm threshold
    assert np.all(trace.first_snow_factor == 0)


def test_first_snow_factor_from_a_scenario() -> None:
    doc = minimal_doc(keyframes=[{"h": 0, "temp_c": -3, "snowfall_cm_h": 0}, {"h": 6, "snowfall_cm_h": 0},
                                 {"h": 6.5, "snowfall_cm_h": 3}, {"h": 10, "snowfall_cm_h": 0}])
    doc["hazard"]["r1"]["first_snow_of_season"] = True
    hz = build_hazard(build(doc))
    onset = int(np.flatnonzero(hz.snowfall_cm_h[0] > hazard.STORM_SNOW_CM_H)[0])
    assert onset == 6
    assert hz.first_snow_factor[0, onset] == 1.0
    assert hz.first_snow_factor[0, onset - 1] == 0.0
