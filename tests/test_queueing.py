"""The phone line against queueing theory.

Construction of a stationary Poisson stream of calls: firms with uninsulated pipes at a constant
-16.7 C burst their pipes at a constant hourly rate (pipe_per_firm_h_per_deg x 10 degrees below the
-6.7 C threshold, sim/vulnerability.py pipe_rate); there is no snow, rain or wind, so no other incident
type competes. Each firm has its pipes burst at most once, so the rate decays slowly as firms leave the
population at risk: hour h has N p (1-p)^h incidents on average, each at a uniform time within the hour
(sim/populations/). Reports follow after an exponential delay, which keeps the stream Poisson (an M/M/inf
stage). Every report is a phone call; callers never hang up (patience_min: null), handling is
exponential, the line is staffed around the clock with no leave: an M/M/c queue whose arrival rate
drifts by a few per cent over a run, slowly against the minutes a call waits. The theory is then
Erlang C at each moment's rate, averaged over the calls (quasi-stationary approximation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import build, minimal_doc, run
from scipy import stats

from sim.ops.log import Ev
from sim.scenario.populations import FirmParams

HANDLING_MIN = 6.0
MU = 60.0 / HANDLING_MIN          # calls per hour per agent
DEG_BELOW = 10.0                  # -16.7 C against the -6.7 C pipe threshold
REPORT_DELAY_H = 1.0


def erlang_c(c: int, a: float) -> float:
    """Probability that a call waits in an M/M/c queue with offered load a = lambda/mu erlangs (a < c)."""
    assert 0 <= a < c
    terms = [a**k / math.factorial(k) for k in range(c)]
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(terms) + top)


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.6) == pytest.approx(0.6)            # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)          # c=2, a=1: 1/3
    assert erlang_c(5, 3.0) == pytest.approx(0.2362, abs=1e-4)
    assert erlang_c(10, 0.0) == 0.0


def line_doc(firms: int, agents: int, hours: int) -> dict:
    doc = minimal_doc(drivers=0, firms=firms, duration_h=hours, keyframes=[{"h": 0, "temp_c": -6.7 - DEG_BELOW}],
                      headcounts={"phone": agents})
    doc["regions"][0]["portfolio"]["firms"]["insulated_pipes_share"] = 0.0
    doc["behaviour"] = {"firms": {"channels": {"phone": 1.0},
                                  "report_delay_h": {"dist": "exponential", "mean": REPORT_DELAY_H}}}
    doc["operations"]["phone"] = {"handling_min": {"dist": "exponential", "mean": HANDLING_MIN},
                                  "patience_min": None}
    return doc


def hourly_probability() -> float:
    return -math.expm1(-FirmParams().pipe_per_firm_h_per_deg * DEG_BELOW)


def report_rate(firms: int, hours: int, dt: float = 1 / 120) -> tuple[np.ndarray, np.ndarray]:
    """Expected report (call) rate on a fine time grid: incidents at N p (1-p)^h an hour, through an
    exponential delay, for which d(rate)/dt = (incident rate - rate) / mean delay."""
    p = hourly_probability()
    steps = int(round(1 / dt))
    t = np.arange(hours * steps) * dt + dt / 2
    rate = np.empty_like(t)
    r = 0.0
    decay = math.exp(-dt / REPORT_DELAY_H)
    for h in range(hours):
        lam_i = firms * p * (1 - p) ** h
        for k in range(steps):
            r = lam_i + (r - lam_i) * decay
            rate[h * steps + k] = r
    return t, rate


def call_waits(r) -> tuple[np.ndarray, np.ndarray]:
    """Placing time and wait of every answered call, from the event log (one call per claim here)."""
    ev = r.events
    placed = ev["code"] == int(Ev.CALL_PLACED)
    answered = ev["code"] == int(Ev.CALL_ANSWERED)
    t_placed = dict(zip(ev["claim_id"][placed].tolist(), ev["t_h"][placed].tolist(), strict=True))
    t_ans = dict(zip(ev["claim_id"][answered].tolist(), ev["t_h"][answered].tolist(), strict=True))
    assert len(t_placed) == placed.sum()  # nobody called twice
    ids = sorted(t_ans)
    return np.array([t_placed[i] for i in ids]), np.array([t_ans[i] - t_placed[i] for i in ids])


# Per-run standard deviations measured over 10 seeds: M/M/5 (about 5,900 calls a run) P(wait) 0.015 and
# mean wait 0.094 min; M/M/1 (about 1,750 calls over 300 h) P(wait) 0.017 and mean wait 0.92 min. The
# binomial sd of P(wait) alone would be 0.0055 and 0.012: the busy periods correlate neighbouring calls.
# Tolerances are 4 standard deviations of the mean over the seeds pooled in each case.
CASES = {
    "M/M/5": {"firms": 150_000, "agents": 5, "hours": 200, "seeds": [1, 2, 3, 4], "sd_p": 0.015, "sd_w": 0.094},
    "M/M/1": {"firms": 30_000, "agents": 1, "hours": 300, "seeds": [1, 2, 3, 4, 5, 6], "sd_p": 0.017,
              "sd_w": 0.92},
}


@pytest.mark.parametrize("case", list(CASES))
def test_phone_line_matches_erlang_c(case: str) -> None:
    cfg = CASES[case]
    firms, c, hours, seeds = cfg["firms"], cfg["agents"], cfg["hours"], cfg["seeds"]
    t, lam = report_rate(firms, hours)
    assert lam.max() / MU < c * 0.7  # a stable line, loaded to about 60%
    # quasi-stationary theory, averaged over calls (weights: the call rate)
    p_wait_theory = float(np.sum(lam * [erlang_c(c, x / MU) for x in lam]) / lam.sum())
    wait_theory_min = 60 * float(np.sum(lam * [erlang_c(c, x / MU) / (c * MU - x) for x in lam]) / lam.sum())
    cond_wait_theory_min = 60 * float(np.sum(lam * [erlang_c(c, x / MU) for x in lam] / (c * MU - lam))
                                      / np.sum(lam * [erlang_c(c, x / MU) for x in lam]))
    expected_calls = float(lam.sum() * (t[1] - t[0]))

    p_runs, w_runs, positive_waits, calls_total, util = [], [], [], 0, []
    for seed in seeds:
        r = run(build(line_doc(firms, c, hours)), seed=seed)
        ph = r.figures["phone"]
        # arrivals: as many calls as the construction predicts (Poisson: sd = sqrt(mean))
        assert abs(ph["calls"] - expected_calls) < 4 * math.sqrt(expected_calls), (ph["calls"], expected_calls)
        assert ph["abandoned"] == 0 and r.figures["abandonment_rate"] == 0
        placed, waits = call_waits(r)
        assert len(waits) >= ph["calls"] - 3 * c - 20  # all but the few still queued at the horizon
        assert ph["p_wait"] == pytest.approx(float(np.mean(waits > 1e-12)), abs=0.01)
        assert ph["mean_wait_min"] == pytest.approx(60 * float(waits.mean()), rel=1e-6)
        p_runs.append(ph["p_wait"])
        w_runs.append(ph["mean_wait_min"])
        positive_waits.append(waits[waits > 1e-12])
        calls_total += ph["calls"]
        util.append(r.figures["utilisation"]["phone"])
    k = len(seeds)
    p_sim, w_sim = float(np.mean(p_runs)), float(np.mean(w_runs))
    assert p_sim == pytest.approx(p_wait_theory, abs=4 * cfg["sd_p"] / math.sqrt(k)), (p_sim, p_wait_theory)
    assert w_sim == pytest.approx(wait_theory_min, abs=4 * cfg["sd_w"] / math.sqrt(k)), (w_sim, wait_theory_min)
    # given that a call waits, its wait is exponential with rate c mu - lambda
    pos = np.concatenate(positive_waits) * 60
    assert pos.mean() == pytest.approx(cond_wait_theory_min, rel=0.15), (pos.mean(), cond_wait_theory_min)
    # coefficient of variation 1 (the mixture over the slowly falling call rate gives 1.0004): the waits of one
    # run share busy periods, so each run's CV is one noisy value; their mean is tested against its own spread
    cvs = np.array([stats.variation(w) for w in positive_waits])
    assert abs(cvs.mean() - 1.0) <= 4 * cvs.std(ddof=1) / math.sqrt(k) + 0.02, cvs
    # utilisation: offered load over agents
    load = expected_calls / hours / MU / c
    assert float(np.mean(util)) == pytest.approx(load, rel=0.05)
    assert calls_total > 5000


def test_incidents_arrive_at_the_constructed_rate() -> None:
    firms, hours = 150_000, 120
    r = run(build(line_doc(firms, 5, hours)), seed=11)
    p = hourly_probability()
    expected = firms * p * (1 - p) ** np.arange(hours)
    counts = r.backlog["incidents"].to_numpy()
    assert counts.sum() == pytest.approx(expected.sum(), abs=4 * math.sqrt(expected.sum()))
    # hour by hour the counts are Poisson around the expectation: chi-square with one degree per hour
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert stats.chi2.sf(chi2, hours) > 1e-4
    assert stats.chi2.cdf(chi2, hours) > 1e-4  # not suspiciously regular either
    # every incident is a burst pipe of a firm, and every one is reported by phone
    assert set(r.claims["incident_type"]) == {"burst_pipe"}
    assert set(r.claims["channel"]) == {"phone"}


def test_exponential_report_delay_keeps_reports_poisson() -> None:
    """Time-rescaling: with the expected report rate Lambda(t), the reports' rescaled gaps are Exp(1)."""
    firms, hours = 150_000, 160
    r = run(build(line_doc(firms, 8, hours)), seed=5)
    t, lam = report_rate(firms, hours)
    cum = np.concatenate([[0.0], np.cumsum(lam) * (t[1] - t[0])])
    grid = np.concatenate([[0.0], t + (t[1] - t[0]) / 2])
    reports = np.sort(r.claims["reported_h"].dropna().to_numpy())
    assert len(reports) > 4000
    delays = (r.claims["reported_h"] - r.claims["incident_h"]).dropna().to_numpy()
    assert delays.mean() == pytest.approx(REPORT_DELAY_H, rel=0.05)
    assert stats.kstest(delays, "expon", args=(0, REPORT_DELAY_H)).pvalue > 1e-4
    rescaled = np.interp(reports, grid, cum)
    gaps = np.diff(rescaled)
    assert gaps.mean() == pytest.approx(1.0, abs=0.05)
    assert stats.kstest(gaps, "expon").pvalue > 1e-4
    # counts in 10-minute windows away from the start: variance equals mean (index of dispersion 1)
    bins = np.arange(10, hours, 1 / 6)
    counts, _ = np.histogram(reports, bins)
    dispersion = counts.var(ddof=1) / counts.mean()
    assert dispersion == pytest.approx(1.0, abs=0.15)


# ---------------------------------------------------------------- impatient callers: Erlang A


def erlang_a(c: int, lam: float, mu: float, theta: float, n_max: int = 400) -> dict[str, float]:
    """M/M/c+M as a birth-death chain: P(wait), P(abandon) = theta E[queue] / lambda, mean time in queue."""
    weights = [1.0]
    for n in range(1, n_max):
        weights.append(weights[-1] * lam / (min(n, c) * mu + max(n - c, 0) * theta))
    p = np.array(weights) / sum(weights)
    queue = float((p * np.maximum(np.arange(n_max) - c, 0)).sum())
    return {"p_wait": float(p[c:].sum()), "p_abandon": theta * queue / lam, "mean_wait": queue / lam}


def test_erlang_a_limits() -> None:
    # very patient callers: Erlang C
    a = erlang_a(5, 30.0, 10.0, 1e-9)
    assert a["p_wait"] == pytest.approx(erlang_c(5, 3.0), rel=1e-6)
    assert a["p_abandon"] == pytest.approx(0.0, abs=1e-6)
    # M/M/1+M with theta = mu is M/M/inf seen by the queue: P(wait) = 1 - exp(-a)
    b = erlang_a(1, 6.0, 10.0, 10.0)
    assert b["p_wait"] == pytest.approx(1 - math.exp(-0.6), rel=1e-9)


def test_sim_theory_agrees_with_independent_formulas() -> None:
    """sim/theory.py (used by `claimsim validate`) against the formulas written here."""
    from sim import theory

    for c, a in [(1, 0.6), (2, 1.0), (5, 3.0), (10, 8.5), (30, 25.0)]:
        assert theory.erlang_c(c, a) == pytest.approx(erlang_c(c, a), rel=1e-9)
        assert theory.mmc_mean_wait(c, a * MU, MU) == pytest.approx(erlang_c(c, a) / (c * MU - a * MU), rel=1e-9)
        t = 20 / 3600
        assert theory.mmc_service_level(c, a * MU, MU, t) == pytest.approx(
            1 - erlang_c(c, a) * math.exp(-(c * MU - a * MU) * t), rel=1e-9)
    assert theory.erlang_b(1, 1.0) == pytest.approx(0.5)
    assert theory.erlang_c(3, 3.5) == 1.0  # overloaded: everyone waits
    for args in [(3, 30.0, 10.0, 15.0), (1, 6.0, 10.0, 2.0), (8, 100.0, 10.0, 30.0)]:
        mine, theirs = erlang_a(*args), theory.erlang_a(*args)
        for key in ("p_wait", "p_abandon", "mean_wait"):
            assert theirs[key] == pytest.approx(mine[key], rel=1e-6), (args, key)
    # M/M/inf: constant rate 4 an hour, exponential stays of mean 2 h
    assert theory.infinite_server_mean(lambda s: 4.0, lambda x: math.exp(-x / 2), 3.0) == pytest.approx(
        8.0 * (1 - math.exp(-1.5)), rel=1e-6)


PATIENCE_MIN = 4.0


def test_phone_line_with_impatient_callers_matches_erlang_a() -> None:
    """Callers who hang up after an exponential patience and never call back (max_attempts 1, no fallback to
    the app) make the line an M/M/c+M queue. Over 8 seeds the per-run sd of the abandonment rate was 0.0053
    and of P(wait) 0.0065 (about 5,900 calls a run); 3 seeds pooled, tolerance 4 sd of their mean."""
    firms, c, hours, seeds = 150_000, 3, 200, [1, 2, 3]
    theta = 60.0 / PATIENCE_MIN
    t, lam = report_rate(firms, hours)
    theory = [erlang_a(c, x, MU, theta) for x in lam[::12]]  # every 6 minutes is plenty for a slow drift
    w = lam[::12]
    p_ab_theory = float(np.sum(w * [x["p_abandon"] for x in theory]) / w.sum())
    p_wait_theory = float(np.sum(w * [x["p_wait"] for x in theory]) / w.sum())
    assert 0.15 < p_ab_theory < 0.35  # a line where impatience matters
    rates, waits = [], []
    for seed in seeds:
        doc = line_doc(firms, c, hours)
        doc["operations"]["phone"].update({"patience_min": {"dist": "exponential", "mean": PATIENCE_MIN},
                                           "max_attempts": 1, "fallback_to_app_share": 0.0})
        r = run(build(doc), seed=seed)
        ph = r.figures["phone"]
        assert ph["answered"] + ph["abandoned"] >= ph["calls"] - 3 * c - 20
        assert r.figures["claims_abandoned_reporting"] == ph["abandoned"]  # one call each: abandon = give up
        rates.append(ph["abandonment_rate"])
        waits.append(ph["p_wait"])
    k = len(seeds)
    assert float(np.mean(rates)) == pytest.approx(p_ab_theory, abs=4 * 0.0053 / math.sqrt(k))
    assert float(np.mean(waits)) == pytest.approx(p_wait_theory, abs=4 * 0.0065 / math.sqrt(k))
