"""The after-action report's charts (matplotlib, for print): one figure per chart, one unit per axis.

Every line is labelled where it ends (and in the legend), so overlapping lines can still be told apart; the
colours are colour-blind safe and each line has its own dash pattern; the time axis shows calendar dates and
clock times (sim.fmt); injects (I1, ...) and decisions (D1, ...) are marked and labelled at the top.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sim import fmt, palette  # noqa: E402
from sim.situation import Mark, mark_rows  # noqa: E402

PLOT_DPI = 110
PNG_META = {"Software": None}  # no version string in the files: the same figures give the same bytes
SIZE = (10.0, 4.8)
COUNTS = ("claims", "customers", "people")  # units counted in whole numbers


@dataclass(frozen=True)
class Line:
    label: str
    hours: np.ndarray  # end of each hour, in hours since the start
    values: np.ndarray


@dataclass(frozen=True)
class Chart:
    """One chart of the report: a title, the unit of its y axis, and its labelled lines."""

    name: str   # file name
    title: str
    unit: str   # y axis label, with the unit
    lines: list[Line]


def draw(chart: Chart, start: dt.datetime, horizon_h: float, marks: list[Mark], now_h: float | None = None) -> bytes:
    """The chart as PNG bytes (deterministic for the same input)."""
    plt.rcParams.update({"font.size": 11, "svg.hashsalt": "claimsim"})
    fig, ax = plt.subplots(figsize=SIZE)
    ends: list[tuple[float, str, str]] = []
    for i, line in enumerate(chart.lines):
        if not len(line.hours):
            continue
        colour = palette.colour(i)
        pattern = palette.dash(i)
        style = {"dashes": pattern} if pattern else {"ls": "-"}
        ax.plot(line.hours, line.values, color=colour, lw=2.2, label=line.label, **style)
        ends.append((float(line.values[-1]), line.label, colour))
    top = max([float(np.nanmax(ln.values)) for ln in chart.lines if len(ln.values)] + [1.0])
    ax.set_ylim(0, top * 1.08)
    ax.set_xlim(0, horizon_h)
    for y, text, colour in _spread(ends, top * 0.07):
        ax.annotate(text, xy=(1.005, 0), xycoords=("axes fraction", "data"), xytext=(0, y), textcoords=(
            "offset points", "data"), color=colour, fontsize=10, va="center", annotation_clip=False)
    rows = mark_rows(marks, horizon_h / 18)
    band = ax.get_xaxis_transform()  # x in hours, y in axes fractions: the codes sit in a band above the plot
    for m, row in zip(marks, rows, strict=True):
        colour = palette.DECISION if m.kind == "decision" else palette.INJECT
        ax.axvline(m.hour, color=colour, lw=1.0, ls="--", alpha=0.8)
        ax.text(m.hour, 1.02 + 0.075 * row, m.code, transform=band, color=colour, fontsize=9, ha="center",
                va="bottom", fontweight="bold", clip_on=False)
    if now_h is not None:
        ax.axvline(now_h, color=palette.NOW, lw=1.2)
    ticks = fmt.time_ticks(start, horizon_h, 8)
    ax.set_xticks([t[0] for t in ticks], [f"{d}\n{c}" for _, d, c in ticks])
    ax.set_ylabel(chart.unit)
    if chart.unit in COUNTS:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(chart.title, loc="left", fontsize=12, pad=8 + 14 * (max(rows) + 1 if rows else 0))
    ax.grid(True, color=palette.GRID, lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    if len(chart.lines) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2), ncol=4, fontsize=9, frameon=False)
    fig.subplots_adjust(left=0.08, right=0.8, top=0.8, bottom=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI, metadata=PNG_META)
    plt.close(fig)
    return buf.getvalue()


def _spread(ends: list[tuple[float, str, str]], gap: float) -> list[tuple[float, str, str]]:
    """End labels moved apart vertically so that none overlaps another (at least `gap` apart)."""
    out: list[tuple[float, str, str]] = []
    for y, text, colour in sorted(ends):
        if out and y - out[-1][0] < gap:
            y = out[-1][0] + gap
        out.append((y, text, colour))
    return out


def series_line(label: str, series: Any, column: str, cumulative: bool = False) -> Line:
    """A line of an hourly series column (points at the end of each hour)."""
    if column not in series:
        return Line(label, np.array([]), np.array([]))
    values = series[column].to_numpy(dtype=float)
    return Line(label, series["hour"].to_numpy(dtype=float) + 1, np.cumsum(values) if cumulative else values)
