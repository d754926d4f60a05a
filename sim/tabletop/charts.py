"""Vega-Lite specs of the page's charts: one chart per panel, large text, dates and clock times on the time axis.

Pure functions of the data (no Solara here), so the specs can be tested without a browser. The time axis is in
hours since the start, with ticks labelled by `sim.fmt` (day, date and clock time, the same words as the clock
and the reports); every point's tooltip says when it was. Injects (I1, ...) and decisions (D1, ...) are dashed
rules labelled with their code, the current hour a solid rule; lines differ by colour (colour-blind safe) and
by dash pattern.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import fmt, palette
from sim.situation import Mark, mark_rows
from sim.tabletop.style import CHART_LABEL_PX, CHART_TITLE_PX

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier only: nothing is fetched
FONT = "Roboto, Arial, sans-serif"
TICK_PX = 130  # room for a tick label ("Mon 11 Dec" over "06:00") at 18 px


@dataclass(frozen=True)
class Series:
    """One line (or band) of a chart: its label and its points (hours since the start, values)."""

    label: str
    hours: Sequence[float]
    values: Sequence[float]


def hourly(label: str, frame: pd.DataFrame, column: str, cumulative: bool = False) -> Series:
    """A series column, each value at the end of its hour."""
    if column not in frame or not len(frame):
        return Series(label, [], [])
    values = frame[column].to_numpy(dtype=float)
    return Series(label, list(frame["hour"].to_numpy(dtype=float) + 1), list(np.cumsum(values) if cumulative
                                                                             else values))


def time_axis(start: dt.datetime, horizon_h: float, width: int) -> dict:
    """The x encoding: hours 0..horizon, ticks labelled with day, date and clock time (two lines)."""
    ticks = fmt.time_ticks(start, horizon_h, max(2, width // TICK_PX + 1))
    labels = {str(h): [d, c] for h, d, c in ticks}
    return {"field": "t", "type": "quantitative", "title": None,
            "scale": {"domain": [0, horizon_h], "nice": False, "zero": True},
            "axis": {"values": [h for h, _, _ in ticks], "labelExpr": f"{json.dumps(labels)}['' + datum.value]",
                     "labelOverlap": False, "labelFlush": True, "grid": True, "tickCount": len(ticks)}}


def _config() -> dict:
    return {"font": FONT,
            "axis": {"labelFontSize": CHART_LABEL_PX, "titleFontSize": CHART_LABEL_PX, "labelColor": palette.TEXT,
                     "titleColor": palette.TEXT, "gridColor": palette.GRID, "domainColor": palette.TEXT,
                     "tickColor": palette.TEXT, "titleFontWeight": "bold"},
            "legend": {"labelFontSize": CHART_LABEL_PX, "titleFontSize": CHART_LABEL_PX, "symbolStrokeWidth": 4,
                       "symbolSize": 500, "labelLimit": 400, "orient": "bottom", "direction": "horizontal",
                       "columns": 3, "symbolType": "stroke", "labelColor": palette.TEXT, "title": None},
            "title": {"fontSize": CHART_TITLE_PX, "anchor": "start", "color": palette.TEXT, "fontWeight": "bold"},
            "view": {"stroke": None}}


def _points(series: list[Series], start: dt.datetime) -> list[dict]:
    return [{"t": float(h), "v": float(v), "line": s.label, "when": fmt.when(start, h)}
            for s in series for h, v in zip(s.hours, s.values, strict=True) if v == v]


def mark_layers(marks: list[Mark], horizon_h: float, width: int, now_h: float | None) -> list[dict]:
    """Rules for injects and decisions, labelled with their codes at the top (staggered), and the hour now.

    Their colours are fixed per layer, so they do not join the lines' colour scale (or its legend)."""
    layers: list[dict] = []
    rows = mark_rows(marks, horizon_h * 40 / max(width, 1))
    for kind, colour in (("inject", palette.INJECT), ("decision", palette.DECISION)):
        data = [{"t": m.hour, "code": m.code, "title": m.title, "row": r}
                for m, r in zip(marks, rows, strict=True) if m.kind == kind]
        if not data:
            continue
        tooltip = [{"field": "code", "title": kind}, {"field": "title", "title": "what"}]
        layers.append({"data": {"values": data},
                       "mark": {"type": "rule", "strokeDash": [6, 4], "strokeWidth": 2, "color": colour},
                       "encoding": {"x": {"field": "t", "type": "quantitative"}, "tooltip": tooltip}})
        layers.append({"data": {"values": data},
                       "transform": [{"calculate": f"{CHART_LABEL_PX + 2} * datum.row + 2", "as": "y"}],
                       "mark": {"type": "text", "fontSize": CHART_LABEL_PX, "fontWeight": "bold", "baseline": "top",
                                "dx": 4, "align": "left", "color": colour},
                       "encoding": {"x": {"field": "t", "type": "quantitative"},
                                    "y": {"field": "y", "type": "quantitative", "scale": None},
                                    "text": {"field": "code"}, "tooltip": tooltip}})
    if now_h is not None:
        layers.append({"data": {"values": [{"t": now_h}]}, "mark": {"type": "rule", "strokeWidth": 3,
                                                                   "color": palette.NOW},
                       "encoding": {"x": {"field": "t", "type": "quantitative"}}})
    return layers


def line_chart(title: str, unit: str, series: list[Series], start: dt.datetime, horizon_h: float,
               marks: list[Mark] | None = None, now_h: float | None = None, width: int = 560, height: int = 240,
               area: bool = False, future_shade: bool = False) -> dict:
    """Lines (or stacked areas) over time in one unit, with marks, on a dated time axis."""
    labels = [s.label for s in series]
    x = time_axis(start, horizon_h, width)
    colour = {"field": "line", "type": "nominal", "sort": labels, "title": None,
              "scale": {"domain": labels, "range": [palette.colour(i) for i in range(len(labels))]}}
    flat = all(v <= 0 for s in series for v in s.values if v == v)  # nothing yet: an axis from 0 to 1
    encoding: dict = {"x": x, "y": {"field": "v", "type": "quantitative", "title": unit,
                                    "scale": {"domain": [0, 1]} if flat else {"zero": True},
                                    **({"stack": "zero"} if area else {})},
                      "color": colour,
                      "tooltip": [{"field": "when", "title": "time"}, {"field": "line", "title": "line"},
                                  {"field": "v", "title": unit, "format": ",.0f" if unit != "cm per hour" else ".2f"}]}
    if area:
        colour["legend"] = {"symbolType": "square", "symbolStrokeWidth": 0}
        encoding["order"] = {"field": "order", "type": "quantitative"}
        main = {"mark": {"type": "area", "opacity": 0.9, "interpolate": "step-before"}, "encoding": encoding}
        points = _points(series, start)
        for p in points:
            p["order"] = labels.index(p["line"])
    else:
        encoding["strokeDash"] = {"field": "line", "type": "nominal", "sort": labels, "title": None,
                                  "scale": {"domain": labels, "range": [list(palette.dash(i)) or [1, 0]
                                                                         for i in range(len(labels))]}}
        main = {"mark": {"type": "line", "strokeWidth": 3, "point": False}, "encoding": encoding}
        points = _points(series, start)
    layers: list[dict] = []
    if future_shade and now_h is not None and now_h < horizon_h:
        layers.append({"data": {"values": [{"t": now_h, "t2": horizon_h, "what": "forecast"}]},
                       "mark": {"type": "rect", "color": "#000000", "opacity": 0.06},
                       "encoding": {"x": {"field": "t", "type": "quantitative"}, "x2": {"field": "t2"}}})
    layers.append({"data": {"values": points}, **main})
    layers += mark_layers(marks or [], horizon_h, width, now_h)
    return {"$schema": SCHEMA, "title": title, "width": width, "height": height, "layer": layers,
            "config": _config(), "padding": {"left": 4, "right": 12, "top": 4, "bottom": 4}}


def overlay_chart(title: str, unit: str, a: Series, b: Series, start: dt.datetime, horizon_h: float,
                  at_h: float, width: int = 560, height: int = 240) -> dict:
    """Two branches' lines on one chart up to the hour they are compared at (first solid, second dashed)."""
    return line_chart(title, unit, [a, b], start, horizon_h, [], at_h, width, height)


def storm_chart(snow: pd.DataFrame, ice: pd.DataFrame, start: dt.datetime, horizon_h: float, marks: list[Mark],
                now_h: float, width: int = 560, height: int = 240) -> dict:
    """Snowfall (cm per hour) by region as lines; hours of freezing rain as a band along the bottom (its own
    unit, mm per hour, in the tooltip); shaded after now: the forecast as the exercise knows it."""
    regions = [str(c) for c in snow.columns]
    spec = line_chart("Storm: snowfall by region (shaded: forecast)", "cm of snow per hour",
                      [Series(r, list(range(len(snow))), list(snow[r])) for r in regions], start, horizon_h, marks,
                      now_h, width, height, future_shade=True)
    bands = [{"t": float(h), "t2": float(h + 1), "line": r, "mm": float(v), "when": fmt.when(start, h),
              "row": k} for k, r in enumerate(regions) for h, v in enumerate(ice[r]) if v > 0]
    if bands:
        spec["layer"].insert(1, {
            "data": {"values": bands},
            "transform": [{"calculate": f"{height} - 12 * (datum.row + 1)", "as": "y"},
                          {"calculate": f"{height} - 12 * datum.row", "as": "y2"}],
            "mark": {"type": "rect", "opacity": 0.85},
            "encoding": {"x": {"field": "t", "type": "quantitative"}, "x2": {"field": "t2"},
                         "y": {"field": "y", "type": "quantitative", "scale": None}, "y2": {"field": "y2"},
                         "color": {"field": "line", "type": "nominal", "legend": None,
                                   "scale": {"domain": regions, "range": [palette.colour(i)
                                                                          for i in range(len(regions))]}},
                         "tooltip": [{"field": "when", "title": "time"}, {"field": "line", "title": "region"},
                                     {"field": "mm", "title": "freezing rain, mm per hour", "format": ".1f"}]}})
        spec["title"] = {"text": spec["title"], "subtitle": "bars at the bottom: hours of freezing rain",
                         "subtitleFontSize": 18}
    return spec
