"""ClaimsModel: stepping, Mesa agents, common random numbers between plans, and hazard responses."""

from __future__ import annotations

import contextlib
import copy

import mesa
import numpy as np
import pandas as pd
import pytest
from helpers import SMALL, build, minimal_doc, run

from sim.model import ClaimsModel
from sim.populations.drivers import Driver
from sim.populations.farmers import Farmer
from sim.populations.firms import Firm
from sim.scenario import load_scenario
from sim.vocab import ROLES

INCIDENT_COLUMNS = ["incident_h", "agent_id", "agent_type", "incident_type", "loss_amount"]


@pytest.fixture(scope="module")
def small_file():
    return load_scenario(SMALL)


def incidents(model: ClaimsModel) -> pd.DataFrame:
    return pd.DataFrame([{c: getattr(cl, c) for c in INCIDENT_COLUMNS} for cl in model.claims],
                        columns=INCIDENT_COLUMNS)


# ---------------------------------------------------------------- stepping


def test_step_advances_one_hour(small_file) -> None:
    model = ClaimsModel(small_file.resolve(), seed=2)
    assert model.hour == 0 and model.running
    for h in range(1, 7):
        before = len(model.claims)
        model.step()
        assert model.hour == h
        new = model.claims[before:]
        assert all(h - 1 <= c.incident_h < h for c in new)
        assert model.env.now == h  # the operation has caught up with the world
        assert model.incidents_by_hour[-1] == len(new)
    assert len(model.datacollector.get_model_vars_dataframe()) == 6


def test_run_stops_at_the_horizon(small_file) -> None:
    sc = small_file.resolve()
    model = ClaimsModel(sc, seed=2)
    assert model.horizon_h == sc.duration_h == 48
    calls = []
    model.run(progress=lambda h, n: calls.append((h, n)))
    assert model.hour == 48 and not model.running
    assert calls == [(h, 48) for h in range(1, 49)]
    assert len(model.datacollector.get_model_vars_dataframe()) == 48
    assert all(c.incident_h < 48 for c in model.claims)


@pytest.mark.parametrize(("hours", "expected"), [(5, 5), (1, 1), (48, 48), (500, 48)])
def test_hours_cuts_the_run_short(small_file, hours: int, expected: int) -> None:
    model = ClaimsModel(small_file.resolve(), seed=2, hours=hours)
    model.run()
    assert model.hour == expected == model.horizon_h
    assert not model.running


def test_a_short_run_is_the_start_of_a_long_one(small_file) -> None:
    sc = small_file.resolve()
    short = ClaimsModel(sc, seed=4, hours=12)
    short.run()
    full = ClaimsModel(sc, seed=4)
    full.run()
    a = incidents(short)
    b = incidents(full)
    pd.testing.assert_frame_equal(a, b[b["incident_h"] < 12].reset_index(drop=True))


def test_run_for_equals_stepping(small_file) -> None:
    sc = small_file.resolve()
    stepped = ClaimsModel(sc, seed=5)
    for _ in range(7):
        stepped.step()
    jumped = ClaimsModel(sc, seed=5)
    jumped.run_for(7)
    assert jumped.hour == 7
    pd.testing.assert_frame_equal(incidents(jumped), incidents(stepped))
    assert jumped.log.t == stepped.log.t and jumped.log.code == stepped.log.code


@pytest.mark.parametrize("hours", [3, None])
def test_run_for_does_not_pass_the_horizon(hours: int | None) -> None:
    model = ClaimsModel(build(minimal_doc(duration_h=6)), seed=1, hours=hours)
    with contextlib.suppress(RuntimeError, ValueError):  # refusing clearly is fine too
        model.run_for(10)
    assert model.hour <= model.horizon_h


def test_hour_of_day_follows_the_start_clock(small_file) -> None:
    model = ClaimsModel(small_file.resolve(), seed=1, hours=1)  # starts 06:00
    assert [model.hour_of_day(h) for h in (0, 1, 17, 18, 30)] == [6, 7, 23, 0, 12]


def test_snapshot_and_series(small_file) -> None:
    model = ClaimsModel(small_file.resolve(), seed=1, hours=10)
    model.run()
    snap = model.snapshot
    for role in ROLES:
        for what in ("waiting", "on_duty", "busy"):
            assert snap[f"{what}_{role}"] >= 0
    # at hour 10 (16:00) the 07-15 phone shift is over and the 15-23 one is on
    assert snap["on_duty_phone"] == 2
    assert snap["on_duty_tow"] == 5
    df = model.datacollector.get_model_vars_dataframe()
    assert list(df["hour"]) == list(range(10))
    assert df["incidents"].sum() == len(model.claims)
    assert df["on_duty_phone"].max() <= 4


# ---------------------------------------------------------------- agents


def test_policyholders_are_mesa_agents_made_when_needed(small_file) -> None:
    """Policyholders are columns until something asks for one: then it is a Mesa agent of the model, with the
    id its claims carry, whatever order agents are asked for in."""
    sc = small_file.resolve()
    model = ClaimsModel(sc, seed=1, hours=24)
    pops = model.populations
    assert (pops["drivers"].n, pops["farmers"].n, pops["firms"].n) == (4500, 150, 300)
    assert len(model.agents) == 0  # no Python object per policyholder before it is needed
    model.run()
    assert model.claims and len(model.agents) == 0
    kinds = {"driver": Driver, "farmer": Farmer, "firm": Firm}
    by_type = {p.singular: p for p in pops.values()}
    ids = set()
    for c in reversed(model.claims):  # out of order on purpose: ids must not depend on the order
        pop = by_type[c.agent_type]
        agent = pop.agent(c.agent_id - pop.first_id)
        assert isinstance(agent, mesa.Agent) and isinstance(agent, kinds[c.agent_type]) and agent.model is model
        assert agent.unique_id == c.agent_id
        assert agent.region == sc.region_ids[c.region]
        assert pop.agent(agent.index) is agent  # made once
        ids.add(agent.unique_id)
    assert len(model.agents) == len(ids)
    assert len(model.agents_by_type[Driver]) == len({c.agent_id for c in model.claims if c.agent_type == "driver"})
    # ids are consecutive ranges per population, in the vocabulary's order
    assert pops["drivers"].first_id == 1 and pops["farmers"].first_id == 4501 and pops["firms"].first_id == 4651
    with pytest.raises(IndexError):
        pops["firms"].agent(300)


def test_each_policyholder_has_each_incident_type_at_most_once(small_file) -> None:
    r = run(small_file.resolve(), seed=9)
    assert not r.claims.duplicated(["agent_id", "incident_type"]).any()


def _bound_doc() -> dict:
    doc = minimal_doc(drivers=3000, firms=800, farmers=300, duration_h=24, life=True, keyframes=[
        {"h": 0, "temp_c": -2, "snowfall_cm_h": 0, "rain_mm_h": 0},
        {"h": 3, "snowfall_cm_h": 4, "temp_c": -12, "rain_mm_h": 80, "wind_ms": 40},
        {"h": 12, "snowfall_cm_h": 0, "temp_c": -20, "rain_mm_h": 0, "wind_ms": 5}])
    doc["regions"][0]["portfolio"]["farmers"].update({"greenhouse_share": 0.5, "crops": {"wheat": 1.0}})
    doc["regions"][0]["portfolio"]["households"] = {"count": 2000}
    doc["regions"][0]["flood"] = {"low_lying_share": 0.3, "floodplain_share": 0.1}
    doc["hazard"]["r1"]["keyframes"][1]["river_depth_cm"] = 120
    doc["vulnerability"] = {"drivers": {"crash_per_vehicle_h": 5e-4}}
    doc["measures"] = {"sms_warning": {"enabled": True}, "risk_visits": {"enabled": True}}
    return doc


def test_population_bounds_are_true_upper_bounds_and_strikes_are_exact(small_file) -> None:
    """The step draws uniforms only under each region's bound, and strikes threshold types by sorted thresholds:
    so every drawn type's probability must stay under its bound, and the strikes must be exactly the
    policyholders whose probability is 1."""
    checked = 0
    for sc in (small_file.resolve("sms"), small_file.resolve(), build(_bound_doc())):
        model = ClaimsModel(sc, seed=3)
        for hour in range(sc.duration_h):
            for pop in model.populations.values():
                if pop.n == 0:
                    continue
                everyone = np.arange(pop.n)
                bounds = pop.bound(hour)
                probs = pop.probabilities(hour, everyone)
                struck = dict(pop.struck(hour))
                for k, p in enumerate(probs):
                    if k in pop.deterministic:
                        ones = set(np.flatnonzero(p is not None and p >= 1.0).tolist()) if p is not None else set()
                        assert set(struck.get(k, np.zeros(0, int)).tolist()) == ones, (pop.name, k, hour)
                        checked += len(ones)
                    elif p is not None:
                        assert np.all(p <= bounds[k, pop.region] + 1e-12), (pop.name, k, hour)
            model.step()
    assert checked > 100


def test_candidates_are_the_dense_draw_in_distribution(small_file) -> None:
    """Drawing only the candidates must look like drawing everyone's uniform and keeping those inside the
    bounds: a binomial count, uniforms spread evenly over the intervals, policyholders chosen evenly."""
    model = ClaimsModel(small_file.resolve(), seed=1)
    pop = model.populations["drivers"]
    bounds = np.zeros((len(pop.incident_types), len(pop.slices)))
    bounds[0, :] = 0.01
    bounds[2, :] = 0.02    # offsets 0 and 0.236: two disjoint intervals, total width 0.03
    counts, us, where = [], [], []
    for hour in range(400):
        idx, u = pop.candidates(hour, bounds)
        counts.append(idx.size)
        us.append(u)
        where.append(idx)
    us, where = np.concatenate(us), np.concatenate(where)
    n, w = pop.n, 0.03
    assert np.mean(counts) == pytest.approx(n * w, rel=0.05)
    assert np.var(counts) == pytest.approx(n * w * (1 - w), rel=0.25)
    inside = ((us >= 0) & (us < 0.01)) | ((us >= 0.2360679775) & (us < 0.2560679775))
    assert inside.all()
    assert np.mean(us < 0.01) == pytest.approx(1 / 3, abs=0.02)       # by width
    from scipy import stats
    first = us[us < 0.01] / 0.01
    assert stats.kstest(first, "uniform").pvalue > 1e-3
    assert stats.kstest(where / n, "uniform").pvalue > 1e-3
    # the same hour gives the same draws (an hour's stream does not depend on the others)
    a, b = pop.candidates(7, bounds), pop.candidates(7, bounds)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


# ---------------------------------------------------------------- common random numbers


def test_staffing_plans_face_the_same_incidents(small_file) -> None:
    base = run(small_file.resolve("baseline"), seed=7)
    more = run(small_file.resolve("more_phone"), seed=7)
    a, b = incidents(base.model), incidents(more.model)
    assert len(a) > 50
    pd.testing.assert_frame_equal(a, b)
    # the claims' own draws (channel) do not depend on the plan either
    assert list(base.claims["channel"]) == list(more.claims["channel"])
    # and a different seed is a different storm's worth of incidents
    other = incidents(run(small_file.resolve("baseline"), seed=8).model)
    assert not a.equals(other)


def phone_doc(headcount: int) -> dict:
    doc = minimal_doc(drivers=4000, duration_h=36, headcounts={
        "phone": headcount, "video_survey": 3, "field_survey": 3, "tow": 4, "assessment": 5, "approval": 2})
    doc["vulnerability"]["drivers"] |= {"crash_per_vehicle_h": 3e-3}
    doc["behaviour"] = {"drivers": {"channels": {"phone": 1.0}}}
    return doc


@pytest.mark.parametrize("seed", [1, 2])
def test_more_phone_staff_never_raises_abandonment(seed: int) -> None:
    results = [run(build(phone_doc(n)), seed=seed) for n in (1, 2, 3, 5)]
    first = incidents(results[0].model)
    rates, gave_up = [], []
    for r in results:
        pd.testing.assert_frame_equal(incidents(r.model), first)
        rates.append(r.figures["abandonment_rate"])
        gave_up.append(r.figures["claims_abandoned_reporting"])
    assert all(b <= a for a, b in zip(rates, rates[1:], strict=False)), rates
    assert all(b <= a for a, b in zip(gave_up, gave_up[1:], strict=False)), gave_up
    assert rates[0] > 0.3 and rates[-1] < rates[0] / 3  # the pairing actually tests something


def test_sms_warning_means_fewer_crashes(small_file) -> None:
    for seed in (7, 8):
        base = run(small_file.resolve("baseline"), seed=seed).claims
        sms = run(small_file.resolve("sms"), seed=seed).claims
        crash_b = base[base["incident_type"] == "crash"]
        crash_s = sms[sms["incident_type"] == "crash"]
        assert len(crash_s) < 0.8 * len(crash_b), (len(crash_s), len(crash_b))
        # common random numbers: the crashes that still happen are (nearly all) crashes of the baseline
        key_b = set(zip(crash_b["agent_id"], np.floor(crash_b["incident_h"]), strict=True))
        key_s = list(zip(crash_s["agent_id"], np.floor(crash_s["incident_h"]), strict=True))
        assert sum(k in key_b for k in key_s) >= 0.9 * len(key_s)
        # farmers and firms are not touched by an SMS to drivers
        others_b = base[base["agent_type"] != "driver"]
        others_s = sms[sms["agent_type"] != "driver"]
        assert sorted(others_b["agent_id"]) == sorted(others_s["agent_id"])


def storm_doc(temp_c: float = -5.0, snowfall_cm_h: float = 0.0, firms: int = 0, drivers: int = 3000) -> dict:
    doc = minimal_doc(drivers=drivers, firms=firms, duration_h=24, keyframes=[
        {"h": 0, "temp_c": temp_c, "snowfall_cm_h": snowfall_cm_h}, {"h": 12, "snowfall_cm_h": 0}])
    doc["hazard"]["r1"]["interpolation"] = "step"
    doc["vulnerability"]["drivers"] |= {"battery_per_vehicle_h": 2e-4}
    return doc


def test_colder_storm_more_battery_incidents() -> None:
    counts = []
    for temp in (5.0, -5.0, -18.0, -28.0):
        claims = run(build(storm_doc(temp_c=temp)), seed=4).claims
        counts.append(int((claims["incident_type"] == "battery").sum()))
    assert all(b > a for a, b in zip(counts, counts[1:], strict=False)), counts
    assert counts[-1] > 2 * counts[1]


def test_deeper_snow_collapses_light_steel_roofs() -> None:
    rates = {}
    for snow in (0.5, 1.5, 3.0):
        r = run(build(storm_doc(snowfall_cm_h=snow, firms=400, drivers=0)), seed=2)
        pop = r.model.populations["firms"]
        roofs = r.claims[r.claims["incident_type"] == "roof_collapse"]
        fell = np.zeros(pop.n, dtype=bool)
        fell[roofs["agent_id"].to_numpy() - pop.first_id] = True
        peak_load = r.model.hazard.roof_load_kn_m2.max()
        assert np.all(pop.roof_capacity[fell] < peak_load)   # a roof falls only under more than it can bear
        assert np.all(pop.roof_capacity[~fell] >= peak_load)  # and every roof that could not bear it fell
        light = pop.light_roof
        assert 50 < light.sum() < 350
        rates[snow] = (fell[light].mean(), fell[~light].mean())
    # 6 cm of roof snow (0.12 kN/m2) brings nothing down
    assert rates[0.5] == (0.0, 0.0)
    assert rates[1.5][0] <= rates[3.0][0] and rates[1.5][1] <= rates[3.0][1]
    # 36 cm (0.72 kN/m2) brings down most light-steel roofs (median capacity 1.3 x S0 = 0.52 kN/m2)
    # and few concrete ones (2.5 x S0 = 1.0 kN/m2)
    light_rate, concrete_rate = rates[3.0]
    assert light_rate > 0.7
    assert concrete_rate < 0.3
    assert light_rate > 3 * concrete_rate


# ---------------------------------------------------------------- the operation's routing and measures


def test_regional_pools_serve_only_their_region() -> None:
    doc = minimal_doc(drivers=0, firms=2000, duration_h=48, keyframes=[{"h": 0, "temp_c": -20}],
                      headcounts={"phone": 10, "field_survey": {"r1": 0, "r2": 3}, "tow": 2, "assessment": 10,
                                  "approval": 5})
    doc["regions"][0]["portfolio"]["firms"]["insulated_pipes_share"] = 0.0
    second = copy.deepcopy(doc["regions"][0])
    second.update({"id": "r2", "name": "Region two"})
    doc["regions"].append(second)
    doc["hazard"]["r2"] = copy.deepcopy(doc["hazard"]["r1"])
    doc["operations"]["staff"]["tow"]["headcount"] = {"r1": 1, "r2": 1}
    r = run(build(doc), seed=1)
    c = r.claims
    field = c[c["track"].isin(["field", "large_loss"])]
    assert (field["region"] == "r1").sum() > 5 and (field["region"] == "r2").sum() > 5
    assert field.loc[field["region"] == "r1", "survey_start_h"].isna().all()  # nobody surveys in r1
    assert field.loc[field["region"] == "r2", "surveyed_h"].notna().any()
    pools = {s.staff_id: s.pool for s in r.model.ops.staff if s.role == "field_survey"}
    assert set(pools.values()) == {"r2"}
    ev = r.events
    starts = ev["code"] == 11  # SURVEY_START
    assert set(ev["staff_id"][starts].tolist()) <= set(pools)
    assert len(r.model.ops.queues[("field_survey", "r1")]) == (field["region"] == "r1").sum()


def test_no_video_surveyors_means_no_video_track() -> None:
    doc = minimal_doc(drivers=3000, duration_h=24)
    doc["vulnerability"]["drivers"] |= {"crash_per_vehicle_h": 1e-3}
    with_video = run(build(doc), seed=2).claims
    doc["operations"]["staff"]["video_survey"]["headcount"] = 0
    without = run(build(doc), seed=2).claims
    assert (with_video["track"] == "video").sum() > 5
    assert (without["track"] == "video").sum() == 0
    moved = with_video["track"] == "video"
    assert set(without.loc[moved[moved].index, "track"].dropna()) <= {"field"}


def test_a_measure_that_reaches_nobody_changes_nothing() -> None:
    doc = storm_doc(snowfall_cm_h=2.0, firms=300)
    doc["vulnerability"]["drivers"]["crash_per_vehicle_h"] = 5e-4
    base = incidents(run(build(doc), seed=6).model)
    doc["measures"] = {"sms_warning": {"enabled": True, "coverage": 0.0},
                       "risk_visits": {"enabled": True, "firm_share": 0.0, "farm_share": 0.0}}
    same = incidents(run(build(doc), seed=6).model)
    assert len(base) > 30
    pd.testing.assert_frame_equal(base, same)


def test_risk_visits_prevent_roof_collapses() -> None:
    doc = storm_doc(snowfall_cm_h=2.5, firms=600, drivers=0)
    before = run(build(doc), seed=3).claims
    doc["measures"] = {"risk_visits": {"enabled": True, "firm_share": 1.0}}
    after = run(build(doc), seed=3).claims
    n_before = int((before["incident_type"] == "roof_collapse").sum())
    n_after = int((after["incident_type"] == "roof_collapse").sum())
    assert n_before > 30
    assert n_after < n_before
    # a visited firm's roof is only stronger: every collapse with visits is also a collapse without
    assert set(after.loc[after["incident_type"] == "roof_collapse", "agent_id"]) <= set(
        before.loc[before["incident_type"] == "roof_collapse", "agent_id"])


def prepay_doc() -> dict:
    doc = minimal_doc(drivers=0, firms=2000, duration_h=120, keyframes=[
        {"h": 0, "temp_c": -5, "snowfall_cm_h": 3}, {"h": 12, "snowfall_cm_h": 0}],
        headcounts={"phone": 20, "video_survey": 5, "field_survey": 30, "tow": 5, "assessment": 30, "approval": 10})
    doc["hazard"]["r1"]["interpolation"] = "step"
    doc["operations"]["prepayment"] = {"enabled": True, "share": 0.5, "min_loss": 100_000}
    doc["operations"]["service"] = {"documents_h": {t: {"dist": "exponential", "mean": 2}
                                                    for t in ("fast_track", "video", "field", "large_loss")}}
    return doc


def test_prepayment_goes_to_surveyed_large_losses() -> None:
    r = run(build(prepay_doc()), seed=1)
    c = r.claims
    pre = c[c["prepayment_h"].notna()]
    assert len(pre) > 20
    assert (pre["track"] == "large_loss").all()
    assert (pre["prepayment_h"] >= pre["surveyed_h"]).all()
    assert (pre["prepayment_amount"] > 0).all()
    paid = pre[pre["paid_h"].notna() & pre["reopened_h"].isna()]
    # pre-payment plus the balance make up the loss, with what was found later (no deductible here)
    owed = paid["loss_amount"] + paid["supplement_amount"] + paid["dispute_amount"]
    assert np.allclose(paid["paid_amount"], np.maximum(owed, paid["prepayment_amount"]))


def test_prepayment_comes_before_the_final_payment() -> None:
    c = run(build(prepay_doc()), seed=1).claims
    both = c[c["prepayment_h"].notna() & c["paid_h"].notna()]
    assert len(both) > 10
    late = both[both["prepayment_h"] > both["paid_h"]]
    assert late.empty, late[["claim_id", "surveyed_h", "paid_h", "prepayment_h"]].to_string()


def test_a_released_run_keeps_its_figures_and_lets_go_of_the_operation(small_file) -> None:
    from sim import runner

    kept = runner.simulate(small_file, hours=30)
    released = runner.simulate(small_file, hours=30, release=True)
    # the same figures and tables, whether or not the run let go of its claims and operation
    assert released.summary["figures"] == kept.summary["figures"]
    pd.testing.assert_frame_equal(released.claims, kept.claims)
    pd.testing.assert_frame_equal(released.events.to_pandas(), kept.events.to_pandas())
    m = released.model
    assert m.claim_count == len(kept.model.claims) > 0
    assert m.claims == [] and m.ops is None and m.env is None and m.populations == {} and len(m.agents) == 0
    with pytest.raises(RuntimeError, match="released"):
        m.record()


@pytest.mark.parametrize("scenario", ["scenarios/north-china-blizzard.yaml", "scenarios/henan-flood-2021.yaml"])
def test_the_world_process_gives_the_same_run(scenario: str) -> None:
    """The world's hours computed ahead in a second process make the same claims, events and figures, bit for
    bit (a blizzard's drivers and a flood's households, firms and farmers; the flood cut to 3 days at 1:20)."""
    from sim.scenario.scale import scale_overrides

    sf = load_scenario(scenario)
    spec = sf.resolve("baseline")
    if "henan" in scenario:
        spec = sf.variant(scale_overrides(spec, 0.05))
    runs = {}
    for ahead in (False, True):
        model = ClaimsModel(spec, hours=72, world_process=ahead)
        model.run()
        runs[ahead] = (model, model.record())
    (alone, a), (paired, b) = runs[False], runs[True]
    assert len(a.claims) > 500
    pd.testing.assert_frame_equal(a.claims, b.claims)
    assert set(a.events) == set(b.events)
    for column in a.events:
        assert np.array_equal(a.events[column], b.events[column], equal_nan=True), column
    assert alone.incidents_by_hour == paired.incidents_by_hour
    assert paired._ahead is None   # the world process is stopped at the horizon


def test_a_world_process_that_stops_is_an_error_not_a_short_run(small_file) -> None:
    model = ClaimsModel(small_file.resolve(), seed=2, world_process=True)
    model._ahead._proc.kill()   # long before it has imported anything (a new interpreter takes ~1 s)
    model._ahead._proc.wait()
    with pytest.raises(RuntimeError, match="world process stopped before hour 0"):
        model.step()
    model._close_world_process()


def test_a_run_leaves_next_to_no_cyclic_garbage() -> None:
    """Runs have no automatic cyclic collection (sim.model.fewer_collections): that holds only while a claim's
    story, its jobs and the staff leave no reference cycles behind, or memory would grow with every claim."""
    import gc

    from sim.model import fewer_collections

    spec = load_scenario("scenarios/north-china-blizzard.yaml").resolve("baseline")
    model = ClaimsModel(spec, hours=96)
    gc.collect()
    with fewer_collections():
        assert not gc.isenabled()
        model.run()
        garbage = gc.collect()
    assert gc.isenabled()
    assert len(model.claims) > 2000
    assert garbage < 300 + 0.01 * len(model.claims), garbage
