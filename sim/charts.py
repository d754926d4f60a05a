"""Chart conventions for people who decide: calendar dates on time axes, currency on money axes, no offsets.

Every chart of compare, optimize and sensitivity formats its axes here: a time axis reads "Mon 11 Dec 06:00"
from the scenario's start (sim.fmt.when), a money axis reads "CNY 2.4M" (never a "1e6" offset), and a target
is a labelled line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from sim import fmt  # noqa: E402


def compact_money(x: float, currency: str) -> str:
    """CNY 950, CNY 12.5k, CNY 2.4M, CNY 1.2B: short enough for a tick label."""
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e9:
        return f"{sign}{currency} {a / 1e9:.3g}B"
    if a >= 1e6:
        return f"{sign}{currency} {a / 1e6:.3g}M"
    if a >= 1e4:
        return f"{sign}{currency} {a / 1e3:.3g}k"
    return f"{sign}{currency} {a:,.0f}"


def money_axis(ax: Axes, currency: str, axis: str = "x") -> None:
    """Tick labels with the currency and k/M/B suffixes, never a scientific offset."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda x, _pos: compact_money(x, currency)))


def plain_axis(ax: Axes, axis: str = "y") -> None:
    """Plain numbers with thousands separators (no offset, no scientific notation)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"))


def dates(start: dt.datetime, hours: Sequence[float] | np.ndarray) -> list[dt.datetime]:
    """Calendar times of simulated hours since the scenario's start."""
    return [fmt.clock(start, float(h)) for h in hours]


def date_axis(ax: Axes, span_h: float) -> None:
    """A time axis of calendar dates (and clock times when the span is short), read like sim.fmt.when."""
    if span_h <= 72:
        ax.xaxis.set_major_locator(mdates.HourLocator(byhour=[0, 6, 12, 18]))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b\n%H:%M"))
    else:
        step = max(1, int(round(span_h / 24 / 10)))
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=step))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b"))
    for label in ax.get_xticklabels():
        label.set_fontsize(8)


def target_line(ax: Axes, value: float, text: str, horizontal: bool = True) -> None:
    """A dashed red line at a target, labelled."""
    if horizontal:
        ax.axhline(value, color="crimson", ls="--", lw=1)
        ax.annotate(text, (0.0, value), xycoords=("axes fraction", "data"), xytext=(4, 3),
                    textcoords="offset points", ha="left", color="crimson", fontsize=8)
    else:
        ax.axvline(value, color="crimson", ls="--", lw=1)
        ax.annotate(text, (value, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", color="crimson", fontsize=8)
