"""After-action report of a tabletop exercise: timeline, figures achieved, and what the decisions were worth.

The counterfactual is the same exercise (same scenario, plan, seed and injects, including injects fired by
hand) with no decisions, run to the same hour: the difference between the two is what the room's decisions
did, not noise. The same report comes from the page (download) and from `claimsim tabletop --replay`.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from sim.exercise import Exercise

# (label, getter, unit, lower is better)
KEY_FIGURES: list[tuple[str, str, str, bool]] = [
    ("claims reported", "claims_total", "", True),
    ("claims settled", "claims_settled", "", False),
    ("claims open", "claims_open", "", True),
    ("settlement latency p50", "settlement_latency_hours.p50", "h", True),
    ("settlement latency p90", "settlement_latency_hours.p90", "h", True),
    ("settlement latency mean", "settlement_latency_hours.mean", "h", True),
    ("time to first contact, mean", "first_contact_hours.mean", "h", True),
    ("time to first payment, mean", "first_payment_hours.mean", "h", True),
    ("phone abandonment", "abandonment_rate", "share", True),
    ("phone service level (20 s)", "service_level_20s", "share", False),
    ("peak backlog", "backlog.peak", "", True),
    ("cost", "cost.total", "currency", True),
]
PLOT_DPI = 90
PNG_META = {"Software": None}  # no version string in the files: the same figures give the same bytes


def get(figures: dict[str, Any], path: str) -> float | None:
    node: Any = figures
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if node is None else float(node)


def _fmt(v: float | None, unit: str) -> str:
    if v is None or v != v:
        return "n/a"
    if unit == "share":
        return f"{100 * v:.1f}%"
    if unit == "h":
        return f"{v:.1f} h"
    return f"{v:,.0f}"


def figure_rows(ex: Exercise, cf: Exercise) -> list[dict[str, Any]]:
    """Key figures of the exercise, of its counterfactual with no decisions, and the difference."""
    a, b = ex.figures(), cf.figures()
    rows = []
    for label, path, unit, lower in KEY_FIGURES:
        x, y = get(a, path), get(b, path)
        diff = None if x is None or y is None or x != x or y != y else x - y
        better = None if not diff else ((diff < 0) == lower)
        rows.append({"figure": label, "key": path, "unit": unit, "exercise": x, "no_decisions": y, "difference": diff,
                     "decisions_helped": better})
    return rows


def timeline(ex: Exercise) -> list[dict[str, Any]]:
    """Injects and decisions in the order they took effect, with the simulated time."""
    import datetime as dt

    start = ex.model.spec.start
    out = []
    for item in ex.feed:
        if item.kind in ("inject", "decision"):
            out.append({"hour": item.hour, "time": (start + dt.timedelta(hours=item.hour)).strftime("%d %b %H:%M"),
                        "kind": item.kind, "text": item.text})
    for action in ex.actions:
        if action.kind == "decision" and action.decision is not None:
            d = action.decision
            for row in out:
                if row["kind"] == "decision" and row["hour"] == action.hour and row["text"].startswith(d.title) \
                        and "why" not in row:
                    row.update(by=d.by, why=d.why, wall_time=d.wall_time)
                    break
    return out


def plots(ex: Exercise, cf: Exercise) -> dict[str, bytes]:
    """PNG bytes of the report's plots."""
    out: dict[str, bytes] = {}
    s, c = ex.series(), cf.series()
    marks = [(i["hour"], i["kind"]) for i in timeline(ex)]

    def mark(ax: Any) -> None:
        for h, kind in marks:
            ax.axvline(h, color="tab:red" if kind == "decision" else "tab:purple", lw=0.8, ls="--", alpha=0.7)

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(s["hour"], s["backlog_open"], label="exercise (with decisions)", color="C0")
    ax.plot(c["hour"], c["backlog_open"], label="same storm, no decisions", color="C7", ls=":")
    mark(ax)
    ax.set_xlabel("hour of the exercise")
    ax.set_ylabel("open claims")
    ax.set_title("Backlog: dashed lines are decisions (red) and injects (purple)")
    ax.legend(loc="upper left")
    out["backlog.png"] = _png(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    storm = ex.storm()
    for i, region in enumerate(storm.columns):
        ax.plot(np.arange(len(storm)), storm[region], color=f"C{i}", label=region)
    ax.axvline(ex.hour, color="k", lw=1)
    mark(ax)
    ax.set_xlabel("hour of the exercise")
    ax.set_ylabel("snowfall cm/h + ice mm/h")
    ax.set_title("Storm by region (black line: the hour reached)")
    ax.legend(loc="upper right")
    out["storm.png"] = _png(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    for i, role in enumerate(("phone", "field_survey", "assessment", "approval")):
        ax.plot(s["hour"], s[f"waiting_{role}"], color=f"C{i}", label=f"waiting: {role}")
        ax.plot(s["hour"], s[f"on_duty_{role}"], color=f"C{i}", ls=":", label=f"on duty: {role}")
    mark(ax)
    ax.set_xlabel("hour of the exercise")
    ax.set_ylabel("jobs waiting / staff on duty")
    ax.set_title("Queues and staff on duty by role")
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    out["queues.png"] = _png(fig)
    return out


def _png(fig: Any) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI, metadata=PNG_META)
    plt.close(fig)
    return buf.getvalue()


def summary(ex: Exercise, cf: Exercise | None = None) -> dict[str, Any]:
    """Everything in the report as data (figures.json): deterministic for a given exercise log."""
    cf = cf or ex.counterfactual()
    return {"scenario": ex.model.spec.name, "scenario_sha256": ex.file.sha256, "plan": ex.plan, "seed": ex.seed,
            "reached_h": ex.hour, "clock": ex.clock().isoformat(), "figures": ex.figures(),
            "counterfactual_figures": cf.figures(), "comparison": figure_rows(ex, cf),
            "timeline": [{k: v for k, v in row.items() if k != "wall_time"} for row in timeline(ex)],
            "feed": [f.line() for f in ex.feed]}


def report_markdown(ex: Exercise, images: str = "inline", cf: Exercise | None = None,
                    pngs: dict[str, bytes] | None = None) -> str:
    """The report in Markdown; plots inline as data URIs (a single file) or as `images="files"` links."""
    cf = cf or ex.counterfactual()
    pngs = pngs if pngs is not None else plots(ex, cf)

    def img(name: str, alt: str) -> str:
        if images == "files":
            return f"![{alt}]({name})"
        return f"![{alt}](data:image/png;base64,{base64.b64encode(pngs[name]).decode()})"

    spec = ex.model.spec
    lines = [f"# After-action report: {spec.name}", "",
             f"Plan `{ex.plan}`, seed {ex.seed}; played to hour {ex.hour} of {ex.horizon} "
             f"({ex.clock():%d %b %Y %H:%M}). Scenario sha256 `{ex.file.sha256[:12]}`.", "",
             "## Timeline", ""]
    tl = timeline(ex)
    if not tl:
        lines.append("No injects fired and no decisions taken.")
    else:
        lines += ["| hour | time | what | detail |", "|---|---|---|---|"]
        for row in tl:
            who = f" - proposed by {row['by']}" if row.get("by") else ""
            why = f"; why: {row['why']}" if row.get("why") else ""
            lines.append(f"| {row['hour']} | {row['time']} | {row['kind']} | {row['text']}{who}{why} |")
    lines += ["", "## Figures achieved, and the same storm with no decisions", "",
              "Same scenario, plan, seed and injects, with none of the room's decisions, to the same hour.", "",
              "| figure | exercise | no decisions | difference |", "|---|---|---|---|"]
    for r in figure_rows(ex, cf):
        d = r["difference"]
        diff = "n/a" if d is None else ("0" if d == 0 else (
            f"{'+' if d > 0 else '-'}{_fmt(abs(d), r['unit'])}" + (" (better)" if r["decisions_helped"] else
                                                                    " (worse)")))
        lines.append(f"| {r['figure']} | {_fmt(r['exercise'], r['unit'])} | {_fmt(r['no_decisions'], r['unit'])} "
                     f"| {diff} |")
    lines += ["", img("backlog.png", "backlog"), "", img("storm.png", "storm"), "", img("queues.png", "queues"), "",
              "## Feed", ""]
    lines += [f"- {f.line()}" for f in ex.feed] or ["(empty)"]
    lines += ["", "## Reproduce", "",
              "Save the exercise log and run `claimsim tabletop SCENARIO --replay exercise-log.yaml --out DIR`: the "
              "same figures, byte for byte.", ""]
    return "\n".join(lines)


def report_html(ex: Exercise, cf: Exercise | None = None) -> str:
    """A self-contained HTML page of the report (plots embedded)."""
    md = report_markdown(ex, "inline", cf)
    body = []
    in_table = False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
                body.append("<tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>")
            else:
                body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("![") and "](data:" in line:
            alt, src = line[2:].split("](", 1)
            body.append(f'<p><img alt="{html.escape(alt)}" src="{src[:-1]}"></p>')
        elif line.startswith("- "):
            body.append(f"<div>{html.escape(line[2:])}</div>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('`', '')}</p>")
    if in_table:
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}img{max-width:100%}")
    title = html.escape(f"After-action report: {ex.model.spec.name}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def write_report(ex: Exercise, out: Path, force: bool = False) -> Path:
    """Write report.md (+ PNGs), report.html, figures.json and exercise-log.yaml into `out` (atomically; a
    folder claimsim did not write is refused unless `force`, and then only added to)."""
    from sim.files import atomic_dir

    out = Path(out)
    with atomic_dir(out, force) as tmp:
        cf = ex.counterfactual()
        pngs = plots(ex, cf)
        for name, data in pngs.items():
            (tmp / name).write_bytes(data)
        (tmp / "report.md").write_text(report_markdown(ex, "files", cf, pngs))
        (tmp / "report.html").write_text(report_html(ex, cf))
        (tmp / "figures.json").write_text(json.dumps(summary(ex, cf), indent=2, sort_keys=True, default=_json) + "\n")
        (tmp / "exercise-log.yaml").write_text(ex.log_yaml())
    return out


def _json(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x))
