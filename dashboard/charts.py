"""Altair chart builders, shared parts and charts over UTC days: DataFrames in, charts out. No Streamlit.

Each chart carries ``usermeta.orusage_chart`` (its name) so tests and tooling can find it in the page
without relying on titles or order. Days travel as ``YYYY-MM-DD`` strings on a band axis whose domain is
every day of the range, so idle days keep their (empty) slot and no browser time zone can move a bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import altair as alt
import pandas as pd

DAY_TITLE = "Day (UTC)"
USD_AXIS = "$,.2~f"
USD_TOOLTIP = "$,.4f"
TOKENS_AXIS = "datum.value == 0 ? '0' : format(datum.value, '~s')"
# Streamlit's default ("fit") squeezes title, legend and axes into `height`; fit-x keeps the plot area
# at `height` and still stretches to the column's width.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
OTHER_COLOR = "#B8BEC9"
# Distinct, colour-blind-friendly enough, and readable on white (Tableau 10, "other" kept grey).
PALETTE = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#76B7B2",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#6B8E23",
)

# (column, legend label, colour). Order = legend order = stacking order from the axis up.
TOKEN_PARTS: tuple[tuple[str, str, str], ...] = (
    ("prompt", "Prompt", "#6366F1"),
    ("completion_only", "Completion (excl. reasoning)", "#10B981"),
    ("reasoning", "Reasoning", "#F59E0B"),
)


def days_of(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def with_day(frame: pd.DataFrame) -> pd.DataFrame:
    """``date`` (a date) → ``day`` (``YYYY-MM-DD``), the band axis' key."""
    return frame.assign(day=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")).drop(columns="date")


def title(text: str, subtitle: str | None = None) -> alt.Title:
    return alt.Title(text, subtitle=subtitle or "", anchor="start", fontSize=15, subtitleColor="#5B6270", offset=6)


def legend(columns: int | None = None) -> alt.Legend:
    """On top; with ``columns``, wrapped into a grid so long model names never run off the chart."""
    return alt.Legend(
        orient="top",
        direction="horizontal",
        title=None,
        labelLimit=210,
        symbolType="square",
        columns=columns if columns is not None else alt.Undefined,
        columnPadding=14,
        offset=4,
    )


def day_axis(days: Sequence[str]) -> alt.X:
    # Few labels whatever the range: one every ~week for a month, one a month for a year.
    step = max(1, len(days) // 10)
    return alt.X(
        "day:O",
        title=DAY_TITLE,
        scale=alt.Scale(domain=list(days), paddingInner=0.15),
        axis=alt.Axis(
            labelExpr="utcFormat(toDate(datum.value), '%d %b')",
            values=list(days[::step]),
            labelAngle=0,
            labelOverlap="greedy",
            labelSeparation=8,
            labelBound=True,
            ticks=False,
        ),
    )


def long_parts(frame: pd.DataFrame, parts: Sequence[tuple[str, str, str]], value: str) -> pd.DataFrame:
    """One row per (row, part), keeping the wide columns so every tooltip can show the whole row."""
    pieces = [frame.assign(part=label, part_order=i, **{value: frame[col]}) for i, (col, label, _) in enumerate(parts)]
    return pd.concat(pieces, ignore_index=True)


def series_colors(labels: Sequence[str], other: str | None) -> alt.Scale:
    """The palette in rank order; the ``other`` bucket always grey."""
    colors = [OTHER_COLOR if label == other else PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)]
    return alt.Scale(domain=list(labels), range=colors)


def tokens_per_day(frame: pd.DataFrame, start: date, end: date, name: str = "tokens_per_day") -> alt.Chart:
    """Stacked bars per UTC day: prompt, completion-only and reasoning add up to all tokens."""
    data = with_day(frame).assign(total=frame["prompt"] + frame["completion_only"] + frame["reasoning"])
    long = long_parts(data, TOKEN_PARTS, "tokens")
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=day_axis(days_of(start, end)),
            y=alt.Y("tokens:Q", title="Tokens", stack="zero", axis=alt.Axis(labelExpr=TOKENS_AXIS)),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=[p[1] for p in TOKEN_PARTS], range=[p[2] for p in TOKEN_PARTS]),
                legend=legend(),
                sort=[p[1] for p in TOKEN_PARTS],
            ),
            order=alt.Order("part_order:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("day:N", title=DAY_TITLE),
                *(alt.Tooltip(f"{col}:Q", title=label, format=",") for col, label, _ in TOKEN_PARTS),
                alt.Tooltip("total:Q", title="All tokens", format=","),
            ],
        )
        .properties(
            title=title(
                "Tokens per day",
                "Prompt, completion without reasoning, and reasoning: the parts add up to all tokens",
            ),
            height=260,
            usermeta={"orusage_chart": name},
            autosize=FIT_WIDTH,
        )
    )
    return chart


def stacked_per_day(
    frame: pd.DataFrame,
    *,
    start: date,
    end: date,
    series: str,
    value: str,
    name: str,
    heading: str,
    subtitle: str,
    series_title: str,
    usd: bool = True,
    other: str | None = "other",
    height: int = 260,
    price_changes: pd.DataFrame | None = None,
    legend_columns: int = 4,
) -> alt.Chart | alt.LayerChart:
    """Bars per UTC day stacked by ``series`` (already labelled, ranked by ``rank``: biggest at the bottom).

    ``frame`` needs date, ``series``, ``value``, ``requests`` and ``rank``; tooltips show the day's part
    and its total. With ``price_changes`` (date, label, old/new prices per million), a dashed rule marks
    each day a list price changed.
    """
    data = with_day(frame)
    data = data.assign(day_total=data.groupby("day")[value].transform("sum"))
    order = list(data.sort_values(["rank", series])[series].drop_duplicates())
    fmt = USD_TOOLTIP if usd else ","
    x = day_axis(days_of(start, end))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                f"{value}:Q",
                title="Spend (USD)" if usd else "Tokens",
                stack="zero",
                axis=alt.Axis(format=USD_AXIS) if usd else alt.Axis(labelExpr=TOKENS_AXIS),
            ),
            color=alt.Color(
                f"{series}:N",
                scale=series_colors(order, other),
                legend=legend(min(legend_columns, len(order))),
                sort=order,
            ),
            order=alt.Order("rank:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("day:N", title=DAY_TITLE),
                alt.Tooltip(f"{series}:N", title=series_title),
                alt.Tooltip(f"{value}:Q", title="Spend" if usd else "Tokens", format=fmt),
                alt.Tooltip("day_total:Q", title="Day total", format=fmt),
                alt.Tooltip("requests:Q", title="Requests", format=","),
            ],
        )
    )
    props = {
        "title": title(heading, subtitle),
        "height": height,
        "usermeta": {"orusage_chart": name},
        "autosize": FIT_WIDTH,
    }
    if price_changes is None:
        chart: alt.Chart = bars.properties(**props)
        return chart
    rules = (
        alt.Chart(with_day(price_changes))
        .mark_rule(color="#111827", strokeDash=[4, 3], strokeWidth=2)
        .encode(
            x=x,
            tooltip=[
                alt.Tooltip("day:N", title="Price change (UTC)"),
                alt.Tooltip("label:N", title="Model"),
                alt.Tooltip("old_prompt_per_m:Q", title="Prompt before ($/M)", format="$,.4~f"),
                alt.Tooltip("prompt_per_m:Q", title="Prompt after ($/M)", format="$,.4~f"),
                alt.Tooltip("old_completion_per_m:Q", title="Completion before ($/M)", format="$,.4~f"),
                alt.Tooltip("completion_per_m:Q", title="Completion after ($/M)", format="$,.4~f"),
            ],
        )
    )
    layered: alt.LayerChart = alt.LayerChart(layer=[bars, rules]).properties(**props)
    return layered
