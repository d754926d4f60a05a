"""Vega-Lite charts drawn in the browser (SVG: crisp at any size, values on hover), entirely offline.

The scripts come from the solara-assets copy the guard serves read-only, at the exact versions that package
ships (found in its file list, never a version range that would need a CDN to resolve). vega-embed runs
without its action menu (no link to the online editor), so a chart makes no request at all.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import ipyvuetify as v
import solara
import traitlets

LIBRARIES = {"vega": "vega@", "vega-lite": "vega-lite@", "vega-embed": "vega-embed@"}
BUILDS = {"vega": "build/vega.min.js", "vega-lite": "build/vega-lite.min.js", "vega-embed": "build/vega-embed.min.js"}

TEMPLATE = r"""
<template>
  <div class="tabletop-chart-box"><div ref="plot"></div></div>
</template>
<script>
module.exports = {
  mounted() { this.draw(); },
  beforeDestroy() { if (this.view) { this.view.finalize(); } },
  watch: { spec() { this.draw(); } },
  methods: {
    draw() {
      const base = (window.solara && window.solara.cdn) ? window.solara.cdn : "./_solara/cdn";
      const paths = {};
      for (const [name, rel] of Object.entries(this.libs)) { paths[name] = base + "/" + rel; }
      window.requirejs.config({map: {"*": paths}});
      const spec = JSON.parse(this.spec);
      window.requirejs(["vega", "vega-lite", "vega-embed"], (vega, vl, vegaEmbed) => {
        vegaEmbed(this.$refs.plot, spec, {renderer: "svg", actions: false}).then((result) => {
          if (this.view) { this.view.finalize(); }
          this.view = result.view;
          this.drawn = this.drawn + 1;
        }).catch((err) => { console.error("chart", err); });
      });
    }
  }
}
</script>
"""


@functools.cache
def shipped_libraries() -> dict[str, str]:
    """The vega scripts solara-assets ships, by module name, as paths under its cdn folder (exact versions)."""
    from sim.tabletop.guard import ShippedAssets

    files = ShippedAssets.installed().files
    out = {}
    for name, prefix in LIBRARIES.items():
        found = sorted((f for f in files if re.fullmatch(re.escape(prefix) + r"\d+\.\d+\.\d+/" + re.escape(
            BUILDS[name]), f)), key=lambda f: [int(x) for x in f.split("@")[1].split("/")[0].split(".")])
        if found:
            out[name] = found[-1]
    return out


class VegaChart(v.VuetifyTemplate):
    """A Vega-Lite spec drawn by vega-embed in the browser."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    spec = traitlets.Unicode("{}").tag(sync=True)  # JSON text: one string to compare and send, not a tree
    libs = traitlets.Dict().tag(sync=True)
    drawn = traitlets.Int(0).tag(sync=True)


def as_json(spec: dict[str, Any]) -> str:
    """A chart's spec as the JSON text the widget takes (compact, keys in order: equal specs, equal text)."""
    return json.dumps(spec, separators=(",", ":"), sort_keys=True, allow_nan=False)


@solara.component
def Chart(spec: str, name: str = "") -> None:
    """One chart (its spec as JSON text) in its panel (CSS class tabletop-chart, plus tabletop-chart-NAME)."""
    with solara.Div(classes=["tabletop-chart", f"tabletop-chart-{name}"] if name else ["tabletop-chart"]):
        VegaChart.element(spec=spec, libs=shipped_libraries())
