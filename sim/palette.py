"""Colours for charts people read from afar: the Okabe-Ito palette (safe for colour-blind readers), high contrast.

The page's charts and the printed reports take their colours from here, in this order, with a dash pattern per
line as well, so that no line is told apart by colour alone. Yellow is left out: it does not show on white.
"""

from __future__ import annotations

# Okabe & Ito (2008), "Color Universal Design": blue, vermillion, bluish green, reddish purple, orange, sky blue, black
COLOURS: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Dash patterns (on, off in px) that go with the colours, for lines that must differ in grey print too.
DASHES: tuple[tuple[int, ...], ...] = ((), (8, 4), (2, 3), (10, 3, 2, 3), (4, 4), (12, 6), (1, 2))
INJECT = "#CC79A7"     # markers of injects
DECISION = "#009E73"   # markers of decisions
NOW = "#000000"        # the current hour
TEXT = "#111111"
GRID = "#D0D0D0"


def colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def dash(i: int) -> tuple[int, ...]:
    return DASHES[i % len(DASHES)]
