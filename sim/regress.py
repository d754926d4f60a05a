"""Scenario regression (`claimsim regress`): tell an intended change from an accident.

Two tiers, against baselines committed under results/baselines/<scenario>.json:

1. exact - each scenario and plan at a fixed seed and a short horizon must reproduce its committed figures and a
   digest of its claims table. Numbers are rounded to 6 significant digits (times in the digest to 1e-6 h, money
   to 0.01) before they are compared or hashed: differences smaller than that (the last bits of libm functions,
   summation order across numpy builds) are tolerated; anything larger is a change, named by scenario, plan and
   figure.
2. stat - the key figures over N replications against the baseline's N replications, two ways: with fresh
   seeds (a seed block the baseline did not use), a two-sample test per figure (Welch's t for the claim count;
   for the other figures, analysis of covariance on the replication's claim count, which removes the spread
   that comes from the size of each replication's storm); and on the baseline's own seeds, a paired t-test of
   the per-seed differences beyond a numerical-noise margin (common random numbers). Holm's adjustment runs
   across every scenario, plan, figure and test of the check, so the chance of any false alarm in one check is
   at most alpha (0.05 by default). A refactor that changes how random numbers are consumed, but not the
   model, passes (the pairs become independent and the paired test keeps its level); a real change fails.

Scenarios may carry `expectations:` (a figure's mean bounded with confidence under a plan); they are checked
on the stat tier's replications, by name.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import stats

from sim import __version__
from sim.errors import InputError
from sim.execution import Failure, RunSpec, Status, execute
from sim.figures import REPLICATED
from sim.inputs import read_document
from sim.scenario import ScenarioFile, load_scenario
from sim.stats import ancova_p, holm, mean_ci, paired_margin_p, welch_p

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "scenarios" / "regress" / "regress.yaml"
BASELINES = ROOT / "results" / "baselines"
SIG_DIGITS = 6
STAT_FIGURES = ("claims", "latency_p50", "latency_p90", "latency_mean", "first_payment_mean", "abandonment",
                "peak_backlog", "survey_mean")
FRESH_OFFSET = 1_000_000
Tier = Literal["exact", "stat"]


# ---------------------------------------------------------------------------- configuration


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExactConfig(_Frozen):
    seed: int = Field(1, ge=0, strict=True)
    hours: int = Field(24, ge=1, strict=True)


class StatConfig(_Frozen):
    reps: int = Field(16, ge=3, strict=True)
    hours: int = Field(72, ge=1, strict=True)
    seed: int = Field(1000, ge=0, strict=True)
    alpha: float = Field(0.05, gt=0, lt=1)


class ScenarioEntry(_Frozen):
    plans: list[str] | None = None                # default: every plan
    stat_plans: list[str] | None = None           # plans of the stat tier (default: `plans`)
    tiers: list[Tier] = Field(default_factory=lambda: ["exact", "stat"])
    exact_hours: int | None = Field(None, ge=1, strict=True)
    stat_hours: int | None = Field(None, ge=1, strict=True)
    reps: int | None = Field(None, ge=3, strict=True)


class RegressConfig(_Frozen):
    """scenarios/regress/regress.yaml: what the regression check runs."""

    description: str = ""
    exact: ExactConfig = ExactConfig()
    stat: StatConfig = StatConfig()
    baselines: str = "../../results/baselines"
    scenarios: dict[str, ScenarioEntry | list[str]]


@dataclass
class Target:
    """One scenario to check, resolved."""

    path: Path
    file: ScenarioFile
    plans: list[str]
    stat_plans: list[str]
    tiers: list[str]
    exact_hours: int
    stat_hours: int
    reps: int


def read_config(path: Path, names: list[Path] | None = None) -> tuple[RegressConfig, list[Target], Path]:
    cfg, lines = read_document(path, RegressConfig)
    targets = []
    chosen = {Path(n).resolve() for n in names} if names else None
    for key, entry in cfg.scenarios.items():
        e = ScenarioEntry(plans=entry) if isinstance(entry, list) else entry
        scen = (path.parent / key).resolve()
        if not scen.exists():
            raise InputError("file not found", file=path, line=lines.get(("scenarios", key)),
                             key_path=f"scenarios.{key}")
        if chosen is not None and scen not in chosen:
            continue
        targets.append(_target(scen, e, cfg, path, lines, key))
    if chosen is not None:
        known = {t.path for t in targets}
        for n in sorted(chosen - known):  # a scenario not in the config: every plan, both tiers
            targets.append(_target(n, ScenarioEntry(), cfg, path, lines, str(n)))
    return cfg, targets, (path.parent / cfg.baselines).resolve()


def _target(scen: Path, e: ScenarioEntry, cfg: RegressConfig, path: Path, lines: dict, key: str) -> Target:
    sf = load_scenario(scen)
    plans = e.plans or list(sf.plans)
    stat_plans = e.stat_plans or plans
    for what, names in (("plans", plans), ("stat_plans", stat_plans)):
        for i, plan in enumerate(names):
            if plan not in sf.plans:
                raise InputError(f"{scen.name} has no plan '{plan}'", file=path,
                                 line=lines.get(("scenarios", key, what, i)) or lines.get(("scenarios", key, i))
                                 or lines.get(("scenarios", key)), key_path=f"scenarios.{key}")
    return Target(scen, sf, plans, stat_plans, list(e.tiers), e.exact_hours or cfg.exact.hours,
                  e.stat_hours or cfg.stat.hours, e.reps or cfg.stat.reps)


# ---------------------------------------------------------------------------- runs


def round_sig(x: float, digits: int = SIG_DIGITS) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits - 1}e}")


def flatten(d: Any, prefix: str = "") -> dict[str, float | None]:
    """Numeric leaves of a figures dict, by dotted key (None kept: a figure that has no value)."""
    out: dict[str, float | None] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(d, bool):
        out[prefix[:-1]] = float(d)
    elif isinstance(d, int | float):
        out[prefix[:-1]] = round_sig(float(d))
    elif d is None:
        out[prefix[:-1]] = None
    return out


def claims_digest(claims: Any) -> str:
    """sha256 of the claims table with times rounded to 1e-6 h and money to 0.01 (see module docstring)."""
    h = hashlib.sha256()
    for col in claims.columns:
        v = claims[col]
        h.update(col.encode())
        if v.dtype.kind == "f":
            scale = 100.0 if col.endswith("amount") else 1e6
            arr = np.where(np.isnan(v.to_numpy()), np.nan, np.round(v.to_numpy() * scale))
            h.update(np.nan_to_num(arr, nan=-1.0).astype(np.int64).tobytes())
        else:
            h.update("\x1f".join(map(str, v.tolist())).encode())
    return h.hexdigest()


def exact_task(spec: RunSpec) -> dict[str, Any]:
    """Worker task of the exact tier: every figure (rounded) and the claims digest."""
    from sim.execution import simulate_spec

    res = simulate_spec(spec)
    return {"plan": spec.plan, "figures": flatten(res.summary["figures"]), "claims_digest": claims_digest(res.claims),
            "claims": len(res.claims)}


def stat_values(results: list[dict[str, Any] | Failure]) -> dict[str, list[float]]:
    """Per figure, its value in each replication (every figure an expectation may name is kept)."""
    out: dict[str, list[float]] = {f.name: [] for f in REPLICATED}
    for r in results:
        if isinstance(r, Failure):
            raise InputError(f"run failed: {r.line()}")
        for k in out:
            v = float(r["figures"][k])
            out[k].append(v if math.isnan(v) else round_sig(v, 10))
    return out


def _specs(t: Target, tier: str, seeds: list[int], overrides: str | None) -> list[RunSpec]:
    hours = t.exact_hours if tier == "exact" else t.stat_hours
    plans = t.plans if tier == "exact" else t.stat_plans
    return [RunSpec(str(t.path), None, plan, s, hours, None, overrides) for plan in plans for s in seeds]


def measure(targets: list[Target], cfg: RegressConfig, tiers: list[str], workers: int, fresh: int,
            overrides: dict[str, str] | None = None, progress: Callable[[Status], None] | None = None,
            paired: bool = True) -> dict[str, dict[str, Any]]:
    """Run both tiers for every target: {scenario name: {"exact": {plan: ...}, "stat": {plan: {figure: [..]}}}}.

    `fresh`: the seed block of the stat tier (0 for the baseline's own seeds; the check uses FRESH_OFFSET).
    `overrides`: per scenario name, JSON settings deep-merged onto every plan (planted changes in experiments).
    `paired`: in a check (fresh != 0), also rerun the baseline's own seeds ("paired" block) for the paired test.
    """
    jobs: list[tuple[str, str, list[RunSpec]]] = []
    for t in targets:
        ov = (overrides or {}).get(t.file.name)
        if "exact" in tiers and "exact" in t.tiers:
            jobs.append((t.file.name, "exact", _specs(t, "exact", [cfg.exact.seed], ov)))
        if "stat" in tiers and "stat" in t.tiers:
            seeds = [cfg.stat.seed + fresh + i for i in range(t.reps)]
            jobs.append((t.file.name, "stat", _specs(t, "stat", seeds, ov)))
            if fresh and paired:  # the baseline's own seeds again, for the paired comparison
                seeds = [cfg.stat.seed + i for i in range(t.reps)]
                jobs.append((t.file.name, "paired", _specs(t, "stat", seeds, ov)))
    exact_specs = [s for _, tier, specs in jobs if tier == "exact" for s in specs]
    stat_specs = [s for _, tier, specs in jobs if tier != "exact" for s in specs]
    total = len(exact_specs) + len(stat_specs)
    done = [0]

    def tick(st: Status) -> None:
        if progress:
            progress(Status(total, done[0] + st.done, st.running, st.failed, 0))

    exact_res = execute(exact_specs, workers=workers, task=exact_task, progress=tick) if exact_specs else []
    done[0] = len(exact_specs)
    stat_res = execute(stat_specs, workers=workers, resume=False, progress=tick) if stat_specs else []
    out: dict[str, dict[str, Any]] = {}
    ei = si = 0
    for name, tier, specs in jobs:
        entry = out.setdefault(name, {})
        if tier == "exact":
            rs = exact_res[ei:ei + len(specs)]
            ei += len(specs)
            for spec, r in zip(specs, rs, strict=True):
                if isinstance(r, Failure):
                    raise InputError(f"run failed: {r.line()}")
                entry.setdefault("exact", {"seed": spec.seed, "hours": spec.hours, "plans": {}})["plans"][spec.plan] = {
                    "figures": r["figures"], "claims_digest": r["claims_digest"], "claims": r["claims"]}
        else:
            rs = stat_res[si:si + len(specs)]
            si += len(specs)
            plans = sorted({s.plan for s in specs}, key=[s.plan for s in specs].index)
            per = len(specs) // len(plans)
            block: dict[str, Any] = {"hours": specs[0].hours, "seeds": [s.seed for s in specs[:per]], "plans": {}}
            for k, plan in enumerate(plans):
                block["plans"][plan] = stat_values(rs[k * per:(k + 1) * per])
            entry[tier] = block
    return out


# ---------------------------------------------------------------------------- baselines


def baseline_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.json"


def load_baseline(folder: Path, name: str) -> dict[str, Any]:
    path = baseline_path(folder, name)
    if not path.exists():
        raise InputError(f"no baseline for scenario '{name}': run `claimsim regress --update` and commit it",
                         file=path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"broken baseline file: {exc.msg}", file=path, line=exc.lineno) from None
    try:
        Baseline.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"broken baseline file: {err['msg']}", file=path,
                         key_path=".".join(str(p) for p in err["loc"])) from None
    return data


class Baseline(BaseModel):
    model_config = ConfigDict(extra="allow")

    scenario: str
    scenario_sha256: str
    claimsim: str
    exact: dict[str, Any] | None = None
    stat: dict[str, Any] | None = None


def write_baseline(folder: Path, name: str, t: Target, measured: dict[str, Any], old: dict[str, Any] | None
                   ) -> list[str]:
    """Write a scenario's baseline (tiers not measured keep their old values); returns what changed."""
    data: dict[str, Any] = {"scenario": name, "scenario_file": _rel(t.path), "scenario_sha256": t.file.sha256,
                            "claimsim": __version__}
    for tier in ("exact", "stat"):
        if tier in measured:
            data[tier] = measured[tier]
        elif old and tier in old:
            data[tier] = old[tier]
    folder.mkdir(parents=True, exist_ok=True)
    path = baseline_path(folder, name)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return describe_changes(name, old, data)


def _rel(p: Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def describe_changes(name: str, old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    if old is None:
        return [f"{name}: new baseline"]
    lines = []
    for plan, e in (new.get("exact") or {}).get("plans", {}).items():
        o = ((old.get("exact") or {}).get("plans") or {}).get(plan)
        if o is None:
            lines.append(f"{name}/{plan} exact: new")
            continue
        for k, v in e["figures"].items():
            if o["figures"].get(k) != v:
                lines.append(f"{name}/{plan} exact {k}: {o['figures'].get(k)} -> {v}")
        if o.get("claims_digest") != e["claims_digest"]:
            lines.append(f"{name}/{plan} exact claims digest changed ({o.get('claims')} -> {e['claims']} claims)")
    for plan, figs in (new.get("stat") or {}).get("plans", {}).items():
        o = ((old.get("stat") or {}).get("plans") or {}).get(plan, {})
        for k, vals in figs.items():
            ov = o.get(k)
            if ov != vals:
                om = f"{np.mean(ov):.4g}" if ov else "-"
                lines.append(f"{name}/{plan} stat {k}: mean {om} -> {np.mean(vals):.4g}")
    return lines


# ---------------------------------------------------------------------------- checking


@dataclass
class Row:
    """One test case: scenario x plan x figure of a tier, or an expectation."""

    tier: str
    scenario: str
    plan: str
    figure: str
    passed: bool
    baseline: str = ""
    new: str = ""
    p: float | None = None
    p_holm: float | None = None
    message: str = ""

    @property
    def name(self) -> str:
        return f"{self.scenario}/{self.plan}/{self.figure}"


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if not r.passed]


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.6g}"


PAIRED_MARGIN = 1e-6  # relative: paired differences this small are numerical noise, not a change


def paired_p(new: list[float], old: list[float]) -> float:
    """Two-sided p that the mean paired difference new - old (same seeds) exceeds the noise margin."""
    return paired_margin_p(new, old, PAIRED_MARGIN)


def check(measured: dict[str, dict[str, Any]], baselines: dict[str, dict[str, Any]], alpha: float,
          targets: list[Target]) -> Outcome:
    """Compare measured figures with the baselines (and the scenarios' expectations)."""

    out = Outcome()
    stat_rows: list[Row] = []
    for name, m in measured.items():
        base = baselines[name]
        if "exact" in m:
            for plan, e in m["exact"]["plans"].items():
                b = ((base.get("exact") or {}).get("plans") or {}).get(plan)
                if b is None:
                    out.rows.append(Row("exact", name, plan, "(baseline)", False,
                                        message="no exact baseline for this plan: run --update"))
                    continue
                same_setup = (base["exact"].get("seed"), base["exact"].get("hours")) == (m["exact"]["seed"],
                                                                                         m["exact"]["hours"])
                for k in sorted(set(e["figures"]) | set(b["figures"])):
                    new, old = e["figures"].get(k), b["figures"].get(k)
                    ok = same_setup and new == old
                    out.rows.append(Row("exact", name, plan, k, ok, _fmt(old), _fmt(new),
                                        message="" if ok else f"{k} changed: {_fmt(old)} -> {_fmt(new)}"))
                ok = same_setup and b.get("claims_digest") == e["claims_digest"]
                out.rows.append(Row("exact", name, plan, "claims_digest", ok, str(b.get("claims_digest"))[:12],
                                    e["claims_digest"][:12],
                                    message="" if ok else f"claims table changed ({b.get('claims')} -> "
                                                          f"{e['claims']} claims)"))
        if "stat" in m:
            for plan, figs in m["stat"]["plans"].items():
                b = ((base.get("stat") or {}).get("plans") or {}).get(plan)
                if b is None:
                    out.rows.append(Row("stat", name, plan, "(baseline)", False,
                                        message="no stat baseline for this plan: run --update"))
                    continue
                same = ((m.get("paired") or {}).get("plans") or {}).get(plan)
                same_seeds = (m.get("paired") or {}).get("seeds") == (base.get("stat") or {}).get("seeds")
                for k in STAT_FIGURES:
                    if same is not None and same_seeds:
                        d = np.asarray(same[k], float) - np.asarray(b[k], float)
                        dm, dlo, dhi = mean_ci(list(d))
                        stat_rows.append(Row("stat", name, plan, f"{k} (same seeds)", True, "0",
                                             f"{dm:+.4g} [{dlo:+.4g}, {dhi:+.4g}]",
                                             p=paired_p(same[k], b[k])))
                    bm, blo, bhi = mean_ci(b[k])
                    nm, nlo, nhi = mean_ci(figs[k])
                    p = welch_p(b[k], figs[k]) if k == "claims" else ancova_p(b[k], figs[k], b["claims"],
                                                                                figs["claims"])
                    stat_rows.append(Row("stat", name, plan, k, True, f"{bm:.4g} [{blo:.4g}, {bhi:.4g}]",
                                         f"{nm:.4g} [{nlo:.4g}, {nhi:.4g}]", p=p))
    if stat_rows:
        for r, adj in zip(stat_rows, holm([r.p or 1.0 for r in stat_rows]), strict=True):
            r.p_holm = adj
            r.passed = adj >= alpha
            if not r.passed:
                r.message = f"{r.figure} moved: {r.baseline} -> {r.new} (Holm-adjusted p = {adj:.2g})"
        out.rows += stat_rows
    out.rows += check_expectations(measured, targets)
    return out


def check_expectations(measured: dict[str, dict[str, Any]], targets: list[Target]) -> list[Row]:
    """Each scenario's `expectations:`: the one-sided confidence bound of the mean against its limit."""
    rows = []
    for t in targets:
        stat = measured.get(t.file.name, {}).get("stat")
        for exp in t.file.resolve().expectations:
            if stat is None or exp.plan not in stat["plans"]:
                continue
            v = np.asarray(stat["plans"][exp.plan].get(exp.figure, []), float)
            v = v[~np.isnan(v)]
            m = float(v.mean()) if v.size else math.nan
            se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
            q = float(stats.t.ppf(exp.confidence, max(v.size - 1, 1)))
            if exp.at_most is not None:
                bound, ok = m + q * se, m + q * se <= exp.at_most
                rule = f"at most {exp.at_most:g}"
            else:
                bound, ok = m - q * se, m - q * se >= exp.at_least  # type: ignore[operator]
                rule = f"at least {exp.at_least:g}"
            text = (f"{exp.figure} mean {m:.4g}, {100 * exp.confidence:.0f}% bound {bound:.4g}; expected {rule}")
            rows.append(Row("expectation", t.file.name, exp.plan, exp.name, bool(ok), rule, f"{m:.4g} (bound "
                            f"{bound:.4g})", message="" if ok else text))
    return rows


# ---------------------------------------------------------------------------- outputs


def junit(outcome: Outcome, path: Path) -> None:
    """JUnit XML: one test suite per tier, one test case per scenario x plan x figure."""
    import xml.etree.ElementTree as ET

    suites = ET.Element("testsuites", name="claimsim regress")
    for tier in ("exact", "stat", "expectation"):
        rows = [r for r in outcome.rows if r.tier == tier]
        if not rows:
            continue
        suite = ET.SubElement(suites, "testsuite", name=f"regress.{tier}", tests=str(len(rows)),
                              failures=str(sum(not r.passed for r in rows)), errors="0")
        for r in rows:
            case = ET.SubElement(suite, "testcase", classname=f"regress.{tier}.{r.scenario}.{r.plan}", name=r.figure)
            if not r.passed:
                fail = ET.SubElement(case, "failure", message=r.message or "changed")
                fail.text = f"baseline: {r.baseline}\nnew: {r.new}" + (f"\np (Holm): {r.p_holm:.3g}"
                                                                       if r.p_holm is not None else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def report(outcome: Outcome, meta: dict[str, Any]) -> str:
    """Markdown fit for a pull-request comment: what moved, then every statistical figure."""
    failed = outcome.failed
    lines = ["## claimsim regression check", "",
             f"{'**FAILED**' if failed else 'passed'}: {len(outcome.rows) - len(failed)} of {len(outcome.rows)} "
             f"checks pass ({', '.join(meta['tiers'])}; {meta['scenarios']} scenario(s); stat tier: "
             f"{meta['reps']} replications per plan on fresh seeds (two-sample tests) and on the baseline's seeds "
             f"(paired), Holm across all figures and tests, alpha {meta['alpha']}).", ""]
    if failed:
        lines += ["### What moved", "", "| tier | scenario / plan | figure | baseline | now | |",
                  "|---|---|---|---|---|---|"]
        for r in failed[:200]:
            lines.append(f"| {r.tier} | {r.scenario} / {r.plan} | {r.figure} | {r.baseline} | {r.new} | {r.message} |")
        if len(failed) > 200:
            lines.append(f"| ... | {len(failed) - 200} more | | | | |")
        lines.append("")
        lines.append("If the change is intended, run `claimsim regress --update` and commit results/baselines/.")
        lines.append("")
    stat = [r for r in outcome.rows if r.tier == "stat"]
    if stat:
        lines += ["### Statistical tier: mean [95% CI] over replications", "",
                  "| scenario / plan | figure | baseline | now | p (Holm) | |", "|---|---|---|---|---|---|"]
        for r in stat:
            lines.append(f"| {r.scenario} / {r.plan} | {r.figure} | {r.baseline} | {r.new} | {r.p_holm:.3g} | "
                         f"{'ok' if r.passed else 'MOVED'} |")
        lines.append("")
    exp = [r for r in outcome.rows if r.tier == "expectation"]
    if exp:
        lines += ["### Expectations", "", "| scenario / plan | expectation | rule | now | |", "|---|---|---|---|---|"]
        for r in exp:
            lines.append(f"| {r.scenario} / {r.plan} | {r.figure} | {r.baseline} | {r.new} | "
                         f"{'ok' if r.passed else 'NOT MET'} |")
        lines.append("")
    exact = [r for r in outcome.rows if r.tier == "exact"]
    if exact:
        n_ok = sum(r.passed for r in exact)
        lines += [f"Exact tier: {n_ok} of {len(exact)} figures and digests reproduce (6 significant digits).", ""]
    return "\n".join(lines)
