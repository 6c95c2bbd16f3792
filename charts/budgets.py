"""A budget's period: actual cumulative spend, the forecast with its 80 % band, and the limit."""

from __future__ import annotations

import altair as alt
import pandas as pd


def forecast_chart(frame: pd.DataFrame, name: str) -> alt.LayerChart:
    """Actual cumulative spend, the projection, its 80 % band and the limit as a rule."""
    data = frame.assign(date=pd.to_datetime(frame["date"]))
    # UTC days, one tick a day at most: the browser's time zone and hour ticks have no place on a daily chart.
    day_axis = alt.Axis(format="%a %d %b", tickCount={"interval": "day", "step": 1}, labelOverlap=True)
    base = alt.Chart(data).encode(x=alt.X("date:T", title="Day (UTC)", scale=alt.Scale(type="utc"), axis=day_axis))
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low_usd:Q", title="Cumulative spend (USD)"), y2="high_usd:Q")
    actual = base.mark_line(point=True).encode(
        y="actual_usd:Q",
        tooltip=[
            alt.Tooltip("utcyearmonthdate(date):T", title="Day (UTC)"),
            alt.Tooltip("actual_usd:Q", title="Actual", format="$,.2f"),
        ],
    )
    projected = base.mark_line(strokeDash=[6, 4]).encode(
        y="forecast_usd:Q",
        tooltip=[
            alt.Tooltip("utcyearmonthdate(date):T", title="Day (UTC)"),
            alt.Tooltip("forecast_usd:Q", title="Forecast", format="$,.2f"),
        ],
    )
    limit = float(data["limit_usd"].iloc[0])
    rule = alt.Chart(pd.DataFrame({"limit_usd": [limit]})).mark_rule(color="red").encode(y="limit_usd:Q")
    return alt.LayerChart(layer=[band, actual, projected, rule]).properties(
        title=f"{name}: spend, forecast and limit", height=240
    )
