"""Models: spend, requests and tokens per model; the blended price actually paid; paid vs the list prices
in force each day; reasoning and cache shares with estimated cache savings; price changes on the timeline;
tokens per day in four parts (prompt not cached, cached, completion without reasoning, reasoning) and the
cache hit rate per day and model.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from charts import base, daily, rank
from dashboard import data, frames, ui
from dashboard.context import PageContext
from queries.reads_routing import Dim, Need

TITLE = "Models"
TOP = 15
TOP_PER_DAY = 6
FOUR_PARTS = ["prompt", "cached", "completion", "completion_only", "reasoning", "clamped_rows", "requests", "spend"]
CLAMPED_COLUMNS = {
    "date": st.column_config.DateColumn("Day (UTC)", pinned=True),
    "label": st.column_config.TextColumn("Model"),
    "completion": st.column_config.NumberColumn("Completion tokens", format="%,d"),
    "reasoning": st.column_config.NumberColumn("Reasoning tokens", format="%,d"),
    "clamped_rows": st.column_config.NumberColumn("Stored rows clamped", format="%,d"),
}

COLUMNS = {
    **ui.usage_columns("label", "Model", width="medium"),
    "list_cost": st.column_config.NumberColumn(
        "At list prices", format="$%.2f", help="What the /models prices in force each day would have charged."
    ),
    "paid_vs_list": st.column_config.NumberColumn("Paid ÷ list", format="%.3f"),
    "reasoning_share": st.column_config.NumberColumn(
        "Reasoning share", format="percent", help="Reasoning tokens ÷ completion tokens."
    ),
    "cached_share": st.column_config.NumberColumn(
        "Cached share", format="percent", help="Cached prompt tokens ÷ prompt tokens (from analytics)."
    ),
    "cache_savings": st.column_config.NumberColumn(
        "Cache savings (est.)",
        format="$%.2f",
        help="Estimated: cached tokens × (prompt price − cache-read price), at the list prices in force each day.",
    ),
    "byok": st.column_config.NumberColumn("of which BYOK", format="$%.2f"),
}


def render(ctx: PageContext) -> None:
    ui.header(TITLE, ctx, "Per model")
    sel = ctx.filters
    r = ctx.route([Dim.MODEL])
    if not ui.route_notes(ctx, r, "Per-model figures"):
        return
    costs = data.list_cost(ctx.store, r, sel)
    if costs.empty or (costs["requests"].sum() == 0 and costs["spend"].sum() == 0):
        ui.no_usage(ctx)
        return
    table = _with_cache(ctx, _per_model(ctx, costs))
    top = table.head(TOP)

    left, right = st.columns(2, gap="large")
    with left:
        spend = top.assign(is_other=False)
        ui.model_chart(
            ctx,
            rank.hbars(
                spend,
                label="label",
                value="spend",
                name="model_spend",
                heading="Spend per model",
                subtitle=f"USD, top {TOP}; click a bar for the model's page",
                tooltip=[
                    base.tip("requests:Q", "Requests", ","),
                    base.tip("paid_per_m:Q", "Paid per M tokens", "$,.3f"),
                ],
                pick_field="model",
                value_title="Spend (USD)",
            ),
            spend,
            "model_spend",
        )
    with right:
        ui.chart(
            ctx,
            rank.token_bars(
                top, name="model_tokens", heading="Tokens per model", subtitle="Reasoning drawn as its own part"
            ),
            top[["model", "label", "prompt", "completion_only", "reasoning", "completion"]],
            "model_tokens",
            "Stacked bars of tokens per model",
        )
    left, right = st.columns(2, gap="large")
    with left:
        priced = top.dropna(subset=["paid_vs_list"]).rename(columns={"paid_vs_list": "ratio"})
        if priced.empty:
            st.info("No list prices stored for these models: run `orusage ingest` to fetch /models.")
        else:
            ui.model_chart(ctx, rank.ratio_bars(priced), priced, "actual_vs_list")
        st.caption(
            "List cost uses the `/models` price in force on each day (prompt, completion and per-request "
            "prices; reasoning is billed as completion). Days before a model's first recorded price use its "
            "earliest known price."
        )
    with right:
        _cache_chart(ctx, top)
    _timeline(ctx)
    _four_parts(ctx)
    st.markdown("#### All models")
    ui.model_table(ctx, table, "models_table", COLUMNS)
    st.caption("Select a row to open the model's page. " + ui.sources_caption(r))


def _per_model(ctx: PageContext, costs: pd.DataFrame) -> pd.DataFrame:
    frame = costs.assign(
        label=[ctx.meta.model_label(str(m)) for m in costs["model"]],
        tokens=frames.tokens(costs),
    )
    return frame.assign(
        paid_per_m=frames.per_million_tokens(frame["spend"], frame["tokens"]),
        paid_vs_list=frames.ratio(frame["spend"], frame["list_cost"]).where(frame["priced"]),
        reasoning_share=frames.ratio(frame["reasoning"], frame["completion"]),
    )


def _with_cache(ctx: PageContext, table: pd.DataFrame) -> pd.DataFrame:
    """Cached tokens exist in analytics only: a second route, whose notes say what it cannot cover."""
    r = ctx.route([Dim.MODEL], [Need.CACHED])
    if not r.answerable or not r.has_data_days:
        return table.assign(cached=float("nan"), cached_share=float("nan"), cache_savings=float("nan"))
    cache = data.cache_savings(ctx.store, r, ctx.filters)
    merged = table.merge(cache.rename(columns={"prompt": "cache_prompt"}), on="model", how="left")
    return merged.assign(
        cached_share=frames.ratio(merged["cached"], merged["cache_prompt"]),
        cache_savings=merged["savings"],
    ).drop(columns=["savings"])


def _cache_chart(ctx: PageContext, top: pd.DataFrame) -> None:
    r = ctx.route([Dim.MODEL], [Need.CACHED])
    if not ui.route_notes(ctx, r, "Cache savings"):
        return
    saved = top.dropna(subset=["cache_savings"])
    saved = saved.loc[saved["cache_savings"] > 0].sort_values("cache_savings", ascending=False)
    if saved.empty:
        st.info("No cached prompt tokens in this period.", icon=":material/info:")
        return
    ui.model_chart(
        ctx,
        rank.hbars(
            saved,
            label="label",
            value="cache_savings",
            name="cache_savings",
            heading="Cache savings (estimated)",
            subtitle="cached tokens × (prompt − cache-read price); top models by spend",
            tooltip=[
                base.tip("cached:Q", "Cached tokens", ","),
                base.tip("cached_share:Q", "Cached share of prompt", ".1%"),
            ],
            pick_field="model",
            value_title="Estimated savings (USD)",
        ),
        saved[["model", "label", "cached", "cached_share", "cache_savings"]],
        "cache_savings",
    )
    st.caption(f"Cached tokens come from OpenRouter's analytics. {ui.sources_caption(r)}")


def _timeline(ctx: PageContext) -> None:
    r = ctx.route([Dim.MODEL])
    f = ctx.filters
    per_day = data.facts(ctx.store, r, f, ("date", "model"), top=("model", TOP_PER_DAY))
    per_day = frames.labelled(per_day, "model", ctx.meta.model_label)
    changes = data.price_changes(ctx.store, f.start, f.end, f.models)
    changes = changes.assign(label=[ctx.meta.model_label(str(m)) for m in changes["model"]])
    spec = daily.stacked_per_day(
        per_day,
        start=f.start,
        end=f.end,
        series="label",
        value="spend",
        name="model_timeline",
        heading="Spend per day and price changes",
        subtitle=f"USD, top {TOP_PER_DAY} models; dashed lines mark days a list price changed",
        series_title="Model",
        other="other models",
        price_changes=changes,
    )
    ui.chart(ctx, spec, per_day, "model_timeline", "Spend per day by model with price changes marked")
    if changes.empty:
        st.caption("No list price changed in this period.")
    else:
        ui.download(ctx, changes, "price_changes", "Download price changes (CSV)")


def _four_parts(ctx: PageContext) -> None:
    """Tokens per day with the prompt split by the cache, and the cache hit rate per day and model: cached
    tokens exist in analytics only, so both read analytics for every day."""
    st.markdown("#### Tokens in four parts and cache hits")
    f = ctx.filters
    r = ctx.route(needs=[Need.CACHED])
    if not ui.route_notes(ctx, r, "Tokens in four parts"):
        return
    per_day = frames.fill_days(data.facts(ctx.store, r, f, ("date",), flags=True), f.start, f.end, FOUR_PARTS)
    per_day = per_day.assign(prompt_uncached=(per_day["prompt"] - per_day["cached"]).clip(lower=0))
    left, right = st.columns(2, gap="large")
    with left:
        ui.chart(
            ctx,
            daily.tokens_per_day(per_day, f.start, f.end, name="tokens_four_parts", cached=True),
            per_day,
            "tokens_four_parts",
            "Stacked bars of prompt not cached, cached prompt, completion without reasoning and reasoning per day",
        )
    with right:
        _cache_hits(ctx)
    clamped = int(per_day["clamped_rows"].sum())
    if clamped:
        _clamped(ctx, clamped)
    st.caption(
        "Prompt not cached + cached = prompt; completion without reasoning = completion − reasoning per stored "
        "row, clamped at 0 where a provider reports more reasoning than completion (those rows are counted in "
        f"the tooltip and listed below). {ui.sources_caption(r)}"
    )


def _cache_hits(ctx: PageContext) -> None:
    f = ctx.filters
    r = ctx.route([Dim.MODEL], [Need.CACHED])
    if not ui.route_notes(ctx, r, "Cache hit rate"):
        return
    per = data.facts(ctx.store, r, f, ("date", "model"), top=("model", TOP_PER_DAY), rank_by="tokens")
    per = frames.labelled(per, "model", ctx.meta.model_label)
    per = per.assign(hit_rate=frames.ratio(per["cached"], per["prompt"]))
    ui.chart(
        ctx,
        daily.lines_per_day(
            per,
            start=f.start,
            end=f.end,
            series="label",
            value="hit_rate",
            name="cache_hit_rate",
            heading="Cache hit rate per day",
            subtitle=f"cached ÷ prompt tokens; top {TOP_PER_DAY} models by tokens, the rest as “other models”",
            series_title="Model",
            value_title="Cache hit rate",
            value_format=".1%",
            axis_format="%",
            other="other models",
            extra_tips=(("cached", "Cached tokens", ","), ("prompt", "Prompt tokens", ",")),
        ),
        per.drop(columns=["is_other"]),
        "cache_hit_rate",
        "Lines of the cache hit rate per day by model",
    )


def _clamped(ctx: PageContext, clamped: int) -> None:
    r = ctx.route([Dim.MODEL], [Need.CACHED])
    rows = data.facts(ctx.store, r, ctx.filters, ("date", "model"), flags=True)
    rows = rows.loc[rows["clamped_rows"] > 0]
    rows = rows.assign(label=[ctx.meta.model_label(str(m)) for m in rows["model"]])
    rows_say = "1 stored row reports" if clamped == 1 else f"{clamped:,} stored rows report"
    st.warning(
        f"{rows_say} more reasoning tokens than completion tokens: completion without reasoning counts as 0 "
        "there, so the four parts add up to prompt + completion only where no row is clamped.",
        icon=":material/flag:",
    )
    ui.table(ctx, rows, "clamped_rows", CLAMPED_COLUMNS)
