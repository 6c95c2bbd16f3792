"""Altair chart builders: DataFrames from ``queries.reads`` in, charts out. No Streamlit, no I/O.

Each chart carries ``usermeta.orusage_chart`` (its name) so tests and tooling can find it in the page
without relying on titles or order.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from queries.reads import OTHER_MODELS

DAY_TITLE = "Day (UTC)"

# (column, legend label, colour). Order = legend order = stacking order from the axis up.
TOKEN_PARTS: tuple[tuple[str, str, str], ...] = (
    ("prompt", "Prompt", "#6366F1"),
    ("completion_only", "Completion (excl. reasoning)", "#10B981"),
    ("reasoning", "Reasoning", "#F59E0B"),
)
SPEND_PARTS: tuple[tuple[str, str, str], ...] = (
    ("usage", "Credits", "#6366F1"),
    ("byok", "BYOK", "#A5B4FC"),
)
USD_AXIS = "$,.2~f"
# Streamlit's default ("fit") squeezes title, legend and axes into `height`; fit-x keeps the plot area
# at `height` and still stretches to the column's width.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
USD_TOOLTIP = "$,.4f"
BAR_THICKNESS = 20  # px per model row, whatever the row count


def _long(frame: pd.DataFrame, parts: tuple[tuple[str, str, str], ...], value: str) -> pd.DataFrame:
    """One row per (row, part), keeping the wide columns so every tooltip can show the whole row."""
    pieces = [frame.assign(part=label, part_order=i, **{value: frame[col]}) for i, (col, label, _) in enumerate(parts)]
    return pd.concat(pieces, ignore_index=True)


def _color(parts: tuple[tuple[str, str, str], ...], title: str | None = None) -> alt.Color:
    return alt.Color(
        "part:N",
        title=title,
        scale=alt.Scale(domain=[label for _, label, _ in parts], range=[color for _, _, color in parts]),
        legend=alt.Legend(orient="top", direction="horizontal", title=None, labelLimit=0),
        sort=[label for _, label, _ in parts],
    )


def _day_axis() -> alt.X:
    # Days are "YYYY-MM-DD" strings on a band axis: one bar per UTC day, labels centred under it, and no
    # browser time zone can shift a bar to its neighbour (a temporal axis would parse them as local).
    return alt.X(
        "day:O",
        title=DAY_TITLE,
        axis=alt.Axis(
            labelExpr="utcFormat(toDate(datum.value), '%d %b')",
            labelAngle=0,
            labelOverlap="greedy",
            labelSeparation=8,
            labelBound=True,
            ticks=False,
        ),
    )


def tokens_per_day(frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars per UTC day: prompt, completion-only and reasoning add up to all tokens."""
    data = frame.assign(
        day=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d"),
        total=frame["prompt"] + frame["completion_only"] + frame["reasoning"],
    ).drop(columns="date")
    long = _long(data, TOKEN_PARTS, "tokens")
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=_day_axis(),
            y=alt.Y(
                "tokens:Q",
                title="Tokens",
                stack="zero",
                axis=alt.Axis(labelExpr="datum.value == 0 ? '0' : format(datum.value, '~s')"),
            ),
            color=_color(TOKEN_PARTS),
            order=alt.Order("part_order:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("day:N", title=DAY_TITLE),
                *(alt.Tooltip(f"{col}:Q", title=label, format=",") for col, label, _ in TOKEN_PARTS),
                alt.Tooltip("total:Q", title="All tokens", format=","),
            ],
        )
        .properties(
            title=alt.Title(
                "Tokens per day",
                subtitle="Prompt, completion without reasoning, and reasoning: the parts add up to all tokens",
                anchor="start",
            ),
            height=260,
            usermeta={"orusage_chart": "tokens_per_day"},
            autosize=FIT_WIDTH,
        )
    )
    return chart


def spend_per_day(frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars per UTC day: billed to OpenRouter credits, and BYOK inference."""
    data = frame.assign(day=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")).drop(columns="date")
    long = _long(data, SPEND_PARTS, "amount")
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=_day_axis(),
            y=alt.Y("amount:Q", title="Spend (USD)", stack="zero", axis=alt.Axis(format=USD_AXIS)),
            color=_color(SPEND_PARTS),
            order=alt.Order("part_order:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("day:N", title=DAY_TITLE),
                alt.Tooltip("spend:Q", title="Spend", format=USD_TOOLTIP),
                *(alt.Tooltip(f"{col}:Q", title=label, format=USD_TOOLTIP) for col, label, _ in SPEND_PARTS),
            ],
        )
        .properties(
            title=alt.Title("Spend per day", subtitle="USD, credits + BYOK", anchor="start"),
            height=240,
            usermeta={"orusage_chart": "spend_per_day"},
            autosize=FIT_WIDTH,
        )
    )
    return chart


def spend_per_model(frame: pd.DataFrame, top_n: int) -> alt.LayerChart:
    """Horizontal bars, biggest first, ``other`` last; the total is written at the end of each bar."""
    data = frame.assign(
        rank=range(len(frame)),
        spend_label=[f"${v:,.2f}" for v in frame["spend"]],
        model_label=[
            f"other ({n} models)" if label == OTHER_MODELS else str(label)
            for label, n in zip(frame["label"], frame["models"], strict=True)
        ],
    )
    long = _long(data, SPEND_PARTS, "amount")
    y = alt.Y(
        "model_label:N",
        title=None,
        # An explicit list, not a sort by field: layers can only share a y scale sorted that way.
        sort=list(data["model_label"]),
        axis=alt.Axis(labelLimit=260),
    )
    tooltip = [
        alt.Tooltip("model_label:N", title="Model"),
        alt.Tooltip("spend:Q", title="Spend", format=USD_TOOLTIP),
        *(alt.Tooltip(f"{col}:Q", title=label, format=USD_TOOLTIP) for col, label, _ in SPEND_PARTS),
        alt.Tooltip("requests:Q", title="Requests", format=","),
        alt.Tooltip("tokens:Q", title="Tokens", format=","),
    ]
    bars = (
        alt.Chart(long)
        .mark_bar(size=BAR_THICKNESS)
        .encode(
            y=y,
            x=alt.X(
                "amount:Q",
                title="Spend (USD)",
                stack="zero",
                axis=alt.Axis(format=USD_AXIS, labelFlush=True, tickCount=5),
                # Room after the longest bar for its "$…" label.
                scale=alt.Scale(domain=[0, float(frame["spend"].max()) * 1.35 or 1.0], nice=False),
            ),
            color=_color(SPEND_PARTS),
            order=alt.Order("part_order:Q", sort="ascending"),
            tooltip=tooltip,
        )
    )
    labels = (
        alt.Chart(long)
        .transform_filter(alt.datum.part_order == 0)
        .mark_text(align="left", dx=4, fontSize=12)
        .encode(y=y, x=alt.X("spend:Q"), text=alt.Text("spend_label:N"), tooltip=tooltip)
    )
    return alt.LayerChart(layer=[bars, labels]).properties(
        title=alt.Title("Spend per model", subtitle=f"USD, top {top_n}; the rest as “other”", anchor="start"),
        height=max(60, 32 * len(frame)),
        usermeta={"orusage_chart": "spend_per_model"},
        autosize=FIT_WIDTH,
    )
