"""Providers: spend and tokens per provider and per model × provider; latency and throughput where
OpenRouter's analytics have them (the last 31 days)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, charts_rank, data, frames, ui
from dashboard.context import PageContext
from queries.reads_routing import Dim, Need

TITLE = "Providers"
TOP = 12
TOP_PER_DAY = 6
TOP_MODELS = 12

COLUMNS = {
    **ui.usage_columns("provider", "Provider"),
    "byok": st.column_config.NumberColumn("of which BYOK", format="$%.2f"),
    **ui.LATENCY_COLUMNS,
}


def render(ctx: PageContext) -> None:
    ui.header(TITLE, ctx, "Per provider")
    sel = ctx.filters.selection
    r = ctx.route([Dim.PROVIDER])
    if not ui.route_notes(ctx, r, "Per-provider figures"):
        return
    per = data.facts(ctx.store, r, sel, ("provider",))
    if per.empty:
        ui.no_usage(ctx)
        return
    per = per.assign(label=per["provider"], tokens=frames.tokens(per))
    per = per.assign(paid_per_m=frames.per_million_tokens(per["spend"], per["tokens"]))
    per = per.sort_values("spend", ascending=False, ignore_index=True)
    top = per.head(TOP)
    left, right = st.columns(2, gap="large")
    with left:
        ui.chart(
            ctx,
            charts_rank.hbars(
                top,
                label="label",
                value="spend",
                name="provider_spend",
                heading="Spend per provider",
                subtitle=f"USD, top {TOP}",
                tooltip=[
                    charts.tip("requests:Q", "Requests", ","),
                    charts.tip("paid_per_m:Q", "Paid per M tokens", "$,.3f"),
                ],
                value_title="Spend (USD)",
            ),
            top,
            "provider_spend",
            "Bars of spend per provider",
        )
    with right:
        ui.chart(
            ctx,
            charts_rank.token_bars(top, name="provider_tokens", heading="Tokens per provider", subtitle=f"top {TOP}"),
            top[["provider", "prompt", "completion_only", "reasoning", "completion"]],
            "provider_tokens",
            "Stacked bars of tokens per provider",
        )
    _per_day(ctx)
    _matrix(ctx)
    st.markdown("#### Latency and throughput")
    per = _latency(ctx, per)
    st.markdown("#### All providers")
    ui.table(ctx, per, "providers_table", COLUMNS)
    st.caption(ui.sources_caption(r))


def _per_day(ctx: PageContext) -> None:
    r = ctx.route([Dim.PROVIDER])
    per_day = data.facts(ctx.store, r, ctx.filters.selection, ("date", "provider"), top=("provider", TOP_PER_DAY))
    per_day = frames.labelled(per_day, "provider", str, "other providers")
    spec = charts.stacked_per_day(
        per_day,
        start=ctx.filters.start,
        end=ctx.filters.end,
        series="label",
        value="spend",
        name="provider_per_day",
        heading="Spend per day by provider",
        subtitle=f"USD, top {TOP_PER_DAY} providers of the period",
        series_title="Provider",
        other="other providers",
    )
    ui.chart(ctx, spec, per_day, "provider_per_day", "Stacked bars of spend per day by provider")


def _matrix(ctx: PageContext) -> None:
    r = ctx.route([Dim.MODEL, Dim.PROVIDER])
    if not ui.route_notes(ctx, r, "Model × provider"):
        return
    cells = data.facts(ctx.store, r, ctx.filters.selection, ("model", "provider"), top=("model", TOP_MODELS))
    if cells.empty:
        return
    cells = frames.labelled(cells, "model", ctx.meta.model_label)
    models = list(cells.groupby("label", sort=False)["spend"].sum().sort_values(ascending=False).index)
    models = [m for m in models if m != "other models"] + (["other models"] if "other models" in models else [])
    providers = list(cells.groupby("provider")["spend"].sum().sort_values(ascending=False).index)
    ui.model_chart(
        ctx,
        charts_rank.heatmap(
            cells,
            x="provider",
            y="label",
            value="spend",
            name="model_provider",
            heading="Spend per model × provider",
            subtitle=f"USD; top {TOP_MODELS} models, the rest as “other models”; click a row's cell for the model",
            x_title="Provider",
            y_title="Model",
            x_order=providers,
            y_order=models,
            pick_field="model",
        ),
        cells.drop(columns=["is_other"]),
        "model_provider",
    )


def _latency(ctx: PageContext, per: pd.DataFrame) -> pd.DataFrame:
    r = ctx.route([Dim.PROVIDER], [Need.LATENCY])
    if not ui.route_notes(ctx, r, "Latency and throughput"):
        return per
    lat = data.facts(ctx.store, r, ctx.filters.selection, ("provider",), latency=True)
    lat = lat.dropna(subset=["p50_latency"]).assign(label=lambda f: f["provider"])
    if lat.empty:
        st.info("OpenRouter reported no latency for these providers in this period.", icon=":material/info:")
        return per
    left, right = st.columns(2, gap="large")
    cols = ["provider", "requests", "p50_latency", "p90_latency", "p50_throughput", "p90_throughput"]
    with left:
        ui.chart(
            ctx,
            charts_rank.latency_bars(lat, label="label", name="provider_latency"),
            lat[cols],
            "provider_latency",
            "Latency per provider",
        )
    with right:
        ui.chart(
            ctx,
            charts_rank.latency_bars(lat, label="label", name="provider_throughput", throughput=True),
            lat[cols],
            "provider_throughput",
            "Throughput per provider",
        )
    st.caption(
        "Request-weighted means of OpenRouter's daily latency and throughput p50 and p90 "
        f"(analytics; it keeps them for 31 days). {ui.sources_caption(r)}"
    )
    return per.merge(lat[cols[:1] + cols[2:]], on="provider", how="left")
