"""The life of a claim, told as one SimPy process: report, triage, rescue, survey, assess, approve, pay."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

import simpy
from scipy import special

from sim.ops.claim import Claim, Slot
from sim.ops.log import Ev
from sim.ops.queues import Job
from sim.vocab import ROLE_STAGE, TRACK_CODES

if TYPE_CHECKING:
    from sim.hazard import HazardField
    from sim.ops.log import EventLog
    from sim.ops.queues import WorkQueue
    from sim.ops.staff import StaffMember
    from sim.scenario import Scenario
    from sim.scenario.operations import Operations


class Desk(Protocol):
    """What a claim's story needs of the operation (sim.ops.operation.Operation is one)."""

    env: simpy.Environment
    log: EventLog
    scenario: Scenario
    ops: Operations
    hazard: HazardField

    def queue(self, role: str, region: int) -> WorkQueue: ...

    def has_capacity(self, role: str, region: int) -> bool: ...

    def travel_factor(self, region: int, hour: int) -> float: ...

ROAD_WINDING = 1.3   # road distance over straight-line distance (assumption)
MIN_SPEED_KMH = 5.0


class ClaimStory:
    """Reads the operation's configuration and walks each claim through it."""

    def __init__(self, op: Desk) -> None:
        self.op = op
        self.env = op.env
        self.log = op.log
        self.regions = op.scenario.regions

    @property
    def ops(self) -> Any:
        """The operation's settings now (a tabletop decision may replace them)."""
        return self.op.ops

    # ------------------------------------------------------------------ the story

    def life(self, claim: Claim, report_at_h: float) -> Generator[simpy.Event, object, None]:
        env, log, ops = self.env, self.log, self.ops
        cid = claim.claim_id
        if report_at_h > env.now:
            yield env.timeout(report_at_h - env.now)
        if claim.channel == "phone":
            registered = yield from self.phone_report(claim)
            if not registered:
                return
        else:
            log.add(env.now, cid, Ev.APP_REPORT)
        log.add(env.now, cid, Ev.REGISTERED)
        ops = self.ops  # settings at registration (decisions taken since the incident apply)
        claim.track = self.triage(claim)
        log.add(env.now, cid, Ev.TRIAGED, value=TRACK_CODES[claim.track])
        u = claim.u
        needs_survey = claim.track in ("video", "field", "large_loss")
        waived = needs_survey and claim.estimate <= ops.triage.waive_survey_max_loss
        documents_h = float(ops.service.documents_h[claim.track].ppf(u[Slot.DOCS]))
        if needs_survey and not waived:  # a surveyed claim also needs the weather certificate
            documents_h += float(ops.service.weather_certificate_h.ppf(u[Slot.WEATHER_CERT]))
        documents_at = env.now + documents_h
        covered = claim.loss_amount > ops.outcomes.deductible and u[Slot.NOT_COVERED] >= ops.outcomes.not_covered_share
        priority = ops.triage.priority[claim.track]

        if u[Slot.RESCUE] < ops.rescue_share.get(claim.incident_type, 0.0):
            yield from self.work(claim, "tow", Ev.TOW_START, Ev.TOW_END, self._tow_time(claim), priority=0)
        if waived:
            log.add(env.now, cid, Ev.SURVEY_WAIVED)
        elif claim.track == "video":
            minutes = float(ops.service.video_survey_min.ppf(u[Slot.VIDEO]))
            yield from self.work(claim, "video_survey", Ev.SURVEY_START, Ev.SURVEY_END,
                                 lambda _s: minutes / 60.0, priority, value=2)
        elif claim.track in ("field", "large_loss"):
            yield from self.work(claim, "field_survey", Ev.SURVEY_START, Ev.SURVEY_END,
                                 self._survey_time(claim), priority, value=1, rank=self._dispatch_rank(claim))
        prepaid = 0.0
        prepayment = None
        ops = self.ops  # pre-payment started by a decision applies to large losses surveyed from then on
        pre = ops.prepayment
        if pre.enabled and covered and claim.track == "large_loss" and claim.estimate >= pre.min_loss:
            prepaid = min(pre.share * claim.estimate, claim.loss_amount - ops.outcomes.deductible)
            prepayment = env.process(self.prepay(claim, prepaid))
        handoff = float(ops.handoff_h.assessment.ppf(u[Slot.HANDOFF_ASSESS]))
        if handoff > 0:
            yield env.timeout(handoff)
        minutes = float(ops.service.assessment_min[claim.track].ppf(u[Slot.ASSESS]))
        yield from self.work(claim, "assessment", Ev.ASSESSMENT_START, Ev.ASSESSMENT_END,
                             lambda _s: minutes / 60.0, priority)
        if not covered:
            log.add(env.now, cid, Ev.CLOSED_NO_PAYMENT)
            return
        minutes = float(ops.service.approval_min[claim.track].ppf(u[Slot.APPROVE]))
        handoff = float(ops.handoff_h.approval.ppf(u[Slot.HANDOFF_APPROVE]))
        if minutes > 0 and handoff > 0:
            yield env.timeout(handoff)
        if minutes > 0:
            yield from self.work(claim, "approval", Ev.APPROVAL_START, Ev.APPROVAL_END,
                                 lambda _s: minutes / 60.0, priority)
        log.add(env.now, cid, Ev.AWAITING_DOCUMENTS)
        if documents_at > env.now:
            yield env.timeout(documents_at - env.now)
        if prepayment is None and u[Slot.WITHDRAW] < ops.outcomes.withdraw_share:
            log.add(env.now, cid, Ev.WITHDRAWN)  # (a pre-paid customer does not walk away)
            return
        log.add(env.now, cid, Ev.DOCUMENTS_COMPLETE)
        yield env.timeout(float(ops.service.payment_lag_h.ppf(u[Slot.PAY_LAG])))
        if prepayment is not None and not prepayment.triggered:
            yield prepayment  # the balance is paid after the advance, never before
        balance = max(claim.loss_amount - ops.outcomes.deductible - prepaid, 0.0)
        log.add(env.now, cid, Ev.PAYMENT, value=balance)

    def prepay(self, claim: Claim, amount: float) -> Generator[simpy.Event, object, None]:
        yield self.env.timeout(float(self.ops.service.payment_lag_h.ppf(claim.u[Slot.PREPAY_LAG])))
        self.log.add(self.env.now, claim.claim_id, Ev.PREPAYMENT, value=amount)

    def phone_report(self, claim: Claim) -> Generator[simpy.Event, object, bool]:
        """Call until answered, with patience, abandonment and retrial; maybe fall back to the app."""
        env, log, phone = self.env, self.log, self.ops.phone
        queue = self.op.queue("phone", claim.region)
        for attempt in range(phone.max_attempts):
            log.add(env.now, claim.claim_id, Ev.CALL_PLACED, value=attempt)
            handling_h = float(phone.handling_min.ppf(claim.call_slot(attempt, 0))) / 60.0
            job = Job(env, claim, Ev.CALL_ANSWERED, Ev.CALL_ENDED, lambda _s, h=handling_h: h)
            queue.put(job)
            if phone.patience_min is None:
                yield job.picked
            else:
                patience_h = float(phone.patience_min.ppf(claim.call_slot(attempt, 1))) / 60.0
                yield job.picked | env.timeout(patience_h)
            if job.picked.triggered:
                yield job.done
                return True
            queue.cancel(job)
            log.add(env.now, claim.claim_id, Ev.CALL_ABANDONED, value=attempt)
            if attempt + 1 == phone.max_attempts or claim.call_slot(attempt, 2) >= phone.retry_share:
                break
            yield env.timeout(float(phone.retry_delay_min.ppf(claim.call_slot(attempt, 3))) / 60.0)
        if claim.u[Slot.FALLBACK] < phone.fallback_to_app_share:
            log.add(env.now, claim.claim_id, Ev.APP_REPORT)
            return True
        log.add(env.now, claim.claim_id, Ev.GAVE_UP)
        return False

    def work(self, claim: Claim, role: str, start: Ev, end: Ev, duration, priority: int,
             value: float = float("nan"), rank: float = 0.0) -> Generator[simpy.Event, object, None]:
        """Queue a job for `role` and wait until a staff member has done it."""
        job = Job(self.env, claim, start, end, duration, value)
        self.log.add(self.env.now, claim.claim_id, Ev.QUEUED, value=ROLE_STAGE[role])
        self.op.queue(role, claim.region).put(job, priority, rank)
        yield job.done

    # ------------------------------------------------------------------ rules and times

    def triage(self, claim: Claim) -> str:
        """Grade the claim onto a track from its estimated loss, its incident type and its channel."""
        tri = self.ops.triage
        claim.estimate = claim.loss_amount * math.exp(tri.estimate_error_sigma * special.ndtri(claim.u[Slot.ESTIMATE]))
        est, kind = claim.estimate, claim.incident_type
        if est >= tri.large_loss_min:
            return "large_loss"
        if tri.fast_track.enabled and est <= tri.fast_track.max_loss and kind in tri.fast_track.incident_types:
            return "fast_track"
        video_ok = tri.video.enabled and kind in tri.video.incident_types and self.op.has_capacity(
            "video_survey", claim.region)
        if video_ok and (est <= tri.video.max_loss or claim.channel == "video"):
            return "video"
        return "field"

    def _dispatch_rank(self, claim: Claim) -> float:
        """Queue order among field surveys of equal priority (0 for first come, first served)."""
        rule = self.ops.dispatch
        if rule == "first_come":
            return 0.0
        distance = math.sqrt(float(claim.u[Slot.DISTANCE_R]))  # share of the service radius
        if rule == "nearest":
            return distance
        # remote and snow-bound first: far claims, and claims where the roads are worst, go first
        road = float(self.op.hazard.road_index[claim.region, min(int(self.env.now), self.op.hazard.hours - 1)])
        return -(distance + road)

    def _travel_h(self, claim: Claim, radius_u: float) -> float:
        region = self.regions[claim.region]
        km = region.service_radius_km * math.sqrt(radius_u) * ROAD_WINDING
        slow_down = 1.0 - float(self.op.hazard.speed_factor(int(self.env.now))[claim.region])
        factor = 1.0 - slow_down * (1.0 - self.ops.snow_chains)  # chains win back part of the slow-down
        speed = max(region.road_speed_kmh * factor, MIN_SPEED_KMH)
        return km / speed * self.op.travel_factor(claim.region, int(self.env.now))

    def _survey_time(self, claim: Claim):
        onsite_h = float(self.ops.service.field_onsite_min.ppf(claim.u[Slot.FIELD_ONSITE])) / 60.0

        def duration(_staff: StaffMember) -> float:  # travel is priced at the hour the surveyor sets off
            return self._travel_h(claim, float(claim.u[Slot.DISTANCE_R])) + onsite_h
        return duration

    def _tow_time(self, claim: Claim):
        onsite_h = float(self.ops.service.tow_onsite_min.ppf(claim.u[Slot.TOW_ONSITE])) / 60.0

        def duration(_staff: StaffMember) -> float:
            return self._travel_h(claim, float(claim.u[Slot.TOW_DISTANCE_R])) + onsite_h
        return duration
