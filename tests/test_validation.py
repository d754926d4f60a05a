"""The validation harness: its statistics, its measurements on small runs, and its command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import theory, validation
from sim.files import MARKER
from sim.metrics import restricted_latency
from sim.stats import mean_ci
from sim.validation import Row, compare


def test_mean_ci_contains_the_mean_and_narrows_with_more_data() -> None:
    rng = np.random.default_rng(1)
    small = rng.normal(5, 1, 5)
    big = rng.normal(5, 1, 500)
    m, lo, hi = mean_ci(small)
    assert lo < m < hi
    assert (mean_ci(big)[2] - mean_ci(big)[1]) < (hi - lo)
    wide = mean_ci(small, 0.999)
    assert wide[1] < lo and wide[2] > hi


def test_compare_passes_inside_and_fails_outside_the_interval() -> None:
    sims = [1.0, 1.1, 0.9, 1.05, 0.95]
    assert compare("x", "y", "z", 1.0, sims).passed
    assert not compare("x", "y", "z", 2.0, sims).passed
    assert not compare("x", "y", "z", 1.0, [1.0]).passed  # one replication has no interval


def test_restricted_latency_counts_unsettled_claims_to_the_horizon() -> None:
    claims = pd.DataFrame({"reported_h": [0.0, 10.0, np.nan, 20.0],
                           "settled_h": [5.0, np.nan, np.nan, 30.0]})
    # (5 - 0) + (100 - 10) + (30 - 20) over the three reported claims
    assert restricted_latency(claims, 100.0) == pytest.approx((5 + 90 + 10) / 3)


def test_phone_measurement_on_a_small_line_agrees_with_erlang_c() -> None:
    r = validation.measure_phone(c=3, lam=15.0, mu=10.0, patience_h=None, seed=5, warmup_h=2.0, measure_h=150.0)
    assert r["lam"] == pytest.approx(15.0, rel=1e-3)
    assert r["calls"] == pytest.approx(15.0 * 150.0, rel=0.1)
    assert r["p_abandon"] == 0.0
    # 2,250 calls: a loose band around Erlang C(3, 1.5) = 0.2368
    assert r["p_wait"] == pytest.approx(theory.erlang_c(3, 1.5), abs=0.07)
    assert 0.0 < r["service_level"] < 1.0


def test_survey_measurement_serves_video_cases_k_at_a_time() -> None:
    r = validation.measure_survey(kind="video", c=1, slots=3, lam=3.0, mu=2.0, seed=3, warmup_h=5.0,
                                  measure_h=200.0)
    # M/M/3 at load 0.5: a single surveyor guiding three scenes waits far less than M/M/1 at load 1.5 would
    assert r["p_wait"] == pytest.approx(theory.erlang_c(3, 1.5), abs=0.08)


def test_markdown_marks_failures_and_lists_every_row() -> None:
    rows = [Row("1 a", "cfg", "P(wait)", 0.5, 0.5, 0.4, 0.6, 4, True),
            Row("1 a", "cfg2", "P(wait)", 0.5, 0.9, 0.85, 0.95, 4, False)]
    text = validation.markdown(rows, False, 12.0, "claimsim validate")
    assert "1 of 2 rows pass" in text
    assert text.count("| 1 a |") == 2 and "**FAIL**" in text


def test_write_is_complete_or_absent(tmp_path) -> None:
    rows = [Row("1 a", "cfg", "P(wait)", np.float64(0.5), 0.5, 0.4, 0.6, np.int64(4), np.bool_(True))]
    folder = validation.write(rows, tmp_path / "validation", False, 1.0, "claimsim validate")
    assert {p.name for p in folder.iterdir()} == {"validation.csv", "summary.json", "report.md", "stationary.png",
                                                  "storm.png", MARKER}
    assert not list(tmp_path.glob(".*partial"))


def test_cli_refuses_an_unknown_case() -> None:
    from helpers import cli

    line = cli("validate", "--cases", "9").error_line()
    assert "--cases" in line and "9" in line


@pytest.mark.parametrize("full", [False, True])
def test_every_stationary_run_fits_the_horizon_limit(full: bool) -> None:
    """A configuration whose warm-up and window exceed a scenario's longest horizon fails only after an hour of
    the full set; check the plan of jobs instead."""
    from sim.scenario import Scenario

    limit = Scenario.model_fields["duration_h"].metadata
    most = next(m.le for m in limit if hasattr(m, "le"))
    for key in validation.CASES:
        for job in validation.CASES[key].jobs(full):
            k = job.kwargs
            if "warmup_h" in k:
                tail = 40.0 / k["mu"] + (k.get("patience_h") or 0) * 10 + 2
                assert k["warmup_h"] + k["measure_h"] + tail <= most, (key, job.config)


def test_validate_doc_keeps_the_sections_kept_by_hand() -> None:
    from sim.validation import keep_hand_sections

    old = ("# Validation\n\nold table\n\n## Notes\n\nold notes\n\n## Curve shape\n\n"
           "<!-- This section is kept by hand: ... -->\n\nfit table\n")
    new = "# Validation\n\nnew table\n\n## Notes\n\nnew notes\n"
    merged = keep_hand_sections(new, old)
    assert merged.startswith(new.rstrip("\n")) and merged.endswith("## Curve shape\n\n"
                                                                  "<!-- This section is kept by hand: ... -->\n\n"
                                                                  "fit table\n")
    assert "old table" not in merged and "old notes" not in merged
    assert keep_hand_sections(new, "# Validation\n\nold\n") == new   # nothing kept by hand: the new report alone
