"""Prevention measures in the scenario: SMS warnings to drivers, risk visits to firms and farms."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sim.scenario.base import Frozen, Share

NonNegFloat = Annotated[float, Field(ge=0)]


class SmsWarning(Frozen):
    """Warning SMS that keep drivers off the roads (Jixi: 12,022 SMS before the snow; Beijing)."""

    enabled: bool = False
    sent_h: Annotated[float, Field(ge=0, le=24 * 366)] = 0.0
    coverage: Share = 0.8
    compliance: Share = 0.3
    exposure_cut: Share = 0.7   # share of driving a complying driver gives up
    lasts_h: Annotated[float, Field(gt=0, le=24 * 366)] = 48.0


class RiskVisits(Frozen):
    """Pre-storm risk-reduction visits to firms and farms (Heilongjiang, Qingdao)."""

    enabled: bool = False
    firm_share: Share = 0.3
    farm_share: Share = 0.3
    roof_capacity_gain: Annotated[float, Field(ge=0, le=10)] = 0.3   # roof clearing, props: +30% capacity (assumption)
    frost_protection_c: Annotated[float, Field(ge=0, le=30)] = 1.5   # covers, irrigation, early harvest (assumption)
    pipe_risk_cut: Share = 0.5


class Measures(Frozen):
    """Prevention measures of a plan (off in the baseline unless the scenario says otherwise)."""

    sms_warning: SmsWarning = SmsWarning()
    risk_visits: RiskVisits = RiskVisits()
