"""Formatting for people: numbers, shares, money, durations, dates and clock times, in one place.

Every report, table and page formats through these, so the same figure reads the same everywhere.
Missing values (None, NaN) read "n/a".
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

NA = "n/a"


def missing(x: Any) -> bool:
    """None or NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x: Any, digits: int = 0) -> str:
    """1,234 or 1,234.5 (thousands separated)."""
    if missing(x):
        return NA
    if not math.isfinite(float(x)):
        return f"{float(x)}"
    if isinstance(x, int) or digits == 0:
        return f"{round(float(x)):,}"
    return f"{float(x):,.{digits}f}"


def share(x: Any, digits: int = 1) -> str:
    """A share 0..1 as a percentage: 0.123 -> 12.3%."""
    return NA if missing(x) else f"{100 * float(x):.{digits}f}%"


def money(x: Any, currency: str = "CNY") -> str:
    """An amount with its currency and no decimals: CNY 1,234,567; large amounts in millions."""
    if missing(x):
        return NA
    v = float(x)
    if abs(v) >= 10_000_000:
        return f"{currency} {v / 1e6:,.1f}M"
    return f"{currency} {v:,.0f}"


def hours(x: Any, digits: int = 1) -> str:
    """A duration in hours: 12.3 h; from two days on also in days: 60.0 h (2.5 d)."""
    if missing(x):
        return NA
    v = float(x)
    text = f"{v:,.{digits}f} h"
    return text + (f" ({v / 24:.1f} d)" if abs(v) >= 48 else "")


def minutes(x: Any, digits: int = 1) -> str:
    return NA if missing(x) else f"{float(x):,.{digits}f} min"


def signed(x: Any, unit: str, currency: str = "CNY") -> str:
    """A difference with its sign: +3.2 h, -1.5%, +CNY 12,000."""
    if missing(x):
        return NA
    v = float(x)
    sign = "+" if v > 0 else ("-" if v < 0 else "±")
    return sign + value(abs(v), unit, currency)


def value(x: Any, unit: str, currency: str = "CNY") -> str:
    """Any figure by its unit (the units of sim.figures)."""
    if unit == "share":
        return share(x)
    if unit == "h":
        return hours(x)
    if unit == "min":
        return minutes(x)
    if unit == "money":
        return money(x, currency)
    if unit == "hour":  # an hour index since the start
        return NA if missing(x) else f"hour {number(x)}"
    if isinstance(x, float) and not missing(x) and abs(x) < 100 and x != int(x):
        return number(x, 1)
    return number(x)


def clock(start: dt.datetime, hour: float) -> dt.datetime:
    """The calendar time `hour` simulated hours after the scenario's start."""
    return start + dt.timedelta(hours=float(hour))


def when(start: dt.datetime, hour: float) -> str:
    """Day, date and clock time of a simulated hour: 'Mon 11 Dec 06:00'."""
    return clock(start, hour).strftime("%a %d %b %H:%M")


def unit_label(unit: str, currency: str = "CNY") -> str:
    """An axis or column label for a unit."""
    return {"h": "hours", "share": "%", "money": currency, "min": "minutes", "claims": "claims",
            "calls": "calls", "count": "count", "hour": "hour"}.get(unit, unit)


TICK_STEPS_H = (1, 2, 3, 6, 12, 24, 48, 168)


def time_ticks(start: dt.datetime, horizon_h: float, max_ticks: int = 7) -> list[tuple[int, str, str]]:
    """Ticks for a time axis over hours 0..horizon: (hour, day and date, clock time), at most `max_ticks`,
    on whole multiples of 1, 2, 3, 6, 12, 24 or 48 hours (or weeks) since the start."""
    step = next((s for s in TICK_STEPS_H if horizon_h / s + 1 <= max_ticks), TICK_STEPS_H[-1])
    out = []
    for h in range(0, int(horizon_h) + 1, step):
        t = clock(start, h)
        out.append((h, t.strftime("%a %d %b"), t.strftime("%H:%M")))
    return out
