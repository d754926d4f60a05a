"""The tabletop page: a web page that steps an exercise hour by hour with injects, decisions, branches and reports.

`sim.tabletop.page` holds the Solara app (`Page`: the facilitator's window, and the players' window with
`?view=players`), split by panel into modules of its own; `sim.tabletop.server` starts it behind
`sim.tabletop.guard` (Host, Origin and token checks, read-only assets), both configured through
`sim.tabletop.config`. The page calls only the exercise API (`sim.exercise`, `sim.branches`, `sim.situation`,
`sim.levers`, `sim.objectives`, `sim.aar`) and holds no simulation logic.
"""
