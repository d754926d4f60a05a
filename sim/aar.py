"""After-action report and improvement plan of a tabletop exercise (HTML and Markdown, printable).

Sections: the exercise in brief; each objective met, partly met or not met with its figure; strengths and
areas for improvement derived from the figures; the timeline; the MSEL with the actions expected and those
taken; what each decision was worth against the same exercise without it, over several seeds with intervals
("no detectable difference" where the seeds disagree); the figures at the end of play; one chart per figure;
the hot-wash notes; and the improvement plan (action, owner, due date). The same report comes from the page
and from `claimsim tabletop --replay`, and the same log always gives the same bytes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import fmt
from sim.aar_charts import Chart, Line, draw, series_line
from sim.aar_render import Block, render_html, render_markdown
from sim.exercise_log import beside
from sim.figures import figure
from sim.injects import inject_text
from sim.objectives import evaluate, strengths_and_areas
from sim.situation import STAFFED, STAGE_SHORT, marks
from sim.worth import ALL_DECISIONS, NO_DIFFERENCE, DecisionWorth, decision_worth

if TYPE_CHECKING:
    from sim.exercise import Exercise
    from sim.exercise_file import Drill

FINAL_FIGURES = ("claims", "claims_settled", "claims_open", "latency_p50", "latency_p90", "first_contact_mean",
                 "first_payment_mean", "paid_7d", "abandonment", "service_level_20s", "lost_customers",
                 "peak_backlog", "cost")
DEFAULT_SEEDS = 5
BLANK_PLAN_ROWS = 3


def drill_of(ex: Exercise) -> Drill | None:
    """The exercise file the exercise was played from, if any."""
    if not ex.exercise_path:
        return None
    from sim.exercise_file import load_exercise

    return load_exercise(ex.exercise_path)


def charts(ex: Exercise, cf: Exercise) -> dict[str, bytes]:
    """PNG bytes of the report's charts, one figure each."""
    s, c = ex.series(), cf.series()
    spec = ex.model.spec
    played, none = "as played", "same storm, no decisions"
    made = [
        Chart("open-claims.png", "Open claims (reported, not yet settled)", "claims",
              [series_line(played, s, "backlog_open"), series_line(none, c, "backlog_open")]),
        Chart("settled.png", "Claims settled so far", "claims",
              [series_line(played, s, "settled", cumulative=True), series_line(none, c, "settled", cumulative=True)]),
        Chart("phone-waiting.png", "Customers waiting on the phone", "customers",
              [series_line(played, s, "waiting_phone"), series_line(none, c, "waiting_phone")]),
        Chart("stages.png", "Claims at each stage, as played", "claims",
              [series_line(STAGE_SHORT[st], s, f"backlog_{st}") for st in STAFFED]),
        Chart("staff.png", "Staff on duty by role, as played", "people",
              [series_line(figure_label(r), s, f"on_duty_{r}") for r in spec.operations.staff]),
    ]
    storm = ex.storm()
    made.append(Chart("storm.png", "Snowfall by region (as known at the end of play)", "cm per hour",
                      [Line(r, np.arange(len(storm), dtype=float), storm[r].to_numpy(dtype=float))
                       for r in storm.columns]))
    mk = marks(ex)
    return {ch.name: draw(ch, spec.start, ex.horizon, mk, ex.hour) for ch in made}


def figure_label(role: str) -> str:
    from sim.vocab import ROLE

    return ROLE[role].label


def build(ex: Exercise, cf: Exercise | None = None, drill: Drill | None = None, n_seeds: int | None = None,
          worth: list[DecisionWorth] | None = None,
          progress: Callable[[int, int], None] | None = None) -> tuple[list[Block], dict[str, bytes], dict[str, Any]]:
    """The report as blocks, its charts, and everything in it as data (figures.json)."""
    cf = cf or ex.counterfactual()
    drill = drill if drill is not None else drill_of(ex)
    spec = ex.model.spec
    cur = spec.currency
    seeds = n_seeds or (drill.spec.evaluation.seeds if drill else DEFAULT_SEEDS)
    window = drill.spec.evaluation.response_window_h if drill else 6
    worth = worth if worth is not None else decision_worth(ex.log(), ex.file, seeds, progress)
    results = evaluate(ex, drill.spec.objectives) if drill else []
    detected = [(w.title, e.figure.label, e.verdict, e.shown(cur)) for w in worth if w.index != ALL_DECISIONS
                for e in w.detectable() if e.verdict in ("better", "worse")]
    strengths, areas = strengths_and_areas(ex, results, detected)
    mk = marks(ex)
    title = drill.spec.title if drill else spec.name
    blocks = [Block("h1", f"After-action report: {title}"),
              Block("p", f"Scenario {spec.name}, plan {ex.plan}, seed {ex.seed}; played from "
                         f"{fmt.when(spec.start, 0)} to {fmt.when(spec.start, ex.hour)} (hour {ex.hour} of "
                         f"{ex.horizon}). Scenario sha256 {ex.file.sha256[:12]}.")]
    if drill and drill.spec.description:
        blocks.append(Block("p", drill.spec.description.strip()))

    blocks.append(Block("h2", "Objectives"))
    if results:
        blocks.append(Block("table", header=["", "objective", "capability", "target", "result", "status"], rows=[
            [r.objective.id, r.objective.title, r.objective.capability or "-",
             ("at most " if r.objective.lower_is_better else "at least ") + r.shown(r.objective.target, cur)
             + f" (partly: {r.shown(r.objective.partly_bound, cur)})",
             "n/a" if r.value is None else r.shown(currency=cur) + (f" ({r.where})" if r.where else ""),
             r.status.upper()] for r in results]))
    else:
        blocks.append(Block("p", "This exercise had no exercise file, so no objectives were set."))
    blocks += [Block("h2", "Strengths"), Block("list", items=strengths),
               Block("h2", "Areas for improvement"), Block("list", items=areas or ["None found in the figures."])]

    blocks.append(Block("h2", "Timeline"))
    if mk:
        blocks.append(Block("table", header=["mark", "simulated time", "what"], rows=[
            [m.code, fmt.when(spec.start, m.hour), f"{m.kind}: {m.title}"] for m in mk]))
    else:
        blocks.append(Block("p", "No injects fired and no decisions taken."))
    blocks += msel_blocks(ex, window)
    blocks += worth_blocks(worth, seeds, cur)

    blocks += [Block("h2", "Figures at the end of play"),
               Block("p", f"This storm (seed {ex.seed}) as played, and the same storm and injects with none of the "
                          "decisions. One seed is one storm's luck: what the decisions were worth is in the section "
                          "above."),
               Block("table", header=["figure", "as played", "no decisions", "difference"], rows=[
                   [f.label, f.format(f.value(ex.figures()), cur), f.format(f.value(cf.figures()), cur),
                    _diff(f, ex.figures(), cf.figures(), cur)] for f in (figure(n) for n in FINAL_FIGURES)])]
    pngs = charts(ex, cf)
    blocks.append(Block("h2", "Charts"))
    blocks.append(Block("p", "Dashed vertical lines: injects (I) and decisions (D) of the timeline; the solid line is "
                             "the hour play stopped."))
    blocks += [Block("img", name=name) for name in pngs]

    blocks.append(Block("h2", "Hot wash: what the room said"))
    if ex.notes:
        blocks.append(Block("table", header=["simulated time", "branch", "by", "note"], rows=[
            [fmt.when(spec.start, n.hour), n.branch or "main", n.by or "-", n.text] for n in ex.notes]))
    else:
        blocks.append(Block("p", "No notes were taken during play."))
    blocks.append(Block("h2", "Improvement plan"))
    plan_rows = [[i.action, i.owner or "-", i.due.isoformat() if i.due else "-", i.objective or "-"]
                 for i in ex.improvements]
    plan_rows += [["", "", "", ""]] * (BLANK_PLAN_ROWS if not plan_rows else 0)
    blocks.append(Block("table", header=["action", "owner", "due date", "objective"], rows=plan_rows))
    blocks += [Block("h2", "Reproduce"),
               Block("p", "claimsim tabletop --replay exercise-log.yaml --out DIR re-runs this exercise from its log "
                          "and writes this report again, byte for byte.")]

    data = {"scenario": spec.name, "scenario_sha256": ex.file.sha256, "plan": ex.plan, "seed": ex.seed,
            "reached_h": ex.hour, "clock": ex.clock().isoformat(), "figures": ex.figures(),
            "counterfactual_figures": cf.figures(),
            "objectives": [{"id": r.objective.id, "title": r.objective.title, "value": r.value, "status": r.status,
                            "where": r.where} for r in results],
            "strengths": strengths, "areas_for_improvement": areas,
            "timeline": [{"code": m.code, "hour": m.hour, "kind": m.kind, "title": m.title} for m in mk],
            "decisions": [{"title": w.title, "hour": w.hour, "seeds": w.seeds, "effects": {
                e.figure.name: {"mean": e.interval.mean, "low": e.interval.low, "high": e.interval.high,
                                "verdict": e.verdict} for e in w.effects}} for w in worth],
            "notes": [n.model_dump(mode="json") for n in ex.notes],
            "improvements": [i.model_dump(mode="json") for i in ex.improvements],
            "feed": [f.line() for f in ex.feed]}
    return blocks, pngs, data


def _diff(f: Any, a: dict[str, Any], b: dict[str, Any], cur: str) -> str:
    x, y = f.value(a), f.value(b)
    return fmt.NA if x is None or y is None else f.format_diff(x - y, cur)


def msel_blocks(ex: Exercise, window_h: int) -> list[Block]:
    """The MSEL: each scheduled inject, what it was expected to change and to prompt, and the decisions taken
    within `window_h` hours of it firing."""
    if not ex.injects:
        return []
    spec = ex.model.spec
    names = {r.id: r.name or r.id for r in spec.regions}
    fired = {id(inj): hour for hour, inj, _ in ex.fired}
    decisions = [m for m in marks(ex) if m.kind == "decision"]
    rows = []
    for i, inj in enumerate(ex.injects):
        hour = fired.get(id(inj))
        by_hand = next((a.hour for a in ex.actions if a.kind == "inject" and a.scheduled == i), None)
        hour = by_hand if by_hand is not None else hour
        text = inject_text(inj, names)
        taken = [f"{m.code} {m.title}" for m in decisions if hour is not None and hour <= m.hour <= hour + window_h]
        rows.append([inj.id or f"M{i + 1}", f"{fmt.when(spec.start, inj.at_h)}: {inj.title}",
                     f"{text.description} Expected: {text.expected_effect}",
                     "; ".join(inj.expected_actions or []) or "-",
                     "not fired" if hour is None else fmt.when(spec.start, hour),
                     "; ".join(taken) or "none"])
    return [Block("h2", "Master scenario events list"),
            Block("p", f"Decisions taken are those within {window_h} hours after the inject fired."),
            Block("table", header=["", "inject", "what and expected effect", "expected player actions", "fired",
                                   "decisions taken"], rows=rows)]


def worth_blocks(worth: list[DecisionWorth], seeds: int, cur: str) -> list[Block]:
    out = [Block("h2", "What the decisions were worth")]
    if not worth:
        return out + [Block("p", "No decisions were taken.")]
    out.append(Block("p", f"Each decision against the same exercise without it (every other action kept), replayed "
                          f"with {seeds} seeds: the mean difference (as played minus without it) with its 95% "
                          f"interval. '{NO_DIFFERENCE}' where the interval covers zero (the seeds disagree)."))
    for w in worth:
        when = "" if w.index == ALL_DECISIONS else f" (hour {w.hour}" + (f", proposed by {w.by}" if w.by else "") + ")"
        out.append(Block("h3", f"{w.title}{when}"))
        out.append(Block("table", header=["figure", "difference (95% interval)", "verdict"], rows=[
            [e.figure.label, e.shown(cur), e.verdict] for e in w.effects]))
    return out


def report_markdown(ex: Exercise, images: str = "inline", cf: Exercise | None = None,
                    pngs: dict[str, bytes] | None = None, **kw: Any) -> str:
    """The report in Markdown; charts inline as data URIs (a single file) or as `images="files"` links."""
    blocks, made, _ = build(ex, cf, **kw)
    return render_markdown(blocks, pngs or made, images)


def report_html(ex: Exercise, cf: Exercise | None = None, **kw: Any) -> str:
    """A self-contained, printable HTML page of the report (charts embedded)."""
    blocks, pngs, _ = build(ex, cf, **kw)
    return render_html(blocks, pngs)


def write_report(ex: Exercise, out: Path, drill: Drill | None = None, n_seeds: int | None = None,
                 progress: Callable[[int, int], None] | None = None, force: bool = False) -> Path:
    """Write report.md (+ PNGs), report.html, figures.json and exercise-log.yaml into `out` (atomically)."""
    from sim.files import atomic_dir

    out = Path(out)
    blocks, pngs, data = build(ex, drill=drill, n_seeds=n_seeds, progress=progress)
    with atomic_dir(out, force) as tmp:
        for name, png in pngs.items():
            (tmp / name).write_bytes(png)
        (tmp / "report.md").write_text(render_markdown(blocks, pngs, "files"), encoding="utf-8")
        (tmp / "report.html").write_text(render_html(blocks, pngs), encoding="utf-8")
        (tmp / "figures.json").write_text(json.dumps(data, indent=2, sort_keys=True, default=_json) + "\n",
                                          encoding="utf-8")
        (tmp / "exercise-log.yaml").write_text(ex.log_yaml(), encoding="utf-8")
    return out


def exercise_path_for(log_path: Path, named: str | None) -> str | None:
    """The exercise file a log names, as a path to read (relative to the log's folder)."""
    return None if not named else str(beside(Path(log_path), named))


def _json(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
