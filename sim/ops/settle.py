"""After the estimate: how a claim gets settled, and sometimes unsettled again.

The long tail of a catastrophe lives here (sim/scenario/claim_life.py has every rate and duration with its
source): total losses valued, documented and paid, their salvage sold later; approval; missing documents
chased until the customer answers (or never does); disputes over the offer; repairs at shops and
contractors, waiting for a bay and for parts, where hidden damage turns up as a supplement with a
re-inspection; the final payment that closes the claim; and reopening weeks later.
"""

from __future__ import annotations

import math

from sim.ops.claim import Claim, Slot
from sim.ops.log import SURVEY_REINSPECTION, Ev
from sim.ops.steps import Steps, Story
from sim.vocab import DISPUTE_ROUTES, REPAIRED_INCIDENTS

HANDLER_CHASE, HANDLER_SUPPLEMENT, HANDLER_DISPUTE, HANDLER_REOPENED = 1, 2, 3, 4
HANDLER_MIN = {HANDLER_SUPPLEMENT: 30.0, HANDLER_DISPUTE: 60.0, HANDLER_REOPENED: 30.0}  # desk minutes (assumption)
SUPPLEMENT_ASSESS_MIN = 30.0   # re-estimating the hidden damage (assumption)
REOPENED_PAY_SHARE = 0.6       # reopened claims that end with more paid (Citizens: "supplemental payment or
                               # additional information"; assumption)


class Settlement(Steps):
    """Walks a covered, estimated claim to its closing (and through any reopening)."""

    def settle(self, claim: Claim, priority: int, documents_at: float, prepayment: object | None) -> Story:
        if self.total_loss(claim):
            yield from self.write_off(claim, priority, prepayment)
            return
        ops = self.ops
        minutes = float(ops.service.approval_min[claim.track].ppf(claim.draw(Slot.APPROVE)))
        handoff = float(ops.handoff_h.approval.ppf(claim.draw(Slot.HANDOFF_APPROVE)))
        if minutes > 0 and handoff > 0:
            self.stage(claim, "approval")
            yield from self.wait(handoff)
        if minutes > 0:
            yield from self.minutes(claim, "approval", Ev.APPROVAL_START, Ev.APPROVAL_END, minutes, priority)
        self.log.add(self.env.now, claim.claim_id, Ev.AWAITING_DOCUMENTS)
        yield from self.wait(documents_at - self.env.now)
        answered = yield from self.chase(claim, priority)
        walks_away = (prepayment is None and claim.paid == 0
                      and claim.draw(Slot.WITHDRAW) < ops.outcomes.withdraw_share)
        if not answered or walks_away:  # (a customer already paid something does not walk away)
            self.log.add(self.env.now, claim.claim_id, Ev.WITHDRAWN)
            return
        self.log.add(self.env.now, claim.claim_id, Ev.DOCUMENTS_COMPLETE)
        yield from self.dispute(claim, priority)
        life = self.ops.claim_life
        repaired = claim.incident_type in REPAIRED_INCIDENTS
        on_repair = repaired and claim.draw(Slot.PAID_ON_REPAIR) < life.repair.paid_on_repair.of(claim.population)
        if on_repair:  # paid to the shop on its invoice: the claim closes when the repair is done
            yield from self.repair(claim, priority)
            yield from self.supplement(claim, priority)
        yield from self.final_payment(claim, prepayment)
        if repaired and not on_repair and claim.draw(Slot.SUPPLEMENT) < life.supplement.share.of(claim.population):
            # paid on the estimate; the repair comes later, and its hidden damage reopens the claim
            yield from self.repair(claim, priority)
            self.reopen(claim)
            yield from self.supplement(claim, priority, found=True)
            self.pay(claim, self.payable(claim) - claim.paid, closes=True)
            return
        yield from self.reopened(claim, priority)

    # ------------------------------------------------------------------ total loss

    def total_loss(self, claim: Claim) -> bool:
        """Vehicles whose damage reaches the total-loss share of their value are written off."""
        ratio = self.ops.claim_life.total_loss.ratio
        return claim.population == "drivers" and claim.value > 0 and claim.loss_amount >= ratio * claim.value

    def write_off(self, claim: Claim, priority: int, prepayment: object | None) -> Story:
        """Valuation, the customer's total-loss documents, payment within the promised hours; salvage later."""
        tl = self.ops.claim_life.total_loss
        self.log.add(self.env.now, claim.claim_id, Ev.TOTAL_LOSS, value=claim.value)
        minutes = float(tl.valuation_min.ppf(claim.draw(Slot.TL_VALUATION)))
        yield from self.minutes(claim, "assessment", Ev.ASSESSMENT_START, Ev.ASSESSMENT_END, minutes, priority)
        self.stage(claim, "total_loss")
        yield from self.wait(float(tl.documents_h.ppf(claim.draw(Slot.TL_DOCUMENTS))))
        self.log.add(self.env.now, claim.claim_id, Ev.DOCUMENTS_COMPLETE)
        self.stage(claim, "payment")
        yield from self.wait(tl.pay_within_h * claim.draw(Slot.PAY_LAG))
        if prepayment is not None and not prepayment.triggered:  # type: ignore[attr-defined]
            yield prepayment
        self.pay(claim, self.payable(claim) - claim.paid, closes=True)
        self.env.process(self.salvage(claim))

    def salvage(self, claim: Claim) -> Story:
        tl = self.ops.claim_life.total_loss
        yield from self.wait(float(tl.salvage_h.ppf(claim.draw(Slot.TL_SALVAGE))))
        self.log.add(self.env.now, claim.claim_id, Ev.SALVAGE, value=tl.salvage_share * claim.value)

    # ------------------------------------------------------------------ documents, disputes

    def chase(self, claim: Claim, priority: int) -> Story:
        """Chase missing documents; True once the customer answers, False if they never do."""
        docs = self.ops.claim_life.documents
        if claim.draw(Slot.DOCS_MISSING) >= docs.missing_share.of(claim.population):
            return True
        for k in range(docs.max_chases):
            self.log.add(self.env.now, claim.claim_id, Ev.DOCUMENT_CHASE, value=k)
            minutes = float(docs.chase_min.ppf(claim.chase_slot(k, 0)))
            yield from self.minutes(claim, "claims_handler", Ev.HANDLER_START, Ev.HANDLER_END, minutes, priority,
                                    value=HANDLER_CHASE)
            self.stage(claim, "documents")
            if claim.chase_slot(k, 1) < docs.answer_share:
                yield from self.wait(float(docs.answer_h.ppf(claim.chase_slot(k, 2))))
                return True
            yield from self.wait(docs.chase_every_h)
        return False

    def dispute(self, claim: Claim, priority: int) -> Story:
        """The customer contests the offer: appraisal, a complaint or court, then an agreed (often higher) amount."""
        d = self.ops.claim_life.dispute
        if claim.draw(Slot.DISPUTE) >= d.share.of(claim.population):
            return
        u, acc, route = claim.draw(Slot.DISPUTE_ROUTE), 0.0, next(iter(d.routes))
        for name, share in d.routes.items():
            acc += share
            route = name
            if u < acc:
                break
        self.log.add(self.env.now, claim.claim_id, Ev.DISPUTE, value=DISPUTE_ROUTES.index(route))
        yield from self.minutes(claim, "claims_handler", Ev.HANDLER_START, Ev.HANDLER_END,
                                HANDLER_MIN[HANDLER_DISPUTE], priority, value=HANDLER_DISPUTE)
        self.stage(claim, "dispute")
        yield from self.wait(float(d.duration_h[route].ppf(claim.draw(Slot.DISPUTE_DURATION))))
        uplift = float(d.uplift.ppf(claim.draw(Slot.DISPUTE_UPLIFT))) * claim.loss_amount
        claim.extra += uplift
        self.log.add(self.env.now, claim.claim_id, Ev.DISPUTE_RESOLVED, value=uplift)

    # ------------------------------------------------------------------ repair and supplements

    def repair(self, claim: Claim, priority: int) -> Story:
        """Wait for parts (sometimes), then for a bay or a contractor, then the work itself."""
        rep = self.ops.claim_life.repair
        self.stage(claim, "repair")
        if claim.draw(Slot.PARTS) < rep.parts_share:
            yield from self.wait(float(rep.parts_h.ppf(claim.draw(Slot.PARTS_DELAY))))
        hours = float(rep.work_h.ppf(claim.draw(Slot.REPAIR_WORK)))
        yield from self.work(claim, "repair", Ev.REPAIR_START, Ev.REPAIR_END, lambda _s: hours, priority)

    def supplement(self, claim: Claim, priority: int, found: bool = False) -> Story:
        """Hidden damage found in repair: a second estimate (often after a re-inspection), and more to pay.

        `found` says the supplement is already decided (a reopened claim); otherwise its share decides.
        """
        sup = self.ops.claim_life.supplement
        if not found and claim.draw(Slot.SUPPLEMENT) >= sup.share.of(claim.population):
            return
        amount = float(sup.amount_ratio.ppf(claim.draw(Slot.SUPPLEMENT_AMOUNT))) * claim.loss_amount
        claim.extra += amount
        self.log.add(self.env.now, claim.claim_id, Ev.SUPPLEMENT, value=amount)
        self.stage(claim, "supplement")
        yield from self.minutes(claim, "claims_handler", Ev.HANDLER_START, Ev.HANDLER_END,
                                HANDLER_MIN[HANDLER_SUPPLEMENT], priority, value=HANDLER_SUPPLEMENT)
        if claim.draw(Slot.REINSPECT) < sup.reinspection_share:
            onsite_h = float(self.ops.service.field_onsite_min.ppf(claim.draw(Slot.REINSPECT_ONSITE))) / 60.0
            yield from self.work(claim, "field_survey", Ev.SURVEY_START, Ev.SURVEY_END,
                                 self.site_visit(claim, claim.draw(Slot.DISTANCE_R), onsite_h), priority,
                                 value=SURVEY_REINSPECTION)
        yield from self.minutes(claim, "assessment", Ev.ASSESSMENT_START, Ev.ASSESSMENT_END,
                                SUPPLEMENT_ASSESS_MIN * (0.5 + claim.draw(Slot.SUPPLEMENT_ASSESS)), priority)

    # ------------------------------------------------------------------ closing and reopening

    def final_payment(self, claim: Claim, prepayment: object | None) -> Story:
        self.stage(claim, "payment")
        yield from self.wait(float(self.ops.service.payment_lag_h.ppf(claim.draw(Slot.PAY_LAG))))
        if prepayment is not None and not prepayment.triggered:  # type: ignore[attr-defined]
            yield prepayment  # the balance is paid after the advance, never before
        self.pay(claim, self.payable(claim) - claim.paid, closes=True)

    def reopen(self, claim: Claim) -> None:
        self.log.add(self.env.now, claim.claim_id, Ev.REOPENED)
        self.stage(claim, "reopened")

    def reopened(self, claim: Claim, priority: int) -> Story:
        """Weeks after closure some claims reopen (damage found late, a question on the amount)."""
        r = self.ops.claim_life.reopen
        if claim.draw(Slot.REOPEN) >= r.share.of(claim.population):
            return
        yield from self.wait(float(r.after_h.ppf(claim.draw(Slot.REOPEN_AFTER))))
        self.reopen(claim)
        yield from self.minutes(claim, "claims_handler", Ev.HANDLER_START, Ev.HANDLER_END,
                                HANDLER_MIN[HANDLER_REOPENED], priority, value=HANDLER_REOPENED)
        minutes = SUPPLEMENT_ASSESS_MIN * (0.5 + claim.draw(Slot.REOPEN_WORK))
        yield from self.minutes(claim, "assessment", Ev.ASSESSMENT_START, Ev.ASSESSMENT_END, minutes, priority)
        if claim.draw(Slot.REOPEN_PAYS) < REOPENED_PAY_SHARE:
            more = 0.1 * claim.loss_amount * math.exp(claim.draw(Slot.REOPEN_AMOUNT) - 0.5)
            claim.extra += more
            self.pay(claim, self.payable(claim) - claim.paid, closes=True)
        else:
            self.log.add(self.env.now, claim.claim_id, Ev.CLOSED_NO_PAYMENT)
