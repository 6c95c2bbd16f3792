"""Overview: headline spend, tokens per day, spend per day and per model."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data
from dashboard import format as fmt
from dashboard.context import PageContext

TITLE = "Overview"
TOP_MODELS = 8

KPI_TODAY = "Spend today so far"
KPI_WEEK = "This week"
KPI_MONTH = "This month"
KPI_CREDITS = "Credits left"


def render(ctx: PageContext) -> None:
    f = ctx.filters
    st.title(TITLE)
    st.caption("Headline figures are account-wide; the charts below follow the sidebar's filters.")
    _kpis(ctx)
    st.divider()

    models = (
        "all models"
        if not f.models
        else ", ".join(ctx.meta.model_labels.get(m, m) for m in f.models)
        if len(f.models) <= 3
        else f"{len(f.models)} models"
    )
    st.markdown(f"#### {fmt.day_range(f.start, f.end)} (UTC) · {models}")

    tokens = data.tokens_per_day(ctx.reader, ctx.db, ctx.version, f.start, f.end, f.models)
    spend = data.spend_per_day(ctx.reader, ctx.db, ctx.version, f.start, f.end, f.models)
    per_model = data.spend_per_model(ctx.reader, ctx.db, ctx.version, f.start, f.end, f.models, TOP_MODELS)

    if per_model.empty:
        st.info(
            f"No activity in {fmt.day_range(f.start, f.end)} for {models}. Pick a wider date range or other models.",
            icon=":material/info:",
        )
        return

    st.caption(
        f"{int(tokens[['prompt', 'completion_only', 'reasoning']].to_numpy().sum()):,} tokens · "
        f"{fmt.usd(float(spend['spend'].sum()))} spend ({fmt.usd(float(spend['byok'].sum()))} BYOK) · "
        f"{int(per_model['requests'].sum()):,} requests"
    )
    st.altair_chart(
        charts.tokens_per_day(tokens),
        width="stretch",
        alt="Stacked bar chart of prompt, completion and reasoning tokens per UTC day",
    )
    left, right = st.columns(2, gap="large")
    with left:
        st.altair_chart(charts.spend_per_day(spend), width="stretch", alt="Stacked bar chart of spend per UTC day")
    with right:
        st.altair_chart(
            charts.spend_per_model(per_model, TOP_MODELS),
            width="stretch",
            alt="Bar chart of spend per model",
        )
    st.caption(
        "Spend = usage billed to OpenRouter credits + BYOK inference (OpenRouter's total usage). "
        "Completion tokens include reasoning tokens; the chart shows them apart so nothing is counted twice."
    )


def _kpis(ctx: PageContext) -> None:
    k = data.kpis(ctx.reader, ctx.db, ctx.version, ctx.today)
    today, week, month, credits = st.columns(4)
    with today:
        st.metric(
            KPI_TODAY,
            fmt.usd(k.today_so_far),
            border=True,
            help="Sum of every key's usage today (credits + BYOK) at the newest key fetch of the UTC day. "
            "OpenRouter's daily activity only covers finished days.",
        )
        if k.today_as_of is None:
            st.caption(f"{fmt.day(k.today)} UTC · no key fetch yet today: run `orusage ingest`")
        else:
            byok = f" · {fmt.usd(k.today_byok_so_far)} BYOK" if k.today_byok_so_far else ""
            st.caption(f"{fmt.day(k.today)} · as of {k.today_as_of:%H:%M} UTC{byok}")
    with week:
        st.metric(
            KPI_WEEK,
            fmt.usd(k.week),
            border=True,
            help="Finished UTC days since Monday from daily activity, plus today so far.",
        )
        st.caption(f"{fmt.day(k.week_start)} – today (UTC)")
    with month:
        st.metric(
            KPI_MONTH,
            fmt.usd(k.month),
            border=True,
            help="Finished UTC days since the 1st from daily activity, plus today so far.",
        )
        st.caption(f"{fmt.day(k.month_start)} – today (UTC)")
    with credits:
        st.metric(
            KPI_CREDITS,
            fmt.usd(k.credits_left),
            border=True,
            help="Credits bought minus credits used, from the newest /credits fetch.",
        )
        if k.credits_as_of is None:
            st.caption("no /credits fetch yet")
        else:
            st.caption(f"of {fmt.usd(k.total_credits)} bought · as of {fmt.utc_time(k.credits_as_of)}")
