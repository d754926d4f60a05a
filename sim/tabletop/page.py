"""The tabletop page (Solara): one exercise per browser tab, stepped hour by hour.

The facilitator steps the clock, fires injects, takes decisions, forks the exercise to try another decision
and downloads the after-action report. The page only calls the exercise API; the configuration comes from
the environment the server sets (see `sim.tabletop.config`).

State lives inside the component tree (`use_memo`/`use_reactive`), so every browser tab has its own exercise.
The exercise is a plain object: a per-tab lock guards it (the Play thread and the buttons both step it) and a
version counter tells Solara to redraw after each change.
"""

from __future__ import annotations

import html
import itertools
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import solara
from matplotlib.figure import Figure

from sim.errors import InputError
from sim.exercise import Exercise, FeedItem, read_injects
from sim.scenario import ScenarioFile, load_scenario
from sim.scenario.events import CallOut, Decision, Inject, MoveStaff
from sim.tabletop.config import ENV_HOURS, ENV_INJECTS, ENV_PLAN, ENV_SCENARIO, ENV_SEED

STAGES = ("reporting", "rescue", "survey", "assessment", "approval", "documents", "payment")
AGENT_TYPES = ("driver", "farmer", "firm")
FEED_LINES = 200
DPI = 72


# ---------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Setup:
    """What every exercise of this server starts from: scenario, plan, seed, injects and horizon."""

    file: ScenarioFile
    plan: str = "baseline"
    seed: int | None = None
    injects: list[Inject] | None = None
    hours: int | None = None

    def new_exercise(self) -> Exercise:
        return Exercise(self.file, self.plan, self.seed, injects=self.injects, hours=self.hours)


def _int_env(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number, not '{raw}'") from None


def setup_from_env(env: Mapping[str, str] | None = None) -> Setup:
    """The exercise setup from the CLAIMSIM_TABLETOP_* variables; InputError if they are missing or bad."""
    env = os.environ if env is None else env
    scenario = env.get(ENV_SCENARIO, "").strip()
    if not scenario:
        raise InputError(f"no scenario: set {ENV_SCENARIO} (start the page with `claimsim tabletop SCENARIO`)")
    file = load_scenario(Path(scenario))
    plan = env.get(ENV_PLAN, "").strip() or "baseline"
    injects_path = env.get(ENV_INJECTS, "").strip()
    injects = read_injects(Path(injects_path), file) if injects_path else None
    setup = Setup(file, plan, _int_env(env, ENV_SEED), injects, _int_env(env, ENV_HOURS))
    file.resolve(plan)  # an unknown plan fails here, with the scenario's message
    return setup


def error_line(exc: BaseException) -> str:
    """One line for the page: the input error's own line, or the first problem pydantic found."""
    if isinstance(exc, InputError):
        return exc.one_line()
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return f"{where}: {first.get('msg', exc)}" if where else str(first.get("msg", exc))
        except (IndexError, TypeError, KeyError):
            pass
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


# ---------------------------------------------------------------------------- decision presets

LEVERS: dict[str, str] = {
    "call_out": "Call out reserve staff",
    "cancel_leave": "Cancel leave",
    "roster": "Extend shifts / 24-hour duty",
    "move": "Move staff between regions",
    "fast_track": "Open the green channel / raise fast-track limit",
    "video": "Switch on video survey",
    "prepayment": "Start pre-payment",
    "sms": "Send SMS warnings",
}
LEVER_BY_LABEL = {label: key for key, label in LEVERS.items()}
LEVER_FIELDS: dict[str, tuple[str, ...]] = {
    "call_out": ("role", "region", "count"),
    "cancel_leave": ("role",),
    "roster": ("role", "roster"),
    "move": ("role", "from_region", "to_region", "count", "travel_h"),
    "fast_track": ("max_loss",),
    "video": (),
    "prepayment": (),
    "sms": (),
}


def staff_roles(spec: Any) -> list[str]:
    return list(spec.operations.staff)


def regional_roles(spec: Any) -> list[str]:
    """Roles with one pool per region (the ones that can be moved, and need a region to call out)."""
    return [r for r, s in spec.operations.staff.items() if isinstance(s.headcount, dict)]


def role_regions(spec: Any, role: str) -> list[str]:
    """The regional pools of a role ([] for a shared pool)."""
    staff = spec.operations.staff.get(role)
    if staff is None or not isinstance(staff.headcount, dict):
        return []
    return list(staff.headcount)


def build_decision(lever: str, spec: Any, *, role: str = "", region: str = "", count: int = 1, roster: str = "",
                   from_region: str = "", to_region: str = "", max_loss: float | None = None,
                   travel_h: float = 2.0, title: str = "", by: str = "", why: str = "") -> Decision:
    """The Decision of a preset lever with the form's values (title defaults to a description of it)."""
    role = role or (staff_roles(spec)[0] if staff_roles(spec) else "phone")
    if lever == "call_out":
        pools = role_regions(spec, role)
        where = (region if region in pools else pools[0]) if pools else None
        default = f"Call out {count} reserve {role} staff" + (f" in {where}" if where else "")
        kw: dict[str, Any] = {"call_out": [CallOut(role=role, count=count, region=where)]}
    elif lever == "cancel_leave":
        default = f"Cancel leave of {role} staff"
        kw = {"changes": {"operations": {"staff": {role: {"leave_share": 0}}}}}
    elif lever == "roster":
        rosters = list(spec.operations.rosters)
        roster = roster if roster in rosters else (rosters[-1] if rosters else roster)
        default = f"Put {role} staff on roster {roster}"
        kw = {"changes": {"operations": {"staff": {role: {"roster": roster}}}}}
    elif lever == "move":
        pools = role_regions(spec, role)
        src = from_region or (pools[0] if pools else "")
        dst = to_region or next((p for p in pools if p != src), "")
        default = f"Move {count} {role} staff from {src} to {dst}"
        kw = {"move": [MoveStaff(role=role, from_region=src, to_region=dst, count=count, travel_h=travel_h)]}
    elif lever == "fast_track":
        limit = float(max_loss) if max_loss is not None else float(spec.operations.triage.fast_track.max_loss)
        default = f"Open the green channel: fast track up to {limit:,.0f}"
        kw = {"changes": {"operations": {"triage": {"fast_track": {"enabled": True, "max_loss": limit}}}}}
    elif lever == "video":
        default = "Switch on video survey"
        kw = {"changes": {"operations": {"triage": {"video": {"enabled": True}}}}}
    elif lever == "prepayment":
        default = "Start pre-payment"
        kw = {"changes": {"operations": {"prepayment": {"enabled": True}}}}
    elif lever == "sms":
        default = "Send SMS warnings"
        kw = {"changes": {"measures": {"sms_warning": {"enabled": True}}}}
    else:
        raise InputError(f"unknown lever '{lever}' (levers: {', '.join(LEVERS)})", key_path="lever")
    return Decision(title=title.strip() or default, by=by.strip(), why=why.strip(), **kw)


# ---------------------------------------------------------------------------- custom injects

INJECT_TYPES: dict[str, str] = {
    "hazard": "Storm band (hazard x factor)",
    "road_closure": "Road closure (travel x factor)",
    "phone_outage": "Phone outage (share of lines)",
    "staff_absence": "Staff absence (count of a role)",
    "reporting_surge": "Reporting surge (reports x factor)",
    "note": "Note (news, no effect)",
}
INJECT_BY_LABEL = {label: key for key, label in INJECT_TYPES.items()}
INJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "hazard": ("region", "factor", "hours"),
    "road_closure": ("region", "factor", "hours"),
    "phone_outage": ("share", "hours"),
    "staff_absence": ("role", "region", "count", "hours"),
    "reporting_surge": ("agent_types", "factor", "hours"),
    "note": (),
}
EVERY_REGION = "(every region)"
SURGE_TYPES = ("drivers", "farmers", "firms")


def build_inject(kind: str, *, title: str = "", region: str = "", factor: float = 2.0, share: float = 0.5,
                 role: str = "phone", count: int = 1, hours: int = 6, agent_types: list[str] | None = None,
                 at_h: float = 0.0) -> Inject:
    """An inject of the custom-inject form (validated by the inject schema; region '' is every region)."""
    where = None if region in ("", EVERY_REGION) else region
    effect: dict[str, Any] = {"type": kind}
    if kind == "hazard":
        effect |= {"region": where, "factor": factor, "hours": hours}
        default = f"Storm band x{factor:g} over {where or 'every region'}"
    elif kind == "road_closure":
        effect |= {"region": where, "travel_factor": factor, "hours": hours}
        default = f"Roads closed in {where or 'every region'}"
    elif kind == "phone_outage":
        effect |= {"share": share, "hours": hours}
        default = f"Phone outage: {100 * share:.0f}% of lines down"
    elif kind == "staff_absence":
        effect |= {"role": role, "count": count, "region": where, "hours": hours if hours > 0 else None}
        default = f"{count} {role} staff absent"
    elif kind == "reporting_surge":
        effect |= {"agent_types": list(agent_types or SURGE_TYPES), "factor": factor, "hours": hours}
        default = f"Reporting surge x{factor:g}"
    elif kind == "note":
        default = "News for the room"
    else:
        raise InputError(f"unknown inject type '{kind}' (types: {', '.join(INJECT_TYPES)})", key_path="effect.type")
    return Inject.model_validate({"at_h": at_h, "title": title.strip() or default, "effect": effect})


def inject_line(inject: Inject) -> str:
    eff = inject.effect
    where = getattr(eff, "region", None)
    return f"h{inject.at_h:g} {inject.title} [{eff.type}{' ' + where if where else ''}]"


# ---------------------------------------------------------------------------- what a view shows


@dataclass(frozen=True)
class Snapshot:
    """Everything a view draws, read from the exercise at once (under the tab's lock)."""

    stamp: tuple[int, ...]
    hour: int
    horizon: int
    clock: str
    finished: bool
    figures: dict[str, Any]
    last_hour: dict[str, float]
    series: pd.DataFrame
    activity: pd.DataFrame
    storm: pd.DataFrame
    feed: list[FeedItem]
    pending: list[tuple[int, Inject]]


def stamp(ex: Exercise) -> tuple[int, ...]:
    """Changes whenever what the page shows of `ex` changes (another exercise, an hour, an inject, a decision)."""
    return (id(ex), ex.hour, len(ex.feed), len(ex.actions), len(ex.pending_injects))


def take_snapshot(ex: Exercise) -> Snapshot:
    return Snapshot(stamp=stamp(ex), hour=ex.hour, horizon=ex.horizon, clock=f"{ex.clock():%a %d %b %Y %H:%M}",
                    finished=ex.finished, figures=ex.figures(), last_hour=ex.last_hour(), series=ex.series(),
                    activity=ex.activity(), storm=ex.storm(), feed=list(ex.feed), pending=ex.pending_injects)


def clock_text(snap: Snapshot) -> str:
    return f"{snap.clock} - hour {snap.hour} of {snap.horizon}" + (" (end)" if snap.finished else "")


def _num(x: Any, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    x = float(x)
    if unit == "%":
        return f"{100 * x:.0f}%"
    if unit == "h":
        return f"{x:.1f} h"
    return f"{x:,.0f}"


def _get(figures: Mapping[str, Any], path: str) -> Any:
    node: Any = figures
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


KEY_FIGURES: list[tuple[str, str, str]] = [
    ("claims reported", "claims_total", ""),
    ("claims settled", "claims_settled", ""),
    ("claims open", "claims_open", ""),
    ("settlement latency p50", "settlement_latency_hours.p50", "h"),
    ("settlement latency p90", "settlement_latency_hours.p90", "h"),
    ("settlement latency mean", "settlement_latency_hours.mean", "h"),
    ("first contact, mean", "first_contact_hours.mean", "h"),
    ("first contact, p50", "first_contact_hours.p50", "h"),
    ("first payment, mean", "first_payment_hours.mean", "h"),
    ("first payment, p50", "first_payment_hours.p50", "h"),
    ("paid or pre-paid within 7 days", "paid_or_prepaid_within_7d_share", "%"),
    ("phone abandonment", "abandonment_rate", "%"),
    ("phone service level (20 s)", "service_level_20s", "%"),
    ("peak backlog", "backlog.peak", ""),
    ("cost so far", "cost.total", ""),
]


def figures_rows(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(label, _num(_get(figures, path), unit)) for label, path, unit in KEY_FIGURES]


def comparison_rows(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """Key figures of two exercises side by side, with the difference (second minus first)."""
    rows = []
    for label, path, unit in KEY_FIGURES:
        x, y = _get(a, path), _get(b, path)
        if x is None or y is None or x != x or y != y:
            diff = "n/a"
        else:
            d = float(y) - float(x)
            diff = "0" if d == 0 else ("+" if d > 0 else "-") + _num(abs(d), unit)
        rows.append((label, _num(x, unit), _num(y, unit), diff))
    return rows


def html_table(header: list[str], rows: list[tuple[str, ...]], classes: str = "") -> str:
    cell = 'style="padding:1px 10px 1px 0;text-align:left"'
    head = "".join(f"<th {cell}>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td {cell}>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table class="tabletop-table {classes}" style="border-collapse:collapse;font-size:13px">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def phone_text(snap: Snapshot) -> str:
    lh = snap.last_hour
    waiting = int(snap.series["waiting_phone"].iloc[-1]) if len(snap.series) and "waiting_phone" in snap.series else 0
    return (f"Phone, last hour: {lh['calls']:.0f} calls, {_num(lh['service_level'], '%')} answered within 20 s, "
            f"{_num(lh['abandonment'], '%')} abandoned; {waiting} waiting now")


def draw_dashboard(fig: Figure, snap: Snapshot) -> None:
    """Storm, incidents and reports, phone queue, backlog by stage, staff on duty and claims, on one figure."""
    axes = fig.subplots(3, 2, sharex=True).ravel()
    s, a = snap.series, snap.activity
    horizon = max(snap.horizon, 1)

    ax = axes[0]
    for region in snap.storm.columns:
        ax.plot(snap.storm.index, snap.storm[region], label=region)
    ax.axvline(snap.hour, color="k", lw=1, ls="--")
    ax.set_title("storm intensity (snow + ice per h)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")

    ax = axes[1]
    for t in AGENT_TYPES:
        if len(a) and a[f"incidents_{t}"].sum() + a[f"reports_{t}"].sum() > 0:
            line = ax.plot(a["hour"], a[f"incidents_{t}"], label=f"incidents {t}")[0]
            ax.plot(a["hour"], a[f"reports_{t}"], ls="--", color=line.get_color(), label=f"reports {t}")
    ax.set_title("incidents and reports per hour", fontsize=9)
    if ax.lines:
        ax.legend(fontsize=7, loc="upper right")

    ax = axes[2]
    if len(s):
        ax.plot(s["hour"], s["waiting_phone"], label="calls waiting")
        ax.plot(s["hour"], s["on_duty_phone"], label="agents on duty")
        ax.plot(s["hour"], s["busy_phone"], label="agents busy")
        ax.legend(fontsize=7, loc="upper right")
    ax.set_title("phone line", fontsize=9)

    ax = axes[3]
    if len(s):
        ax.stackplot(s["hour"], *[s[f"backlog_{st}"] for st in STAGES], labels=STAGES)
        ax.legend(fontsize=6, loc="upper left", ncol=2)
    ax.set_title("open claims by stage", fontsize=9)

    ax = axes[4]
    if len(s):
        for col in s.columns:
            if col.startswith("on_duty_"):
                ax.plot(s["hour"], s[col], label=col.removeprefix("on_duty_"))
        ax.legend(fontsize=6, loc="upper left", ncol=2)
    ax.set_title("staff on duty by role", fontsize=9)
    ax.set_xlabel("hour")

    ax = axes[5]
    if len(s):
        ax.plot(s["hour"], s["reports"].cumsum(), label="reported")
        ax.plot(s["hour"], s["settled"].cumsum(), label="settled")
        ax.plot(s["hour"], s["backlog_open"], label="open")
        ax.legend(fontsize=7, loc="upper left")
    ax.set_title("claims", fontsize=9)
    ax.set_xlabel("hour")
    for ax in axes:
        ax.set_xlim(0, horizon)
        ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.96, bottom=0.07, hspace=0.25, wspace=0.18)


def draw_comparison(fig: Figure, a: Snapshot, b: Snapshot) -> None:
    """Open claims over time in the exercise and in its branch."""
    ax = fig.subplots()
    for snap, label in ((a, "exercise"), (b, "branch")):
        if len(snap.series):
            ax.plot(snap.series["hour"], snap.series["backlog_open"], label=f"{label} (hour {snap.hour})")
    ax.set_xlim(0, max(a.horizon, 1))
    ax.set_title("open claims: exercise and branch", fontsize=9)
    ax.set_xlabel("hour")
    ax.tick_params(labelsize=7)
    if ax.lines:
        ax.legend(fontsize=7)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.9, bottom=0.14)


# ---------------------------------------------------------------------------- components


@dataclass
class Tab:
    """The per-tab plumbing a view needs: a lock around the exercise, and a way to ask for a redraw."""

    lock: threading.RLock
    redraw: Callable[[], None]


@solara.component
def Chart(draw: Callable[[Figure], None], key: Any, size: tuple[float, float]) -> None:
    """A matplotlib figure drawn once per `key` (the figure is dropped when the key changes)."""

    def make() -> Figure:
        fig = Figure(figsize=size, dpi=DPI)
        draw(fig)
        return fig

    fig = solara.use_memo(make, [key, size])
    solara.FigureMatplotlib(fig, dependencies=[key, size], format="png")


@solara.component
def Controls(ex: Exercise, snap: Snapshot, tab: Tab, say: Callable[[str, bool], None],
             on_reset: Callable[[], None] | None, on_close: Callable[[], None] | None) -> None:
    target = solara.use_reactive(min(snap.horizon, 24))
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(2.0)
    is_playing, hours_per_s = playing.value, speed.value

    def play(cancel: threading.Event) -> None:
        if not is_playing:
            return
        delay = 1.0 / max(0.1, min(float(hours_per_s or 1.0), 50.0))
        while not cancel.wait(delay):
            try:
                with tab.lock:
                    done = ex.finished
                    if not done:
                        ex.step()
                        done = ex.finished
            except Exception as exc:  # stop playing and say why, as a button would
                say(error_line(exc), True)
                done = True
            tab.redraw()
            if done:
                break
        if not cancel.is_set():
            playing.set(False)

    solara.use_thread(play, dependencies=[is_playing, hours_per_s, id(ex)], intrusive_cancel=False)

    def act(fn: Callable[[], Any]) -> None:
        try:
            with tab.lock:
                fn()
        except Exception as exc:  # shown on the page as one line, the exercise is unchanged
            say(error_line(exc), True)
        tab.redraw()

    def step() -> None:
        act(ex.step)

    def run_to() -> None:
        act(lambda: ex.run_to(int(target.value)))

    def reset() -> None:
        playing.set(False)
        if on_reset is not None:
            on_reset()

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Button("Step", on_click=step, color="primary", disabled=snap.finished or is_playing,
                      classes=["tabletop-step"])
        solara.InputInt("Run to hour", value=target, style={"max-width": "110px"}, classes=["tabletop-target"])
        solara.Button("Run", on_click=run_to, disabled=snap.finished or is_playing)
        solara.Button("Pause" if is_playing else "Play", on_click=lambda: playing.set(not playing.value),
                      disabled=snap.finished and not is_playing)
        solara.InputFloat("Hours per second", value=speed, style={"max-width": "130px"})
        if on_reset is not None:
            solara.Button("Reset", on_click=reset, outlined=True)
        if on_close is not None:
            solara.Button("Close branch", on_click=on_close, outlined=True)


@solara.component
def FeedList(feed: list[FeedItem]) -> None:
    colours = {"alert": "#b00020", "decision": "#1b5e20", "inject": "#0d47a1", "info": "#555"}
    with solara.Column(gap="0px", style={"max-height": "260px", "overflow-y": "auto", "font-family": "monospace",
                                         "font-size": "12px"}, classes=["tabletop-feed"]):
        if not feed:
            solara.Text("(nothing yet)")
        for item in list(reversed(feed))[:FEED_LINES]:
            solara.Text(item.line(), style={"color": colours.get(item.kind, "#000")}, classes=["tabletop-feed-line"])


@solara.component
def InjectsPanel(ex: Exercise, snap: Snapshot, tab: Tab, say: Callable[[str, bool], None]) -> None:
    spec = ex.model.spec
    kind = solara.use_reactive(INJECT_TYPES["hazard"])
    title = solara.use_reactive("")
    region = solara.use_reactive(EVERY_REGION)
    factor = solara.use_reactive(2.0)
    share = solara.use_reactive(0.5)
    role = solara.use_reactive(staff_roles(spec)[0] if staff_roles(spec) else "phone")
    count = solara.use_reactive(1)
    hours = solara.use_reactive(6)
    agent_types = solara.use_reactive(list(SURGE_TYPES))

    def fire_scheduled(index: int) -> None:
        try:
            with tab.lock:
                text = ex.fire_scheduled(index)
            say(f"fired: {text}", False)
        except Exception as exc:
            say(error_line(exc), True)
        tab.redraw()

    def fire_custom() -> None:
        try:
            inject = build_inject(INJECT_BY_LABEL[kind.value], title=title.value, region=region.value,
                                  factor=float(factor.value), share=float(share.value), role=role.value,
                                  count=int(count.value), hours=int(hours.value), agent_types=agent_types.value)
            with tab.lock:
                text = ex.fire(inject)
            say(f"fired: {text}", False)
        except Exception as exc:
            say(error_line(exc), True)
        tab.redraw()

    with solara.Card("Injects", margin=0, classes=["tabletop-injects"]).meta(ref="injects"):
        solara.Text("Scheduled, not yet fired:")
        with solara.Column(gap="2px"):
            if not snap.pending:
                solara.Text("none", classes=["tabletop-no-pending"])
            for index, inject in snap.pending:
                with solara.Row(style={"align-items": "center"}, classes=["tabletop-pending"]):
                    solara.Button("Fire now", on_click=lambda i=index: fire_scheduled(i), small=True,
                                  outlined=True, disabled=snap.finished)
                    solara.Text(inject_line(inject))
        solara.HTML(tag="div", unsafe_innerHTML="<b>Custom inject</b>", style="margin-top:8px")
        fields = INJECT_FIELDS[INJECT_BY_LABEL[kind.value]]
        solara.Select("Inject type", values=list(INJECT_TYPES.values()), value=kind)
        solara.InputText("Inject title", value=title)
        with solara.Row(style={"flex-wrap": "wrap"}):
            if "role" in fields:
                solara.Select("Role", values=staff_roles(spec), value=role, style={"max-width": "160px"})
            if "region" in fields:
                regions = [EVERY_REGION, *spec.region_ids]
                if "role" in fields and role_regions(spec, role.value):
                    regions = [EVERY_REGION, *role_regions(spec, role.value)]
                elif "role" in fields:
                    regions = [EVERY_REGION]
                solara.Select("Region", values=regions, value=region.value if region.value in regions else
                              EVERY_REGION, on_value=region.set, style={"max-width": "160px"})
            if "factor" in fields:
                solara.InputFloat("Factor", value=factor, style={"max-width": "90px"})
            if "share" in fields:
                solara.InputFloat("Share of lines", value=share, style={"max-width": "110px"})
            if "count" in fields:
                solara.InputInt("Count", value=count, style={"max-width": "80px"})
            if "hours" in fields:
                label = "Hours (0: rest of exercise)" if "role" in fields else "Hours"
                solara.InputInt(label, value=hours, style={"max-width": "150px"})
        if "agent_types" in fields:
            solara.SelectMultiple("Agent types", all_values=list(SURGE_TYPES), values=agent_types)
        solara.Button("Fire inject", on_click=fire_custom, color="warning", disabled=snap.finished)


@solara.component
def DecisionsPanel(ex: Exercise, snap: Snapshot, tab: Tab, say: Callable[[str, bool], None]) -> None:
    spec = ex.model.spec
    roles = staff_roles(spec)
    lever = solara.use_reactive(LEVERS["call_out"])
    role = solara.use_reactive(roles[0] if roles else "phone")
    region = solara.use_reactive("")
    count = solara.use_reactive(2)
    rosters = list(spec.operations.rosters)
    roster = solara.use_reactive(rosters[-1] if rosters else "")
    from_region = solara.use_reactive("")
    to_region = solara.use_reactive("")
    max_loss = solara.use_reactive(float(spec.operations.triage.fast_track.max_loss) * 2)
    travel_h = solara.use_reactive(2.0)
    title = solara.use_reactive("")
    by = solara.use_reactive("")
    why = solara.use_reactive("")
    key = LEVER_BY_LABEL[lever.value]
    fields = LEVER_FIELDS[key]
    role_choices = regional_roles(spec) if key == "move" else roles
    role_now = role.value if role.value in role_choices else (role_choices[0] if role_choices else "")
    pools = role_regions(spec, role_now)

    def decide() -> None:
        try:
            decision = build_decision(key, spec, role=role_now, region=region.value, count=int(count.value),
                                      roster=roster.value, from_region=from_region.value if from_region.value in
                                      pools else "", to_region=to_region.value if to_region.value in pools else "",
                                      max_loss=max_loss.value, travel_h=float(travel_h.value), title=title.value,
                                      by=by.value, why=why.value)
            with tab.lock:
                text = ex.decide(decision)
            say(f"decided: {decision.title}: {text}", False)
            title.set("")
            why.set("")
        except Exception as exc:
            say(error_line(exc), True)
        tab.redraw()

    with solara.Card("Decisions", margin=0, classes=["tabletop-decisions"]).meta(ref="decisions"):
        solara.Select("Lever", values=list(LEVERS.values()), value=lever)
        with solara.Row(style={"flex-wrap": "wrap"}):
            if "role" in fields:
                if role_choices:
                    solara.Select("Role", values=role_choices, value=role_now, on_value=role.set,
                                  style={"max-width": "160px"})
                else:
                    solara.Text("no role has regional pools")
            if "region" in fields and pools:
                solara.Select("Region", values=pools, value=region.value if region.value in pools else pools[0],
                              on_value=region.set, style={"max-width": "130px"})
            if "from_region" in fields and pools:
                src = from_region.value if from_region.value in pools else pools[0]
                solara.Select("From region", values=pools, value=src, on_value=from_region.set,
                              style={"max-width": "130px"})
                dst_default = next((p for p in pools if p != src), pools[0])
                solara.Select("To region", values=pools, value=to_region.value if to_region.value in pools
                              else dst_default, on_value=to_region.set, style={"max-width": "130px"})
            if "count" in fields:
                solara.InputInt("How many", value=count, style={"max-width": "90px"})
            if "travel_h" in fields:
                solara.InputFloat("Travel hours", value=travel_h, style={"max-width": "100px"})
            if "roster" in fields and rosters:
                solara.Select("Roster", values=rosters, value=roster, style={"max-width": "160px"})
            if "max_loss" in fields:
                solara.InputFloat("Fast-track limit (max loss)", value=max_loss, style={"max-width": "200px"})
        solara.InputText("Decision title (optional)", value=title)
        solara.InputText("Proposed by (role)", value=by)
        solara.InputText("Why", value=why)
        solara.Button("Decide", on_click=decide, color="success", disabled=snap.finished)


def _guarded(make: Callable[[], str], what: str) -> Callable[[], str]:
    """A download that never breaks the page: a failure downloads a one-line explanation instead."""

    def run() -> str:
        try:
            return make()
        except Exception as exc:
            return f"{what} could not be made: {error_line(exc)}\n"

    return run


@solara.component
def Downloads(ex: Exercise, tab: Tab, prefix: str = "") -> None:
    def markdown() -> str:
        from sim.aar import report_markdown

        with tab.lock:
            return report_markdown(ex)

    def report_page() -> str:
        from sim.aar import report_html

        with tab.lock:
            return report_html(ex)

    def log() -> str:
        with tab.lock:
            return ex.log_yaml()

    # the same callables while the exercise is the same: a redraw must not reset a download in progress
    md_fn = solara.use_memo(lambda: _guarded(markdown, "the report"), [id(ex)])
    html_fn = solara.use_memo(lambda: _guarded(report_page, "the report"), [id(ex)])
    log_fn = solara.use_memo(lambda: _guarded(log, "the exercise log"), [id(ex)])
    ref = f"downloads-{prefix or 'main'}"
    with solara.Row(style={"flex-wrap": "wrap"}, classes=["tabletop-downloads"]).meta(ref=ref):
        solara.FileDownload(md_fn, filename=f"{prefix}after-action-report.md", label="Report (Markdown)",
                            mime_type="text/markdown")
        solara.FileDownload(html_fn, filename=f"{prefix}after-action-report.html", label="Report (HTML)",
                            mime_type="text/html")
        solara.FileDownload(log_fn, filename=f"{prefix}exercise-log.yaml", label="Exercise log (YAML)",
                            mime_type="application/x-yaml")


@solara.component
def ExerciseView(ex: Exercise, snap: Snapshot, tab: Tab, name: str, wide: bool,
                 on_reset: Callable[[], None] | None = None, on_close: Callable[[], None] | None = None) -> None:
    """Clock, controls, figures, charts, feed, injects, decisions and downloads of one exercise."""
    message = solara.use_reactive(("", False))

    def say(text: str, is_error: bool) -> None:
        message.set((text, is_error))

    css = f"tabletop-{name}"
    with solara.Column(classes=["tabletop-view", css], style={"min-width": "0"}).meta(ref=f"view-{name}"):
        solara.HTML(tag="h3", unsafe_innerHTML=html.escape("Exercise" if name == "main" else "Branch"),
                    style="margin:0")
        solara.Text(clock_text(snap), classes=["tabletop-clock"], style={"font-size": "18px", "font-weight": "bold"})
        Controls(ex, snap, tab, say, on_reset, on_close)
        text, is_error = message.value
        with solara.Column(gap="0px"):  # always there, so that a message does not shift (and remount) the rest
            if text and is_error:
                solara.Error(text, dense=True, classes=["tabletop-error"])
            elif text:
                solara.Success(text, dense=True, classes=["tabletop-message"])
        solara.Text(phone_text(snap), classes=["tabletop-phone"])
        size = (10.0, 8.0) if wide else (7.0, 8.0)
        if wide:
            with solara.Columns([2, 3]):
                with solara.Column():
                    solara.HTML(tag="div", unsafe_innerHTML=html_table(["figure", "so far"],
                                                                       figures_rows(snap.figures)))
                    solara.HTML(tag="div", unsafe_innerHTML="<b>Feed</b> (newest first)")
                    FeedList(snap.feed)
                Chart(lambda fig: draw_dashboard(fig, snap), snap.stamp, size)
        else:
            Chart(lambda fig: draw_dashboard(fig, snap), snap.stamp, size)
            solara.HTML(tag="div", unsafe_innerHTML=html_table(["figure", "so far"], figures_rows(snap.figures)))
            solara.HTML(tag="div", unsafe_innerHTML="<b>Feed</b> (newest first)")
            FeedList(snap.feed)
        with solara.ColumnsResponsive(12, large=6) if wide else solara.Column():
            InjectsPanel(ex, snap, tab, say)
            DecisionsPanel(ex, snap, tab, say)
        Downloads(ex, tab, "" if name == "main" else "branch-")


@solara.component
def ForkPanel(ex: Exercise, snap: Snapshot, tab: Tab, on_branch: Callable[[Exercise], None]) -> None:
    at = solara.use_reactive(None)  # empty: the current hour
    error = solara.use_reactive("")

    def branch_off(make: Callable[[], Exercise]) -> None:
        try:
            with tab.lock:
                branch = make()
            error.set("")
            on_branch(branch)
        except Exception as exc:
            error.set(error_line(exc))

    def fork() -> None:
        branch_off(lambda: ex.fork(ex.hour if at.value is None else int(at.value)))

    def no_decisions() -> None:
        branch_off(ex.counterfactual)

    with solara.Row(style={"align-items": "center"}, classes=["tabletop-fork"]):
        solara.Text("Fork the exercise at an hour to try another decision:")
        solara.InputInt("Fork at hour", value=at, optional=True, placeholder=f"now ({snap.hour})",
                        style={"max-width": "120px"})
        solara.Button("Fork", on_click=fork, color="secondary")
        solara.Button("Same storm, no decisions", on_click=no_decisions, outlined=True)
    with solara.Column(gap="0px"):
        if error.value:
            solara.Error(error.value, dense=True, classes=["tabletop-error"])


@solara.component
def Comparison(a: Snapshot, b: Snapshot) -> None:
    with solara.Column(classes=["tabletop-comparison"]).meta(ref="comparison"):
        solara.HTML(tag="h3", unsafe_innerHTML="Exercise and branch", style="margin:0")
        with solara.Columns([1, 1]):
            rows = [("hour", str(a.hour), str(b.hour), str(b.hour - a.hour)), *comparison_rows(a.figures, b.figures)]
            solara.HTML(tag="div", unsafe_innerHTML=html_table(["figure", "exercise", "branch", "branch - exercise"],
                                                               rows))
            Chart(lambda fig: draw_comparison(fig, a, b), (a.stamp, b.stamp), (6.0, 3.5))


@solara.component
def Page() -> None:
    def load() -> Setup | str:
        try:
            return setup_from_env()
        except Exception as exc:
            return error_line(exc)

    setup = solara.use_memo(load, [])
    solara.Title("claimsim tabletop")
    if isinstance(setup, str):
        solara.Error(f"The tabletop could not start: {setup}", classes=["tabletop-error"])
        return
    TabletopApp(setup)


@solara.component
def TabletopApp(setup: Setup) -> None:
    """One exercise (and at most one branch) for this tab."""
    first = solara.use_memo(setup.new_exercise, [])
    main = solara.use_reactive(first)
    branch = solara.use_reactive(None)
    version = solara.use_reactive(0)
    counter = solara.use_memo(lambda: itertools.count(1), [])
    lock = solara.use_memo(threading.RLock, [])
    tab = solara.use_memo(lambda: Tab(lock, lambda: version.set(next(counter))), [])

    version.value  # read, so that every redraw() renders the tab again  # noqa: B018
    ex: Exercise = main.value
    other: Exercise | None = branch.value
    with lock:
        snap = take_snapshot(ex)
        bsnap = take_snapshot(other) if other is not None else None

    def reset() -> None:
        with lock:
            fresh = setup.new_exercise()
        branch.set(None)
        main.set(fresh)

    spec = ex.model.spec
    with solara.Column(style={"padding": "12px"}, classes=["tabletop-page"]):
        solara.HTML(tag="h2", unsafe_innerHTML=html.escape(f"Tabletop: {spec.name}"), style="margin:0")
        solara.Text(f"plan {ex.plan}, seed {ex.seed}, {ex.horizon} h from {spec.start:%d %b %Y %H:%M}, regions "
                    f"{', '.join(spec.region_ids)}", classes=["tabletop-setup"])
        ForkPanel(ex, snap, tab, branch.set)
        if other is None or bsnap is None:
            ExerciseView(ex, snap, tab, "main", True, on_reset=reset).key(f"main-{id(ex)}")
        else:
            Comparison(snap, bsnap)
            with solara.Columns([1, 1]):
                ExerciseView(ex, snap, tab, "main", False, on_reset=reset).key(f"main-{id(ex)}")
                ExerciseView(other, bsnap, tab, "branch", False,
                             on_close=lambda: branch.set(None)).key(f"branch-{id(other)}")
