"""The check's outputs: JUnit XML (one test case per scenario x plan x figure) and Markdown for a merge request.

Both say on their first lines that claimsim wrote them (sim.files.SIGNATURE), so that a later check may replace
them and nothing else is ever replaced.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from sim.files import SIGNATURE
from sim.regress.coverage import Coverage
from sim.regress.outcome import Outcome, Row, label, summary

TIERS = ("provenance", "exact", "stat", "expectation")
MAX_ROWS = 200  # rows of "what moved" in the Markdown (a merge-request comment has a size limit)


def junit(outcome: Outcome) -> str:
    """JUnit XML: one test suite per tier, one test case per scenario x plan x figure (and test)."""
    suites = ET.Element("testsuites", name="claimsim regress")
    for tier in TIERS:
        rows = [r for r in outcome.rows if r.tier == tier]
        if not rows:
            continue
        suite = ET.SubElement(suites, "testsuite", name=f"regress.{tier}", tests=str(len(rows)),
                              failures=str(sum(not r.passed for r in rows)), errors="0",
                              time=f"{outcome.seconds.get(tier, 0.0):.1f}")
        for r in rows:
            case = ET.SubElement(suite, "testcase", classname=f"regress.{tier}.{r.scenario}.{r.plan}", name=r.case)
            if not r.passed:
                fail = ET.SubElement(case, "failure", message=r.message or "changed", type=r.verdict or "changed")
                fail.text = f"baseline: {r.baseline}\nnow: {r.new}" + (
                    f"\nadjusted p: {r.p_adj:.3g}" if r.p_adj is not None else "")
    if outcome.notes:
        out = ET.SubElement(suites, "system-out")
        out.text = "\n".join(f"{n.level}: {n.text}" for n in outcome.notes)
    body = ET.tostring(suites, encoding="unicode")
    return f"<?xml version='1.0' encoding='utf-8'?>\n<!-- {SIGNATURE} regress -->\n{body}\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(outcome: Outcome, meta: dict[str, Any], coverage: Coverage | None = None) -> str:
    """Markdown fit for a merge-request comment: what to know first, the verdicts, what moved, then details."""
    failed = outcome.failed
    lines = [f"<!-- {SIGNATURE} regress: a report of the scenario regression check -->",
             "## claimsim scenario regression", "",
             f"{'**FAILED**' if failed else '**passed**'}: {len(outcome.rows) - len(failed)} of {len(outcome.rows)} "
             f"checks pass ({', '.join(meta['tiers'])} tiers, {meta['scenarios']} scenario(s)).", ""]
    first = [n for n in outcome.notes if n.level in ("fail", "warn")]
    if first:
        lines += ["### Before the figures", ""]
        lines += [f"- {'**' + n.level + '**' if n.level == 'fail' else n.level}: {_cell(n.text)}" for n in first]
        lines.append("")
    verdicts = _verdicts(outcome.rows)
    if verdicts:
        lines += ["### Verdict", "", "| scenario / plan | tier | verdict |", "|---|---|---|"]
        lines += [f"| {s} / {p} | {t} | {_cell(v)} |" for (s, p, t), v in verdicts.items()]
        lines.append("")
    if failed:
        lines += ["### What moved", "",
                  "| tier | scenario / plan | figure | test | baseline | now | verdict | adj. p |",
                  "|---|---|---|---|---|---|---|---|"]
        order = sorted(failed, key=lambda r: (TIERS.index(r.tier), r.verdict != "worse", r.scenario, r.plan))
        for r in order[:MAX_ROWS]:
            p = f"{r.p_adj:.2g}" if r.p_adj is not None else ""
            lines.append(f"| {r.tier} | {r.scenario} / {r.plan} | {_cell(label(r.figure))} | {r.test} | "
                         f"{_cell(r.baseline)} | {_cell(r.new)} | {r.verdict} | {p} |")
        if len(failed) > MAX_ROWS:
            lines.append(f"| ... | {len(failed) - MAX_ROWS} more (see the JUnit file) | | | | | | |")
        lines += ["", "If the change is intended, run `claimsim regress --update`, review "
                      "`git diff results/baselines/` and commit the baselines with the change.", ""]
    lines += _method(meta, outcome)
    lines += _stat_table(outcome.rows)
    exp = [r for r in outcome.rows if r.tier == "expectation"]
    if exp:
        lines += ["### Expectations", "", "| scenario / plan | expectation | rule | now | |", "|---|---|---|---|---|"]
        lines += [f"| {r.scenario} / {r.plan} | {_cell(r.figure)} | {r.baseline} | {r.new} | "
                  f"{'ok' if r.passed else 'NOT MET'} |" for r in exp]
        lines.append("")
    if coverage is not None:
        lines += _coverage(coverage)
    info = [n for n in outcome.notes if n.level == "info"]
    if info:
        lines += ["<details><summary>Provenance notes</summary>", ""] + [f"- {_cell(n.text)}" for n in info]
        lines += ["", "</details>", ""]
    return "\n".join(lines)


def _verdicts(rows: list[Row]) -> dict[tuple[str, str, str], str]:
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        if r.tier in ("exact", "stat"):
            groups.setdefault((r.scenario, r.plan, r.tier), []).append(r)
    return {k: summary(v) for k, v in groups.items() if any(not r.passed for r in v)}


def _method(meta: dict[str, Any], outcome: Outcome) -> list[str]:
    out = ["### How this was checked", ""]
    if "exact" in meta["tiers"]:
        exact = [r for r in outcome.rows if r.tier == "exact"]
        out.append(f"- exact tier: one seed per plan, each scenario through its storm's peak and "
                   f"{meta.get('after_peak_h', 12)} h more ({meta.get('exact_hours', '')}); "
                   f"{sum(r.passed for r in exact)} of {len(exact)} figures and claims digests reproduce "
                   "to 6 significant digits.")
    if "stat" in meta["tiers"]:
        out.append(f"- statistical tier: {meta['reps']} replications per plan on fresh seeds (two-sample tests) "
                   f"and on the baseline's seeds (paired), {meta['n_figures']} figures; Holm within each scenario, "
                   f"Bonferroni across the {meta['stat_scenarios']} scenario(s): any false alarm in the whole check "
                   f"has probability at most {meta['alpha']}.")
    for tier, secs in outcome.seconds.items():
        budget = outcome.budgets.get(tier)
        over = budget is not None and secs > budget
        out.append(f"- {tier} tier took {secs:.0f} s" + (f" (budget {budget:.0f} s{', OVER BUDGET' if over else ''})"
                                                         if budget is not None else "") + ".")
    return out + [""]


def _stat_table(rows: list[Row]) -> list[str]:
    stat = [r for r in rows if r.tier == "stat" and r.test]
    if not stat:
        return []
    out = ["<details><summary>Statistical tier: every figure, mean [95% CI] over replications</summary>", "",
           "| scenario / plan | figure | test | baseline | now | adj. p | |", "|---|---|---|---|---|---|---|"]
    for r in stat:
        p = f"{r.p_adj:.3g}" if r.p_adj is not None else ""
        out.append(f"| {r.scenario} / {r.plan} | {_cell(label(r.figure))} | {r.test} | {_cell(r.baseline)} | "
                   f"{_cell(r.new)} | {p} | {'ok' if r.passed else r.verdict.upper() or 'MOVED'} |")
    return out + ["", "</details>", ""]


def _coverage(cov: Coverage) -> list[str]:
    out = ["### Code defaults", "",
           f"{len(cov.exercised)} of {len(cov.used_by)} settings with a code default are left at it by at least one "
           "scenario under regression (a change to them is seen)."]
    if cov.never:
        out.append(f" {len(cov.never)} are set by every scenario, so their code defaults are never run by this "
                   "check: " + ", ".join(f"`{k}`" for k in cov.never) + ".")
    out += ["", "<details><summary>Each default and the scenarios that use it</summary>", "",
            "| setting | scenarios that leave it at its default |", "|---|---|"]
    out += [f"| `{k}` | {', '.join(v) or '**none**'} |" for k, v in sorted(cov.used_by.items())]
    return out + ["", "</details>", ""]
