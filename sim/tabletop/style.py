"""The page's look for a projector at 1920x1080 seen from the back of a room: large text, high contrast.

No visible text is smaller than 16 px (the browser test measures it): Vuetify's small defaults (buttons 14 px,
labels shrunk to 75%, hints 12 px) are raised here. Colours come from `sim.palette` (colour-blind safe).
"""

from __future__ import annotations

from sim import palette

BASE_PX = 20        # page text
SMALL_PX = 17       # the smallest text anywhere (hints, table notes)
CHART_LABEL_PX = 18  # chart axis labels, legends, marks
CHART_TITLE_PX = 22

CSS = f"""
html, body, .v-application {{ font-size: {BASE_PX}px !important; color: {palette.TEXT}; }}
.v-application .tabletop-page, .v-application .tabletop-players {{ font-size: {BASE_PX}px; line-height: 1.35; }}
.tabletop-page h1, .tabletop-players h1 {{ font-size: 34px; margin: 0; font-weight: 700; }}
.tabletop-page h2, .tabletop-players h2 {{ font-size: 28px; margin: 0 0 6px 0; font-weight: 700; }}
.tabletop-page h3, .tabletop-players h3 {{ font-size: 24px; margin: 8px 0 4px 0; font-weight: 700; }}
.tabletop-clock {{ font-size: 34px !important; font-weight: 700; letter-spacing: 0.5px; }}
.tabletop-headline {{ font-size: 26px !important; font-weight: 700; color: {palette.COLOURS[1]}; }}
.tabletop-calm {{ color: {palette.COLOURS[2]}; }}
.v-application .v-btn {{ font-size: 19px !important; text-transform: none !important; letter-spacing: 0 !important;
  font-weight: 600; min-height: 44px; }}
.v-application .v-btn.v-size--small {{ font-size: {SMALL_PX}px !important; min-height: 36px; }}
.v-application .v-label {{ font-size: 18px !important; color: #333 !important; }}
.v-application .v-text-field .v-label--active {{ transform: translateY(-24px) scale(1) !important; }}
.v-application .v-input, .v-application .v-input input, .v-application .v-select__selection,
.v-application .v-input textarea {{ font-size: {BASE_PX}px !important; color: {palette.TEXT} !important; }}
.v-application .v-text-field {{ padding-top: 18px !important; }}
.v-application .v-messages, .v-application .v-counter {{ font-size: {SMALL_PX}px !important; }}
.v-application .v-list-item__title, .v-application .v-list-item__subtitle, .v-application .v-list-item,
.v-application .v-select-list .v-list-item__content {{ font-size: {BASE_PX}px !important; }}
.v-application .v-tab {{ font-size: 21px !important; text-transform: none !important; letter-spacing: 0 !important;
  font-weight: 700; color: {palette.TEXT} !important; }}
.v-application .v-alert {{ font-size: {BASE_PX}px !important; }}
.v-application .v-card__title {{ font-size: 26px !important; font-weight: 700; }}
.v-application .v-chip {{ font-size: 18px !important; }}
.tabletop-table {{ border-collapse: collapse; font-size: {BASE_PX}px; }}
.tabletop-table th {{ text-align: left; padding: 3px 14px 3px 0; border-bottom: 2px solid {palette.TEXT}; }}
.tabletop-table td {{ padding: 3px 14px 3px 0; border-bottom: 1px solid {palette.GRID}; }}
.tabletop-table td.num, .tabletop-table th.num {{ text-align: right; }}
.tabletop-table tr.worst td {{ font-weight: 700; color: {palette.COLOURS[1]}; }}
.tabletop-note {{ font-size: {SMALL_PX}px !important; color: #333; }}
.tabletop-explain {{ background: #F2F6FA; border-left: 6px solid {palette.COLOURS[0]}; padding: 8px 12px;
  margin: 6px 0; font-size: {BASE_PX}px; }}
.tabletop-explain b {{ font-weight: 700; }}
.tabletop-feed {{ font-size: 18px !important; }}
.tabletop-feed-line {{ font-size: 18px !important; }}
.tabletop-panel {{ border: 1px solid {palette.GRID}; border-radius: 6px; padding: 10px 14px; background: white; }}
.tabletop-chart {{ min-height: 120px; }}
.tabletop-chart .vega-embed {{ font-size: {CHART_LABEL_PX}px; }}
#vg-tooltip-element {{ font-size: 18px !important; }}
tr.tabletop-status-met td:last-child {{ color: #006644; font-weight: 700; }}
tr.tabletop-status-partly-met td:last-child {{ color: #8A5A00; font-weight: 700; }}
tr.tabletop-status-not-met td:last-child {{ color: #A32100; font-weight: 700; }}
tr.tabletop-status-not-measured td:last-child {{ color: #444444; font-weight: 700; }}
a.tabletop-link {{ font-size: {BASE_PX}px; font-weight: 700; color: {palette.COLOURS[0]}; }}
"""
