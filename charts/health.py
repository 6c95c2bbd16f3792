"""The coverage strip: one line per stored source, UTC days left to right, coloured by what is stored.

Drawn from runs of days in one state (a few dozen rectangles), not one cell per day: thousands of
cells make the browser's layout crawl.
"""

from __future__ import annotations

import pandas as pd

from charts.base import DAY_TITLE, Spec, chart, field, tip

# (state, colour): the order of the legend.
STATES: tuple[tuple[str, str], ...] = (
    ("stored", "#59A14F"),
    ("partly stored", "#EDC948"),
    ("missing", "#E15759"),
    ("outside reach", "#E5E7EB"),
)


def coverage_strip(runs: pd.DataFrame, track_order: list[str]) -> Spec:
    """``runs``: track, state, first, last (inclusive UTC days), days, as ``reads_health.coverage_runs``."""
    data = runs.assign(
        start=pd.to_datetime(runs["first"]).dt.strftime("%Y-%m-%d"),
        # A run covers its last day whole: the bar ends where the next day begins.
        stop=(pd.to_datetime(runs["last"]) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d"),
        first_day=pd.to_datetime(runs["first"]).dt.strftime("%Y-%m-%d"),
        last_day=pd.to_datetime(runs["last"]).dt.strftime("%Y-%m-%d"),
    ).drop(columns=["first", "last"])
    encoding = {
        "x": field(
            "start:T",
            title=DAY_TITLE,
            scale={"type": "utc", "nice": False},
            axis={"labelExpr": "utcFormat(datum.value, '%b %Y')", "labelOverlap": "greedy", "tickCount": 12},
        ),
        "x2": {"field": "stop"},
        "y": field("track:N", title=None, sort=track_order, axis={"labelLimit": 320, "labelFontSize": 12}),
        "color": field(
            "state:N",
            scale={"domain": [s for s, _ in STATES], "range": [c for _, c in STATES]},
            legend={"orient": "top", "title": None, "symbolType": "square"},
        ),
        "tooltip": [
            tip("track:N", "Source"),
            tip("state:N", "State"),
            tip("first_day:N", "From (UTC)"),
            tip("last_day:N", "To (UTC)"),
            tip("days:Q", "Days", ","),
        ],
    }
    return chart(
        "coverage_strip",
        "Stored days per source",
        "UTC days; per-key sources count as stored when every key is",
        max(120, 24 * len(track_order)),
        {"data": {"name": "orusage-0"}, "mark": {"type": "rect", "height": {"band": 0.7}}, "encoding": encoding},
        {"orusage-0": data},
    )
