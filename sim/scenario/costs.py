"""What a plan costs beyond shift hours and partner fees: pay premiums, retainers, campaigns and leakage.

The scenario's `costs:` section prices the parts of a plan the operation alone leaves free: night and
rest-day premiums on staff pay, retainers for partners held on call, the SMS and visit campaigns, and the
overpayment (leakage) that settling without a survey or with simplified documents lets through. Every
amount is in the scenario's `currency`. Defaults change nothing (no premium, no price), so a scenario
without a `costs:` section costs what it always did; the shipped scenarios price them (docs/ASSUMPTIONS.md).
Plans may override any of it (`costs:` in a plan). sim/economics.py turns it into figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, model_validator

from sim.scenario.base import Frozen, Share
from sim.vocab import Role

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Money = NonNegativeFloat


class Campaigns(Frozen):
    """Prices of the prevention measures (`measures:`), paid when a plan switches them on."""

    sms_per_message: Money = 0.0       # one warning SMS to one insured driver reached (coverage x drivers)
    visit_per_firm: Money = 0.0        # one risk-reduction visit to a firm
    visit_per_farm: Money = 0.0        # one visit to a farm


class Leakage(Frozen):
    """Overpayment shares: what a claim settled with lighter checks pays beyond its true loss."""

    waived_survey_share: Share = 0.0         # of the amount paid on claims whose survey was waived
    fast_track_share: Share = 0.0            # of the amount paid on fast-track claims (settled online, no survey)
    simplified_documents_share: Share = 0.0  # of every amount paid, when the plan simplifies documents


class Costs(Frozen):
    """Pay rules and prices of a scenario (and its plans)."""

    # Hours worked in the night window [night_start_h, night_end_h) of the clock earn this extra share of the
    # hourly rate (0.2: +20%). The window may pass midnight (22 to 6).
    night_premium: Annotated[float, Field(ge=0, le=10)] = 0.0
    night_start_h: Annotated[float, Field(ge=0, lt=24)] = 22.0
    night_end_h: Annotated[float, Field(ge=0, le=24)] = 6.0
    # Hours worked on a rest day are paid at this factor of the hourly rate (2.0: PRC Labour Law art. 44,
    # "not less than 200%" on a rest day without compensatory time off), on holidays at `holiday_factor`
    # (art. 44: 300%). The overtime premium of those days is included, not added.
    rest_day_factor: Annotated[float, Field(ge=1, le=10)] = 1.0
    rest_days: list[Weekday] = Field(default_factory=lambda: ["sat", "sun"])
    holiday_factor: Annotated[float, Field(ge=1, le=10)] = 1.0
    holidays: list[dt.date] = Field(default_factory=list)
    # Retainers, per day of the run: per unit of a role's headcount (partners on the roster, e.g. tow units
    # paid by the job plus a daily retainer) and per person of a role's surge reserve (on call, called or not).
    retainer_per_unit_day: dict[Role, Money] = Field(default_factory=dict)
    reserve_retainer_per_day: dict[Role, Money] = Field(default_factory=dict)
    campaigns: Campaigns = Campaigns()
    leakage: Leakage = Leakage()
    # Whether the plan simplifies the claim documents (a green channel): then `leakage.simplified_documents_share`
    # of every payment is leakage. Plans that shorten `operations.service.documents_h` by dropping checks say so.
    simplified_documents: bool = False

    @model_validator(mode="after")
    def _night_window(self) -> Costs:
        if self.night_premium > 0 and self.night_start_h == self.night_end_h:
            raise ValueError("the night window is empty: night_start_h equals night_end_h")
        return self
