"""What each decision of an exercise was worth: the exercise against its no-decision counterfactual, over seeds.

For decision i the counterfactual is the same exercise (scenario, plan, injects, every other action) without
decision i, to the same hour. One seed is one storm's luck, so the pair is replayed with several seeds (the
exercise's own first): the paired differences give a mean and a 95% interval (sim.stats). Where the interval
covers zero the seeds disagree, and the report says "no detectable difference", never "better" or "worse".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim import fmt
from sim.exercise import Exercise
from sim.exercise_log import ExerciseLog
from sim.figures import Figure, figure
from sim.scenario import ScenarioFile
from sim.stats import Interval, differs, paired_t

NO_DIFFERENCE = "no detectable difference"
# The figures a decision's worth is weighed on (units: claims, hours, share, money). Not open claims or the peak
# backlog: a decision that gets more customers through on the phone opens more claims, which is no harm.
WEIGHED: tuple[Figure, ...] = tuple(figure(n) for n in (
    "claims_settled", "latency_p50", "latency_p90", "first_contact_mean", "first_payment_mean", "abandonment",
    "lost_customers", "cost"))
ALL_DECISIONS = -1


@dataclass(frozen=True)
class Effect:
    """One figure: the exercise minus its counterfactual, over seeds."""

    figure: Figure
    interval: Interval
    p: float

    @property
    def verdict(self) -> str:
        if not differs(self.interval):
            return NO_DIFFERENCE
        return self.figure.verdict(self.interval.mean)

    def shown(self, currency: str = "CNY") -> str:
        """'-12.3 h (95% CI -20.1 h to -4.5 h)', or the mean alone when there is no interval."""
        i = self.interval
        if i.n == 0:
            return fmt.NA
        mean = self.figure.format_diff(i.mean, currency)
        if i.n < 2 or i.low != i.low:
            return mean
        return f"{mean} ({self.figure.format_diff(i.low, currency)} to {self.figure.format_diff(i.high, currency)})"


@dataclass(frozen=True)
class DecisionWorth:
    """A decision (or all of them together: index -1) and its effect on each weighed figure."""

    index: int
    title: str
    hour: int
    by: str
    effects: list[Effect]
    seeds: list[int]

    def detectable(self) -> list[Effect]:
        return [e for e in self.effects if e.verdict != NO_DIFFERENCE]


def seeds_for(log: ExerciseLog, n: int) -> list[int]:
    """The exercise's own seed and the next n-1."""
    return [log.seed + k for k in range(n)]


def decision_worth(log: ExerciseLog, file: ScenarioFile, n_seeds: int = 5,
                   progress: Callable[[int, int], None] | None = None) -> list[DecisionWorth]:
    """Every decision of the log weighed against the same exercise without it, and all of them together
    against none of them, each over `n_seeds` seeds, at the hour the exercise reached."""
    decisions = [i for i, a in enumerate(log.actions) if a.kind == "decision"]
    if not decisions:
        return []
    seeds = seeds_for(log, n_seeds)
    runs = len(seeds) * (len(decisions) + 2)
    done = 0
    diffs: dict[int, dict[str, list[float]]] = {i: {f.key: [] for f in WEIGHED} for i in [*decisions, ALL_DECISIONS]}

    def figures_of(actions: list | None, seed: int) -> dict:
        nonlocal done
        changed = log.model_copy(update={"seed": seed, "notes": [], "improvements": [],
                                         **({} if actions is None else {"actions": actions})})
        fig = Exercise.replay(changed, file).figures()
        done += 1
        if progress is not None:
            progress(done, runs)
        return fig

    for seed in seeds:
        played = figures_of(None, seed)
        without_all = figures_of([a for a in log.actions if a.kind != "decision"], seed)
        for i in [*decisions, ALL_DECISIONS]:
            other = without_all if i == ALL_DECISIONS else figures_of(log.actions[:i] + log.actions[i + 1:], seed)
            for f in WEIGHED:
                a, b = f.value(played), f.value(other)
                diffs[i][f.key].append(float("nan") if a is None or b is None else a - b)
    out = []
    for i in [*decisions, ALL_DECISIONS]:
        effects = []
        for f in WEIGHED:
            interval, p = paired_t(diffs[i][f.key])
            effects.append(Effect(f, interval, p))
        if i == ALL_DECISIONS:
            out.append(DecisionWorth(i, "All decisions together", 0, "", effects, seeds))
        else:
            d = log.actions[i].decision
            assert d is not None
            out.append(DecisionWorth(i, d.title, log.actions[i].hour, d.by, effects, seeds))
    return out
