"""Validation of the engine against queueing theory and the documented storm figures (`claimsim validate`).

Every case runs the project's own model and operation code, configured through ordinary scenario
files (`scenarios/validation/stationary.yaml`, the shipped storms) with overrides applied the way a
plan is. Each row of the result compares a simulated mean over independent replications (different
seeds) with its theoretical value. A row passes when the theoretical value lies within the 99.9%
confidence interval of the simulated mean (the table shows the 95% interval), so that the family of
some forty rows rarely fails by chance; rows without a theoretical distribution say their own rule.

Stationary cases start empty; calls or claims are measured only after a warm-up of five relaxation
times of the queue, 1 / (c mu (1 - sqrt(rho))^2) (the time constant of the approach to equilibrium
of M/M/c, Morse 1955; at least 20 mean service times), and the run goes on past the measurement
window until every measured customer has been served.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sim import metrics, theory
from sim.metrics import restricted_latency
from sim.model import ClaimsModel
from sim.ops.log import Ev
from sim.scenario import load_scenario
from sim.stats import mean_ci
from sim.vocab import ROLES

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
STATIONARY = SCENARIOS / "validation" / "stationary.yaml"
YINCHUAN = SCENARIOS / "yinchuan-first-snow.yaml"
NORTH_CHINA = SCENARIOS / "north-china-blizzard.yaml"
SERVICE_LEVEL_H = 20.0 / 3600.0
PASS_LEVEL = 0.999


# Workers start from a clean server process: forking a process that runs library threads can deadlock.
_POOL_CONTEXT = multiprocessing.get_context("forkserver")


@dataclass
class Row:
    """One line of the validation table."""

    case: str
    name: str
    measure: str
    theory: float
    mean: float
    low: float
    high: float
    reps: int
    passed: bool
    rule: str = "theory within the 99.9% CI"

    def __post_init__(self) -> None:  # plain Python types, whatever numpy handed over
        self.theory, self.mean, self.low, self.high = (float(x) for x in (self.theory, self.mean, self.low, self.high))
        self.reps, self.passed = int(self.reps), bool(self.passed)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Job:
    """One replication of one configuration: a picklable call of a measurement function."""

    case: str
    config: str
    fn: str
    kwargs: dict[str, Any] = field(hash=False)


# ---------------------------------------------------------------------------- statistics


def compare(case: str, name: str, measure: str, theory_value: float, sims: list[float]) -> Row:
    m, lo, hi = mean_ci(sims)
    _, plo, phi = mean_ci(sims, PASS_LEVEL)
    tol = 1e-9 + 1e-9 * abs(theory_value)
    ok = bool(plo - tol <= theory_value <= phi + tol) if len(sims) > 1 else False
    return Row(case, name, measure, theory_value, m, lo, hi, len(sims), ok)


# ---------------------------------------------------------------------------- stationary runs


def relaxation_h(c: int, mu: float, rho: float) -> float:
    """Time constant of M/M/c's approach to equilibrium (Morse 1955), in hours."""
    return 1.0 / (c * mu * (1.0 - math.sqrt(rho)) ** 2)


def windows(c: int, mu: float, rho: float, arrivals: float) -> tuple[float, float]:
    """Warm-up and measurement lengths (hours) for a stationary case: five relaxation times (at least 20
    mean services) of warm-up, then enough hours for `arrivals` customers and at least 20 relaxation times."""
    relax = relaxation_h(c, mu, min(rho, 0.99))
    return max(5.0 * relax, 20.0 / mu), max(arrivals / (rho * c * mu), 20.0 * relax)


def _stationary_model(overrides: dict[str, Any], lam: float, seed: int, hours: int) -> tuple[ClaimsModel, float]:
    """The stationary scenario with a burst-pipe rate giving `lam` claims an hour; returns model and exact rate."""
    sf = load_scenario(STATIONARY)
    n = sf.resolve().policyholders("firms")
    p = lam / (n - lam)                       # at-risk share 1/(1+p) in equilibrium: n p / (1 + p) = lam
    rate = -math.log1p(-p)                    # hourly probability 1 - exp(-rate) = p
    deg = -6.7 - (-7.7)
    scenario = sf.variant({"duration_h": hours, "vulnerability": {"firms": {"pipe_per_firm_h_per_deg": rate / deg}},
                           **overrides})
    model = ClaimsModel(scenario, seed=seed)
    pop = model.populations["firms"]
    p_exact = float(pop.probabilities(0, np.array([0]))[1][0])
    return model, n * p_exact / (1.0 + p_exact)


def measure_phone(c: int, lam: float, mu: float, patience_h: float | None, seed: int, warmup_h: float,
                  measure_h: float) -> dict[str, float]:
    """One replication of the phone line as M/M/c (no patience) or M/M/c+M."""
    patience = None if patience_h is None else {"dist": "exponential", "mean": patience_h * 60.0}
    overrides = {"operations": {"staff": {"phone": {"headcount": c}},
                                "phone": {"handling_min": {"dist": "exponential", "mean": 60.0 / mu},
                                          "patience_min": patience}}}
    hours = int(math.ceil(warmup_h + measure_h + 30.0 / mu + (patience_h or 0) * 10 + 2))
    model, lam_exact = _stationary_model(overrides, lam, seed, hours)
    model.run()
    ev = model.record().events
    n = len(model.claims)
    placed = metrics._first(ev, n, Ev.CALL_PLACED)
    answered = metrics._first(ev, n, Ev.CALL_ANSWERED)
    abandoned = metrics._first(ev, n, Ev.CALL_ABANDONED)
    window = (placed >= warmup_h) & (placed < warmup_h + measure_h)
    left = np.fmin(answered, abandoned)[window]
    if np.isnan(left).any():
        raise RuntimeError("a measured call was still waiting at the end of the run; lengthen the run")
    wait = left - placed[window]
    was_answered = ~np.isnan(answered[window])
    return {
        "lam": lam_exact,
        "calls": float(window.sum()),
        "p_wait": float(np.mean(wait > 1e-12)),
        "mean_wait": float(wait.mean()),
        "service_level": float(np.mean(was_answered & (wait <= SERVICE_LEVEL_H + 1e-12))),
        "p_abandon": float(np.mean(~was_answered)),
    }


def measure_survey(kind: str, c: int, slots: int, lam: float, mu: float, seed: int, warmup_h: float,
                   measure_h: float) -> dict[str, float]:
    """One replication of a survey pool (field: M/M/c with travel folded in; video: M/M/(c k))."""
    role = "video_survey" if kind == "video" else "field_survey"
    service_key = "video_survey_min" if kind == "video" else "field_onsite_min"
    overrides = {
        "behaviour": {"firms": {"channels": {"app": 1.0}}},
        "operations": {
            "staff": {"phone": {"headcount": 0}, role: {"headcount": c, "concurrent_cases": slots}},
            "triage": {"video": {"enabled": kind == "video"}},
            "service": {service_key: {"dist": "exponential", "mean": 60.0 / mu}},
        },
    }
    hours = int(math.ceil(warmup_h + measure_h + 40.0 / mu + 2))
    model, lam_exact = _stationary_model(overrides, lam, seed, hours)
    model.run()
    ev = model.record().events
    n = len(model.claims)
    queued = metrics._first(ev, n, Ev.QUEUED, 2)
    started = metrics._first(ev, n, Ev.SURVEY_START)
    window = (queued >= warmup_h) & (queued < warmup_h + measure_h)
    if np.isnan(started[window]).any():
        raise RuntimeError("a measured survey had not started at the end of the run; lengthen the run")
    wait = started[window] - queued[window]
    return {"lam": lam_exact, "claims": float(window.sum()), "p_wait": float(np.mean(wait > 1e-12)),
            "mean_wait": float(wait.mean())}


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
    n = len(model.claims)
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
    """Reports in the first hour of snow and the pre-snow hourly mean, for one seed of the Yinchuan storm."""
    sf = load_scenario(YINCHUAN)
    model = ClaimsModel(sf.resolve(), seed=seed, hours=hours)
    model.run()
    snow_hours = np.flatnonzero(model.hazard.snowfall_cm_h.max(axis=0) > 0.1)
    first = int(snow_hours[0])
    reported = np.array([c for c in metrics.claims_table(model.record())["reported_h"] if not math.isnan(c)])
    per_hour = np.bincount(np.floor(reported).astype(int), minlength=hours)[:hours]
    return {"first_hour": first, "first": float(per_hour[first]), "pre": float(per_hour[:first].mean())}


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
    """Little's law on every stage of the North China storm, from its event log."""
    from sim.runner import simulate

    res = simulate(load_scenario(NORTH_CHINA), "baseline", seed)
    rec = res.model.record()
    ev, c = rec.events, res.claims
    n, horizon = len(c), float(res.model.hour)
    stages: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "reporting": (c["reported_h"].to_numpy(), np.fmin(c["registered_h"].to_numpy(), c["gave_up_h"].to_numpy())),
        "documents": (metrics._first(ev, n, Ev.AWAITING_DOCUMENTS),
                      np.fmin(c["documents_complete_h"].to_numpy(), c["withdrawn_h"].to_numpy())),
        "payment": (c["documents_complete_h"].to_numpy(), c["paid_h"].to_numpy()),
    }
    for stage, end in {1: Ev.TOW_END, 2: Ev.SURVEY_END, 3: Ev.ASSESSMENT_END, 4: Ev.APPROVAL_END}.items():
        name = ("reporting", "rescue", "survey", "assessment", "approval")[stage]
        stages[name] = (metrics._first(ev, n, Ev.QUEUED, stage), metrics._first(ev, n, end))
    out = {}
    for name, (entry, leave) in stages.items():
        ok = ~np.isnan(entry)
        stay = np.where(np.isnan(leave[ok]), horizon, np.minimum(leave[ok], horizon)) - entry[ok]
        lam = ok.sum() / horizon
        series = res.series[f"backlog_{name}"].to_numpy(dtype=float)
        # exact mean occupancy of each hour from the log: F(t) = integral of N over [0, t]
        grid = np.arange(series.size + 1, dtype=float)
        e = entry[ok]
        integral = np.array([np.clip(t - e, 0.0, stay).sum() for t in grid])
        hourly_exact = np.diff(integral)
        d = series - hourly_exact                      # hour-end sample minus the hour's true mean
        batches = d[: d.size // 24 * 24].reshape(-1, 24).mean(axis=1)  # daily batch means
        out[name] = {"L_series": float(series.mean()), "lam": float(lam), "batches": batches.tolist(),
                     "W": float(stay.mean()) if stay.size else 0.0, "entries": int(ok.sum())}
    return out


# ---------------------------------------------------------------------------- the cases


@dataclass
class Case:
    key: str
    title: str
    jobs: Callable[[bool], list[Job]]
    rows: Callable[[dict[str, list[dict[str, Any]]], bool], list[Row]]


def _phone_configs(full: bool, abandon: bool) -> list[tuple[int, float]]:
    if abandon:
        return [(5, 0.8), (5, 1.2), (20, 0.9), (20, 1.1)] if full else [(5, 1.2), (20, 0.9)]
    if full:
        return [(c, rho) for c in (5, 20, 100) for rho in (0.5, 0.8, 0.95)]
    return [(5, 0.5), (5, 0.8), (20, 0.8), (20, 0.95), (100, 0.8)]


def _mu(c: int) -> float:
    return 10.0 if c <= 20 else 2.0  # calls an hour per agent; a long call keeps the big line's arrivals modest


PATIENCE_H = 4.0 / 60.0  # mean caller patience in Erlang A cases: 4 minutes (theta = 15 an hour)


def _reps(full: bool, quick: int, many: int) -> int:
    return many if full else quick


def phone_jobs(full: bool, abandon: bool) -> list[Job]:
    jobs = []
    for c, rho in _phone_configs(full, abandon):
        mu = _mu(c)
        lam = rho * c * mu
        warm, meas = windows(c, mu, min(rho, 0.95), 100_000 if full else 20_000)
        if abandon:  # impatient callers leave: the queue relaxes within minutes whatever the load
            warm, meas = 20.0 / mu, (100_000 if full else 20_000) / lam
        for r in range(_reps(full, 4, 10)):
            jobs.append(Job("2" if abandon else "1", f"c={c} load={rho}", "measure_phone",
                            {"c": c, "lam": lam, "mu": mu, "patience_h": PATIENCE_H if abandon else None,
                             "seed": 1000 + r, "warmup_h": warm, "measure_h": meas}))
    return jobs


def erlang_c_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    rows = []
    for config, reps in results.items():
        c = int(config.split()[0][2:])
        mu = _mu(c)
        pw, mw, sl = [], [], []
        for r in reps:
            lam = r["lam"]
            pw.append(r["p_wait"] - theory.erlang_c(c, lam / mu))
            mw.append(r["mean_wait"] - theory.mmc_mean_wait(c, lam, mu))
            sl.append(r["service_level"] - theory.mmc_service_level(c, lam, mu, SERVICE_LEVEL_H))
        lam = float(np.mean([r["lam"] for r in reps]))
        calls = int(np.mean([r["calls"] for r in reps]))
        name = f"{config} ({calls:,} calls/rep)"
        for measure, diffs, th in (("P(wait)", pw, theory.erlang_c(c, lam / mu)),
                                   ("mean wait (min)", [d * 60 for d in mw], theory.mmc_mean_wait(c, lam, mu) * 60),
                                   ("service level 20 s", sl, theory.mmc_service_level(c, lam, mu, SERVICE_LEVEL_H))):
            rows.append(_paired_row("1 Erlang C (M/M/c)", name, measure, th, diffs))
    return rows


def _paired_row(case: str, name: str, measure: str, theory_value: float, diffs: list[float]) -> Row:
    """A row from per-replication differences sim - theory (each replication's own arrival rate)."""
    row = compare(case, name, measure, 0.0, diffs)
    return Row(case, name, measure, theory_value, theory_value + row.mean, theory_value + row.low,
               theory_value + row.high, row.reps, row.passed)


def erlang_a_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    rows = []
    theta = 1.0 / PATIENCE_H
    for config, reps in results.items():
        c = int(config.split()[0][2:])
        mu = _mu(c)
        diffs: dict[str, list[float]] = {"P(abandon)": [], "P(wait)": [], "mean wait (min)": []}
        for r in reps:
            th = theory.erlang_a(c, r["lam"], mu, theta)
            diffs["P(abandon)"].append(r["p_abandon"] - th["p_abandon"])
            diffs["P(wait)"].append(r["p_wait"] - th["p_wait"])
            diffs["mean wait (min)"].append((r["mean_wait"] - th["mean_wait"]) * 60)
        th = theory.erlang_a(c, float(np.mean([r["lam"] for r in reps])), mu, theta)
        values = {"P(abandon)": th["p_abandon"], "P(wait)": th["p_wait"], "mean wait (min)": th["mean_wait"] * 60}
        calls = int(np.mean([r["calls"] for r in reps]))
        for measure, d in diffs.items():
            rows.append(_paired_row("2 Erlang A (M/M/c+M)", f"{config}, patience 4 min ({calls:,} calls/rep)",
                                    measure, values[measure], d))
    return rows


SURVEY_CONFIGS = {"field c=10": ("field", 10, 1, 60 / 45.0, 0.8), "video c=4 k=3": ("video", 4, 3, 2.0, 0.8),
                  "field c=3": ("field", 3, 1, 60 / 45.0, 0.7)}


def survey_jobs(full: bool) -> list[Job]:
    jobs = []
    for name, (kind, c, k, mu, rho) in SURVEY_CONFIGS.items():
        servers = c * k
        lam = rho * servers * mu
        warm, meas = windows(servers, mu, rho, 20_000 if full else 8_000)  # small pools: 20,000 take 7,000 h
        for r in range(_reps(full, 4, 10)):
            jobs.append(Job("3", name, "measure_survey", {"kind": kind, "c": c, "slots": k, "lam": lam, "mu": mu,
                                                          "seed": 2000 + r, "warmup_h": warm, "measure_h": meas}))
    return jobs


def survey_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    rows = []
    for config, reps in results.items():
        kind, c, k, mu, _ = SURVEY_CONFIGS[config]
        servers = c * k
        pw = [r["p_wait"] - theory.erlang_c(servers, r["lam"] / mu) for r in reps]
        mw = [(r["mean_wait"] - theory.mmc_mean_wait(servers, r["lam"], mu)) for r in reps]
        lam = float(np.mean([r["lam"] for r in reps]))
        label = "M/M/c" if kind == "field" else "M/M/(c k)"
        name = f"{config} as {label} ({int(np.mean([r['claims'] for r in reps])):,} claims/rep)"
        rows.append(_paired_row("3 survey pools", name, "P(wait)", theory.erlang_c(servers, lam / mu), pw))
        rows.append(_paired_row("3 survey pools", name, "mean wait (h)", theory.mmc_mean_wait(servers, lam, mu), mw))
    return rows


INF_HOURS = 72
INF_REPORT_HOURS = (12, 24, 30, 32, 36, 40, 44, 48, 60, 72)


def infinite_jobs(full: bool) -> list[Job]:
    return [Job("4", "north-china", "measure_infinite_server", {"seed": 3000 + r, "hours": INF_HOURS, "staff": 400})
            for r in range(_reps(full, 6, 30))]


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
    """L is read from the hourly backlog series (sampled at hour ends), lambda W from each claim's entry and
    exit in the log. Their difference is the error of sampling at hour ends; its interval comes from daily
    batch means of (sample - the hour's exact mean occupancy)."""
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
    return [Job("6", "yinchuan", "measure_first_snow", {"seed": s, "hours": 12}) for s in range(_reps(full, 12, 60))]


def first_snow_rows(results: dict[str, list[dict[str, Any]]], full: bool) -> list[Row]:
    reps = results["yinchuan"]
    first = [r["first"] for r in reps]
    pre = [r["pre"] for r in reps]
    m, lo, hi = mean_ci(first)
    # ratio of means with a bootstrap interval over replications
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(reps), (2000, len(reps)))
    boot = np.asarray(first)[idx].mean(axis=1) / np.maximum(np.asarray(pre)[idx].mean(axis=1), 1e-9)
    ratio = float(np.mean(first) / max(np.mean(pre), 1e-9))
    return [
        Row("6 Yinchuan first snow", f"hour {reps[0]['first_hour']} (first hour of snow), {len(reps)} seeds",
            "reports in the hour", 10.0, m, lo, hi, len(reps), lo > 10.0, "95% CI above 10 an hour"),
        Row("6 Yinchuan first snow", f"hour {reps[0]['first_hour']} against hours before the snow",
            "ratio to the pre-snow hourly rate", 3.0, ratio, float(np.percentile(boot, 2.5)),
            float(np.percentile(boot, 97.5)), len(reps), float(np.percentile(boot, 2.5)) >= 3.0,
            "95% bootstrap CI at or above 3"),
    ]


def staffing_jobs(full: bool) -> list[Job]:
    hours = 336 if full else 168
    jobs = []
    for r in range(_reps(full, 3, 8)):
        jobs.append(Job("7", "base", "measure_staffing", {"role": "phone", "factor": 1.0, "seed": 4000 + r,
                                                          "hours": hours}))
        for role in ROLES:
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


CASES: dict[str, Case] = {
    "1": Case("1", "Phone line against Erlang C", lambda full: phone_jobs(full, False), erlang_c_rows),
    "2": Case("2", "Impatient callers against Erlang A", lambda full: phone_jobs(full, True), erlang_a_rows),
    "3": Case("3", "Survey pools against M/M/c and M/M/(c k)", survey_jobs, survey_rows),
    "4": Case("4", "Storm with ample staff against the infinite-server mean", infinite_jobs, infinite_rows),
    "5": Case("5", "Little's law on every stage", little_jobs, little_rows),
    "6": Case("6", "Yinchuan's first-snow figure", first_snow_jobs, first_snow_rows),
    "7": Case("7", "Monotone in staff under common random numbers", staffing_jobs, staffing_rows),
}

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "measure_phone": measure_phone, "measure_survey": measure_survey,
    "measure_infinite_server": measure_infinite_server, "measure_first_snow": measure_first_snow,
    "measure_staffing": measure_staffing, "little": little,
}


def run_job(job: Job) -> Any:
    """Run one replication (top-level so that worker processes can run it)."""
    return FUNCTIONS[job.fn](**job.kwargs)


def validate(cases: list[str], full: bool = False, workers: int = 1,
             progress: Callable[[int, int], None] | None = None) -> list[Row]:
    """Run the chosen cases; returns the table rows in case order."""
    jobs = [j for key in cases for j in CASES[key].jobs(full)]
    # longest first keeps both workers busy to the end
    order = sorted(range(len(jobs)), key=lambda i: -_cost(jobs[i]))
    results: list[Any] = [None] * len(jobs)
    done = 0
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_POOL_CONTEXT) as pool:
            futures = {pool.submit(run_job, jobs[i]): i for i in order}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                done += 1
                if progress:
                    progress(done, len(jobs))
    else:
        for i in order:
            results[i] = run_job(jobs[i])
            done += 1
            if progress:
                progress(done, len(jobs))
    rows: list[Row] = []
    for key in cases:
        grouped: dict[str, list[Any]] = {}
        for job, res in zip(jobs, results, strict=True):
            if job.case == key:
                grouped.setdefault(job.config, []).append(res)
        rows += CASES[key].rows(grouped, full)
    return rows


def _cost(job: Job) -> float:
    k = job.kwargs
    if job.fn in ("measure_phone", "measure_survey"):
        return k["lam"] * (k["warmup_h"] + k["measure_h"])
    return {"little": 5e5, "measure_infinite_server": 3e4, "measure_staffing": 6e4}.get(job.fn, 1e4)


# ---------------------------------------------------------------------------- output


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.3f}"


def markdown(rows: list[Row], full: bool, elapsed_s: float, command: str) -> str:
    from sim import __version__

    failed = [r for r in rows if not r.passed]
    lines = [
        "<!-- written by claimsim validate: run it again rather than editing this file -->",
        "# Validation",
        "",
        f"`{command}` (claimsim {__version__}, {'full' if full else 'quick'} set, {elapsed_s / 60:.1f} min): "
        f"**{len(rows) - len(failed)} of {len(rows)} rows pass**.",
        "",
        "Each row compares the simulated mean over independent replications (seeds) with theory. The simulated",
        "column shows the 95% confidence interval; a row passes when theory lies within the 99.9% interval, unless",
        "its rule says otherwise. Where a replication's own arrival rate differs slightly from the nominal one,",
        "the comparison is paired: each replication is compared with theory at its own rate.",
        "",
        "How the stationary cases are made stationary: firms at a constant temperature just below the burst-pipe",
        "threshold, each back at risk the hour after an incident (`recovery_h: 0`), give a constant-rate stream of",
        "claims (`scenarios/validation/stationary.yaml`); reports follow an exponential delay, which keeps it",
        "Poisson. Runs start empty; customers are measured only after a warm-up of five relaxation times",
        "1 / (c mu (1 - sqrt(rho))^2) of the queue (at least 20 mean service times), over a window of at least 20",
        "relaxation times, and the run continues until every measured customer has been served.",
        "",
        "| case | configuration | measure | theory | simulated (95% CI) | reps | result | rule |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sim = f"{_fmt(r.mean)} [{_fmt(r.low)}, {_fmt(r.high)}]"
        lines.append(f"| {r.case} | {r.name} | {r.measure} | {_fmt(r.theory)} | {sim} | {r.reps} | "
                     f"{'pass' if r.passed else '**FAIL**'} | {r.rule} |")
    lines += [
        "",
        "## Notes",
        "",
        "- Case 1-3 theory: Erlang C for P(wait), mean wait C/(c mu - lambda) and service level",
        "  1 - C exp(-(c mu - lambda) t); Erlang A solved exactly as a birth-death chain (sim/theory.py).",
        "- Survey pools: the region's service radius is 1 m, so travel (distance / snow-slowed speed) adds",
        "  about a second to the exponential on-site time; video surveyors with k concurrent cases are c k servers.",
        "- Case 4: the storm's own expected incidents each hour (from the populations' probabilities at the start",
        "  of the hour), spread uniformly in the hour, delayed by each type's reporting delay and thinned by its",
        "  phone share, then held for the handling time: E[N(t)] = integral of lambda(s) P(H > t - s) ds,",
        "  computed on a one-minute grid. With ample staff N(t) is Poisson, so the test is exact.",
        "- Case 5: L from the hourly backlog series (what plots and reports use) against lambda W from each",
        "  claim's entry and exit in the event log; the interval is that of the hour-end sampling error.",
        "- Case 6: founding article, Yinchuan 14 Dec 2023: reports above 10 an hour, three times normal.",
        "- Case 7: mean time from report to settlement, counting claims not settled by the horizon to the",
        "  horizon, paired over seeds with the same incidents (common random numbers).",
        "",
        "Regenerate: `claimsim validate --full --doc docs/VALIDATION.md` (quick set: `claimsim validate`).",
        "",
        "![stationary cases](stationary.png)",
        "",
        "![storm case](storm.png)",
        "",
    ]
    return "\n".join(lines)


def plots(rows: list[Row], folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prob = [r for r in rows if r.case[0] in "123" and r.measure.startswith(("P(", "service level"))]
    fig, ax = plt.subplots(figsize=(6, 6))
    if prob:
        th = np.array([r.theory for r in prob])
        m = np.array([r.mean for r in prob])
        err = np.array([[r.mean - r.low for r in prob], [r.high - r.mean for r in prob]])
        colors = ["C2" if r.passed else "C3" for r in prob]
        ax.errorbar(th, m, yerr=err, fmt="none", ecolor="grey", alpha=0.6)
        ax.scatter(th, m, c=colors, s=18, zorder=3)
    ax.plot([0, 1], [0, 1], color="black", lw=0.8)
    ax.set_xlabel("theory (Erlang C / Erlang A)")
    ax.set_ylabel("simulated mean, 95% CI")
    ax.set_title("Stationary cases: probabilities")
    fig.tight_layout()
    fig.savefig(folder / "stationary.png", dpi=100)
    plt.close(fig)
    storm = [r for r in rows if r.case.startswith("4") and "hour" in r.name and "all" not in r.name]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if storm:
        hours = [int(r.name.rsplit(" ", 1)[-1]) for r in storm]
        ax.plot(hours, [r.theory for r in storm], "o-", label="theory E[N(t)]")
        ax.errorbar(hours, [r.mean for r in storm], yerr=[[r.mean - r.low for r in storm],
                                                          [r.high - r.mean for r in storm]],
                    fmt="s", capsize=3, label="simulated mean, 95% CI")
        ax.legend()
    ax.set_xlabel("hour of the storm")
    ax.set_ylabel("calls on the line")
    ax.set_title("Storm with ample staff against the infinite-server mean")
    fig.tight_layout()
    fig.savefig(folder / "storm.png", dpi=100)
    plt.close(fig)


def write(rows: list[Row], out: Path, full: bool, elapsed_s: float, command: str, force: bool = False) -> Path:
    """Write the validation folder atomically: table (CSV, JSON), report.md and plots (sim.files.atomic_dir)."""
    import csv
    import json

    from sim import __version__
    from sim.files import atomic_dir

    out = Path(out)
    with atomic_dir(out, force) as tmp:
        with open(tmp / "validation.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(Row.__dataclass_fields__))
            writer.writeheader()
            for r in rows:
                writer.writerow(r.as_dict())
        summary = {"version": __version__, "full": full, "elapsed_s": round(elapsed_s, 1),
                   "passed": sum(r.passed for r in rows), "failed": sum(not r.passed for r in rows),
                   "rows": [r.as_dict() for r in rows]}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (tmp / "report.md").write_text(markdown(rows, full, elapsed_s, command))
        plots(rows, tmp)
    return out
