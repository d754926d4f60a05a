"""Exercise objectives measured on an exercise: met, partly met or not met, each with its figure.

An objective's value is a registry figure, an hourly series taken at its worst hour (or last), possibly per
region, or the share of customers reached within so many hours (sim/situation.py). Met: the value meets the
target; partly met: it meets the looser `partly` bound; not met: neither; not measured: no value yet (no claim
old enough, say). Strengths and areas for improvement are derived from these and from the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim import fmt
from sim.exercise_file import Objective
from sim.figures import figure
from sim.situation import STAGE_SHORT, bottlenecks, open_by_region, share_within

if TYPE_CHECKING:
    from sim.exercise import Exercise

MET, PARTLY, NOT_MET, UNMEASURED = "met", "partly met", "not met", "not measured"


@dataclass(frozen=True)
class ObjectiveResult:
    objective: Objective
    value: float | None
    unit: str
    status: str
    where: str = ""  # the hour (and region) of a series' worst value

    def shown(self, x: float | None = None, currency: str = "CNY") -> str:
        return fmt.value(self.value if x is None else x, self.unit, currency)

    def sentence(self, currency: str = "CNY") -> str:
        o = self.objective
        target = ("at most " if o.lower_is_better else "at least ") + self.shown(o.target, currency)
        got = "no value yet" if self.value is None else self.shown(currency=currency) + (
            f" ({self.where})" if self.where else "")
        return f"{o.id} {o.title}: {self.status} - {got}; target {target}."


def _status(o: Objective, value: float | None) -> str:
    if value is None:
        return UNMEASURED
    ok = (lambda bound: value <= bound) if o.lower_is_better else (lambda bound: value >= bound)
    return MET if ok(o.target) else (PARTLY if ok(o.partly_bound) else NOT_MET)


def measure(ex: Exercise, o: Objective) -> tuple[float | None, str, str]:
    """The objective's value on the exercise so far, its unit, and where a series took it."""
    start = ex.model.spec.start
    if o.figure is not None:
        f = figure(o.figure)
        return f.value(ex.figures()), f.unit, ""
    if o.within is not None:
        value, n = share_within(ex.claims(), o.within.event, o.within.hours, ex.hour)
        return value, "share", (f"{fmt.number(n)} customers reported at least {fmt.number(o.within.hours)} h "
                                "before the end" if n else "")
    assert o.series is not None
    s = ex.series()
    if o.per_region:
        table = open_by_region(ex.claims(), ex.hour, ex.model.spec.region_ids)
        columns = {r: table[r] for r in ex.model.spec.region_ids}
    else:
        columns = {"": s[o.series]} if o.series in s else {}
    best: tuple[float, str] | None = None
    for region, col in columns.items():
        if not len(col):
            continue
        pick = {"max": col.idxmax, "min": col.idxmin, "final": lambda c=col: c.index[-1]}[o.over]()
        v = float(col[pick])
        where = (f"{region}, " if region else "") + f"at {fmt.when(start, int(pick) + 1)}"
        worse = best is None or (v > best[0] if o.over != "min" else v < best[0])
        if worse:
            best = (v, where)
    if best is None:
        return None, "claims", ""
    return best[0], "claims", best[1]


def evaluate(ex: Exercise, objectives: list[Objective]) -> list[ObjectiveResult]:
    """Every objective measured on the exercise at its current hour."""
    out = []
    for o in objectives:
        value, unit, where = measure(ex, o)
        out.append(ObjectiveResult(o, value, unit, _status(o, value), where))
    return out


# ---------------------------------------------------------------------------- strengths and areas

SERVICE_LEVEL_GOOD = 0.8   # the call-centre norm: 80% of calls answered within 20 s
ABANDONMENT_HIGH = 0.2


def strengths_and_areas(ex: Exercise, results: list[ObjectiveResult],
                        worth: list[tuple[str, str, str, str]] | None = None) -> tuple[list[str], list[str]]:
    """Strengths and areas for improvement derived from the objectives, the figures and the decisions' worth
    (`worth`: decision title, figure label, verdict 'better'/'worse', the difference as shown, for detectable
    differences only)."""
    currency = ex.model.spec.currency
    strengths, areas = [], []
    for r in results:
        if r.status == MET:
            strengths.append(f"Objective {r.sentence(currency)}")
        elif r.status in (PARTLY, NOT_MET):
            areas.append(f"Objective {r.sentence(currency)}")
    f = ex.figures()
    sl, ab = figure("service_level_20s").value(f), figure("abandonment").value(f)
    if sl is not None and sl >= SERVICE_LEVEL_GOOD:
        strengths.append(f"The phone line held: {fmt.share(sl)} of calls answered within 20 s.")
    elif sl is not None:
        areas.append(f"The phone line was overwhelmed: only {fmt.share(sl)} of calls answered within 20 s.")
    if ab is not None and ab > ABANDONMENT_HIGH:
        areas.append(f"{fmt.share(ab)} of callers hung up before being answered.")
    stages = [b for b in bottlenecks(ex.series()) if b is not None]
    if stages:
        worst = max(set(stages), key=stages.count)
        areas.append(f"The {STAGE_SHORT[worst]} stage was the bottleneck in {stages.count(worst)} of {ex.hour} hours: "
                     "the capacity there decides how fast claims settle.")
    for title, what, verdict, shown in worth or []:
        better = verdict == "better"
        (strengths if better else areas).append(
            f"'{title}' {'improved' if better else 'worsened'} {what}: {shown}, a detectable difference over the "
            "seeds tried.")
    if not strengths:
        strengths.append("No figure stood out as a strength in this exercise.")
    return strengths, areas
