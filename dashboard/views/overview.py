"""Overview: the account's outlook (credits, burn, month-end forecast), the selected period against the
one before it, tokens per day, spend per day by top models and spend per model."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from charts import base, daily, rank
from core import fmt
from dashboard import data, frames, ui
from dashboard.context import PageContext
from dashboard.parts import Split
from dashboard.views import credits as credits_panel
from queries.reads_routing import Dim, Route

DeltaColor = Literal["normal", "inverse", "off"]

TITLE = "Overview"
TOP_MODELS_PER_DAY = 6
TOP_MODELS = 10

KPI_CREDITS = "Credits left"
KPI_DAYS_LEFT = "Days of credit left"
KPI_TODAY = "Spend today so far"
KPI_MONTH = "This month so far"
KPI_FORECAST = "Month-end forecast"
KPI_SPEND = "Spend"
KPI_REQUESTS = "Requests"
KPI_TOKENS = "Tokens"
KPI_COST_1K = "Cost per 1k requests"
KPI_CACHE = "Cache savings"


def render(ctx: PageContext) -> None:
    ui.header(TITLE, ctx, "Spend and usage")
    _outlook(ctx)
    st.divider()
    current = ctx.route()
    st.markdown(f"#### {fmt.day_range(ctx.filters.start, ctx.filters.end)} (UTC)")
    if not ui.route_notes(ctx, current, "This period"):
        return
    _period(ctx, current)
    tokens = data.facts(ctx.store, current, ctx.filters, ("date",))
    parts = ["prompt", "completion", "completion_only", "reasoning", "requests", "spend"]
    tokens = frames.stacked_tokens(frames.fill_days(tokens, ctx.filters.start, ctx.filters.end, parts))
    if tokens[["prompt", "completion_only", "reasoning"]].to_numpy().sum() == 0:
        st.info(
            f"No usage in {ctx.filters.label} for these filters. Pick a wider date range or fewer filters.",
            icon=":material/info:",
        )
        return
    left, right = st.columns([3, 2], gap="large")
    with left:
        ui.chart(
            ctx,
            daily.tokens_per_day(tokens, ctx.filters.start, ctx.filters.end),
            tokens,
            "tokens_per_day",
            "Stacked bars of prompt, completion and reasoning tokens per UTC day",
            split=Split(ctx.filters, tokens=("prompt", "completion_only", "reasoning"), requests="requests"),
        )
    with right:
        _spend_per_model(ctx)
    _spend_per_day(ctx)
    st.caption(ui.sources_caption(current))
    st.caption(
        "Spend = usage billed to OpenRouter credits + BYOK inference (OpenRouter's total usage). "
        "Completion tokens include reasoning tokens; the charts show them apart so nothing is counted twice. "
        "Click a model's bar to open its page."
    )


def _outlook(ctx: PageContext) -> None:
    """Account-wide, whatever the filters (credits belong to the account), but for the Accounts filter: the
    chosen accounts' credits and pace."""
    chosen = ctx.filters.accounts
    k = data.kpis(ctx.store, ctx.today, chosen)
    o = data.outlook(ctx.store, ctx.today, credits_panel.moment(ctx), chosen)
    whose = f"Account{'s' if len(chosen) > 1 else ''} {', '.join(chosen)}" if chosen else "Account"
    st.markdown(f"#### {whose} (all keys, all models)")
    credits, days_left, today, month, forecast = st.columns(5)
    with credits:
        st.metric(KPI_CREDITS, fmt.usd(k.credits_left), border=True, help="Credits bought minus credits used.")
        st.caption(
            "no /credits fetch yet"
            if k.credits_as_of is None
            else f"of {fmt.usd(k.total_credits)} bought · {fmt.utc_time(k.credits_as_of)}"
        )
    with days_left:
        st.metric(
            KPI_DAYS_LEFT,
            "—" if o.runway is None else (f"{o.days_left:,.0f} days" if o.days_left is not None else "365+ days"),
            border=True,
            help="How long the credits left last at the projected daily credit spend (the last 28 days with "
            "their weekday pattern): the runway of the Credits panel below and of the credits alert. BYOK "
            "spend is paid to your own provider keys, so it does not burn credits.",
        )
        st.caption(
            "needs a /credits fetch and a week of known spend"
            if o.runway is None
            else f"{o.runway.text()} · at {fmt.usd(o.runway.pace_per_day)}/day in credits"
        )
    with today:
        st.metric(
            KPI_TODAY,
            fmt.usd(k.today_so_far),
            border=True,
            help="Every key's usage today (credits + BYOK) at the newest key fetch of the UTC day. "
            "OpenRouter's daily activity only covers finished days.",
        )
        st.caption(
            f"{fmt.day(k.today)} UTC · no key fetch yet today: run `orusage ingest`"
            if k.today_as_of is None
            else f"{fmt.day(k.today)} · as of {k.today_as_of:%H:%M} UTC"
        )
    with month:
        so_far = o.month_done + (k.today_so_far or 0.0)
        st.metric(
            KPI_MONTH,
            fmt.usd(so_far),
            border=True,
            help="Completed UTC days since the 1st, plus today so far.",
        )
        st.caption(f"{fmt.day(o.month_start)} – today (UTC)")
    with forecast:
        st.metric(
            KPI_FORECAST,
            fmt.usd(o.month_forecast),
            border=True,
            help="A projection, not a bill, made as the budgets make theirs: the month so far plus each day left "
            "at the pace of the last 28 completed days, shaped by weekday; the range is an 80% band. The "
            "same figure as an account-wide monthly budget on the Budgets page and in the weekly review.",
        )
        st.caption(fmt.forecast_caption(o.forecast))
    credits_panel.render(ctx)


def _totals(frame: pd.DataFrame) -> tuple[float, int, int]:
    if frame.empty:
        return 0.0, 0, 0
    row = frame.fillna(0).iloc[0]
    return float(row["spend"]), int(row["requests"]), int(row["prompt"] + row["completion"])


def _period(ctx: PageContext, current: Route) -> None:
    """The selected period's totals, each against the period of equal length just before it."""
    sel = ctx.filters
    spend, requests, tokens = _totals(data.facts(ctx.store, current, sel))
    earlier = ctx.filters.previous()
    before_start, before_end = earlier.start, earlier.end
    before = ctx.route(filters=earlier)
    # Compare only with a fully stored previous period: a partial one would fake a rise.
    comparable = before.answerable and not before.gaps
    prev = _totals(data.facts(ctx.store, before, earlier)) if comparable else None
    versus = f"vs {fmt.day_range(before_start, before_end)}"
    if not comparable:
        versus = f"{fmt.day_range(before_start, before_end)} is not fully stored: no comparison"
    cost = spend / requests * 1000 if requests else None
    prev_cost = prev[0] / prev[1] * 1000 if prev and prev[1] else None
    cols = st.columns(5)
    saved = data.cache_savings(ctx.store, sel, ctx.today)
    saved_before = data.cache_savings(ctx.store, earlier, ctx.today).total if comparable else None
    items: tuple[tuple[str, str, float | None, float | None, DeltaColor], ...] = (
        (KPI_SPEND, fmt.usd(spend), spend, prev[0] if prev else None, "inverse"),
        (KPI_REQUESTS, fmt.count(requests), float(requests), float(prev[1]) if prev else None, "off"),
        (KPI_TOKENS, fmt.tokens(tokens), float(tokens), float(prev[2]) if prev else None, "off"),
        (KPI_COST_1K, fmt.usd(cost), cost, prev_cost, "inverse"),
        (KPI_CACHE, fmt.usd(saved.total), saved.total, saved_before, "normal"),
    )
    for col, (label, shown, now, then, colour) in zip(cols, items, strict=True):
        with col:
            st.metric(
                label,
                shown,
                delta=ui.change(now, then),
                delta_color=colour,
                border=True,
                help=f"{ctx.filters.label.capitalize()}, with the sidebar's filters; change {versus}.",
            )
    st.caption(f"Change {versus} (same length). Cache savings: {saved.note()}.")


def _spend_per_day(ctx: PageContext) -> None:
    r = ctx.route([Dim.MODEL])
    if not ui.route_notes(ctx, r, "Spend per day by model"):
        return
    per_day = data.facts(ctx.store, r, ctx.filters, ("date", "model"), top=("model", TOP_MODELS_PER_DAY))
    per_day = frames.labelled(per_day, "model", ctx.meta.model_label)
    spec = daily.stacked_per_day(
        per_day,
        start=ctx.filters.start,
        end=ctx.filters.end,
        series="label",
        value="spend",
        name="spend_per_day",
        heading="Spend per day",
        subtitle=f"USD, top {TOP_MODELS_PER_DAY} models of the period; the rest as “other models”",
        series_title="Model",
        other="other models",
    )
    ui.chart(
        ctx,
        spec,
        per_day,
        "spend_per_day",
        "Stacked bars of spend per UTC day by model",
        split=Split(ctx.filters, requests="requests"),
    )


def _spend_per_model(ctx: PageContext) -> None:
    r = ctx.route([Dim.MODEL])
    if not ui.route_notes(ctx, r, "Spend per model"):
        return
    per_model = data.facts(ctx.store, r, ctx.filters, ("model",), top=("model", TOP_MODELS))
    per_model = frames.with_other_count(frames.labelled(per_model, "model", ctx.meta.model_label), "model", "models")
    per_model = per_model.assign(tokens=frames.tokens(per_model)).sort_values("rank")
    spec = rank.hbars(
        per_model,
        label="label",
        value="spend",
        name="spend_per_model",
        heading="Spend per model",
        subtitle=f"USD, top {TOP_MODELS}; click a bar for the model's page",
        tooltip=[
            base.tip("requests:Q", "Requests", ","),
            base.tip("tokens:Q", "Tokens", ","),
            base.tip("byok:Q", "of which BYOK", base.USD_TOOLTIP),
        ],
        pick_field="model",
        value_title="Spend (USD)",
    )
    ui.model_chart(ctx, spec, per_model, "spend_per_model", split=Split(ctx.filters, requests="requests"))
