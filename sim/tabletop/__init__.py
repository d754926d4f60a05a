"""The tabletop page: a web page that steps an exercise hour by hour with injects, decisions, forks and reports.

`sim.tabletop.page` holds the Solara app (`Page`); `sim.tabletop.server` starts it behind `sim.tabletop.guard`
(Host, Origin and token checks, read-only assets), both configured through `sim.tabletop.config`. The page
calls only the exercise API (`sim.exercise`, `sim.injects`, `sim.aar`).
"""
