"""Validation on storms: ample staff against the infinite-server mean, Little's law on every stage, the
Yinchuan first-snow figure, and latency monotone in every role's staff under common random numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from sim import metrics
from sim.hazard import build_hazard
from sim.metrics import restricted_latency
from sim.model import ClaimsModel
from sim.ops.log import Ev
from sim.scenario import load_scenario
from sim.stages import stage_intervals
from sim.stats import mean_ci
from sim.validation.common import NORTH_CHINA, PASS_LEVEL, YINCHUAN, Job, Row, replications
from sim.vocab import ROLES, STAGES

# ---------------------------------------------------------------------------- storm runs


def _delay_quantiles(dist: Any, n: int = 2000) -> np.ndarray:
    return np.asarray(dist.ppf((np.arange(n) + 0.5) / n), dtype=float)


def measure_infinite_server(seed: int, hours: int, staff: int) -> dict[str, Any]:
    """The North China storm with ample phone staff: calls on the line against E[N(t)] for its own arrivals."""
    sf = load_scenario(NORTH_CHINA)
    scenario = sf.variant({
        "duration_h": hours,
        "operations": {"rosters": {"always": {"shifts": [{"start": 0, "end": 24}]}},
                       "staff": {"phone": {"headcount": staff, "roster": "always", "leave_share": 0.0}},
                       "phone": {"patience_min": None}},
    })
    model = ClaimsModel(scenario, seed=seed)
    expected: dict[str, list[float]] = {name: [] for name in model.populations}
    for h in range(hours):
        for name, pop in model.populations.items():
            expected[name].append(pop.expected_incidents(h))
        model.step()
    # Theory: incidents uniform within each hour at the expected rate, through each type's reporting delay
    # and phone share, then in service for the handling time: E[N(t)] = int lambda(s) P(H > t - s) ds.
    dt = 1.0 / 60.0
    grid = np.arange(0.0, hours, dt) + dt / 2
    call_rate = np.zeros(grid.size)
    for name, rates in expected.items():
        reporting = getattr(scenario.behaviour, name)
        share = reporting.channels.get("phone", 0.0)
        if share == 0 or not any(rates):
            continue
        if reporting.report_after_storm:
            raise ValueError("the infinite-server case needs reports that follow incidents directly")
        inc = np.asarray(rates)
        delays = _delay_quantiles(reporting.report_delay_h)
        # lambda_report(t) = E_d[lambda_inc(t - d)], with lambda_inc piecewise constant per hour
        for d in np.array_split(delays, 20):
            src = np.floor(grid[:, None] - d[None, :]).astype(int)
            ok = src >= 0
            call_rate += share * np.where(ok, inc[np.clip(src, 0, hours - 1)], 0.0).mean(axis=1) * d.size / delays.size
    handling = np.sort(_delay_quantiles(scenario.operations.phone.handling_min) / 60.0)
    t_eval = np.arange(1, hours + 1, dtype=float)
    # P(H > lag) at lags (k + 1/2) dt; with s_j = (j + 1/2) dt and t = M dt, t - s_j = (M - 1 - j + 1/2) dt,
    # so E[N(t)] is a discrete convolution of the call rate with the handling survival.
    lags = (np.arange(grid.size) + 0.5) * dt
    survival = 1.0 - np.searchsorted(handling, lags, side="right") / handling.size
    conv = np.convolve(call_rate, survival)[: grid.size] * dt
    per_hour = int(round(1 / dt))
    theory_n = [float(conv[int(t) * per_hour - 1]) for t in t_eval]
    ev = model.record().events
    n = model.claim_count
    ans = ev["code"] == int(Ev.CALL_ANSWERED)
    end = ev["code"] == int(Ev.CALL_ENDED)
    placed = ev["code"] == int(Ev.CALL_PLACED)
    abandoned = ev["code"] == int(Ev.CALL_ABANDONED)
    # calls on the line (waiting or in service) at each hour end, from the log
    on_line = (np.searchsorted(np.sort(ev["t_h"][placed]), t_eval, side="right")
               - np.searchsorted(np.sort(ev["t_h"][end | abandoned]), t_eval, side="right"))
    waiting = (np.searchsorted(np.sort(ev["t_h"][placed]), t_eval, side="right")
               - np.searchsorted(np.sort(ev["t_h"][ans | abandoned]), t_eval, side="right"))
    return {"theory": theory_n, "sim": on_line.astype(float).tolist(), "waiting": int(waiting.max()),
            "claims": n}


def measure_first_snow(seed: int, hours: int) -> dict[str, float]:
    """Reports in the first hour of snow, and in the same hour of the same day without the snow (the same seed:
    common random numbers, so the normal hour has the same everyday claims), for one seed of Yinchuan."""
    sf = load_scenario(YINCHUAN)
    counts = {}
    for label, overrides in (("snow", {}), ("normal", {"hazard": _no_snow(sf.resolve())})):
        scenario = sf.variant(overrides) if overrides else sf.resolve()
        model = ClaimsModel(scenario, seed=seed, hours=hours)
        model.run()
        reported = metrics.claims_table(model.record())["reported_h"].to_numpy()
        reported = reported[~np.isnan(reported)]
        counts[label] = np.bincount(np.floor(reported).astype(int), minlength=hours)[:hours]
    snow_hours = np.flatnonzero(build_hazard(sf.resolve()).snowfall_cm_h.max(axis=0) > 0.1)
    first = int(snow_hours[0])
    return {"first_hour": first, "first": float(counts["snow"][first]), "normal": float(counts["normal"][first]),
            "pre": float(counts["snow"][:first].mean())}


def _no_snow(scenario: Any) -> dict[str, Any]:
    """The scenario's storm with no snow and no ice, every keyframe kept (for the normal-day counterfactual)."""
    out = {}
    for rid, spec in scenario.hazard.items():
        frames = [k.model_dump(exclude_none=True) for k in spec.keyframes]
        for k in frames:
            if "snowfall_cm_h" in k:
                k["snowfall_cm_h"] = 0.0
            if "ice_mm_h" in k:
                k["ice_mm_h"] = 0.0
        out[rid] = {"keyframes": frames}
    return out


def measure_staffing(role: str, factor: float, seed: int, hours: int) -> dict[str, float]:
    """Yinchuan baseline with one role's headcount scaled (rounded; at least one change of one person)."""
    sf = load_scenario(YINCHUAN)
    base = sf.resolve()
    hc = base.operations.staff[role].headcount

    def scaled(x: int) -> int:
        if factor == 1.0:
            return x
        y = int(round(x * factor))
        return max(y, x + 1) if factor > 1 else max(min(y, x - 1), 0)

    new = {k: scaled(v) for k, v in hc.items()} if isinstance(hc, dict) else scaled(hc)
    scenario = sf.variant({"operations": {"staff": {role: {"headcount": new}}}})
    model = ClaimsModel(scenario, seed=seed, hours=hours)
    model.run()
    claims = metrics.claims_table(model.record())
    return {"latency": restricted_latency(claims, float(model.hour)), "claims": float(len(claims))}


def little(seed: int) -> dict[str, Any]:
    """Little's law on every stage of the North China storm, from its event log: each stay of a claim in a
    stage (sim.stages.stage_intervals) is one visit; L is the hourly backlog series of that stage."""
    from sim.runner import simulate

    res = simulate(load_scenario(NORTH_CHINA), "baseline", seed)
    horizon = float(res.model.hour)
    visits = stage_intervals(res.model.record().events, horizon)
    out = {}
    for code, name in enumerate(STAGES):
        v = visits[visits["stage"] == code]
        if len(v) < 20:  # too few visits for a daily batch-means interval
            continue
        entry = v["entered"].to_numpy()
        stay = np.minimum(v["left"].to_numpy(), horizon) - entry
        ends = res.series[f"backlog_{name}"].to_numpy(dtype=float)
        # each hour's occupancy read from the published series: the mean of its two ends (trapezoid: a stage
        # that grows all run long, like the repair queue, is not over-read by sampling at hour ends)
        series = (np.concatenate([[0.0], ends[:-1]]) + ends) / 2
        # exact mean occupancy of each hour from the log: F(t) = integral of N over [0, t]
        grid = np.arange(series.size + 1, dtype=float)
        integral = np.array([np.clip(t - entry, 0.0, stay).sum() for t in grid])
        d = series - np.diff(integral)                     # series reading minus the hour's true mean
        batches = d[: d.size // 24 * 24].reshape(-1, 24).mean(axis=1)  # daily batch means
        out[name] = {"L_series": float(series.mean()), "lam": float(len(v) / horizon), "batches": batches.tolist(),
                     "W": float(stay.mean()), "entries": int(len(v))}
    return out


INF_HOURS = 72
INF_REPORT_HOURS = (12, 24, 30, 32, 36, 40, 44, 48, 60, 72)


def infinite_jobs(full: bool) -> list[Job]:
    return [Job("4", "north-china", "measure_infinite_server", {"seed": 3000 + r, "hours": INF_HOURS, "staff": 400})
            for r in range(replications(full, 6, 30))]


def infinite_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    """With Poisson calls and no waiting, N(t) is Poisson with mean E[N(t)]: an exact test per hour."""
    reps = results["north-china"]
    rows = []
    for h in INF_REPORT_HOURS:
        total = int(round(sum(r["sim"][h - 1] for r in reps)))
        expected = float(sum(r["theory"][h - 1] for r in reps))
        p_value = min(1.0, 2 * min(stats.poisson.cdf(total, expected), stats.poisson.sf(total - 1, expected)))
        lo = stats.chi2.ppf(0.025, 2 * total) / 2 if total else 0.0
        hi = stats.chi2.ppf(0.975, 2 * total + 2) / 2
        rows.append(Row("4 storm, ample staff (M_t/G/inf)", f"North China, end of hour {h}",
                        "calls on the line E[N(t)]", expected / len(reps), total / len(reps), lo / len(reps),
                        hi / len(reps), len(reps), p_value >= 1 - PASS_LEVEL,
                        "exact Poisson test of the count over replications, p >= 0.001"))
    waiting = max(r["waiting"] for r in reps)
    rows.append(Row("4 storm, ample staff (M_t/G/inf)", f"North China, all {INF_HOURS} hours",
                    "most calls ever waiting", 0.0, float(waiting), float(waiting), float(waiting), len(reps),
                    waiting == 0, "ample staff: no call ever waits"))
    return rows


def little_jobs(full: bool) -> list[Job]:
    return [Job("5", "north-china", "little", {"seed": 11})]


def little_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    """L is read from the hourly backlog series (the mean of each hour's two ends), lambda W from each visit's
    entry and exit in the log. Their difference is the error of reading hour ends; its interval comes from
    daily batch means of (reading - the hour's exact mean occupancy)."""
    rows = []
    for stage, v in results["north-china"][0].items():
        lw = v["lam"] * v["W"]
        m, lo, hi = mean_ci(v["batches"])
        _, plo, phi = mean_ci(v["batches"], PASS_LEVEL)
        rows.append(Row("5 Little's law L = lambda W", f"North China, stage {stage} ({v['entries']:,} entries)",
                        "mean claims in stage (theory: lambda W)", lw, v["L_series"], lw + lo, lw + hi,
                        len(v["batches"]), plo <= 0.0 <= phi,
                        "hourly series minus lambda W within its 99.9% batch-means CI"))
    return rows


def first_snow_jobs(full: bool) -> list[Job]:
    return [Job("6", "yinchuan", "measure_first_snow", {"seed": s, "hours": 12})
            for s in range(replications(full, 24, 60))]


FIRST_SNOW_FLOOR = 10.0            # "vehicle-accident reports exceeded 10 an hour" (DOMAIN_FACTS, founding article)
FIRST_SNOW_RATIO = (2.5, 4.0)      # "three times normal", with room for the article's rounding


def first_snow_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    """Two-sided: the first hour of snow is over 10 reports, and 2.5 to 4 times the same hour of a normal day."""
    reps = results["yinchuan"]
    first = np.array([r["first"] for r in reps])
    normal = np.array([r["normal"] for r in reps])
    m, lo, hi = mean_ci(first)
    # ratio of means with a bootstrap interval over replications (pairs kept together: the same seeds)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(reps), (2000, len(reps)))
    boot = first[idx].mean(axis=1) / np.maximum(normal[idx].mean(axis=1), 1e-9)
    ratio = float(first.mean() / max(normal.mean(), 1e-9))
    blo, bhi = float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))
    low, high = FIRST_SNOW_RATIO
    hour = reps[0]["first_hour"]
    return [
        Row("6 Yinchuan first snow", f"hour {hour} (first hour of snow), {len(reps)} seeds",
            "reports in the hour", FIRST_SNOW_FLOOR, m, lo, hi, len(reps), lo > FIRST_SNOW_FLOOR,
            "95% CI above 10 an hour"),
        Row("6 Yinchuan first snow", f"hour {hour} against the same hour without snow (same seeds)",
            "ratio to a normal hour", 3.0, ratio, blo, bhi, len(reps),
            low <= ratio <= high and blo <= high and bhi >= low,
            f"ratio within {low:g} to {high:g} (three times normal), its 95% bootstrap CI not wholly outside"),
    ]


def staffing_jobs(full: bool) -> list[Job]:
    hours = 336 if full else 168
    jobs = []
    staffed = load_scenario(YINCHUAN).resolve().operations.staff  # the roles Yinchuan has (no claims handlers)
    for r in range(replications(full, 3, 8)):
        jobs.append(Job("7", "base", "measure_staffing", {"role": "phone", "factor": 1.0, "seed": 4000 + r,
                                                          "hours": hours}))
        for role in ROLES:
            if role not in staffed:
                continue
            for factor in (1.5, 0.5):
                jobs.append(Job("7", f"{role} x{factor}", "measure_staffing",
                                {"role": role, "factor": factor, "seed": 4000 + r, "hours": hours}))
    return jobs


MONOTONE_MARGIN = 0.005  # changes within 0.5% of the baseline mean latency count as no change


def staffing_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    """Paired over seeds (common random numbers). A role's staff feed later queues, so holding claims back
    upstream can shift a downstream queue by seconds either way; a violation must be significant and larger
    than 0.5% of the baseline mean latency."""
    base = results["base"]
    margin = MONOTONE_MARGIN * float(np.mean([b["latency"] for b in base]))
    rows = []
    for config, reps in results.items():
        if config == "base":
            continue
        diffs = [r["latency"] - b["latency"] for r, b in zip(reps, base, strict=True)]
        m, lo, hi = mean_ci(diffs)
        _, plo, phi = mean_ci(diffs, PASS_LEVEL)
        more = "x1.5" in config
        ok = plo <= margin if more else phi >= -margin
        rule = (f"adding staff: not significantly above +{margin:.2f} h (0.5% of the mean)" if more
                else f"removing staff: not significantly below -{margin:.2f} h (0.5% of the mean)")
        label = config.replace("x1.5", "+50%").replace("x0.5", "-50%")
        rows.append(Row("7 monotone in staff (CRN)", f"Yinchuan, {label}",
                        "change in mean settlement latency (h)", 0.0, m, lo, hi, len(reps), ok, rule))
    return rows


