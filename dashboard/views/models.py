"""Models: spend, requests and tokens per model; the price actually paid beside the list prices in force each
day; the effective-price waterfall from list price to billed; reasoning tokens and what they cost; cache
savings (the one definition); price changes on the timeline; tokens per day in four parts (prompt not cached,
cached, completion without reasoning, reasoning) and the cache hit rate per day and model. Every breakdown
adds up to the period's total: the top models, "other" for the rest."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from charts import base, daily, rank
from core import fmt
from dashboard import data, frames, ui
from dashboard.context import PageContext
from dashboard.parts import CACHE_SAVINGS, Split, Whole
from dashboard.views import waterfall
from queries.cache_savings import CacheSavings
from queries.parts import OTHER
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
    "list_per_m": st.column_config.NumberColumn(
        "List / M tokens", format="$%.3f", help="Cost at list prices ÷ (prompt + completion tokens), per million."
    ),
    "list_cost": st.column_config.NumberColumn(
        "At list prices", format="$%.2f", help="What the /models prices in force each day would have charged."
    ),
    "paid_vs_list": st.column_config.NumberColumn("Paid ÷ list", format="%.3f"),
    "reasoning": st.column_config.NumberColumn("Reasoning tokens", format="compact"),
    "reasoning_share": st.column_config.NumberColumn(
        "Reasoning share", format="percent", help="Reasoning tokens ÷ completion tokens."
    ),
    "reasoning_cost": st.column_config.NumberColumn(
        "Reasoning at list",
        format="$%.2f",
        help="Reasoning tokens (counted within completion) at the internal_reasoning price, else the completion "
        "price, in force each day.",
    ),
    "cached_share": st.column_config.NumberColumn(
        "Cached share", format="percent", help="Cached prompt tokens ÷ prompt tokens (from analytics)."
    ),
    "cache_savings": st.column_config.NumberColumn(
        "Cache savings",
        format="dollar",  # it can be negative: the sign before the $, as core.fmt writes money
        help="What OpenRouter billed less for caching, net of cache writes (docs: definitions).",
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
    savings = data.cache_savings(ctx.store, sel, ctx.today)
    table = _with_cache(ctx, _per_model(ctx, costs), savings.by_model)
    top = _top(ctx)

    left, right = st.columns(2, gap="large")
    with left:
        ui.model_chart(
            ctx,
            rank.hbars(
                top,
                label="label",
                value="spend",
                name="model_spend",
                heading="Spend per model",
                subtitle=f"USD, top {TOP}; the rest as “other”; click a bar for the model's page",
                tooltip=[
                    base.tip("requests:Q", "Requests", ","),
                    base.tip("paid_per_m:Q", "Paid per M tokens", "$,.3f"),
                ],
                pick_field="model",
                value_title="Spend (USD)",
            ),
            top,
            "model_spend",
            split=Split(sel, requests="requests"),
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
            split=Split(sel, money=(), tokens=("prompt", "completion_only", "reasoning")),
        )
    st.markdown("#### Effective price")
    waterfall.render(ctx, sel, "model_waterfall")
    left, right = st.columns(2, gap="large")
    with left:
        priced = table.head(TOP).dropna(subset=["paid_vs_list"]).rename(columns={"paid_vs_list": "ratio"})
        if priced.empty:
            st.info("No list prices stored for these models: run `orusage ingest` to fetch /models.")
        else:
            ui.model_chart(ctx, rank.ratio_bars(priced), priced, "actual_vs_list", split=Whole("a ratio per model"))
        st.caption(
            "List cost uses the `/models` prices in force on each day (prompt, completion, internal reasoning and "
            "per-request prices). Days before a model's first recorded price use its earliest known price."
        )
    with right:
        _cache_chart(ctx, savings)
    _timeline(ctx)
    _four_parts(ctx)
    st.markdown("#### All models")
    ui.model_table(
        ctx, table, "models_table", COLUMNS, split=Split(sel, requests="requests", tokens=("prompt", "completion"))
    )
    st.caption("Select a row to open the model's page. " + ui.sources_caption(r))


def _top(ctx: PageContext) -> pd.DataFrame:
    """The top models by spend, the rest as one "other" row; reasoning drawn within completion."""
    r = ctx.route([Dim.MODEL])
    top = data.facts(ctx.store, r, ctx.filters, ("model",), top=("model", TOP))
    top = frames.with_other_count(frames.labelled(top, "model", ctx.meta.model_label, OTHER), "model", "models")
    top = frames.stacked_tokens(top.assign(tokens=frames.tokens(top)))
    top = top.assign(paid_per_m=frames.per_million_tokens(top["spend"], top["tokens"]))
    return top.sort_values("rank", ignore_index=True)


def _per_model(ctx: PageContext, costs: pd.DataFrame) -> pd.DataFrame:
    frame = costs.assign(
        label=[ctx.meta.model_label(str(m)) for m in costs["model"]],
        tokens=frames.tokens(costs),
    )
    return frame.assign(
        paid_per_m=frames.per_million_tokens(frame["spend"], frame["tokens"]),
        list_per_m=frames.per_million_tokens(frame["list_cost"], frame["tokens"]).where(frame["priced"]),
        paid_vs_list=frames.ratio(frame["spend"], frame["list_cost"]).where(frame["priced"]),
        reasoning_share=frames.ratio(frame["reasoning"], frame["completion"]),
    )


def _with_cache(ctx: PageContext, table: pd.DataFrame, savings: pd.DataFrame) -> pd.DataFrame:
    """Cached tokens exist in analytics only: a second route, whose notes say what it cannot cover."""
    table = table.merge(savings[["model", "savings"]], on="model", how="left").rename(
        columns={"savings": "cache_savings"}
    )
    r = ctx.route([Dim.MODEL], [Need.CACHED])
    if not r.answerable or not r.has_data_days:
        return table.assign(cached=float("nan"), cached_share=float("nan"))
    cache = data.cached_tokens(ctx.store, r, ctx.filters)
    merged = table.merge(cache.rename(columns={"prompt": "cache_prompt"}), on="model", how="left")
    return merged.assign(cached_share=frames.ratio(merged["cached"], merged["cache_prompt"]))


def _cache_chart(ctx: PageContext, savings: CacheSavings) -> None:
    if savings.total is None:
        st.info(f"Cache savings: {savings.note()}.", icon=":material/info:")
        return
    per = savings.by_model.assign(label=[ctx.meta.model_label(str(m)) for m in savings.by_model["model"]])
    per = per.rename(columns={"savings": "cache_savings"}).sort_values(["cache_savings", "model"], ascending=False)
    shown = per.head(TOP)
    rest = per.iloc[TOP:]
    if len(rest):
        other = {"model": OTHER, "label": f"other ({len(rest)} models)", "cache_savings": rest["cache_savings"].sum()}
        shown = pd.concat([shown, pd.DataFrame([other])], ignore_index=True)
    shown = shown.assign(is_other=shown["model"] == OTHER)
    ui.model_chart(
        ctx,
        rank.hbars(
            shown,
            label="label",
            value="cache_savings",
            name="cache_savings",
            heading=f"Cache savings: {fmt.usd(savings.total)}",
            subtitle="what OpenRouter billed less, net of cache writes (negative: writes cost more); top models",
            tooltip=[base.tip("cached:Q", "Cached tokens", ",")],
            pick_field="model",
            value_title="Saved (USD)",
        ),
        shown[["model", "label", "cache_savings", "cached", "is_other"]],
        "cache_savings",
        split=Split(ctx.filters, money=("cache_savings",), of=CACHE_SAVINGS),
    )
    st.caption(f"Cache savings: {savings.note()}.")


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
    ui.chart(
        ctx,
        spec,
        per_day,
        "model_timeline",
        "Spend per day by model with price changes marked",
        split=Split(f, requests="requests"),
    )
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
    # Reasoning counted within completion (``frames.stacked_tokens``): the parts add up even where a stored row
    # reports more reasoning than completion.
    per_day = frames.stacked_tokens(per_day)
    per_day = per_day.assign(prompt_uncached=(per_day["prompt"] - per_day["cached"]).clip(lower=0))
    left, right = st.columns(2, gap="large")
    with left:
        ui.chart(
            ctx,
            daily.tokens_per_day(per_day, f.start, f.end, name="tokens_four_parts", cached=True),
            per_day,
            "tokens_four_parts",
            "Stacked bars of prompt not cached, cached prompt, completion without reasoning and reasoning per day",
            split=Split(f, money=(), tokens=("prompt_uncached", "cached", "completion_only", "reasoning")),
        )
    with right:
        _cache_hits(ctx)
    clamped = int(per_day["clamped_rows"].sum())
    if clamped:
        _clamped(ctx, clamped)
    st.caption(
        "Prompt not cached + cached = prompt; completion without reasoning = completion − reasoning per stored "
        "row, clamped at 0 where a provider reports more reasoning than completion (those rows are counted in "
        "the tooltip and listed below, and their reasoning is counted within completion, so the parts still add "
        f"up to all tokens). {ui.sources_caption(r)}"
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
        split=Whole("a rate per day and model"),
    )


def _clamped(ctx: PageContext, clamped: int) -> None:
    r = ctx.route([Dim.MODEL], [Need.CACHED])
    rows = data.facts(ctx.store, r, ctx.filters, ("date", "model"), flags=True)
    rows = rows.loc[rows["clamped_rows"] > 0]
    rows = rows.assign(label=[ctx.meta.model_label(str(m)) for m in rows["model"]])
    rows_say = "1 stored row reports" if clamped == 1 else f"{clamped:,} stored rows report"
    st.warning(
        f"{rows_say} more reasoning tokens than completion tokens: completion without reasoning counts as 0 "
        "there and only the completion counts as reasoning, so the four parts still add up to prompt + "
        "completion (Data health lists such rows too).",
        icon=":material/flag:",
    )
    ui.table(ctx, rows, "clamped_rows", CLAMPED_COLUMNS, split=Whole("flagged rows per day and model"))
