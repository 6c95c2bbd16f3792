"""Altair builders for the weekly review: the change bridge, per-model parts, days side by side, top movers
and what-if savings. A ``Review`` in, a chart out; no Streamlit, so ``orusage report weekly`` renders the
very same charts to PNG.

Every chart carries ``usermeta.orusage_chart`` (its name), as the other pages' charts do.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard import format as fmt
from dashboard.charts import FIT_WIDTH, USD_AXIS, USD_TOOLTIP, title
from queries.review_inputs import rows as frame_rows
from queries.review_model import Review

AnyChart = alt.Chart | alt.LayerChart

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


def _money(value: float) -> str:
    return f"-${abs(value):,.2f}" if value < 0 else f"${value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '−'}${abs(value):,.2f}"


def efficiency_text(unit: str, value: float | None) -> str:
    """An efficiency figure as the page and the report write it (units: ``review_efficiency.METRICS``)."""
    if unit == "usd_per_m":
        return fmt.per_million(value)
    if unit == "share":
        return fmt.share(value)
    if unit == "usd_fine" and value is not None:
        return f"${value:,.4f}"
    return fmt.usd(value)


def efficiency_change(unit: str, change: float | None) -> str:
    """Its week-over-week change: points for shares, signed amounts otherwise."""
    if change is None:
        return "—"
    sign = "+" if change >= 0 else "−"
    if unit == "share":
        return f"{sign}{abs(change) * 100:.1f} pts"
    return sign + efficiency_text(unit, abs(change))


def _props(name: str, heading: str, subtitle: str, height: int) -> dict[str, object]:
    return {
        "title": title(heading, subtitle),
        "height": height,
        "usermeta": {"orusage_chart": name},
        "autosize": FIT_WIDTH,
    }


def bridge(review: Review) -> alt.LayerChart | None:
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
    order = list(data["step"])
    x = alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelFontSize=12))
    color = alt.Color("kind:N", scale=alt.Scale(domain=["total", "up", "down"], range=[TOTAL, UP, DOWN]), legend=None)
    bars = (
        alt.Chart(data)
        .mark_bar(size=56, cornerRadius=2)
        .encode(
            x=x,
            y=alt.Y("low:Q", title="Spend (USD)", axis=alt.Axis(format=USD_AXIS)),
            y2="high:Q",
            color=color,
            tooltip=[alt.Tooltip("step:N", title="Step"), alt.Tooltip("label:N", title="Amount")],
        )
    )
    text = alt.Chart(data).mark_text(dy=-8, fontSize=12, color="#374151").encode(x=x, y="high:Q", text="label:N")
    subtitle = f"USD: {review.previous_week} → {review.week}, split into volume, mix and price (they add up)"
    return alt.LayerChart(layer=[bars, text]).properties(**_props(BRIDGE, "Why spend changed", subtitle, 260))


def model_parts(review: Review, top: int = 10) -> alt.LayerChart | None:
    """Per model (the biggest changes): its volume, mix and price parts stacked, a tick at the net change."""
    frame = review.by_model.head(top)
    if frame.empty:
        return None
    parts = frame.melt(id_vars=["label", "change"], value_vars=["volume", "mix", "price"], var_name="part")
    parts["part"] = parts["part"].str.capitalize()
    order = list(frame["label"])
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=12))
    bars = (
        alt.Chart(parts)
        .mark_bar(size=BAR)
        .encode(
            y=y,
            x=alt.X("sum(value):Q", title="Change of spend (USD)", axis=alt.Axis(format=USD_AXIS)),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=list(PART_COLORS), range=list(PART_COLORS.values())),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Model"),
                alt.Tooltip("part:N", title="Part"),
                alt.Tooltip("value:Q", title="USD", format=USD_TOOLTIP),
            ],
        )
    )
    net = (
        alt.Chart(frame)
        .mark_tick(color="#111827", thickness=2, size=BAR + 6)
        .encode(y=y, x="change:Q", tooltip=[alt.Tooltip("change:Q", title="Net change", format=USD_TOOLTIP)])
    )
    subtitle = f"top {len(frame)} by size of change; the black tick is the net change"
    return alt.LayerChart(layer=[bars, net]).properties(
        **_props(MODEL_PARTS, "Change per model", subtitle, max(100, ROW * len(frame)))
    )


def daily(review: Review) -> alt.Chart | None:
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
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            x=alt.X("weekday:N", sort=list(review.daily["weekday"]), title="Day (UTC)", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("week:N", sort=weeks),
            y=alt.Y("spend:Q", title="Spend (USD)", axis=alt.Axis(format=USD_AXIS)),
            color=alt.Color(
                "week:N",
                sort=weeks,
                scale=alt.Scale(domain=weeks, range=["#B8BEC9", TOTAL][-len(weeks) :]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=[
                alt.Tooltip("day:N", title="Day"),
                alt.Tooltip("week:N", title="Week"),
                alt.Tooltip("spend:Q", title="Spend", format=USD_TOOLTIP),
            ],
        )
        .properties(**_props(DAILY, "Spend per day", "USD per UTC day, beside the same weekday a week earlier", 240))
    )
    return chart


def movers(review: Review, kind: str = "model") -> alt.LayerChart | None:
    """The biggest increases and decreases of one kind, as bars right (up) and left (down) of zero."""
    m = review.movers[kind]
    frame = pd.concat([m.increases, m.decreases]).drop_duplicates("value") if m.comparable else pd.DataFrame()
    if frame.empty:
        return None
    frame = frame.sort_values("change", ascending=False).assign(
        text=[_signed(v) for v in frame.sort_values("change", ascending=False)["change"]]
    )
    order = list(frame["label"])
    # Room beyond the longest bars for their amounts.
    low, high = min(float(frame["change"].min()), 0.0), max(float(frame["change"].max()), 0.0)
    pad = (high - low) * 0.2 or 1.0
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=12))
    bars = (
        alt.Chart(frame)
        .mark_bar(size=BAR, cornerRadiusEnd=2)
        .encode(
            y=y,
            x=alt.X(
                "change:Q",
                title="Change of spend (USD)",
                axis=alt.Axis(format=USD_AXIS),
                scale=alt.Scale(domain=[low - pad if low < 0 else 0.0, high + pad if high > 0 else 0.0], nice=False),
            ),
            color=alt.condition(alt.datum.change > 0, alt.value(UP), alt.value(DOWN)),
            tooltip=[
                alt.Tooltip("label:N", title="Name"),
                alt.Tooltip("spend_prev:Q", title=review.previous_week, format=USD_TOOLTIP),
                alt.Tooltip("spend:Q", title=review.week, format=USD_TOOLTIP),
                alt.Tooltip("change:Q", title="Change", format=USD_TOOLTIP),
            ],
        )
    )
    # The amount just past each bar's end: right of a rise, left of a fall.
    rises = (
        alt.Chart(frame.loc[frame["change"] > 0])
        .mark_text(fontSize=11, color="#374151", dx=4, align="left")
        .encode(y=y, x="change:Q", text="text:N")
    )
    falls = (
        alt.Chart(frame.loc[frame["change"] <= 0])
        .mark_text(fontSize=11, color="#374151", dx=-4, align="right")
        .encode(y=y, x="change:Q", text="text:N")
    )
    words = {"model": "models", "app": "apps", "key": "API keys", "provider": "providers"}[kind]
    return alt.LayerChart(layer=[bars, rises, falls]).properties(
        **_props(
            f"{MOVERS}_{kind}", f"Top movers: {words}", "USD, largest increases and decreases", ROW * len(frame) + 20
        )
    )


def what_if(review: Review) -> alt.Chart | None:
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
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_bar(size=BAR, cornerRadiusEnd=2)
        .encode(
            y=alt.Y("row:N", sort=list(data["row"]), title=None, axis=alt.Axis(labelLimit=380, labelFontSize=11)),
            x=alt.X("cost:Q", title="Cost at list prices (USD)", axis=alt.Axis(format=USD_AXIS)),
            color=alt.Color(
                "option:N",
                scale=alt.Scale(domain=["as used", "alternative"], range=[TOTAL, DOWN]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=[
                alt.Tooltip("row:N", title="Option"),
                alt.Tooltip("cost:Q", title="Cost", format=USD_TOOLTIP),
                alt.Tooltip("saving:Q", title="Saving", format=USD_TOOLTIP),
            ],
        )
        .properties(
            **_props(
                WHAT_IF, "What if: the same tokens on another model", "list prices, same volume", ROW * len(data) + 20
            )
        )
    )
    return chart


def all_charts(review: Review) -> dict[str, alt.Chart | alt.LayerChart]:
    """Every chart the review has data for, by name, in reading order (the report embeds these)."""
    built: dict[str, alt.Chart | alt.LayerChart | None] = {
        BRIDGE: bridge(review),
        MODEL_PARTS: model_parts(review),
        DAILY: daily(review),
        f"{MOVERS}_model": movers(review, "model"),
        WHAT_IF: what_if(review),
    }
    return {name: chart for name, chart in built.items() if chart is not None}
