"""Builders for rankings and matrices: horizontal bars, actual-vs-list ratios, latency, heatmaps (Vega-Lite
dicts, see ``charts.base``).

Bars that name a model carry a point selection called ``pick`` on the ``model`` field: a click on one
opens that model's page (see ``dashboard.ui.model_chart``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from charts.base import (
    OTHER_COLOR,
    PICK,
    PICK_VIEW,
    TOKEN_PARTS,
    TOKENS_AXIS,
    USD_AXIS,
    USD_TOOLTIP,
    Spec,
    chart,
    condition,
    field,
    long_parts,
    pick,
    tip,
    token_colors,
)
from core.fmt import usd as money

__all__ = ["PICK", "hbars", "heatmap", "latency_bars", "ratio_bars", "token_bars"]

BAR = 18  # px per row: thickness whatever the row count
ROW = 28
BAR_COLOR = "#4E79A7"


def _height(rows: int) -> int:
    return max(80, ROW * rows)


def _rows(label: str, order: Sequence[str], limit: int = 280) -> dict[str, Any]:
    return field(f"{label}:N", title=None, sort=list(order), axis={"labelLimit": limit, "labelFontSize": 12})


def _picked(layer: dict[str, Any], pick_field: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The layer named for the selection, and the chart's params, when clicks pick ``pick_field``."""
    if pick_field is None:
        return layer, []
    return {**layer, "name": PICK_VIEW}, [pick(pick_field, PICK_VIEW)]


def hbars(
    frame: pd.DataFrame,
    *,
    label: str,
    value: str,
    name: str,
    heading: str,
    subtitle: str,
    usd: bool = True,
    tooltip: Sequence[dict[str, Any]] = (),
    pick_field: str | None = None,
    value_title: str | None = None,
) -> Spec:
    """Horizontal bars in frame order (biggest first), the value written after each bar.

    A boolean ``is_other`` column, when present, greys out the "other" bucket. ``pick_field`` adds a
    click selection on that field. ``tooltip``: more lines (``charts.tip``).
    """
    fmt = USD_TOOLTIP if usd else ","
    shown = [money(v) if usd else f"{v:,.0f}" for v in frame[value]]
    data = frame.assign(value_label=shown)
    if "is_other" not in data.columns:
        data = data.assign(is_other=False)
    y = _rows(label, list(data[label]))
    tips = [tip(f"{label}:N", "Name"), tip(f"{value}:Q", value_title or value, fmt), *tooltip]
    top = float(data[value].max()) if len(data) else 0.0
    bars, params = _picked(
        {
            "mark": {"type": "bar", "cornerRadiusEnd": 2, "size": BAR},
            "encoding": {
                "color": condition("datum.is_other", OTHER_COLOR, BAR_COLOR),
                "tooltip": tips,
                "x": field(
                    f"{value}:Q",
                    title=value_title or ("Spend (USD)" if usd else value),
                    # Room after the longest bar for its label.
                    scale={"domain": [0, top * 1.3 or 1.0], "nice": False},
                    axis={"format": USD_AXIS, "tickCount": 5} if usd else {"labelExpr": TOKENS_AXIS, "tickCount": 5},
                ),
                "y": y,
            },
        },
        pick_field,
    )
    text = {
        "mark": {"type": "text", "align": "left", "color": "#374151", "dx": 4, "fontSize": 12},
        "encoding": {"text": field("value_label:N"), "tooltip": tips, "x": field(f"{value}:Q"), "y": y},
    }
    body = {"layer": [bars, text], "data": {"name": "orusage-0"}, **({"params": params} if params else {})}
    return chart(name, heading, subtitle, _height(len(data)), body, {"orusage-0": data})


def ratio_bars(frame: pd.DataFrame, *, name: str = "actual_vs_list") -> Spec:
    """Paid ÷ list-price cost per model: 1 means list price, below 1 cheaper (caching, discounts,
    cheaper providers), above 1 dearer. Needs label, model, ratio, spend, list_cost."""
    top = max(1.2, float(frame["ratio"].max()) * 1.1) if len(frame) else 1.2
    bars = {
        "data": {"name": "orusage-0"},
        "mark": {"type": "bar", "cornerRadiusEnd": 2, "size": BAR},
        "encoding": {
            "color": condition("(datum.ratio > 1.0)", "#E15759", "#59A14F"),
            "tooltip": [
                tip("label:N", "Model"),
                tip("ratio:Q", "Paid ÷ list", ".3f"),
                tip("spend:Q", "Paid", USD_TOOLTIP),
                tip("list_cost:Q", "At list prices", USD_TOOLTIP),
            ],
            "x": field("ratio:Q", title="Paid ÷ cost at list prices", scale={"domain": [0, top], "nice": False}),
            "y": _rows("label", list(frame["label"])),
        },
        "name": PICK_VIEW,
    }
    one = {
        "data": {"name": "orusage-1"},
        "mark": {"type": "rule", "color": "#111827", "strokeDash": [4, 3]},
        "encoding": {"x": field("x:Q")},
    }
    return chart(
        name,
        "Paid vs list price",
        "1.0 = list price; below is cheaper (cache, discounts, providers)",
        _height(len(frame)),
        {"layer": [bars, one], "params": [pick("model", PICK_VIEW)]},
        {"orusage-0": frame, "orusage-1": pd.DataFrame({"x": [1.0]})},
    )


def latency_bars(frame: pd.DataFrame, *, label: str, name: str, throughput: bool = False) -> Spec:
    """Request-weighted mean of the daily p50 per row as a bar, the p90 as a tick."""
    p50, p90 = ("p50_throughput", "p90_throughput") if throughput else ("p50_latency", "p90_latency")
    unit = "tokens/s" if throughput else "ms"
    data = frame.dropna(subset=[p50])
    y = _rows(label, list(data.sort_values(p50, ascending=throughput is False)[label]), limit=240)
    tips = [
        tip(f"{label}:N", "Name"),
        tip(f"{p50}:Q", f"p50 ({unit})", ",.1f"),
        tip(f"{p90}:Q", f"p90 ({unit})", ",.1f"),
        tip("requests:Q", "Requests", ","),
    ]
    color = "#76B7B2" if throughput else "#B07AA1"
    bars = {
        "mark": {"type": "bar", "color": color, "cornerRadiusEnd": 2, "size": BAR},
        "encoding": {
            "tooltip": tips,
            "x": field(f"{p50}:Q", title=f"{'Throughput' if throughput else 'Latency'} ({unit})"),
            "y": y,
        },
    }
    ticks = {
        "mark": {"type": "tick", "color": "#374151", "size": BAR, "thickness": 2},
        "encoding": {"tooltip": tips, "x": field(f"{p90}:Q"), "y": y},
    }
    return chart(
        name,
        "Throughput" if throughput else "Latency",
        f"bar: p50, tick: p90 ({unit}); request-weighted mean of daily values",
        _height(len(data)),
        {"layer": [bars, ticks], "data": {"name": "orusage-0"}},
        {"orusage-0": data},
    )


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
    usd: bool = True,
    value_title: str = "Spend",
) -> Spec:
    """Cells coloured by ``value`` (spend, or with ``usd=False`` a count), the amount written in each cell;
    rows and columns biggest first."""
    written = [money(v) if v >= 0.005 else "" for v in frame[value]] if usd else None
    data = frame.assign(cell=written if written is not None else [_compact(v) for v in frame[value]])
    tips = [
        tip(f"{y}:N", y_title),
        tip(f"{x}:N", x_title),
        tip(f"{value}:Q", value_title, USD_TOOLTIP if usd else ","),
        *([tip("spend:Q", "Spend", USD_TOOLTIP)] if not usd and "spend" in frame.columns else []),
        tip("requests:Q", "Requests", ","),
    ]
    # Every column named, even when they crowd: a heatmap column without a label cannot be read.
    xs = field(
        f"{x}:N",
        title=x_title,
        sort=list(x_order),
        axis={"orient": "top", "labelAngle": -40, "labelLimit": 150, "labelOverlap": False, "labelFontSize": 11},
    )
    ys = field(f"{y}:N", title=y_title, sort=list(y_order), axis={"labelLimit": 260})
    cells, params = _picked(
        {
            "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1},
            "encoding": {
                "color": field(
                    f"{value}:Q",
                    title=f"{value_title} (USD)" if usd else value_title,
                    scale={"scheme": "blues", "type": "sqrt"},
                    legend={"format": USD_AXIS if usd else "~s", "orient": "right"},
                ),
                "tooltip": tips,
                "x": xs,
                "y": ys,
            },
        },
        pick_field,
    )
    top = float(data[value].max()) if len(data) else 0.0
    text = {
        "mark": {"type": "text", "fontSize": 10},
        "encoding": {
            "color": condition(f"(datum[{value!r}] > {top * 0.45!r})", "white", "#1F2937"),
            "text": field("cell:N"),
            "tooltip": tips,
            "x": xs,
            "y": ys,
        },
    }
    body = {"layer": [cells, text], "data": {"name": "orusage-0"}, **({"params": params} if params else {})}
    return chart(name, heading, subtitle, max(120, 26 * len(y_order)), body, {"orusage-0": data})


def _compact(value: float) -> str:
    """A count short enough for a cell: 950, 12.3k, 4.1M."""
    if value <= 0:
        return ""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:,.0f}"


def token_bars(frame: pd.DataFrame, *, name: str, heading: str, subtitle: str) -> Spec:
    """Horizontal bars per row (``label``), stacked prompt / completion-only / reasoning, frame order."""
    data = frame.assign(total=frame["prompt"] + frame["completion_only"] + frame["reasoning"])
    long = long_parts(data, TOKEN_PARTS, "tokens")
    encoding = {
        "y": _rows("label", list(frame["label"])),
        "x": field("tokens:Q", title="Tokens", stack="zero", axis={"labelExpr": TOKENS_AXIS, "tickCount": 5}),
        "color": token_colors(),
        "order": field("part_order:Q", sort="ascending"),
        "tooltip": [
            tip("label:N", "Name"),
            *(tip(f"{col}:Q", label, ",") for col, label, _ in TOKEN_PARTS),
            tip("total:Q", "All tokens", ","),
        ],
    }
    body = {"data": {"name": "orusage-0"}, "mark": {"type": "bar", "size": BAR}, "encoding": encoding}
    return chart(name, heading, subtitle, _height(len(frame)), body, {"orusage-0": long})
