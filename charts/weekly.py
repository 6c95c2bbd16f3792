"""Builders for the weekly review: the change bridge, per-model parts, days side by side, top movers and
what-if savings. A ``Review`` in, a Vega-Lite spec out (see ``charts.base``); no Streamlit, so
``orusage report weekly`` renders the very same charts to PNG (``all_charts`` hands them over as Altair
charts with their data inline, which is what it renders).

Every chart carries ``usermeta.orusage_chart`` (its name), as the other pages' charts do.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from charts.base import USD_AXIS, USD_TOOLTIP, Spec, chart, condition, field, tip
from core import fmt
from review.inputs import rows as frame_rows
from review.model import Review

AnyChart = Spec

UP = "#E15759"  # spend went up: red, as a cost
DOWN = "#59A14F"
TOTAL = "#4E79A7"
PART_COLORS = {"Volume": "#4E79A7", "Mix": "#F28E2B", "Price": "#B07AA1"}
ROW = 28
BAR = 18

BRIDGE = "weekly_bridge"
MODEL_PARTS = "weekly_model_parts"
DAILY = "weekly_daily"
MOVERS = "weekly_movers"
WHAT_IF = "weekly_what_if"


_money = fmt.usd
_signed = fmt.signed_usd


def efficiency_text(unit: str, value: float | None) -> str:
    """An efficiency figure as the page and the report write it (units: ``review.efficiency.METRICS``)."""
    if unit == "usd_per_m":
        return fmt.per_million(value)
    if unit == "share":
        return fmt.share(value)
    if unit == "usd_fine" and value is not None:
        return fmt.usd_precise(value, 4)
    return fmt.usd(value)


def efficiency_change(unit: str, change: float | None) -> str:
    """Its week-over-week change: points for shares, signed amounts otherwise."""
    if change is None:
        return "—"
    sign = "+" if change >= 0 else "−"
    if unit == "share":
        return f"{sign}{abs(change) * 100:.1f} pts"
    return sign + efficiency_text(unit, abs(change))


def _rows(column: str, order: list[str], limit: int = 260, size: int = 12) -> dict[str, Any]:
    return field(f"{column}:N", sort=order, title=None, axis={"labelLimit": limit, "labelFontSize": size})


def _legend_top() -> dict[str, Any]:
    return {"orient": "top", "title": None}


def bridge(review: Review) -> Spec | None:
    """Last week's spend, the volume, mix and price steps, this week's spend: a waterfall."""
    if review.change is None or review.totals.spend_prev is None:
        return None
    c, start = review.change, review.totals.spend_prev
    steps = [{"step": review.previous_week, "low": 0.0, "high": start, "kind": "total", "label": _money(start)}]
    level = start
    for step, amount in (("Volume", c.volume), ("Mix", c.mix), ("Price", c.price)):
        steps.append(
            {
                "step": step,
                "low": min(level, level + amount),
                "high": max(level, level + amount),
                "kind": "up" if amount >= 0 else "down",
                "label": _signed(amount),
            }
        )
        level += amount
    end = review.totals.spend or 0.0
    steps.append({"step": review.week, "low": 0.0, "high": end, "kind": "total", "label": _money(end)})
    data = pd.DataFrame(steps)
    x = field("step:N", sort=list(data["step"]), title=None, axis={"labelAngle": 0, "labelFontSize": 12})
    bars = {
        "mark": {"type": "bar", "cornerRadius": 2, "size": 56},
        "encoding": {
            "color": field(
                "kind:N", scale={"domain": ["total", "up", "down"], "range": [TOTAL, UP, DOWN]}, legend=None
            ),
            "tooltip": [tip("step:N", "Step"), tip("label:N", "Amount")],
            "x": x,
            "y": field("low:Q", title="Spend (USD)", axis={"format": USD_AXIS}),
            "y2": {"field": "high"},
        },
    }
    text = {
        "mark": {"type": "text", "color": "#374151", "dy": -8, "fontSize": 12},
        "encoding": {"text": field("label:N"), "x": x, "y": field("high:Q")},
    }
    subtitle = f"USD: {review.previous_week} → {review.week}, split into volume, mix and price (they add up)"
    body = {"layer": [bars, text], "data": {"name": "orusage-0"}}
    return chart(BRIDGE, "Why spend changed", subtitle, 260, body, {"orusage-0": data})


def model_parts(review: Review, top: int = 10) -> Spec | None:
    """Per model (the biggest changes): its volume, mix and price parts stacked, a tick at the net change."""
    frame = review.by_model.head(top)
    if frame.empty:
        return None
    parts = frame.melt(id_vars=["label", "change"], value_vars=["volume", "mix", "price"], var_name="part")
    parts["part"] = parts["part"].str.capitalize()
    y = _rows("label", list(frame["label"]))
    bars = {
        "data": {"name": "orusage-0"},
        "mark": {"type": "bar", "size": BAR},
        "encoding": {
            "color": field(
                "part:N",
                scale={"domain": list(PART_COLORS), "range": list(PART_COLORS.values())},
                legend=_legend_top(),
            ),
            "tooltip": [tip("label:N", "Model"), tip("part:N", "Part"), tip("value:Q", "USD", USD_TOOLTIP)],
            "x": field("value:Q", aggregate="sum", title="Change of spend (USD)", axis={"format": USD_AXIS}),
            "y": y,
        },
    }
    net = {
        "data": {"name": "orusage-1"},
        "mark": {"type": "tick", "color": "#111827", "size": BAR + 6, "thickness": 2},
        "encoding": {"tooltip": [tip("change:Q", "Net change", USD_TOOLTIP)], "x": field("change:Q"), "y": y},
    }
    subtitle = f"top {len(frame)} by size of change; the black tick is the net change"
    height = max(100, ROW * len(frame))
    return chart(
        MODEL_PARTS,
        "Change per model",
        subtitle,
        height,
        {"layer": [bars, net]},
        {"orusage-0": parts, "orusage-1": frame},
    )


def daily(review: Review) -> Spec | None:
    """Spend per weekday: this week's bar beside the same weekday of the week before."""
    rows: list[dict[str, object]] = []
    for r in frame_rows(review.daily):
        rows.append({"weekday": r["weekday"], "week": review.week, "day": str(r["day"]), "spend": r["spend"]})
        if review.comparable:
            rows.append({"weekday": r["weekday"], "week": review.previous_week, "day": str(r["day_prev"]),
                         "spend": r["spend_prev"]})  # fmt: skip
    data = pd.DataFrame(rows).dropna(subset=["spend"])
    if data.empty:
        return None
    weeks = [review.previous_week, review.week] if review.comparable else [review.week]
    encoding = {
        "color": field(
            "week:N",
            scale={"domain": weeks, "range": ["#B8BEC9", TOTAL][-len(weeks) :]},
            legend=_legend_top(),
            sort=weeks,
        ),
        "tooltip": [tip("day:N", "Day"), tip("week:N", "Week"), tip("spend:Q", "Spend", USD_TOOLTIP)],
        "x": field("weekday:N", sort=list(review.daily["weekday"]), title="Day (UTC)", axis={"labelAngle": 0}),
        "xOffset": field("week:N", sort=weeks),
        "y": field("spend:Q", title="Spend (USD)", axis={"format": USD_AXIS}),
    }
    body = {"data": {"name": "orusage-0"}, "mark": {"type": "bar", "cornerRadiusEnd": 2}, "encoding": encoding}
    subtitle = "USD per UTC day, beside the same weekday a week earlier"
    return chart(DAILY, "Spend per day", subtitle, 240, body, {"orusage-0": data})


def movers(review: Review, kind: str = "model") -> Spec | None:
    """The biggest increases and decreases of one kind, as bars right (up) and left (down) of zero."""
    m = review.movers[kind]
    frame = pd.concat([m.increases, m.decreases]).drop_duplicates("value") if m.comparable else pd.DataFrame()
    if frame.empty:
        return None
    frame = frame.sort_values("change", ascending=False).assign(
        text=[_signed(v) for v in frame.sort_values("change", ascending=False)["change"]]
    )
    # Room beyond the longest bars for their amounts.
    low, high = min(float(frame["change"].min()), 0.0), max(float(frame["change"].max()), 0.0)
    pad = (high - low) * 0.2 or 1.0
    y = _rows("label", list(frame["label"]))
    bars = {
        "data": {"name": "orusage-0"},
        "mark": {"type": "bar", "cornerRadiusEnd": 2, "size": BAR},
        "encoding": {
            "color": condition("(datum.change > 0)", UP, DOWN),
            "tooltip": [
                tip("label:N", "Name"),
                tip("spend_prev:Q", review.previous_week, USD_TOOLTIP),
                tip("spend:Q", review.week, USD_TOOLTIP),
                tip("change:Q", "Change", USD_TOOLTIP),
            ],
            "x": field(
                "change:Q",
                title="Change of spend (USD)",
                axis={"format": USD_AXIS},
                scale={"domain": [low - pad if low < 0 else 0.0, high + pad if high > 0 else 0.0], "nice": False},
            ),
            "y": y,
        },
    }

    # The amount just past each bar's end: right of a rise, left of a fall.
    def amounts(data: str, align: str, dx: int) -> dict[str, Any]:
        return {
            "data": {"name": data},
            "mark": {"type": "text", "align": align, "color": "#374151", "dx": dx, "fontSize": 11},
            "encoding": {"text": field("text:N"), "x": field("change:Q"), "y": y},
        }

    words = {"model": "models", "app": "apps", "key": "API keys", "provider": "providers"}[kind]
    return chart(
        f"{MOVERS}_{kind}",
        f"Top movers: {words}",
        "USD, largest increases and decreases",
        ROW * len(frame) + 20,
        {"layer": [bars, amounts("orusage-1", "left", 4), amounts("orusage-2", "right", -4)]},
        {"orusage-0": frame, "orusage-1": frame.loc[frame["change"] > 0], "orusage-2": frame.loc[frame["change"] <= 0]},
    )


def what_if(review: Review) -> Spec | None:
    """For each top model: its list-price cost as used, and each suggested alternative's cost."""
    s = review.what_if.suggestions
    if s.empty:
        return None
    rows: list[dict[str, object]] = []
    for model, group in s.groupby("label", sort=False):
        first = group.iloc[0]
        rows.append({"row": f"{model} (as used)", "cost": first["list_cost"], "option": "as used", "saving": 0.0})
        for r in frame_rows(group):
            rows.append({"row": f"{model} → {r['alternative_label']}", "cost": r["alternative_cost"],
                         "option": "alternative", "saving": r["saving"]})  # fmt: skip
    data = pd.DataFrame(rows)
    encoding = {
        "color": field(
            "option:N", scale={"domain": ["as used", "alternative"], "range": [TOTAL, DOWN]}, legend=_legend_top()
        ),
        "tooltip": [tip("row:N", "Option"), tip("cost:Q", "Cost", USD_TOOLTIP), tip("saving:Q", "Saving", USD_TOOLTIP)],
        "x": field("cost:Q", title="Cost at list prices (USD)", axis={"format": USD_AXIS}),
        "y": _rows("row", list(data["row"]), limit=380, size=11),
    }
    body = {
        "data": {"name": "orusage-0"},
        "mark": {"type": "bar", "cornerRadiusEnd": 2, "size": BAR},
        "encoding": encoding,
    }
    heading = "What if: the same tokens on another model"
    return chart(WHAT_IF, heading, "list prices, same volume", ROW * len(data) + 20, body, {"orusage-0": data})


def as_altair(spec: Spec) -> alt.Chart | alt.LayerChart:
    """The spec as an Altair chart with its data inline (JSON values), for rendering outside Streamlit."""
    inline = {
        **spec,
        "datasets": {name: alt.utils.data.to_values(frame)["values"] for name, frame in spec["datasets"].items()},
    }
    built: alt.Chart | alt.LayerChart = (alt.LayerChart if "layer" in spec else alt.Chart).from_dict(
        inline, validate=False
    )
    return built


def all_charts(review: Review) -> dict[str, alt.Chart | alt.LayerChart]:
    """Every chart the review has data for, by name, in reading order (the report embeds these)."""
    built: dict[str, Spec | None] = {
        BRIDGE: bridge(review),
        MODEL_PARTS: model_parts(review),
        DAILY: daily(review),
        f"{MOVERS}_model": movers(review, "model"),
        WHAT_IF: what_if(review),
    }
    return {name: as_altair(spec) for name, spec in built.items() if spec is not None}
