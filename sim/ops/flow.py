"""The life of a claim, told as one SimPy process: the front line (report, triage, rescue, survey, estimate),
then its settlement (sim/ops/settle.py: documents, total loss, repair, supplement, dispute, payment, reopening).

Every random quantity comes from the claim's own keyed uniforms (`Claim.draw(Slot.X)`), so the same claim
meets the same work content, the same customer and the same luck under every plan (common random numbers).
"""

from __future__ import annotations

import math

from scipy import special

from sim.ops.claim import Claim, Slot
from sim.ops.log import SURVEY_FIELD, SURVEY_LARGE_LOSS, SURVEY_VIDEO, Ev
from sim.ops.queues import Job
from sim.ops.settle import Settlement
from sim.ops.steps import Desk, Steps, Story
from sim.vocab import TRACK_CODES, WATER_INCIDENTS


class ClaimStory(Steps):
    """Reads the operation's configuration and walks each claim through it."""

    def __init__(self, op: Desk) -> None:
        super().__init__(op)
        self.settlement = Settlement(op)

    # ------------------------------------------------------------------ the story

    def life(self, claim: Claim, report_at_h: float) -> Story:
        env, log = self.env, self.log
        cid = claim.claim_id
        yield from self.wait(report_at_h - env.now)
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
        needs_survey = claim.track in ("video", "field", "large_loss")
        waived = needs_survey and claim.estimate <= ops.triage.waive_survey_max_loss
        documents_h = float(ops.service.documents_h[claim.track].ppf(claim.draw(Slot.DOCS)))
        if needs_survey and not waived:  # a surveyed claim also needs the weather certificate
            documents_h += float(ops.service.weather_certificate_h.ppf(claim.draw(Slot.WEATHER_CERT)))
        documents_at = env.now + documents_h
        covered = (claim.loss_amount > ops.outcomes.deductible
                   and claim.draw(Slot.NOT_COVERED) >= ops.outcomes.not_covered_share)
        priority = ops.triage.priority[claim.track]

        if claim.draw(Slot.RESCUE) < ops.rescue_share.get(claim.incident_type, 0.0):
            yield from self.work(claim, "tow", Ev.TOW_START, Ev.TOW_END,
                                 self.site_visit(claim, claim.draw(Slot.TOW_DISTANCE_R),
                                                 float(ops.service.tow_onsite_min.ppf(claim.draw(Slot.TOW_ONSITE)))
                                                 / 60.0), priority=0)
        if waived:
            log.add(env.now, cid, Ev.SURVEY_WAIVED)
        elif claim.track == "video":
            minutes = float(ops.service.video_survey_min.ppf(claim.draw(Slot.VIDEO)))
            yield from self.minutes(claim, "video_survey", Ev.SURVEY_START, Ev.SURVEY_END, minutes, priority,
                                    value=SURVEY_VIDEO)
        elif claim.track in ("field", "large_loss"):
            yield from self.reach(claim)
            if claim.track == "large_loss" and self.op.models("senior_adjuster"):
                yield from self.large_loss_visits(claim, priority, covered)
            else:
                onsite_h = float(ops.service.field_onsite_min.ppf(claim.draw(Slot.FIELD_ONSITE))) / 60.0
                yield from self.work(claim, "field_survey", Ev.SURVEY_START, Ev.SURVEY_END,
                                     self.site_visit(claim, claim.draw(Slot.DISTANCE_R), onsite_h), priority,
                                     value=SURVEY_FIELD, rank=self.dispatch_rank(claim))
        prepayment = self.advance(claim, covered)
        handoff = float(self.ops.handoff_h.assessment.ppf(claim.draw(Slot.HANDOFF_ASSESS)))
        if handoff > 0:
            self.stage(claim, "assessment")
            yield from self.wait(handoff)
        minutes = float(self.ops.service.assessment_min[claim.track].ppf(claim.draw(Slot.ASSESS)))
        yield from self.minutes(claim, "assessment", Ev.ASSESSMENT_START, Ev.ASSESSMENT_END, minutes, priority)
        if not covered:
            log.add(env.now, cid, Ev.CLOSED_NO_PAYMENT)
            return
        yield from self.settlement.settle(claim, priority, documents_at, prepayment)

    # ------------------------------------------------------------------ reporting

    def phone_report(self, claim: Claim) -> Story:
        """Call until answered, with patience, abandonment and retrial; maybe fall back to the app at once, or
        come back later by another channel (app, WeChat, an agent); the rest never report."""
        env, log, phone = self.env, self.log, self.ops.phone
        queue = self.op.queue("phone", claim.region)
        for attempt in range(phone.max_attempts):
            log.add(env.now, claim.claim_id, Ev.CALL_PLACED, value=attempt)
            handling_h = float(phone.handling_min.ppf(claim.call_slot(attempt, 0))) / 60.0
            job = Job(env, claim, Ev.CALL_ANSWERED, Ev.CALL_ENDED, handling_h)
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
            yield from self.wait(float(phone.retry_delay_min.ppf(claim.call_slot(attempt, 3))) / 60.0)
        if claim.draw(Slot.FALLBACK) < phone.fallback_to_app_share:
            log.add(env.now, claim.claim_id, Ev.APP_REPORT)
            return True
        back = self.ops.claim_life.come_back
        if claim.draw(Slot.COME_BACK) < back.share:
            yield from self.wait(float(back.delay_h.ppf(claim.draw(Slot.COME_BACK_DELAY))))
            log.add(env.now, claim.claim_id, Ev.CAME_BACK)
            log.add(env.now, claim.claim_id, Ev.APP_REPORT)
            return True
        log.add(env.now, claim.claim_id, Ev.GAVE_UP)
        return False

    # ------------------------------------------------------------------ survey

    def reach(self, claim: Claim) -> Story:
        """A surveyor reaches flooded property only once the water is down (the claim waits in the survey stage)."""
        if claim.incident_type not in WATER_INCIDENTS:
            return
        hz = self.op.hazard
        now = min(int(self.env.now), hz.hours - 1)
        dry = hz.dry_from(claim.region, now, self.ops.claim_life.access.max_depth_cm)
        if dry > self.env.now:
            self.stage(claim, "survey")
            yield from self.wait(dry - self.env.now)

    def large_loss_visits(self, claim: Claim, priority: int, covered: bool) -> Story:
        """Senior or independent adjusters: several visits, an interim payment after the first (when pre-payment
        is off), and business-interruption accounting before the estimate."""
        life = self.ops.claim_life.large_loss
        for k in range(life.visits):
            minutes = float(life.visit_min.ppf(claim.visit_slot(k, 0)))
            yield from self.work(claim, "senior_adjuster", Ev.SURVEY_START, Ev.SURVEY_END,
                                 self.site_visit(claim, claim.draw(Slot.DISTANCE_R), minutes / 60.0), priority,
                                 value=SURVEY_LARGE_LOSS)
            if k == 0 and covered and not self.ops.prepayment.enabled and life.interim_share > 0:
                self.pay(claim, min(life.interim_share * claim.estimate, self.payable(claim)), closes=False)
            if k + 1 < life.visits:
                self.stage(claim, "survey")
                yield from self.wait(float(life.between_visits_h.ppf(claim.visit_slot(k, 1))))
        if claim.bi_cover and claim.draw(Slot.BI) < self.bi_share(claim):
            self.stage(claim, "assessment")
            yield from self.wait(float(life.bi_accounting_h.ppf(claim.draw(Slot.BI_ACCOUNTING))))
            self.log.add(self.env.now, claim.claim_id, Ev.BI_ACCOUNTED)

    def bi_share(self, claim: Claim) -> float:
        """Share of covered firms whose physical damage also stopped the business."""
        if claim.incident_type == "business_interruption":
            return 1.0
        return float(getattr(getattr(self.op.scenario.vulnerability, claim.population, None),
                             "bi_after_damage_share", 0.0))

    def advance(self, claim: Claim, covered: bool) -> object | None:
        """Pre-payment of a large loss (a share of the surveyed estimate), as its own process; None if none."""
        pre = self.ops.prepayment  # a pre-payment started by a decision applies to large losses surveyed from then
        if not (pre.enabled and covered and claim.track == "large_loss" and claim.estimate >= pre.min_loss):
            return None
        amount = max(min(pre.share * claim.estimate, self.payable(claim)) - claim.paid, 0.0)
        return self.env.process(self.prepay(claim, amount))

    def prepay(self, claim: Claim, amount: float) -> Story:
        yield from self.wait(float(self.ops.service.payment_lag_h.ppf(claim.draw(Slot.PREPAY_LAG))))
        claim.paid += amount
        self.log.add(self.env.now, claim.claim_id, Ev.PREPAYMENT, value=amount)

    # ------------------------------------------------------------------ rules

    def triage(self, claim: Claim) -> str:
        """Grade the claim onto a track from its estimated loss, its incident type and its channel."""
        tri = self.ops.triage
        claim.estimate = claim.loss_amount * math.exp(tri.estimate_error_sigma
                                                      * special.ndtri(claim.draw(Slot.ESTIMATE)))
        est, kind = claim.estimate, claim.incident_type
        if est >= tri.large_loss_min:
            return "large_loss"
        commercial = self.ops.claim_life.large_loss.commercial_min
        if claim.population == "firms" and (est >= commercial or kind == "business_interruption") \
                and kind != "everyday":
            return "large_loss"
        if tri.fast_track.enabled and est <= tri.fast_track.max_loss and kind in tri.fast_track.incident_types:
            return "fast_track"
        video_ok = tri.video.enabled and kind in tri.video.incident_types and self.op.has_capacity(
            "video_survey", claim.region)
        if video_ok and (est <= tri.video.max_loss or claim.channel == "video"):
            return "video"
        return "field"

    def dispatch_rank(self, claim: Claim) -> float:
        """Queue order among field surveys of equal priority (0 for first come, first served)."""
        rule = self.ops.dispatch
        if rule == "first_come":
            return 0.0
        distance = math.sqrt(claim.draw(Slot.DISTANCE_R))  # share of the service radius
        if rule == "nearest":
            return distance
        # remote and snow-bound first: far claims, and claims where the roads are worst, go first
        road = float(self.op.hazard.road_index[claim.region, min(int(self.env.now), self.op.hazard.hours - 1)])
        return -(distance + road)
