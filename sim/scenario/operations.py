"""The insurer's operation in the scenario: rosters, staff by role, the phone line, triage, work content.

Headcounts and rates are bounded by sanity limits (a role of more than 100,000 people, or a check every
fraction of a second, is a typo): a file cannot ask for more work than a machine can do by accident.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, field_validator, model_validator

from sim.scenario.base import Dist, Frozen, Name, Share, shares_sum_to_one
from sim.scenario.claim_life import ClaimLife
from sim.vocab import INCIDENT_TYPES, TRACKS, Role, Track

MAX_STAFF = 100_000   # people in one pool: more is a typo, not a claims department
YEAR_H = 24 * 366
People = Annotated[int, Field(ge=0, le=MAX_STAFF, strict=True)]
Hours = Annotated[float, Field(ge=0, le=YEAR_H)]
ALL_INCIDENT_TYPES = tuple(t for types in INCIDENT_TYPES.values() for t in types)


class Shift(Frozen):
    """Hours of the day a staff member works; `end` may pass midnight (e.g. 22 to 30)."""

    start: Annotated[float, Field(ge=0, lt=24)]
    end: Annotated[float, Field(gt=0, le=48)]
    share: Share = 1.0

    @model_validator(mode="after")
    def _positive_length(self) -> Shift:
        if not 0 < self.end - self.start <= 24:
            raise ValueError("a shift must last more than 0 and at most 24 hours")
        return self


class RosterSpec(Frozen):
    """Shifts of a roster; each staff member is given one shift, in proportion to `share`."""

    shifts: list[Shift] = Field(min_length=1)

    @model_validator(mode="after")
    def _shift_shares(self) -> RosterSpec:
        shares_sum_to_one({str(i): s.share for i, s in enumerate(self.shifts)}, "shift")
        return self


Headcount = People | dict[Name, People]


class Surge(Frozen):
    """Reserve staff or partner adjusters called out once the backlog per person on duty passes a threshold."""

    reserve: Headcount = 0                 # people on call (a number per pool when the role is by region)
    trigger_per_person: PositiveFloat = 10.0  # jobs waiting per person on duty (or waiting at all, if nobody is)
    delay_h: Hours = 2.0                   # from the trigger to the first shift of the reserve
    roster: Name | None = None             # default: the role's roster
    hourly_cost: NonNegativeFloat | None = None  # default: the role's
    check_every_h: Annotated[float, Field(ge=1 / 60, le=24)] = 0.25  # at most once a minute


class Move(Frozen):
    """N staff of a per-region pool leave one region at `at_h` and start in another after `travel_h`."""

    from_region: Name
    to_region: Name
    count: Annotated[int, Field(ge=1, le=MAX_STAFF, strict=True)]
    at_h: Hours
    travel_h: Hours = 4.0


class StaffRole(Frozen):
    """A role's staff: headcount (one pool, or a pool per region), roster, leave and cost."""

    headcount: Headcount
    roster: Name
    leave_share: Share = 0.0
    hourly_cost: NonNegativeFloat = 0.0
    overtime_factor: Annotated[float, Field(ge=1.0)] = 1.5
    standard_hours_per_day: PositiveFloat = 8.0
    # video surveyors guide several scenes at once
    concurrent_cases: Annotated[int, Field(ge=1, le=50, strict=True)] = 1
    fee_per_job: NonNegativeFloat = 0.0  # partner fee (tow, rescue) per completed job
    surge: Surge | None = None
    moves: list[Move] = Field(default_factory=list)


class Phone(Frozen):
    """The phone line: handling, caller patience and retrial."""

    handling_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 8, "cv": 0.6})
    patience_min: Dist | None = Field(default_factory=lambda: {"dist": "exponential", "mean": 4})
    retry_share: Share = 0.7
    retry_delay_min: Dist = Field(default_factory=lambda: {"dist": "exponential", "mean": 15})
    max_attempts: Annotated[int, Field(ge=1, le=10, strict=True)] = 4
    fallback_to_app_share: Share = 0.3


class TrackRule(Frozen):
    """Claims of these incident types estimated at or below `max_loss` go onto the track."""

    enabled: bool = True
    max_loss: NonNegativeFloat
    incident_types: list[str]

    @field_validator("incident_types")
    @classmethod
    def _known_types(cls, v: list[str]) -> list[str]:
        unknown = [t for t in v if t not in ALL_INCIDENT_TYPES]
        if unknown:
            raise ValueError(f"unknown incident type '{unknown[0]}' (types: {', '.join(ALL_INCIDENT_TYPES)})")
        return v


class Triage(Frozen):
    """Rules that grade a registered claim onto a track, and each track's queue priority (0 first)."""

    estimate_error_sigma: NonNegativeFloat = 0.3
    fast_track: TrackRule = TrackRule(max_loss=5000, incident_types=["crash", "battery", "stranding", "everyday"])
    video: TrackRule = TrackRule(max_loss=30000, incident_types=["crash", "flooded_vehicle", "burst_pipe"])
    large_loss_min: PositiveFloat = 200_000
    # Claims estimated at or below this skip the site survey and the weather certificate (Liaoyang).
    waive_survey_max_loss: NonNegativeFloat = 0.0
    priority: dict[Track, NonNegativeInt] = Field(
        default_factory=lambda: {t: 1 for t in TRACKS})


class PerTrack(Frozen):
    """A distribution for each track."""

    fast_track: Dist
    video: Dist
    field: Dist
    large_loss: Dist

    def __getitem__(self, track: str) -> Any:
        return getattr(self, track)


class Service(Frozen):
    """Work content of each stage (minutes of staff time, or hours of customer time)."""

    tow_onsite_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 30, "cv": 0.5})
    field_onsite_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 45, "cv": 0.5})
    video_survey_min: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 25, "cv": 0.5})
    assessment_min: PerTrack = PerTrack(
        fast_track={"dist": "lognormal", "mean": 10, "cv": 0.5},
        video={"dist": "lognormal", "mean": 30, "cv": 0.5},
        field={"dist": "lognormal", "mean": 60, "cv": 0.5},
        large_loss={"dist": "lognormal", "mean": 240, "cv": 0.5})
    approval_min: PerTrack = PerTrack(
        fast_track={"dist": "fixed", "value": 0},
        video={"dist": "lognormal", "mean": 10, "cv": 0.5},
        field={"dist": "lognormal", "mean": 15, "cv": 0.5},
        large_loss={"dist": "lognormal", "mean": 60, "cv": 0.5})
    documents_h: PerTrack = PerTrack(
        fast_track={"dist": "lognormal", "mean": 4, "cv": 1.0},
        video={"dist": "lognormal", "mean": 24, "cv": 1.0},
        field={"dist": "lognormal", "mean": 48, "cv": 1.0},
        large_loss={"dist": "lognormal", "mean": 120, "cv": 1.0})
    payment_lag_h: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 12, "cv": 0.5})
    # Obtaining a weather certificate, added to the documents of surveyed claims (0: not required).
    weather_certificate_h: Dist = Field(default_factory=lambda: {"dist": "fixed", "value": 0})


class Outcomes(Frozen):
    """How claims end. About a third of closed claims close without payment after real catastrophes."""

    deductible: NonNegativeFloat = 0.0
    not_covered_share: Share = 0.25
    withdraw_share: Share = 0.03


class PrePayment(Frozen):
    """Advance a share of the surveyed estimate on large losses (industry norm of 12 Dec 2023)."""

    enabled: bool = False
    share: Share = 0.5
    min_loss: NonNegativeFloat = 200_000


class HandOff(Frozen):
    """Hours a file takes to reach the assessment and the approval queues."""

    assessment: Dist = Field(default_factory=lambda: {"dist": "fixed", "value": 0})
    approval: Dist = Field(default_factory=lambda: {"dist": "fixed", "value": 0})

    def __getitem__(self, stage: str) -> Any:
        return getattr(self, stage)


class Operations(Frozen):
    """The insurer's baseline operation; plans override parts of it."""

    rosters: dict[Name, RosterSpec]
    staff: dict[Role, StaffRole]
    phone: Phone = Phone()
    triage: Triage = Triage()
    service: Service = Service()
    # Share of incidents of each type that immobilise the vehicle and need tow or roadside rescue.
    rescue_share: dict[str, Share] = Field(
        default_factory=lambda: {"crash": 0.3, "battery": 1.0, "stranding": 1.0, "flooded_vehicle": 1.0})

    @field_validator("rescue_share")
    @classmethod
    def _known_rescue_types(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = [t for t in v if t not in ALL_INCIDENT_TYPES]
        if unknown:
            raise ValueError(f"unknown incident type '{unknown[0]}' (types: {', '.join(ALL_INCIDENT_TYPES)})")
        return v
    outcomes: Outcomes = Outcomes()
    prepayment: PrePayment = PrePayment()
    # Hand-off delay before a claim reaches the assessment and the approval queues (files moving between
    # offices; assessors and approvers moved down to branches shorten it).
    handoff_h: HandOff = HandOff()
    # Order in which field surveyors take claims: first come; nearest first (shortest trip); or remote and
    # snow-bound first (Sanmenxia: surveyors sent first to suburbs and snow-covered roads).
    dispatch: Literal["first_come", "nearest", "remote_first"] = "first_come"
    # Share of the snow and ice slow-down of survey and tow travel won back by chains and equipment (Jixi).
    snow_chains: Share = 0.0
    # What happens after the survey: documents, total losses, repairs, supplements, disputes, reopening.
    claim_life: ClaimLife = ClaimLife()

    def staffed(self, role: str) -> bool:
        """Whether the scenario models this role as a queue (optional roles may be left out)."""
        return role in self.staff

