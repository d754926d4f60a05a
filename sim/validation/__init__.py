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

from collections.abc import Callable
from typing import Any

from sim.execution import map_tasks
from sim.validation.common import PASS_LEVEL, Case, Job, Row, compare
from sim.validation.queueing import (
    erlang_a_rows,
    erlang_c_rows,
    measure_phone,
    measure_survey,
    phone_jobs,
    relaxation_h,
    survey_jobs,
    survey_rows,
    windows,
)
from sim.validation.report import fmt_value, keep_hand_sections, markdown, plots, write
from sim.validation.storm import (
    first_snow_jobs,
    first_snow_rows,
    infinite_jobs,
    infinite_rows,
    little,
    little_jobs,
    little_rows,
    measure_first_snow,
    measure_infinite_server,
    measure_staffing,
    staffing_jobs,
    staffing_rows,
)

__all__ = ["CASES", "PASS_LEVEL", "Row", "compare", "fmt_value", "keep_hand_sections", "markdown", "plots",
           "relaxation_h", "validate", "windows", "write"]

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
             progress: Callable[[int, int], None] | None = None, executor: Any = None) -> list[Row]:
    """Run the chosen cases on the engine's executors; returns the table rows in case order."""
    jobs = [j for key in cases for j in CASES[key].jobs(full)]
    # longest first keeps both workers busy to the end
    order = sorted(range(len(jobs)), key=lambda i: -_cost(jobs[i]))
    results = map_tasks(run_job, jobs, workers=workers, executor=executor, progress=progress, order=order)
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
