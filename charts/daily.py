"""Charts over UTC days: tokens per day in their parts, any value per day stacked by a series, and values
that do not add up (prices, rates, latency) as one line per series."""

from __future__ import annotations

from datetime import date

import pandas as pd

from charts.base import (
    DAY_TITLE,
    TOKEN_PARTS,
    TOKEN_PARTS_CACHED,
    TOKENS_AXIS,
    USD_AXIS,
    USD_TOOLTIP,
    Spec,
    chart,
    day_axis,
    days_of,
    field,
    legend,
    long_parts,
    series_colors,
    tip,
    token_colors,
    with_day,
)


def tokens_per_day(
    frame: pd.DataFrame, start: date, end: date, name: str = "tokens_per_day", cached: bool = False
) -> Spec:
    """Stacked bars per UTC day whose parts add up to all tokens: prompt, completion-only and reasoning; with
    ``cached``, the prompt in two (not cached, cached) and ``clamped_rows`` (stored rows whose reasoning
    exceeded their completion: completion-only clamped at 0) in the tooltip."""
    parts = TOKEN_PARTS_CACHED if cached else TOKEN_PARTS
    data = with_day(frame).assign(total=sum(frame[col] for col, _, _ in parts))
    long = long_parts(data, parts, "tokens")
    flags = [tip("clamped_rows:Q", "Rows clamped (reasoning > completion)", ",")] if cached else []
    encoding = {
        "x": day_axis(days_of(start, end)),
        "y": field("tokens:Q", title="Tokens", stack="zero", axis={"labelExpr": TOKENS_AXIS}),
        "color": token_colors(parts),
        "order": field("part_order:Q", sort="ascending"),
        "tooltip": [
            tip("day:N", DAY_TITLE),
            *(tip(f"{col}:Q", label, ",") for col, label, _ in parts),
            tip("total:Q", "All tokens", ","),
            *flags,
        ],
    }
    subtitle = (
        "Prompt not cached, cached prompt, completion without reasoning, reasoning: the parts add up to all tokens"
        if cached
        else "Prompt, completion without reasoning, and reasoning: the parts add up to all tokens"
    )
    return chart(
        name,
        "Tokens per day in four parts" if cached else "Tokens per day",
        subtitle,
        260,
        {"data": {"name": "orusage-0"}, "mark": {"type": "bar"}, "encoding": encoding},
        {"orusage-0": long},
    )


def lines_per_day(
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
    value_title: str,
    value_format: str,
    axis_format: str | None = None,
    other: str | None = None,
    extra_tips: tuple[tuple[str, str, str], ...] = (),
    height: int = 240,
) -> Spec:
    """One line per ``series`` (in ``rank`` order when the frame has one), a point per UTC day with a value:
    for what does not add up across series (prices, rates, latency), side by side. ``extra_tips``: more
    tooltip lines as (column, title, format)."""
    data = with_day(frame.dropna(subset=[value]))
    ranked = data.sort_values(["rank", series]) if "rank" in data.columns else data.sort_values(series)
    order = list(ranked[series].drop_duplicates())
    encoding = {
        "x": day_axis(days_of(start, end)),
        "y": field(f"{value}:Q", title=value_title, axis={"format": axis_format or value_format}),
        "color": field(f"{series}:N", scale=series_colors(order, other), legend=legend(min(4, len(order) or 1)),
                       sort=order),
        "tooltip": [
            tip("day:N", DAY_TITLE),
            tip(f"{series}:N", series_title),
            tip(f"{value}:Q", value_title, value_format),
            *(tip(f"{col}:{'N' if fmt == '' else 'Q'}", title, fmt or None) for col, title, fmt in extra_tips),
        ],
    }  # fmt: skip
    return chart(
        name,
        heading,
        subtitle,
        height,
        {"data": {"name": "orusage-0"}, "mark": {"type": "line", "point": True, "strokeWidth": 2},
         "encoding": encoding},
        {"orusage-0": data},
    )  # fmt: skip


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
    value_title: str | None = None,
) -> Spec:
    """Bars per UTC day stacked by ``series`` (already labelled, ranked by ``rank``: biggest at the bottom).

    ``frame`` needs date, ``series``, ``value``, ``requests`` and ``rank``; tooltips show the day's part
    and its total; ``value_title`` names a value that is neither USD nor tokens (requests). With
    ``price_changes`` (date, label, old/new prices per million), a dashed rule marks each day a list price
    changed.
    """
    data = with_day(frame)
    data = data.assign(day_total=data.groupby("day")[value].transform("sum"))
    order = list(data.sort_values(["rank", series])[series].drop_duplicates())
    fmt = USD_TOOLTIP if usd else ","
    title = value_title or ("Spend (USD)" if usd else "Tokens")
    x = day_axis(days_of(start, end))
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": x,
            "y": field(
                f"{value}:Q",
                title=title,
                stack="zero",
                axis={"format": USD_AXIS} if usd else {"labelExpr": TOKENS_AXIS},
            ),
            "color": field(
                f"{series}:N",
                scale=series_colors(order, other),
                legend=legend(min(legend_columns, len(order))),
                sort=order,
            ),
            "order": field("rank:Q", sort="ascending"),
            "tooltip": [
                tip("day:N", DAY_TITLE),
                tip(f"{series}:N", series_title),
                tip(f"{value}:Q", value_title or ("Spend" if usd else "Tokens"), fmt),
                tip("day_total:Q", "Day total", fmt),
                tip("requests:Q", "Requests", ","),
            ],
        },
    }
    if price_changes is None:
        return chart(name, heading, subtitle, height, {"data": {"name": "orusage-0"}, **bars}, {"orusage-0": data})
    rules = {
        "data": {"name": "orusage-1"},
        "mark": {"type": "rule", "color": "#111827", "strokeDash": [4, 3], "strokeWidth": 2},
        "encoding": {
            "x": x,
            "tooltip": [
                tip("day:N", "Price change (UTC)"),
                tip("label:N", "Model"),
                tip("old_prompt_per_m:Q", "Prompt before ($/M)", "$,.4~f"),
                tip("prompt_per_m:Q", "Prompt after ($/M)", "$,.4~f"),
                tip("old_completion_per_m:Q", "Completion before ($/M)", "$,.4~f"),
                tip("completion_per_m:Q", "Completion after ($/M)", "$,.4~f"),
            ],
        },
    }
    layers = {"layer": [{"data": {"name": "orusage-0"}, **bars}, rules]}
    return chart(name, heading, subtitle, height, layers, {"orusage-0": data, "orusage-1": with_day(price_changes)})
