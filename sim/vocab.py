"""The names of claimsim, listed once: roles, populations, incident types, hazard variables, stages, channels.

Every other module takes these names from here (DESIGN rule 9). Each name has a plain-language label for
anything a person reads (reports, the tabletop page); internal names such as `video_survey` never reach a
reader unlabelled. Adding a role or a population starts here (docs/ARCHITECTURE.md shows the three files).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# ---------------------------------------------------------------- staff roles


@dataclass(frozen=True)
class RoleInfo:
    """A staff role: who they are (plain words) and the claim stage whose queue they work."""

    name: str
    label: str       # plural, for tables and charts ("phone agents")
    person: str      # singular ("phone agent")
    stage: str       # the stage a claim waits in for this role (see STAGES)
    plays: str       # what they do, in a sentence (shown where a player chooses a lever)
    required: bool = True  # optional roles left out of a scenario are not modelled as a queue (no capacity limit)


ROLE_INFO: tuple[RoleInfo, ...] = (
    RoleInfo("phone", "phone agents", "phone agent", "reporting",
             "answer customers' calls and register their claims"),
    RoleInfo("video_survey", "video surveyors", "video surveyor", "survey",
             "inspect damage over a video call, several scenes at once"),
    RoleInfo("field_survey", "field surveyors", "field surveyor", "survey",
             "drive to the scene or the premises and inspect the damage"),
    RoleInfo("tow", "tow and rescue crews", "tow crew", "rescue",
             "tow immobilised vehicles and give roadside help (partners)"),
    RoleInfo("assessment", "loss assessors", "loss assessor", "assessment",
             "price the loss from the survey and the documents"),
    RoleInfo("approval", "approvers", "approver", "approval",
             "approve the assessed amount before payment"),
    RoleInfo("claims_handler", "claims handlers", "claims handler", "documents",
             "chase missing documents, and handle supplements, disputes and reopened claims", required=False),
    RoleInfo("senior_adjuster", "senior and independent adjusters", "senior adjuster", "survey",
             "survey and adjust large and commercial losses over several visits", required=False),
    RoleInfo("repair", "repair shops and contractors", "repair bay", "repair",
             "repair vehicles and buildings (partners); a claim paid on repair waits for them", required=False),
)
ROLES: tuple[str, ...] = tuple(r.name for r in ROLE_INFO)
ROLE: dict[str, RoleInfo] = {r.name: r for r in ROLE_INFO}
REQUIRED_ROLES: tuple[str, ...] = tuple(r.name for r in ROLE_INFO if r.required)
Role = Literal[ROLES]  # type: ignore[valid-type]

# ---------------------------------------------------------------- populations and incidents


@dataclass(frozen=True)
class PopulationInfo:
    """A kind of policyholder: its name in scenario files, its code in claim keys, its incident types."""

    name: str                     # plural, as in scenario files ("drivers")
    singular: str                 # as in the claims table ("driver")
    code: int                     # 1.. (claim keys; never reuse a code)
    incident_types: tuple[str, ...]
    label: str                    # plain words ("drivers")
    segment: str                  # the line of business in observed progress curves (auto, home, farm, commercial)


POPULATION_INFO: tuple[PopulationInfo, ...] = (
    # New incident types go at the end of a population's list: a type's position keys its random draws.
    PopulationInfo("drivers", "driver", 1, ("crash", "battery", "stranding", "flooded_vehicle", "storm_damage",
                                             "everyday"), "drivers", "auto"),
    PopulationInfo("farmers", "farmer", 2, ("crop_frost", "greenhouse_collapse", "crop_flood", "everyday"), "farms",
                   "farm"),
    PopulationInfo("firms", "firm", 3, ("roof_collapse", "burst_pipe", "business_interruption", "flood", "wind",
                                         "everyday"), "firms", "commercial"),
    PopulationInfo("households", "household", 4, ("burst_pipe", "roof_collapse", "flood", "wind", "everyday"),
                   "homes", "home"),
)
POPULATIONS: tuple[str, ...] = tuple(p.name for p in POPULATION_INFO)
POPULATION: dict[str, PopulationInfo] = {p.name: p for p in POPULATION_INFO}
SEGMENTS: tuple[str, ...] = ("all", *dict.fromkeys(p.segment for p in POPULATION_INFO))
SEGMENT_OF: dict[str, str] = {p.singular: p.segment for p in POPULATION_INFO}  # claims table agent_type -> segment
PopulationName = Literal[POPULATIONS]  # type: ignore[valid-type]
INCIDENT_TYPES: dict[str, tuple[str, ...]] = {p.name: p.incident_types for p in POPULATION_INFO}
# Attributes of the portfolio that scenario files name.
CROPS: tuple[str, ...] = ("wheat", "winter_wheat", "vegetables", "orchard")
Crop = Literal[CROPS]  # type: ignore[valid-type]
ROOF_TYPES: tuple[str, ...] = ("light_steel", "concrete")
RoofType = Literal[ROOF_TYPES]  # type: ignore[valid-type]
INCIDENT_LABELS: dict[str, str] = {
    "crash": "crash", "battery": "dead battery", "stranding": "stranded in snow",
    "flooded_vehicle": "flooded vehicle", "crop_frost": "crop frost", "greenhouse_collapse": "greenhouse collapse",
    "roof_collapse": "roof collapse", "burst_pipe": "burst pipe", "business_interruption": "business interruption",
    "flood": "flooding", "storm_damage": "hit by trees or debris", "crop_flood": "crops flooded",
    "wind": "wind damage", "everyday": "everyday claim (not the weather)",
}

# ---------------------------------------------------------------- hazard

# Storm variables a scenario gives over time (keyframes or CSV columns), with their units.
HAZARD_UNITS: dict[str, str] = {
    "snowfall_cm_h": "cm/h", "ice_mm_h": "mm/h", "temp_c": "°C", "wind_ms": "m/s", "rain_mm_h": "mm/h",
    "water_depth_cm": "cm", "river_depth_cm": "cm",
}
HAZARD_VARIABLES: tuple[str, ...] = tuple(HAZARD_UNITS)
HazardVariable = Literal[HAZARD_VARIABLES]  # type: ignore[valid-type]
# Derived state per region and hour, recorded in the hourly series beside the raw variables.
HAZARD_STATE: tuple[str, ...] = ("snow_depth_cm", "roof_load_kn_m2", "road_index", "ponding_cm", "floodplain_cm")
HAZARD_LABELS: dict[str, str] = {
    "snowfall_cm_h": "snowfall (cm/h)", "ice_mm_h": "freezing rain (mm/h)", "temp_c": "temperature (°C)",
    "wind_ms": "wind (m/s)", "rain_mm_h": "rain (mm/h)", "snow_depth_cm": "snow on the ground (cm)",
    "roof_load_kn_m2": "roof load (kN/m²)", "road_index": "road condition (0 dry .. 1 worst)",
    "water_depth_cm": "street water depth given (cm)", "river_depth_cm": "river flood depth given (cm)",
    "ponding_cm": "water in low-lying streets (cm)", "floodplain_cm": "water on the floodplain (cm)",
}

# ---------------------------------------------------------------- claims: channels, tracks, stages

CHANNELS: tuple[str, ...] = ("phone", "app", "video")
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
CHANNEL_LABELS: dict[str, str] = {"phone": "phone", "app": "app or online", "video": "video call"}

# Tracks a registered claim is graded onto; the code is what TRIAGED events carry.
TRACKS: tuple[str, ...] = ("fast_track", "video", "field", "large_loss")
Track = Literal[TRACKS]  # type: ignore[valid-type]
TRACK_CODES: dict[str, int] = {t: i for i, t in enumerate(TRACKS)}
TRACK_LABELS: dict[str, str] = {"fast_track": "fast track (online, small)", "video": "video survey",
                                "field": "field survey", "large_loss": "large loss"}

# Stages a claim waits in after it is reported, in order; QUEUED events carry the stage's index.
STAGES: tuple[str, ...] = ("reporting", "rescue", "survey", "assessment", "approval", "documents", "payment",
                           "repair", "supplement", "dispute", "total_loss", "reopened")
STAGE_CODES: dict[str, int] = {s: i for i, s in enumerate(STAGES)}
STAGE_LABELS: dict[str, str] = {
    "reporting": "reporting (phone queue)", "rescue": "waiting for tow or rescue", "survey": "waiting for survey",
    "assessment": "waiting for loss assessment", "approval": "waiting for approval",
    "documents": "waiting for the customer's documents", "payment": "waiting for payment",
    "repair": "waiting for repair (shop or contractor)", "supplement": "supplement: hidden damage re-estimated",
    "dispute": "in dispute (appraisal, complaint or court)", "total_loss": "total loss: valuation and salvage",
    "reopened": "reopened after closure",
}
# Short stage names for a busy board ("the bottleneck is: loss assessment").
STAGE_SHORT: dict[str, str] = {
    "reporting": "reporting", "rescue": "tow and rescue", "survey": "survey", "assessment": "loss assessment",
    "approval": "approval", "documents": "customers' documents", "payment": "payment", "repair": "repair",
    "supplement": "supplements", "dispute": "disputes", "total_loss": "total losses", "reopened": "reopened claims",
}
# The stage code a role's jobs are queued under.
ROLE_STAGE: dict[str, int] = {r.name: STAGE_CODES[r.stage] for r in ROLE_INFO}

# Outcomes of a claim in the claims table.
OUTCOMES: tuple[str, ...] = ("unreported", "abandoned", "withdrawn", "closed_without_payment", "paid", "open")
# Incidents whose damage is repaired by a shop or contractor (the others are paid out: roadside help, crops,
# lost income, everyday claims).
REPAIRED_INCIDENTS: frozenset[str] = frozenset({"crash", "flooded_vehicle", "storm_damage", "roof_collapse",
                                                "burst_pipe", "flood", "wind", "greenhouse_collapse"})
# Incidents of standing water: surveyors reach the property only once the water has gone down.
WATER_INCIDENTS: frozenset[str] = frozenset({"flooded_vehicle", "flood", "crop_flood"})
# Ways a dispute goes, with the code DISPUTE events carry.
DISPUTE_ROUTES: tuple[str, ...] = ("appraisal", "complaint", "litigation")

# ---------------------------------------------------------------- service targets

# Phone service level: calls answered within this many seconds (the call-centre norm of 80% in 20 s,
# DOMAIN_FACTS "Operations").
SERVICE_LEVEL_S = 20.0


def label(name: str) -> str:
    """Plain words for any name listed here (the name itself, with spaces, when it has no label)."""
    for table in (STAGE_LABELS, TRACK_LABELS, CHANNEL_LABELS, INCIDENT_LABELS, HAZARD_LABELS):
        if name in table:
            return table[name]
    if name in ROLE:
        return ROLE[name].label
    if name in POPULATION:
        return POPULATION[name].label
    return name.replace("_", " ")
