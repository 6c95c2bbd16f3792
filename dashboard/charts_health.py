"""The coverage strip: one line per stored source, UTC days left to right, coloured by what is stored.

Drawn from runs of days in one state (a few dozen rectangles), not one cell per day: thousands of
cells make the browser's layout crawl.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.charts import DAY_TITLE, FIT_WIDTH, title

# (state, colour): the order of the legend.
STATES: tuple[tuple[str, str], ...] = (
    ("stored", "#59A14F"),
    ("partly stored", "#EDC948"),
    ("missing", "#E15759"),
    ("outside reach", "#E5E7EB"),
)


def coverage_strip(runs: pd.DataFrame, track_order: list[str]) -> alt.Chart:
    """``runs``: track, state, first, last (inclusive UTC days), days, as ``reads_health.coverage_runs``."""
    data = runs.assign(
        start=pd.to_datetime(runs["first"]).dt.strftime("%Y-%m-%d"),
        # A run covers its last day whole: the bar ends where the next day begins.
        stop=(pd.to_datetime(runs["last"]) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d"),
        first_day=pd.to_datetime(runs["first"]).dt.strftime("%Y-%m-%d"),
        last_day=pd.to_datetime(runs["last"]).dt.strftime("%Y-%m-%d"),
    ).drop(columns=["first", "last"])
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_rect(height={"band": 0.7})
        .encode(
            x=alt.X(
                "start:T",
                title=DAY_TITLE,
                scale=alt.Scale(type="utc", nice=False),
                axis=alt.Axis(labelExpr="utcFormat(datum.value, '%b %Y')", labelOverlap="greedy", tickCount=12),
            ),
            x2="stop:T",
            y=alt.Y("track:N", title=None, sort=track_order, axis=alt.Axis(labelLimit=320, labelFontSize=12)),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=[s for s, _ in STATES], range=[c for _, c in STATES]),
                legend=alt.Legend(orient="top", title=None, symbolType="square"),
            ),
            tooltip=[
                alt.Tooltip("track:N", title="Source"),
                alt.Tooltip("state:N", title="State"),
                alt.Tooltip("first_day:N", title="From (UTC)"),
                alt.Tooltip("last_day:N", title="To (UTC)"),
                alt.Tooltip("days:Q", title="Days", format=","),
            ],
        )
        .properties(
            title=title("Stored days per source", "UTC days; per-key sources count as stored when every key is"),
            height=max(120, 24 * len(track_order)),
            usermeta={"orusage_chart": "coverage_strip"},
            autosize=FIT_WIDTH,
        )
    )
    return chart
