"""Power and false alarms of the regression gate (`claimsim regress`), against changes planted in the model.

    python benchmarks/regress_power.py [--scenarios tabletop-city-blizzard] [--changes all] [--checks 10]
        [--null-checks 30] [--reps 16] [--workers 2] [--out results/bench/regress_power]

Each "check" is one run of the gate's statistical tier as CI runs it (the config's replications, horizons,
alpha, Holm within each scenario and Bonferroni across the config's scenario count), against a baseline made
here on a seed block of its own: check i uses baseline seeds S + i*2M + k and fresh seeds S + i*2M + M + k
(M = sim.regress.FRESH_OFFSET), so that both the paired and the two-sample tests see new seeds in every check.
A check alarms when any figure moved. The exact tier is deterministic: it is run once per change.

Changes are planted through stable, named settings of each plan's resolved scenario (phone retry share,
headcounts, roster windows, video concurrency, road speed, service times, incident rates, fees), deep-merged
as a plan would be, or through a named code patch applied in the workers (the random stream): nothing here
depends on a line number. A change that does not apply to a scenario (no night shift in its phone roster, one
video scene at a time already) leaves that scenario unchanged and is said so.

Resumable: every finished check is a line of OUT/checks.jsonl (and each check's baseline OUT/baseline-<i>.json);
run it again with more --checks and only the missing ones run. A different setting (scenarios, replications,
hours, code) is refused unless --restart. Writes OUT/report.md and OUT/summary.json and prints the tables.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import functools
import json
import math
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy import stats  # noqa: E402

from sim import regress as rg  # noqa: E402
from sim.errors import InputError  # noqa: E402
from sim.execution import POOL_CONTEXT, code_digest  # noqa: E402
from sim.regress.outcome import label  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

Plant = Callable[[Scenario], dict | None]


def _scaled(dist: Any, f: float) -> dict:
    """A distribution with its mean (or median, or fixed value) times f."""
    d = dist.model_dump(mode="python", by_alias=True)
    for key in ("mean", "median", "value"):
        if d.get(key) is not None:
            d[key] *= f
    return d


def _one_fewer(headcount: int | dict[str, int]) -> int | dict[str, int] | None:
    if isinstance(headcount, dict):
        big = max(headcount, key=lambda k: headcount[k])
        return {**headcount, big: headcount[big] - 1} if headcount[big] > 0 else None
    return headcount - 1 if headcount > 0 else None


def _roster_change(s: Scenario, role: str, edit: Callable[[list[dict]], bool]) -> dict | None:
    name = s.operations.staff[role].roster
    shifts = [sh.model_dump() for sh in s.operations.rosters[name].shifts]
    if not edit(shifts):
        return None
    return {"operations": {"rosters": {name: {"shifts": shifts}}}}


def _night_late(shifts: list[dict]) -> bool:
    """The shift that works at 02:00 (0-8, or 22-30 past midnight) starts an hour later, its end unchanged."""
    for sh in shifts:
        if sh["start"] <= 2 < sh["end"] or sh["start"] <= 26 < sh["end"]:
            if sh["start"] + 1 >= min(24, sh["end"]):
                return False
            sh["start"] += 1
            return True
    return False


def _ends_early(shifts: list[dict]) -> bool:
    """Off by one: every shift of the roster ends an hour early."""
    if any(sh["end"] - sh["start"] <= 1 for sh in shifts):
        return False
    for sh in shifts:
        sh["end"] -= 1
    return True


def _video_fewer(s: Scenario) -> dict | None:
    c = s.operations.staff["video_survey"].concurrent_cases
    return {"operations": {"staff": {"video_survey": {"concurrent_cases": c - 1}}}} if c > 1 else None


def _phone_fewer(s: Scenario) -> dict | None:
    h = _one_fewer(s.operations.staff["phone"].headcount)
    return None if h is None else {"operations": {"staff": {"phone": {"headcount": h}}}}


def _slower_travel(s: Scenario) -> dict:
    regions = [r.model_dump(mode="python", by_alias=True) for r in s.regions]
    for r in regions:
        r["road_speed_kmh"] /= 1.15
    return {"regions": regions}


def _drivers(s: Scenario, f: float) -> dict:
    d = s.vulnerability.drivers
    keys = ("crash_per_vehicle_h", "battery_per_vehicle_h", "strand_per_vehicle_h_per_10cm", "everyday_per_year",
            "wind_per_h")
    return {"vulnerability": {"drivers": {k: getattr(d, k) * f for k in keys}}}


def _patience(s: Scenario) -> dict | None:
    p = s.operations.phone.patience_min
    return None if p is None else {"operations": {"phone": {"patience_min": _scaled(p, 0.9)}}}


@dataclass(frozen=True)
class Change:
    name: str
    label: str
    plant: Plant | None = None      # settings deep-merged onto each plan (None: not applicable there)
    patch: str | None = None        # a code patch applied in the workers (see `patched`)


CHANGES: tuple[Change, ...] = (
    Change("redial-removed", "redial removed (callers never call again)",
           lambda s: {"operations": {"phone": {"retry_share": 0.0}}}),
    Change("phone-agent-fewer", "one phone agent fewer on the roster", _phone_fewer),
    Change("redial-halved", "redial probability halved",
           lambda s: {"operations": {"phone": {"retry_share": s.operations.phone.retry_share / 2}}}),
    Change("drivers-incidents+20%", "drivers' incident rates +20%", lambda s: _drivers(s, 1.2)),
    Change("night-shift-late", "the phone night shift starts an hour late",
           lambda s: _roster_change(s, "phone", _night_late)),
    Change("assessor-roster-off-by-one", "off by one: every assessor shift ends an hour early",
           lambda s: _roster_change(s, "assessment", _ends_early)),
    Change("travel-x1.15", "survey and tow travel time x1.15 (road speed / 1.15)", _slower_travel),
    Change("fast-track-threshold-20%", "fast-track loss threshold 20% lower",
           lambda s: {"operations": {"triage": {"fast_track": {"max_loss": s.operations.triage.fast_track.max_loss
                                                               * 0.8}}}}),
    Change("video-scene-fewer", "one fewer video scene at a time", _video_fewer),
    Change("patience-10%", "caller patience 10% shorter", _patience),
    Change("survey-5%", "surveys 5% slower (field on site and video)",
           lambda s: {"operations": {"service": {
               "field_onsite_min": _scaled(s.operations.service.field_onsite_min, 1.05),
               "video_survey_min": _scaled(s.operations.service.video_survey_min, 1.05)}}}),
    Change("drivers-incidents+5%", "drivers' incident rates +5%", lambda s: _drivers(s, 1.05)),
    Change("payment-lag+10%", "payment lag 10% longer",
           lambda s: {"operations": {"service": {"payment_lag_h": _scaled(s.operations.service.payment_lag_h, 1.1)}}}),
    Change("partner-fee+5%", "tow partner fee per job +5% (cost only)",
           lambda s: {"operations": {"staff": {"tow": {"fee_per_job": s.operations.staff["tow"].fee_per_job * 1.05}}}}),
    Change("random-stream", "changed random stream: each claim's uniforms from another key (a refactor, no model "
                            "change: the exact tier must catch it, the statistical tier must stay quiet)",
           patch="random-stream"),
)
NULL = Change("none", "none: the same code on new seeds (false alarms)")


# ---------------------------------------------------------------------------- code patches in the workers


@contextmanager
def patched(name: str | None):  # noqa: ANN201 - a context manager
    """Apply a named code patch for the duration of a run; an unknown or stale patch is an error, never a no-op."""
    if name is None:
        yield
        return
    if name != "random-stream":
        raise ValueError(f"unknown patch {name}")
    import numpy as np

    from sim.rng import Streams

    # every draw of every claim comes from its base: other keys, other (equally uniform) draws
    one, batch = getattr(Streams, "claim_base", None), getattr(Streams, "claim_bases", None)
    if one is None or batch is None:
        raise RuntimeError("sim.rng.Streams.claim_base(s) are gone: rewrite the random-stream patch")
    Streams.claim_base = lambda self, key: one(self, int(key) ^ 0x5DEECE66D)  # type: ignore[method-assign]
    Streams.claim_bases = lambda self, keys: batch(  # type: ignore[method-assign]
        self, np.asarray(keys, dtype=np.uint64) ^ np.uint64(0x5DEECE66D))
    try:
        yield
    finally:
        Streams.claim_base, Streams.claim_bases = one, batch  # type: ignore[method-assign]


def planted_task(patch: str | None, task: Callable, spec: Any) -> dict:
    """Worker side: the tier's task under the named patch."""
    with patched(patch):
        return task(spec)


# ---------------------------------------------------------------------------- the experiment


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    z = 1.96
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def overrides(change: Change, targets: list[rg.Target]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Per scenario and plan, the change's settings as JSON; and where it does not apply."""
    out: dict[str, dict[str, str]] = {}
    skipped = []
    if change.plant is None:
        return out, skipped
    for t in targets:
        per: dict[str, str] = {}
        for plan in dict.fromkeys(t.plans + t.stat_plans):
            ov = change.plant(t.file.resolve(plan))
            if ov is None:
                skipped.append(f"{t.name}/{plan}")
                continue
            try:  # a setting the schema no longer has: said, before any run
                same = t.file.variant(ov, plan) == t.file.resolve(plan)
            except InputError as err:
                skipped.append(f"{t.name}/{plan} ({err.one_line()})")
                continue
            if same:  # a change of nothing (a fee of 0 raised by 5%)
                skipped.append(f"{t.name}/{plan}")
                continue
            per[plan] = json.dumps(ov)
        out[t.name] = per
    return out, skipped


def effects(measured: dict, baseline: dict, names: list[str]) -> dict[str, float]:
    """Mean paired difference relative to the baseline's mean, per scenario/plan/figure."""
    out = {}
    for scen, m in measured.items():
        paired = (m.get("paired") or {}).get("plans") or {}
        for plan, figs in paired.items():
            base = baseline[scen]["stat"]["plans"][plan]
            for k in names:
                d = [a - b for a, b in zip(figs[k], base[k], strict=True) if a is not None and b is not None]
                ref = [b for b in base[k] if b is not None]
                mb = sum(ref) / len(ref) if ref else math.nan
                out[f"{scen}/{plan}/{k}"] = (sum(d) / len(d) / abs(mb)) if d and mb else math.nan
    return out


class Store:
    """The experiment's folder: its settings, each check's baseline, one line per finished check."""

    def __init__(self, folder: Path, settings: dict, restart: bool) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "settings.json"
        if meta.exists() and not restart:
            old = json.loads(meta.read_text())
            if old != settings:
                diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
                sys.exit(f"{folder} holds checks made with other settings ({', '.join(diff)}): use another --out "
                         "or --restart")
        elif restart:
            for p in folder.glob("*.json*"):
                p.unlink()
        meta.write_text(json.dumps(settings, indent=1) + "\n")
        self.lines = folder / "checks.jsonl"
        self.done: dict[tuple[str, int], dict] = {}
        if self.lines.exists():
            for line in self.lines.read_text().splitlines():
                try:
                    r = json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill: that check runs again
                self.done[(r["change"], r["check"])] = r

    def add(self, record: dict) -> None:
        with self.lines.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        self.done[(record["change"], record["check"])] = record

    def baseline(self, i: int, make: Callable[[], dict]) -> dict:
        path = self.folder / f"baseline-{i}.json"
        if path.exists():
            return json.loads(path.read_text())
        data = make()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)
        return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=rg.CONFIG)
    ap.add_argument("--scenarios", default="tabletop-city-blizzard",
                    help="comma-separated scenario names of the config's statistical tier, or 'all'")
    ap.add_argument("--changes", default="all", help="comma-separated change names, or 'all' (see --list)")
    ap.add_argument("--checks", type=int, default=10, help="checks per planted change")
    ap.add_argument("--null-checks", type=int, default=30, help="checks with no change (false alarms)")
    ap.add_argument("--reps", type=int, default=None, help="replications per plan (default: the config's)")
    ap.add_argument("--hours", type=int, default=None, help="statistical horizon (default: the config's)")
    ap.add_argument("--families", type=int, default=None,
                    help="scenario families of the gate for the Bonferroni step (default: the config's count)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "regress_power")
    ap.add_argument("--restart", action="store_true", help="forget the checks already in --out")
    ap.add_argument("--list", action="store_true", help="list the planted changes and exit")
    args = ap.parse_args()
    if args.list:
        for c in CHANGES:
            print(f"{c.name:28s} {c.label}")
        return
    started = time.perf_counter()
    cfg, all_targets, _ = rg.read_config(args.config)
    stat_targets = [t for t in all_targets if "stat" in t.tiers]
    families = args.families or len(stat_targets)
    wanted = None if args.scenarios == "all" else set(args.scenarios.split(","))
    targets = [t for t in stat_targets if wanted is None or t.name in wanted]
    if not targets:
        sys.exit(f"no scenario of the statistical tier named {args.scenarios}")
    if args.reps:
        cfg = cfg.model_copy(update={"stat": cfg.stat.model_copy(update={"reps": args.reps})})
    for t in targets:
        t.reps = args.reps or t.reps
        t.stat_hours = args.hours or t.stat_hours
    changes = list(CHANGES) if args.changes == "all" else [c for c in CHANGES if c.name in args.changes.split(",")]
    names = [f.name for f in rg.tier_figures(cfg.stat)]
    settings = {"config": str(args.config), "scenarios": [t.name for t in targets], "reps": [t.reps for t in targets],
                "hours": [t.stat_hours for t in targets], "alpha": cfg.stat.alpha, "families": families,
                "figures": names, "seed": cfg.stat.seed, "code": code_digest(),
                "scenario_sha256": [t.file.sha256 for t in targets]}
    store = Store(args.out, settings, args.restart)
    with contextlib.ExitStack() as stack:  # one pool of workers for the whole experiment
        pool = (stack.enter_context(cf.ProcessPoolExecutor(args.workers, mp_context=POOL_CONTEXT))
                if args.workers > 1 else None)
        experiment(args, cfg, targets, changes, names, families, store, pool, started)


def experiment(args: argparse.Namespace, cfg: rg.RegressConfig, targets: list[rg.Target], changes: list[Change],
               names: list[str], families: int, store: Store, pool: cf.Executor | None, started: float) -> None:
    """Every check not yet in the store, then the tables."""
    stride = 2 * rg.FRESH_OFFSET

    def cfg_for(i: int) -> rg.RegressConfig:
        return cfg.model_copy(update={"stat": cfg.stat.model_copy(update={"seed": cfg.stat.seed + i * stride})})

    def measure(c: rg.RegressConfig, tiers: list[str], fresh: int = 0, **kw: Any) -> dict:
        return rg.measure(targets, c, tiers, args.workers, fresh, executor=pool, **kw)

    def baseline(i: int) -> dict:
        return store.baseline(i, lambda: measure(cfg_for(i), ["stat"]))

    exact_base = store.baseline(-1, lambda: measure(cfg, ["exact"]))
    plans_skipped: dict[str, list[str]] = {}
    for change in [NULL, *changes]:
        n = args.null_checks if change is NULL else args.checks
        ov, skipped = overrides(change, targets)
        plans_skipped[change.name] = skipped
        wrap = functools.partial(planted_task, change.patch) if change.patch else None
        if change is not NULL and (change.name, -1) not in store.done:
            m = measure(cfg, ["exact"], overrides=ov or None, wrap=wrap)
            rows = rg.check(m, exact_base, cfg.stat.alpha, targets).rows
            store.add({"kind": "exact", "change": change.name, "check": -1,
                       "caught": any(not r.passed for r in rows), "moved": sum(not r.passed for r in rows)})
        for i in range(n):
            if (change.name, i) in store.done:
                continue
            base = baseline(i)
            if change is NULL:  # the same code on the baseline's seeds gives the same numbers: no need to rerun
                m = measure(cfg_for(i), ["stat"], rg.FRESH_OFFSET, paired=False)
                for scen in m:
                    m[scen]["paired"] = base[scen]["stat"]
            else:
                m = measure(cfg_for(i), ["stat"], rg.FRESH_OFFSET, overrides=ov or None, wrap=wrap)
            out = rg.check(m, base, cfg.stat.alpha, targets, names, families)
            stat_rows = [r for r in out.rows if r.tier == "stat"]
            groups: dict[str, list] = {}
            for r in stat_rows:
                groups.setdefault(f"{r.scenario}/{r.plan}", []).append(r)
            store.add({"kind": "stat", "change": change.name, "check": i,
                       "alarm": any(not r.passed for r in stat_rows),
                       "flagged": {f"{r.scenario}/{r.plan}/{r.figure}/{r.test}": r.verdict
                                   for r in stat_rows if not r.passed},
                       "verdict": {g: rg.summary(rows) for g, rows in groups.items()},
                       "effects": effects(m, base, names)})
            print(f"{change.name} check {i + 1}/{n}: {'ALARM' if store.done[(change.name, i)]['alarm'] else 'quiet'}"
                  f" ({time.perf_counter() - started:.0f} s)", flush=True)
    summary = summarise(store, [NULL, *changes], args, targets, names, families, cfg, plans_skipped)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    (args.out / "report.md").write_text(summary["markdown"])
    print(summary["markdown"])
    print(f"wall time {time.perf_counter() - started:.0f} s")


# ---------------------------------------------------------------------------- the tables


def summarise(store: Store, changes: list[Change], args: argparse.Namespace, targets: list[rg.Target],
              names: list[str], families: int, cfg: rg.RegressConfig, skipped: dict[str, list[str]]) -> dict:
    """The power table, the smallest change caught per figure, and the fresh-seed test's detectable change."""
    rows = []
    caught: dict[str, list[tuple[float, float, str]]] = {k: [] for k in names}  # figure: (|effect|, rate, where)
    for c in changes:
        recs = [r for (name, _), r in store.done.items() if name == c.name and r.get("kind") == "stat"]
        exact = next((r for r in store.done.values() if r.get("kind") == "exact" and r["change"] == c.name), None)
        if not recs:
            continue
        k = sum(r["alarm"] for r in recs)
        lo, hi = wilson(k, len(recs))
        figs: dict[str, int] = {}
        verdicts: dict[str, int] = {}
        for r in recs:
            for key in r["flagged"]:
                f = key.split("/")[2]
                figs[f] = figs.get(f, 0) + 1
            for v in r["verdict"].values():
                head = v.split(" (")[0]
                if head != "no change":
                    verdicts[head] = verdicts.get(head, 0) + 1
        effect: dict[str, float] = {}
        for key in recs[0]["effects"]:
            vals = [r["effects"][key] for r in recs if not math.isnan(r["effects"].get(key, math.nan))]
            effect[key] = sum(vals) / len(vals) if vals else math.nan
        if c.name not in ("none", "random-stream"):
            for key, e in effect.items():
                scen, plan, f = key.split("/")
                rate = sum(any(k2.startswith(f"{scen}/{plan}/{f}/") for k2 in r["flagged"]) for r in recs) / len(recs)
                if not math.isnan(e) and f in caught:
                    caught[f].append((abs(e), rate, f"{c.name} ({scen}/{plan})"))
        top = sorted(((abs(e), key) for key, e in effect.items() if not math.isnan(e)), reverse=True)[:1]
        rows.append({"change": c.name, "label": c.label, "checks": len(recs), "alarms": k, "rate": k / len(recs),
                     "low": lo, "high": hi, "exact": None if exact is None else exact["caught"],
                     "figures": figs, "verdicts": verdicts, "largest_effect": top[0] if top else None,
                     "not_applicable": skipped.get(c.name, [])})
    smallest = {}
    for f, items in caught.items():
        sure = [x for x in items if x[1] >= 0.9]
        missed = [x for x in items if x[1] < 0.9]
        smallest[f] = {"smallest_caught": min(sure) if sure else None,
                       "largest_missed": max(missed) if missed else None}
    mde = detectable(store, targets, names, families, cfg.stat.alpha)
    return {"settings": json.loads((store.folder / "settings.json").read_text()), "rows": rows,
            "smallest": smallest, "mde": mde, "markdown": markdown(rows, smallest, mde, targets, families, cfg)}


def detectable(store: Store, targets: list[rg.Target], names: list[str], families: int, alpha: float) -> dict:
    """Per scenario/plan/figure, the change (% of the mean) the fresh-seed test alone catches 90% of the time.

    The worst case (no help from common random numbers nor from the covariate): a two-sample t-test at the
    first Holm step of the scenario's family (alpha / (families x tests in the family)), from the spread of the
    figure over the baselines' replications.
    """
    out = {}
    bases = sorted(store.folder.glob("baseline-[0-9]*.json"))
    if not bases:
        return out
    data = [json.loads(p.read_text()) for p in bases]
    for t in targets:
        m = 2 * len(t.stat_plans) * len(names)
        a = alpha / (families * m)
        n = t.reps
        df = 2 * n - 2
        q = float(stats.t.ppf(1 - a / 2, df) + stats.t.ppf(0.9, df))
        for plan in t.stat_plans:
            for k in names:
                sds, means = [], []
                for d in data:
                    v = [x for x in d[t.name]["stat"]["plans"][plan][k] if x is not None]
                    if len(v) > 1:
                        mu = sum(v) / len(v)
                        sds.append(math.sqrt(sum((x - mu) ** 2 for x in v) / (len(v) - 1)))
                        means.append(mu)
                if sds and means and sum(means):
                    sd, mu = sum(sds) / len(sds), sum(means) / len(means)
                    out[f"{t.name}/{plan}/{k}"] = 100 * q * sd * math.sqrt(2 / n) / abs(mu) if mu else math.nan
    return out


def markdown(rows: list[dict], smallest: dict, mde: dict, targets: list[rg.Target], families: int,
             cfg: rg.RegressConfig) -> str:
    where = ", ".join(f"{t.name} ({', '.join(t.stat_plans)}; {t.reps} replications, {t.stat_hours} h)"
                      for t in targets)
    out = [f"Measured on {where}; alpha {cfg.stat.alpha}, Holm within the scenario, Bonferroni over {families} "
           f"scenario families (the gate's count); code {code_digest()}.", "",
           "| planted change | exact tier | checks | statistical tier alarms [95% CI] | figures that moved (checks) "
           "| verdict (scenario-plan checks) |", "|---|---|---|---|---|---|"]
    for r in rows:
        exact = "-" if r["exact"] is None else ("caught" if r["exact"] else "not caught")
        figs = ", ".join(f"{label(f)} {n}" for f, n in sorted(r["figures"].items(), key=lambda x: -x[1])[:4])
        verdicts = ", ".join(f"{v} {n}" for v, n in sorted(r["verdicts"].items(), key=lambda x: -x[1]))
        na = f" (not applicable: {', '.join(r['not_applicable'])})" if r["not_applicable"] else ""
        out.append(f"| {r['label']}{na} | {exact} | {r['checks']} | {100 * r['rate']:.0f}% "
                   f"[{100 * r['low']:.0f}, {100 * r['high']:.0f}] | {figs or '-'} | {verdicts or '-'} |")
    out += ["", "Smallest change of each figure (mean paired difference, % of its baseline mean) that the gate "
                "flagged in at least 90% of checks, and the largest it flagged less often:", "",
            "| figure | smallest caught >= 90% | by | largest caught < 90% | by |", "|---|---|---|---|---|"]
    for f, s in smallest.items():
        sc, lm = s["smallest_caught"], s["largest_missed"]
        out.append(f"| {label(f)} | {f'{100 * sc[0]:.1f}%' if sc else '-'} | {sc[2] if sc else ''} | "
                   f"{f'{100 * lm[0]:.1f}%' if lm else '-'} | {lm[2] if lm else ''} |")
    if mde:
        out += ["", "Change (% of the mean) the fresh-seed test alone detects with 90% probability (worst case: "
                    "no common random numbers, no covariate):", "", "| scenario / plan | figure | detectable |",
                "|---|---|---|"]
        out += [f"| {k.rsplit('/', 1)[0]} | {label(k.rsplit('/', 1)[1])} | {v:.0f}% |" for k, v in mde.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
