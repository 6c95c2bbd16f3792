"""Altair builders for rankings and matrices: horizontal bars, actual-vs-list ratios, latency, heatmaps.

Bars that name a model carry a point selection called ``pick`` on the ``model`` field: a click on one
opens that model's page (see ``dashboard.ui.model_chart``).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from dashboard.charts import (
    FIT_WIDTH,
    OTHER_COLOR,
    TOKEN_PARTS,
    TOKENS_AXIS,
    USD_AXIS,
    USD_TOOLTIP,
    legend,
    long_parts,
    title,
)

PICK = "pick"
BAR = 18  # px per row: thickness whatever the row count
ROW = 28
BAR_COLOR = "#4E79A7"


def _height(rows: int) -> int:
    return max(80, ROW * rows)


def hbars(
    frame: pd.DataFrame,
    *,
    label: str,
    value: str,
    name: str,
    heading: str,
    subtitle: str,
    usd: bool = True,
    tooltip: Sequence[alt.Tooltip] = (),
    pick_field: str | None = None,
    value_title: str | None = None,
) -> alt.LayerChart:
    """Horizontal bars in frame order (biggest first), the value written after each bar.

    A boolean ``is_other`` column, when present, greys out the "other" bucket. ``pick_field`` adds a
    click selection on that field.
    """
    fmt = USD_TOOLTIP if usd else ","
    shown = [f"${v:,.2f}" if usd else f"{v:,.0f}" for v in frame[value]]
    data = frame.assign(value_label=shown)
    if "is_other" not in data.columns:
        data = data.assign(is_other=False)
    order = list(data[label])
    y = alt.Y(f"{label}:N", title=None, sort=order, axis=alt.Axis(labelLimit=280, labelFontSize=12))
    tips = [alt.Tooltip(f"{label}:N", title="Name"), alt.Tooltip(f"{value}:Q", title=value_title or value, format=fmt)]
    tips += list(tooltip)
    top = float(data[value].max()) if len(data) else 0.0
    bars = (
        alt.Chart(data)
        .mark_bar(size=BAR, cornerRadiusEnd=2)
        .encode(
            y=y,
            x=alt.X(
                f"{value}:Q",
                title=value_title or ("Spend (USD)" if usd else value),
                # Room after the longest bar for its label.
                scale=alt.Scale(domain=[0, top * 1.3 or 1.0], nice=False),
                axis=alt.Axis(format=USD_AXIS, tickCount=5) if usd else alt.Axis(labelExpr=TOKENS_AXIS, tickCount=5),
            ),
            color=alt.condition(alt.datum.is_other, alt.value(OTHER_COLOR), alt.value(BAR_COLOR)),
            tooltip=tips,
        )
    )
    if pick_field is not None:
        pick = alt.selection_point(name=PICK, fields=[pick_field], on="click", clear="dblclick", toggle=False)
        bars = bars.add_params(pick)
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=12, color="#374151")
        .encode(y=y, x=alt.X(f"{value}:Q"), text=alt.Text("value_label:N"), tooltip=tips)
    )
    layered: alt.LayerChart = alt.LayerChart(layer=[bars, text]).properties(
        title=title(heading, subtitle),
        height=_height(len(data)),
        usermeta={"orusage_chart": name},
        autosize=FIT_WIDTH,
    )
    return layered


def ratio_bars(frame: pd.DataFrame, *, name: str = "actual_vs_list") -> alt.LayerChart:
    """Paid ÷ list-price cost per model: 1 means list price, below 1 cheaper (caching, discounts,
    cheaper providers), above 1 dearer. Needs label, model, ratio, spend, list_cost."""
    order = list(frame["label"])
    y = alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=280, labelFontSize=12))
    tips = [
        alt.Tooltip("label:N", title="Model"),
        alt.Tooltip("ratio:Q", title="Paid ÷ list", format=".3f"),
        alt.Tooltip("spend:Q", title="Paid", format=USD_TOOLTIP),
        alt.Tooltip("list_cost:Q", title="At list prices", format=USD_TOOLTIP),
    ]
    pick = alt.selection_point(name=PICK, fields=["model"], on="click", clear="dblclick", toggle=False)
    top = max(1.2, float(frame["ratio"].max()) * 1.1) if len(frame) else 1.2
    bars = (
        alt.Chart(frame)
        .mark_bar(size=BAR, cornerRadiusEnd=2)
        .encode(
            y=y,
            x=alt.X("ratio:Q", title="Paid ÷ cost at list prices", scale=alt.Scale(domain=[0, top], nice=False)),
            color=alt.condition(alt.datum.ratio > 1.0, alt.value("#E15759"), alt.value("#59A14F")),
            tooltip=tips,
        )
        .add_params(pick)
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#111827", strokeDash=[4, 3]).encode(x="x:Q")
    layered: alt.LayerChart = alt.LayerChart(layer=[bars, one]).properties(
        title=title("Paid vs list price", "1.0 = list price; below is cheaper (cache, discounts, providers)"),
        height=_height(len(frame)),
        usermeta={"orusage_chart": name},
        autosize=FIT_WIDTH,
    )
    return layered


def latency_bars(frame: pd.DataFrame, *, label: str, name: str, throughput: bool = False) -> alt.LayerChart:
    """Request-weighted mean of the daily p50 per row as a bar, the p90 as a tick."""
    p50, p90 = ("p50_throughput", "p90_throughput") if throughput else ("p50_latency", "p90_latency")
    unit = "tokens/s" if throughput else "ms"
    data = frame.dropna(subset=[p50])
    order = list(data.sort_values(p50, ascending=throughput is False)[label])
    y = alt.Y(f"{label}:N", title=None, sort=order, axis=alt.Axis(labelLimit=240, labelFontSize=12))
    tips = [
        alt.Tooltip(f"{label}:N", title="Name"),
        alt.Tooltip(f"{p50}:Q", title=f"p50 ({unit})", format=",.1f"),
        alt.Tooltip(f"{p90}:Q", title=f"p90 ({unit})", format=",.1f"),
        alt.Tooltip("requests:Q", title="Requests", format=","),
    ]
    bars = (
        alt.Chart(data)
        .mark_bar(size=BAR, color="#76B7B2" if throughput else "#B07AA1", cornerRadiusEnd=2)
        .encode(y=y, x=alt.X(f"{p50}:Q", title=f"{'Throughput' if throughput else 'Latency'} ({unit})"), tooltip=tips)
    )
    ticks = (
        alt.Chart(data).mark_tick(color="#374151", thickness=2, size=BAR).encode(y=y, x=alt.X(f"{p90}:Q"), tooltip=tips)
    )
    heading = "Throughput" if throughput else "Latency"
    layered: alt.LayerChart = alt.LayerChart(layer=[bars, ticks]).properties(
        title=title(heading, f"bar: p50, tick: p90 ({unit}); request-weighted mean of daily values"),
        height=_height(len(data)),
        usermeta={"orusage_chart": name},
        autosize=FIT_WIDTH,
    )
    return layered


def heatmap(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    value: str,
    name: str,
    heading: str,
    subtitle: str,
    x_title: str,
    y_title: str,
    x_order: Sequence[str],
    y_order: Sequence[str],
    pick_field: str | None = None,
) -> alt.LayerChart:
    """Cells coloured by spend, the amount written in each cell; rows and columns biggest first."""
    data = frame.assign(cell=[f"${v:,.2f}" if v >= 0.005 else "" for v in frame[value]])
    tips = [
        alt.Tooltip(f"{y}:N", title=y_title),
        alt.Tooltip(f"{x}:N", title=x_title),
        alt.Tooltip(f"{value}:Q", title="Spend", format=USD_TOOLTIP),
        alt.Tooltip("requests:Q", title="Requests", format=","),
    ]
    # Every column named, even when they crowd: a heatmap column without a label cannot be read.
    xs = alt.X(
        f"{x}:N",
        title=x_title,
        sort=list(x_order),
        axis=alt.Axis(orient="top", labelAngle=-40, labelLimit=150, labelOverlap=False, labelFontSize=11),
    )
    ys = alt.Y(f"{y}:N", title=y_title, sort=list(y_order), axis=alt.Axis(labelLimit=260))
    cells = (
        alt.Chart(data)
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=xs,
            y=ys,
            color=alt.Color(
                f"{value}:Q",
                title="Spend (USD)",
                scale=alt.Scale(scheme="blues", type="sqrt"),
                legend=alt.Legend(format=USD_AXIS, orient="right"),
            ),
            tooltip=tips,
        )
    )
    if pick_field is not None:
        cells = cells.add_params(
            alt.selection_point(name=PICK, fields=[pick_field], on="click", clear="dblclick", toggle=False)
        )
    top = float(data[value].max()) if len(data) else 0.0
    text = (
        alt.Chart(data)
        .mark_text(fontSize=10)
        .encode(
            x=xs,
            y=ys,
            text="cell:N",
            color=alt.condition(alt.datum[value] > top * 0.45, alt.value("white"), alt.value("#1F2937")),
            tooltip=tips,
        )
    )
    layered: alt.LayerChart = alt.LayerChart(layer=[cells, text]).properties(
        title=title(heading, subtitle),
        height=max(120, 26 * len(y_order)),
        usermeta={"orusage_chart": name},
        autosize=FIT_WIDTH,
    )
    return layered


def token_bars(frame: pd.DataFrame, *, name: str, heading: str, subtitle: str) -> alt.Chart:
    """Horizontal bars per row (``label``), stacked prompt / completion-only / reasoning, frame order."""
    data = frame.assign(total=frame["prompt"] + frame["completion_only"] + frame["reasoning"])
    long = long_parts(data, TOKEN_PARTS, "tokens")
    order = list(frame["label"])
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar(size=BAR)
        .encode(
            y=alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=280, labelFontSize=12)),
            x=alt.X("tokens:Q", title="Tokens", stack="zero", axis=alt.Axis(labelExpr=TOKENS_AXIS, tickCount=5)),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=[p[1] for p in TOKEN_PARTS], range=[p[2] for p in TOKEN_PARTS]),
                legend=legend(),
                sort=[p[1] for p in TOKEN_PARTS],
            ),
            order=alt.Order("part_order:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("label:N", title="Name"),
                *(alt.Tooltip(f"{col}:Q", title=label, format=",") for col, label, _ in TOKEN_PARTS),
                alt.Tooltip("total:Q", title="All tokens", format=","),
            ],
        )
        .properties(
            title=title(heading, subtitle),
            height=_height(len(frame)),
            usermeta={"orusage_chart": name},
            autosize=FIT_WIDTH,
        )
    )
    return chart
