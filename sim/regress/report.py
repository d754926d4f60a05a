"""The check's outputs: JUnit XML (one test case per scenario x plan x figure) and Markdown for a merge request.

Both say on their first lines that claimsim wrote them (sim.files.SIGNATURE), so that a later check may replace
them and nothing else is ever replaced.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from sim.files import SIGNATURE
from sim.regress.coverage import Coverage
from sim.regress.outcome import Outcome, Row, label, registry_figure, summary

TIERS = ("provenance", "exact", "stat", "expectation")
MAX_ROWS = 100       # rows of "what moved" in the Markdown
MAX_CHARS = 60_000   # a merge-request comment holds 65,536 characters (GitHub): details beyond this are left out


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
    exp = [r for r in outcome.rows if r.tier == "expectation"]
    if exp:
        lines += ["### Expectations", "", "| scenario / plan | expectation | rule | now | |", "|---|---|---|---|---|"]
        lines += [f"| {r.scenario} / {r.plan} | {_cell(r.figure)} | {r.baseline} | {r.new} | "
                  f"{'ok' if r.passed else 'NOT MET'} |" for r in exp]
        lines.append("")
    details: list[list[str]] = []
    if coverage is not None:
        lines += _never(coverage)
        details.append(_coverage(coverage))
    details.insert(0, _stat_table(outcome.rows))
    info = [n for n in outcome.notes if n.level == "info"]
    if info:
        details.append(["<details><summary>Provenance notes</summary>", ""] + [f"- {_cell(n.text)}" for n in info]
                       + ["", "</details>", ""])
    text = "\n".join(lines)
    left_out = 0
    for part in details:  # the details in order, as long as the whole stays short enough for a comment
        more = "\n".join(part)
        if len(text) + len(more) + 200 <= MAX_CHARS:
            text += "\n" + more
        elif part:
            left_out += 1
    if left_out:
        text += (f"\n{left_out} detail table(s) left out to keep this report under {MAX_CHARS:,} characters (a "
                 "comment's limit): the JUnit file has every test case.\n")
    return text


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
    """One line per scenario, plan and figure: the baseline, the fresh seeds, the same seeds, both adjusted p."""
    stat = [r for r in rows if r.tier == "stat" and r.test]
    if not stat:
        return []
    both: dict[tuple[str, str, str], dict[str, Row]] = {}
    for r in stat:
        both.setdefault((r.scenario, r.plan, r.figure), {})[r.test] = r
    out = ["<details><summary>Statistical tier: every figure, mean [95% CI] over replications</summary>", "",
           "| scenario / plan | figure | baseline | fresh seeds | same seeds: mean change | adj. p (fresh, same) | |",
           "|---|---|---|---|---|---|---|"]
    for (scen, plan, fig), tests in both.items():
        fresh, same = tests.get("fresh seeds"), tests.get("same seeds")
        any_row = fresh or same
        ps = ", ".join(f"{r.p_adj:.2g}" if r is not None and r.p_adj is not None else "-" for r in (fresh, same))
        bad = [r for r in (fresh, same) if r is not None and not r.passed]
        out.append(f"| {scen} / {plan} | {_cell(label(fig))} | {_cell(any_row.baseline)} | "  # type: ignore[union-attr]
                   f"{_cell(fresh.new) if fresh else '-'} | "
                   f"{_paired(same)} | {ps} | {'ok' if not bad else bad[0].verdict.upper() or 'MOVED'} |")
    return out + ["", "</details>", ""]


def _paired(r: Row | None) -> str:
    if r is None or r.change is None or math.isnan(r.change):
        return "-"
    f = registry_figure(r.figure)
    return f.format_diff(r.change) if f is not None else f"{r.change:+.4g}"


def _never(cov: Coverage) -> list[str]:
    out = ["### Code defaults", "",
           f"{len(cov.exercised)} of {len(cov.used_by)} settings with a code default are left at it by at least one "
           "scenario under regression (a change to them is seen)."]
    if cov.never:
        out.append(f" {len(cov.never)} are set by every scenario, so their code defaults are never run by this "
                   "check: " + ", ".join(f"`{k}`" for k in cov.never) + ".")
    return out + [""]


def _coverage(cov: Coverage) -> list[str]:
    out = ["<details><summary>Each code default and the scenarios that leave it untouched</summary>", "",
           "| setting | scenarios that leave it at its default |", "|---|---|"]
    out += [f"| `{k}` | {', '.join(v) or '**none**'} |" for k, v in sorted(cov.used_by.items())]
    return out + ["", "</details>", ""]
