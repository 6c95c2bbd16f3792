"""Charts over UTC days: tokens per day in their parts, and any value per day stacked by a series."""

from __future__ import annotations

from datetime import date

import pandas as pd

from charts.base import (
    DAY_TITLE,
    TOKEN_PARTS,
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


def tokens_per_day(frame: pd.DataFrame, start: date, end: date, name: str = "tokens_per_day") -> Spec:
    """Stacked bars per UTC day: prompt, completion-only and reasoning add up to all tokens."""
    data = with_day(frame).assign(total=frame["prompt"] + frame["completion_only"] + frame["reasoning"])
    long = long_parts(data, TOKEN_PARTS, "tokens")
    encoding = {
        "x": day_axis(days_of(start, end)),
        "y": field("tokens:Q", title="Tokens", stack="zero", axis={"labelExpr": TOKENS_AXIS}),
        "color": token_colors(),
        "order": field("part_order:Q", sort="ascending"),
        "tooltip": [
            tip("day:N", DAY_TITLE),
            *(tip(f"{col}:Q", label, ",") for col, label, _ in TOKEN_PARTS),
            tip("total:Q", "All tokens", ","),
        ],
    }
    return chart(
        name,
        "Tokens per day",
        "Prompt, completion without reasoning, and reasoning: the parts add up to all tokens",
        260,
        {"data": {"name": "orusage-0"}, "mark": {"type": "bar"}, "encoding": encoding},
        {"orusage-0": long},
    )


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
) -> Spec:
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
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": x,
            "y": field(
                f"{value}:Q",
                title="Spend (USD)" if usd else "Tokens",
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
                tip(f"{value}:Q", "Spend" if usd else "Tokens", fmt),
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
