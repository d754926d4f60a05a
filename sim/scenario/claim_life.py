"""The claim's life after the survey, as the scenario sets it: how often each turn happens and how long it takes.

After a catastrophe most of a claim's time is spent here, not in the phone queue: missing documents chased,
total losses valued and salvaged, cars and homes waiting for repair shops, contractors and parts, hidden
damage found during repair (a supplement, often with a re-inspection), disputes going to appraisal,
complaint or court, claims reopened after closure, and large or commercial losses worked over several
visits by senior adjusters. Every default cites ../shared/CLAIM_LIFE_FACTS.md or says it is an assumption
(docs/ASSUMPTIONS.md tables them). Shares given per population take the population's name (drivers,
farmers, firms, households); a population left out takes the `default`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, create_model, field_validator, model_validator

from sim.scenario.base import Dist, Frozen, Share, shares_sum_to_one
from sim.vocab import DISPUTE_ROUTES, POPULATIONS

DAY_H = 24.0


def _days(mean: float, cv: float = 1.0) -> dict[str, object]:
    """A lognormal duration in hours with its mean in days."""
    return {"dist": "lognormal", "mean": mean * DAY_H, "cv": cv}


# One optional share field per population of the vocabulary, beside `default`.
_PerPopulationFields = create_model("_PerPopulationFields", __base__=Frozen, default=(Share, 0.0),
                                    **{p: (Share | None, None) for p in POPULATIONS})  # type: ignore[call-overload]


class PerPopulation(_PerPopulationFields):  # type: ignore[misc,valid-type]
    """A share per population (drivers, farmers, firms, households), with a default for those left out."""

    def of(self, population: str) -> float:
        value = getattr(self, population, None)
        return self.default if value is None else float(value)


def _per(default: float, **shares: float) -> PerPopulation:
    return PerPopulation(default=default, **shares)


class ComeBack(Frozen):
    """Customers who give up on the phone mostly come back later or by another channel (app, WeChat, agent).

    Assumption: 80% return (the Guizhou 2018 freezing rain logged ~1.44 calls per claim with overflow to other
    centres, i.e. most callers got through eventually; CLAIM_LIFE_FACTS 3.4); the rest never report.
    """

    share: Share = 0.8
    delay_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 24, "cv": 1.5})


class Documents(Frozen):
    """Missing documents chased by claims handlers; a customer who never answers is closed (withdrawn).

    PRC Insurance Law art. 23 allows one request for supplementary documents (CLAIM_LIFE_FACTS 1.4); in a
    catastrophe several reminders are the practice. Shares and times are assumptions.
    """

    missing_share: PerPopulation = Field(default_factory=lambda: _per(0.25, drivers=0.2, firms=0.5))
    chase_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 10, "cv": 0.5})
    answer_share: Share = 0.8            # of customers answering each chase
    answer_h: Dist = Field(default_factory=lambda: _days(3, 1.0))
    chase_every_h: Annotated[float, Field(gt=0, le=2000)] = 72.0
    max_chases: Annotated[int, Field(ge=1, le=5, strict=True)] = 3


class TotalLoss(Frozen):
    """Vehicles whose repair would cost at least `ratio` of their value are written off (presumed total loss).

    Henan 2021: total losses paid within 24 h of the total-loss determination; salvage disposal a key
    difficulty; up to ~6 months of salvage processing after Harvey (CLAIM_LIFE_FACTS 1.4, 1.6). The ratio
    is an assumption (US states use 70-80%).
    """

    ratio: Annotated[float, Field(gt=0, le=1)] = 0.75
    valuation_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 45, "cv": 0.5})
    documents_h: Dist = Field(default_factory=lambda: _days(5, 0.8))     # title, deregistration, police note
    pay_within_h: Annotated[float, Field(ge=0, le=2000)] = 24.0
    salvage_share: Share = 0.1        # of the value recovered at auction (5-15%, CLAIM_LIFE_FACTS 4.2)
    salvage_h: Dist = Field(default_factory=lambda: _days(45, 0.8))


class Repair(Frozen):
    """Repairs at shops (vehicles) and contractors (buildings), with parts delays.

    Zhengzhou 2021: 20-40 day waits at 4S shops, "all repairs at least 3 months"; repair cycle 23.1 days
    (J.D. Power 2023); water-heater parts 3-10 weeks after Uri (CLAIM_LIFE_FACTS 1.5). A share of repaired
    claims is paid on the repair invoice (direct payment to the shop), so its closure waits for the repair;
    the others are paid on the agreed estimate (assumption).
    """

    paid_on_repair: PerPopulation = Field(default_factory=lambda: _per(0.0, drivers=0.6, households=0.2))
    work_h: Dist = Field(default_factory=lambda: _days(5, 0.8))       # time in the bay or on site
    parts_share: Share = 0.3
    parts_h: Dist = Field(default_factory=lambda: _days(14, 1.0))


class Supplement(Frozen):
    """Hidden damage found during repair: a second estimate, often with a re-inspection, and a supplement paid.

    Citizens (Irma): 37% of claims re-opened for supplemental payment within 6.5 months; 92% of re-inspected
    estimates revised; 11% of car repairs redone (CLAIM_LIFE_FACTS 1.2). No Chinese rates: assumptions below.
    """

    share: PerPopulation = Field(default_factory=lambda: _per(0.15, drivers=0.12, households=0.3, firms=0.3))
    reinspection_share: Share = 0.5
    amount_ratio: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 0.2, "sigma": 0.6})


class Dispute(Frozen):
    """Customers who contest the offer: appraisal (公估), a complaint to the regulator, or court.

    Katrina: under 2% of homeowners claims disputed by mediation or litigation, ~3.7% mediated; Citizens
    Irma ~9% in litigation, 84% of it over the amount (CLAIM_LIFE_FACTS 1.3). No Chinese rates: the
    defaults assume a low-litigation market.
    """

    share: PerPopulation = Field(default_factory=lambda: _per(0.03, firms=0.08))
    routes: dict[str, Share] = Field(default_factory=lambda: {"appraisal": 0.5, "complaint": 0.4,
                                                              "litigation": 0.1})
    duration_h: dict[str, Dist] = Field(default_factory=lambda: {
        "appraisal": _days(45, 0.8), "complaint": _days(20, 0.8), "litigation": _days(300, 0.6)})
    uplift: Dist = Field(default_factory=lambda: {"dist": "lognormal", "median": 0.1, "sigma": 0.8})

    @field_validator("routes")
    @classmethod
    def _routes(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = [r for r in v if r not in DISPUTE_ROUTES]
        if unknown:
            raise ValueError(f"unknown dispute route '{unknown[0]}' (routes: {', '.join(DISPUTE_ROUTES)})")
        shares_sum_to_one(v, "dispute route")
        return v

    @model_validator(mode="after")
    def _every_route_has_a_duration(self) -> Dispute:
        missing = [r for r in self.routes if r not in self.duration_h]
        if missing:
            raise ValueError(f"duration_h needs a duration for route '{missing[0]}'")
        return self


class Reopen(Frozen):
    """Closed claims reopened weeks later (damage found late, a supplement after closure).

    Michael: 9,330 of the 17,347 claims still open at one year were reopened ones, ~6% of all claims
    (CLAIM_LIFE_FACTS 1.2).
    """

    share: PerPopulation = Field(default_factory=lambda: _per(0.05, households=0.07, firms=0.08))
    after_h: Dist = Field(default_factory=lambda: _days(60, 0.8))


class LargeLoss(Frozen):
    """Large and commercial losses: senior or independent adjusters, several visits, business-interruption
    accounting, interim payments (2023 catastrophe-claims norms; CLAIM_LIFE_FACTS 2.3: BI settles last)."""

    visits: Annotated[int, Field(ge=1, le=6, strict=True)] = 3
    visit_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 240, "cv": 0.5})
    between_visits_h: Dist = Field(default_factory=lambda: _days(7, 0.8))
    bi_accounting_h: Dist = Field(default_factory=lambda: _days(60, 0.8))
    interim_share: Share = 0.3     # of the estimate paid after the first visit, when pre-payment is off
    commercial_min: Annotated[float, Field(ge=0)] = 50_000   # firms' claims estimated above this are large


class Access(Frozen):
    """Surveyors reach flooded property only once the water is down to `max_depth_cm` (UK 2014: weeks for
    water to recede before assessment; CLAIM_LIFE_FACTS 1.4)."""

    max_depth_cm: Annotated[float, Field(ge=0, le=500)] = 20.0


class ClaimLife(Frozen):
    """Everything after the front line (report, triage, rescue, survey)."""

    come_back: ComeBack = ComeBack()
    documents: Documents = Documents()
    total_loss: TotalLoss = TotalLoss()
    repair: Repair = Repair()
    supplement: Supplement = Supplement()
    dispute: Dispute = Dispute()
    reopen: Reopen = Reopen()
    large_loss: LargeLoss = LargeLoss()
    access: Access = Access()
