"""Validation against queueing theory: the phone line as M/M/c (Erlang C) and M/M/c+M (Erlang A), survey
pools as M/M/c and M/M/(c k), in stationary runs of scenarios/validation/stationary.yaml."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim import metrics, theory
from sim.model import ClaimsModel
from sim.ops.log import Ev
from sim.scenario import load_scenario
from sim.validation.common import SERVICE_LEVEL_H, STATIONARY, Job, Row, paired_row, replications

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
    n = model.claim_count
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
    n = model.claim_count
    queued = metrics._first(ev, n, Ev.QUEUED, 2)
    started = metrics._first(ev, n, Ev.SURVEY_START)
    window = (queued >= warmup_h) & (queued < warmup_h + measure_h)
    if np.isnan(started[window]).any():
        raise RuntimeError("a measured survey had not started at the end of the run; lengthen the run")
    wait = started[window] - queued[window]
    return {"lam": lam_exact, "claims": float(window.sum()), "p_wait": float(np.mean(wait > 1e-12)),
            "mean_wait": float(wait.mean())}


def _phone_configs(full: bool, abandon: bool) -> list[tuple[int, float]]:
    if abandon:
        return [(5, 0.8), (5, 1.2), (20, 0.9), (20, 1.1)] if full else [(5, 1.2), (20, 0.9)]
    if full:
        return [(c, rho) for c in (5, 20, 100) for rho in (0.5, 0.8, 0.95)]
    return [(5, 0.5), (5, 0.8), (20, 0.8), (20, 0.95), (100, 0.8)]


def _mu(c: int) -> float:
    return 10.0 if c <= 20 else 2.0  # calls an hour per agent; a long call keeps the big line's arrivals modest


PATIENCE_H = 4.0 / 60.0  # mean caller patience in Erlang A cases: 4 minutes (theta = 15 an hour)


def phone_jobs(full: bool, abandon: bool) -> list[Job]:
    jobs = []
    for c, rho in _phone_configs(full, abandon):
        mu = _mu(c)
        lam = rho * c * mu
        warm, meas = windows(c, mu, min(rho, 0.95), 100_000 if full else 20_000)
        if abandon:  # impatient callers leave: the queue relaxes within minutes whatever the load
            warm, meas = 20.0 / mu, (100_000 if full else 20_000) / lam
        for r in range(replications(full, 4, 10)):
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
            rows.append(paired_row("1 Erlang C (M/M/c)", name, measure, th, diffs))
    return rows


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
            rows.append(paired_row("2 Erlang A (M/M/c+M)", f"{config}, patience 4 min ({calls:,} calls/rep)",
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
        for r in range(replications(full, 4, 10)):
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
        rows.append(paired_row("3 survey pools", name, "P(wait)", theory.erlang_c(servers, lam / mu), pw))
        rows.append(paired_row("3 survey pools", name, "mean wait (h)", theory.mmc_mean_wait(servers, lam, mu), mw))
    return rows


