"""The observed claim-progress curves under scenarios/observed/: format, ranges, monotone curves, sources listed."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

OBSERVED = Path(__file__).resolve().parents[1] / "scenarios" / "observed"
README = OBSERVED / "README.md"
HEADER = ["day", "metric", "value", "segment", "source"]
METRICS = {"reported", "closed", "paid"}
SEGMENTS = {"all", "auto", "home", "farm", "commercial"}
FILES = sorted(OBSERVED.rglob("*.csv"))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        rows = [dict(zip(header, row, strict=True)) for row in reader if row]
    return header, rows


def test_there_are_observed_files() -> None:
    assert README.is_file()
    assert FILES, f"no CSV under {OBSERVED}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_header_and_fields(path: Path) -> None:
    header, rows = read_rows(path)
    assert header == HEADER, f"{path.name}: header {header}"
    assert rows, f"{path.name}: no data rows"
    for i, row in enumerate(rows, start=2):
        where = f"{path.name} line {i}"
        assert row["metric"] in METRICS, f"{where}: metric {row['metric']!r}"
        assert row["segment"] in SEGMENTS, f"{where}: segment {row['segment']!r}"
        assert 0.0 <= float(row["value"]) <= 1.0, f"{where}: value {row['value']}"
        assert float(row["day"]) >= 0.0, f"{where}: day {row['day']}"
        assert row["source"].strip(), f"{where}: empty source"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_curves_do_not_decrease(path: Path) -> None:
    _, rows = read_rows(path)
    curves: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        curves[row["metric"], row["segment"]].append((float(row["day"]), float(row["value"])))
    for key, points in curves.items():
        days = [d for d, _ in points]
        assert len(days) == len(set(days)), f"{path.name} {key}: two rows on one day"
        values = [v for _, v in sorted(points)]
        assert values == sorted(values), f"{path.name} {key}: falls with day: {sorted(points)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sources_are_listed_in_the_readme(path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    _, rows = read_rows(path)
    missing = sorted({row["source"] for row in rows if f"`{row['source']}`" not in readme})
    assert not missing, f"{path.name}: source tags not listed (in backticks) in {README.name}: {missing}"
