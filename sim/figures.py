"""The figure registry: every figure a run produces, declared once (DESIGN rule 9).

A figure has a key (its path in summary.json's `figures`, e.g. `settlement_latency_hours.p90`), a plain
label, a unit, the direction that is better, and a sentence on how it is computed from the event log
(sim/metrics.py computes it). Compare, sweep, regress, the reports, the after-action report, optimize and
the tabletop page read figures through this registry, never by a string path of their own. Older short
names (`latency_p90`) still name the same figures wherever a user types a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sim import fmt

Unit = Literal["h", "min", "share", "claims", "calls", "count", "money", "hour"]
Better = Literal["lower", "higher", "none"]


@dataclass(frozen=True)
class Figure:
    """One figure of a run."""

    key: str
    label: str
    unit: Unit
    better: Better
    how: str
    alias: str | None = None
    replicated: bool = False   # one of the headline figures compared across replications and plans

    @property
    def name(self) -> str:
        """The short name tables and baselines use (`latency_p90`), or the key when the figure has none."""
        return self.alias or self.key

    def value(self, figures: Mapping[str, Any]) -> float | None:
        """This figure's value in a run's `figures` mapping (None when absent or not a number)."""
        node: Any = figures
        for part in self.key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        if node is None or isinstance(node, bool) or not isinstance(node, (int, float)):
            return None
        return float(node)

    def number(self, figures: Mapping[str, Any]) -> float:
        """The value, NaN when missing (for arrays over replications)."""
        v = self.value(figures)
        return math.nan if v is None else v

    def format(self, x: Any, currency: str = "CNY") -> str:
        return fmt.value(x, self.unit, currency)

    def format_diff(self, x: Any, currency: str = "CNY") -> str:
        return fmt.signed(x, self.unit, currency)

    def improves(self, diff: float) -> bool | None:
        """Whether a change of `diff` (new - old) is an improvement; None when the figure has no direction."""
        if self.better == "none" or diff == 0 or math.isnan(diff):
            return None
        return (diff < 0) == (self.better == "lower")

    def verdict(self, diff: float) -> str:
        """'better', 'worse' or 'changed' for a detected change of `diff` (new - old)."""
        good = self.improves(diff)
        return "changed" if good is None else ("better" if good else "worse")

    def heading(self, currency: str = "CNY") -> str:
        """Label with its unit, for a column or an axis: 'settlement latency p90 (hours)'."""
        unit = fmt.unit_label(self.unit, currency)
        return self.label if self.unit in ("claims", "calls", "count") else f"{self.label} ({unit})"


def _f(key: str, label: str, unit: Unit, better: Better, how: str, alias: str | None = None,
       replicated: bool = False) -> Figure:
    return Figure(key, label, unit, better, how, alias, replicated)


_ALL: tuple[Figure, ...] = (
    # claims and outcomes
    _f("incidents_total", "incidents", "claims", "none", "INCIDENT events (every loss, reported or not)"),
    _f("claims_total", "claims reported", "claims", "lower",
       "claims with a CALL_PLACED or APP_REPORT event", alias="claims", replicated=True),
    _f("claims_settled", "claims settled", "claims", "higher", "claims with PAYMENT or CLOSED_NO_PAYMENT"),
    _f("claims_paid", "claims paid", "claims", "none", "claims with a final PAYMENT"),
    _f("claims_closed_without_payment", "claims closed without payment", "claims", "none",
       "claims with CLOSED_NO_PAYMENT (not covered, below the deductible)"),
    _f("claims_withdrawn", "claims withdrawn or given up", "claims", "lower",
       "claims that ended WITHDRAWN or GAVE_UP"),
    _f("claims_abandoned_reporting", "customers lost on the phone", "claims", "lower",
       "claims whose customer gave up reporting (GAVE_UP)", alias="lost_customers", replicated=True),
    _f("claims_open", "claims still open", "claims", "lower", "reported claims with no closing event yet"),
    _f("incidents_unreported", "incidents not reported", "claims", "lower",
       "incidents with no report event by the end of the run"),
    # phone
    _f("abandonment_rate", "phone abandonment", "share", "lower",
       "CALL_ABANDONED over calls answered or abandoned", alias="abandonment", replicated=True),
    _f("service_level_20s", "calls answered within 20 s", "share", "higher",
       "calls answered within 20 s of CALL_PLACED over calls answered or abandoned"),
    _f("phone.mean_wait_min", "phone wait of answered calls, mean", "min", "lower",
       "CALL_ANSWERED minus CALL_PLACED, over answered calls"),
    # latency
    _f("settlement_latency_hours.p50", "settlement latency p50", "h", "lower",
       "median of settled minus reported, over settled claims", alias="latency_p50", replicated=True),
    _f("settlement_latency_hours.p90", "settlement latency p90", "h", "lower",
       "90th percentile of settled minus reported, over settled claims", alias="latency_p90", replicated=True),
    _f("settlement_latency_hours.p99", "settlement latency p99", "h", "lower",
       "99th percentile of settled minus reported, over settled claims", alias="latency_p99", replicated=True),
    _f("settlement_latency_hours.mean", "settlement latency mean", "h", "lower",
       "mean of settled minus reported, over settled claims", alias="latency_mean", replicated=True),
    _f("settlement_latency_censored_hours.p50", "settlement latency p50, open claims counted", "h", "lower",
       "Kaplan-Meier median of time to settle, open claims censored at the end of the run"),
    _f("settlement_latency_censored_hours.p90", "settlement latency p90, open claims counted", "h", "lower",
       "Kaplan-Meier 90th percentile of time to settle, open claims censored at the end of the run"),
    _f("time_to_settle_restricted_hours.mean", "time to settle, unsettled counted to the end", "h", "lower",
       "mean of min(settled, end of run) minus reported over reported claims; withdrawn and lost claims count "
       "to the end", alias="latency_restricted", replicated=True),
    _f("first_contact_hours.p50", "time to first contact, p50", "h", "lower",
       "median of FIRST_CONTACT minus reported"),
    _f("first_contact_hours.mean", "time to first contact, mean", "h", "lower",
       "mean of FIRST_CONTACT minus reported", alias="first_contact_mean", replicated=True),
    _f("first_payment_hours.p50", "time to first payment, p50", "h", "lower",
       "median of the first PREPAYMENT or PAYMENT minus reported"),
    _f("first_payment_hours.mean", "time to first payment, mean", "h", "lower",
       "mean of the first PREPAYMENT or PAYMENT minus reported", alias="first_payment_mean", replicated=True),
    _f("paid_or_prepaid_within_7d_share", "paid or pre-paid within 7 days", "share", "higher",
       "claims with a first payment within 168 h of their report, over claims reported", alias="paid_7d",
       replicated=True),
    _f("survey_job_hours.mean", "survey job (travel and on site), mean", "h", "lower",
       "mean of SURVEY_END minus SURVEY_START", alias="survey_mean", replicated=True),
    # backlog
    _f("backlog.peak", "peak backlog", "claims", "lower", "most claims open at the end of any hour",
       alias="peak_backlog", replicated=True),
    _f("backlog.cleared_hour", "backlog cleared at", "hour", "lower",
       "first hour after the peak with open claims back within 10% of the way from the normal level to the peak"),
    # money and hours
    _f("loss_total", "losses incurred", "money", "none", "sum of every incident's loss"),
    _f("paid_total", "paid to customers", "money", "none", "sum of PREPAYMENT and PAYMENT amounts"),
    _f("overtime_hours", "overtime hours", "count", "lower",
       "hours of SHIFT_START..SHIFT_END beyond each person's standard day"),
    _f("cost.staff", "staff cost", "money", "lower", "shift hours at each role's rate, overtime at its premium"),
    _f("cost.overtime_premium", "overtime premium", "money", "lower", "the premium part of overtime pay"),
    _f("cost.partner_fees", "partner fees", "money", "lower", "jobs done by partners times their fee per job"),
    _f("cost.total", "operating cost", "money", "lower", "staff cost plus partner fees", alias="cost",
       replicated=True),
)

FIGURES: dict[str, Figure] = {f.key: f for f in _ALL}
ALIASES: dict[str, str] = {f.alias: f.key for f in _ALL if f.alias}
BY_NAME: dict[str, Figure] = {f.name: f for f in _ALL}
# The headline figures: one number per replication, compared across plans, sweeps and baselines.
REPLICATED: tuple[Figure, ...] = tuple(f for f in _ALL if f.replicated)


class UnknownFigure(KeyError):
    """A name that is not a figure; its message lists the figures."""

    def __str__(self) -> str:
        return str(self.args[0])


def figure(name: str) -> Figure:
    """The figure named by its key or its short name; UnknownFigure (with the list of names) otherwise."""
    key = ALIASES.get(name, name)
    if key not in FIGURES:
        names = ", ".join(sorted(set(FIGURES) | set(ALIASES)))
        raise UnknownFigure(f"unknown figure '{name}' (figures: {names})")
    return FIGURES[key]


def values(figures: Mapping[str, Any], chosen: tuple[Figure, ...] = REPLICATED) -> dict[str, float]:
    """The chosen figures of one run as {name: number} (NaN where missing): one replication's row."""
    return {f.name: f.number(figures) for f in chosen}


def replicated(name: str) -> Figure:
    """A headline figure (one number per replication) by key or short name; UnknownFigure otherwise."""
    f = figure(name)
    if not f.replicated:
        names = ", ".join(g.name for g in REPLICATED)
        raise UnknownFigure(f"'{name}' is not measured per replication (figures: {names})")
    return f
