"""Injects and decisions of a tabletop exercise, as they are written in files (schemas only).

What they do to a running model is sim/injects.py's business; the schema knows no model (DESIGN rule 8).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from sim.scenario.base import Frozen
from sim.scenario.operations import MAX_STAFF, YEAR_H
from sim.vocab import POPULATIONS, HazardVariable, PopulationName, Role


class HazardBand(Frozen):
    """A second snow band (or any storm intensity change): hazard scaled in a region for some hours."""

    type: Literal["hazard"]
    region: str | None = None          # None: every region
    factor: Annotated[float, Field(ge=0, le=100)] = 2.0  # multiplies the variables' hourly intensity
    # added after scaling, e.g. {snowfall_cm_h: 1.5}
    add: dict[HazardVariable, Annotated[float, Field(ge=-100, le=500)]] = Field(default_factory=dict)
    variables: list[HazardVariable] = Field(default_factory=lambda: ["snowfall_cm_h", "ice_mm_h"])
    hours: Annotated[int, Field(ge=1, le=YEAR_H, strict=True)] = 6


class RoadClosure(Frozen):
    """Roads closed or jammed: survey and tow travel in the region takes `travel_factor` times as long."""

    type: Literal["road_closure"]
    region: str | None = None
    travel_factor: Annotated[float, Field(ge=1.0, le=100)] = 2.0
    hours: Annotated[int, Field(ge=1, le=YEAR_H, strict=True)] = 6


class PhoneOutage(Frozen):
    """A power or telephony outage at the call centre: a share of the phone line is off for some hours."""

    type: Literal["phone_outage"]
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    hours: Annotated[int, Field(ge=1, le=YEAR_H, strict=True)] = 3


class StaffAbsence(Frozen):
    """Staff sickness, or a partner pulling out (tow, say): people of a role leave, for some hours or for good."""

    type: Literal["staff_absence"]
    role: Role
    count: Annotated[int, Field(ge=1, le=MAX_STAFF, strict=True)] = 1
    region: str | None = None          # the regional pool (per-region headcounts); None: any pool
    hours: Annotated[int, Field(ge=1, le=YEAR_H, strict=True)] | None = None  # None: for the rest of the exercise


class ReportingSurge(Frozen):
    """A media story (or rumour) that raises the rate of incidents reported, by agent type, for some hours."""

    type: Literal["reporting_surge"]
    agent_types: list[PopulationName] = Field(default_factory=lambda: list(POPULATIONS))
    factor: Annotated[float, Field(gt=0, le=100)] = 1.5
    hours: Annotated[int, Field(ge=1, le=YEAR_H, strict=True)] = 12


class Note(Frozen):
    """News for the room with no effect on the model (a briefing, a phone call from head office)."""

    type: Literal["note"] = "note"


Effect = Annotated[HazardBand | RoadClosure | PhoneOutage | StaffAbsence | ReportingSurge | Note,
                   Field(discriminator="type")]


# Plain words for the room: a description, an expected effect, an expected action (long enough for a paragraph).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Inject(Frozen):
    """A timed event of a tabletop exercise: when, what the room reads, and its effect.

    As a line of the Master Scenario Events List (MSEL) it may carry an id, a plain description, the effect
    the designers expect it to have, and the actions they expect of the players (the evaluators' checklist).
    Without `description` and `expected_effect` the page and the report use the default texts of its effect.
    """

    at_h: Annotated[float, Field(ge=0, le=YEAR_H)]
    title: Annotated[str, Field(min_length=1)]
    effect: Effect = Note()
    id: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    description: Text | None = None
    expected_effect: Text | None = None
    expected_actions: list[Text] | None = None


class InjectsFile(Frozen):
    """A separate injects file (`--injects FILE`): a top-level `injects:` list."""

    description: str = ""
    injects: list[Inject] = Field(max_length=10_000)


class CallOut(Frozen):
    """Call out reserve staff or partners: `count` more people of a role from now (surge call-out)."""

    role: Role
    count: Annotated[int, Field(ge=1, le=MAX_STAFF, strict=True)]
    region: str | None = None          # the regional pool; None for a shared pool
    roster: str | None = None          # default: the role's roster
    delay_h: Annotated[float, Field(ge=0, le=YEAR_H)] = 0.0    # travel or notice before they start


class MoveStaff(Frozen):
    """Move staff between regional pools from now."""

    role: Role
    from_region: str
    to_region: str
    count: Annotated[int, Field(ge=1, le=MAX_STAFF, strict=True)]
    travel_h: Annotated[float, Field(ge=0, le=YEAR_H)] = 2.0


class Decision(Frozen):
    """A decision of the room: plan changes from `at_h` on, who proposed it and why.

    `changes` uses the plan syntax (`operations`, `behaviour`, `measures`: see scenarios/README.md), e.g.
    {operations: {triage: {fast_track: {max_loss: 20000}}}} raises the fast-track limit, and
    {operations: {staff: {assessment: {roster: h24}}}} puts assessors on 24-hour duty (leave cancelled).
    """

    at_h: Annotated[float, Field(ge=0, le=YEAR_H)] = 0.0
    title: Annotated[str, Field(min_length=1)]
    by: str = ""
    why: str = ""
    description: Text | None = None        # what it does, in plain words (default: the lever's own text)
    expected_effect: Text | None = None    # what the room expects it to change
    wall_time: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    call_out: list[CallOut] = Field(default_factory=list)
    move: list[MoveStaff] = Field(default_factory=list)


DECISION_KEYS = {"operations", "behaviour", "measures"}
