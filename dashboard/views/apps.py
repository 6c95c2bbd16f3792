"""Apps: per-app spend over time, the top apps, the app × model matrix, and what "unattributed" means.

Apps come only from OpenRouter's analytics (grouped by model and app), which reach back a year."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, charts_rank, data, frames, ui
from dashboard import format as fmt
from dashboard.context import PageContext
from queries.reads_routing import Dim

TITLE = "Apps"
TOP = 12
TOP_PER_DAY = 6
TOP_MODELS = 10
UNATTRIBUTED = "unattributed"
METRIC_KEY = "apps_per_day_metric"

COLUMNS = {
    **ui.usage_columns("app", "App"),
    "share": st.column_config.NumberColumn("Share of spend", format="percent"),
}


def render(ctx: PageContext) -> None:
    ui.header(TITLE, ctx, "Per app")
    sel = ctx.filters.selection
    r = ctx.route([Dim.APP])
    if not ui.route_notes(ctx, r, "Per-app figures"):
        return
    per = data.facts(ctx.store, r, sel, ("app",))
    if per.empty:
        ui.no_usage(ctx)
        return
    per = per.assign(label=per["app"], tokens=frames.tokens(per), share=per["spend"] / per["spend"].sum()).sort_values(
        "spend", ascending=False, ignore_index=True
    )
    per = per.assign(paid_per_m=frames.per_million_tokens(per["spend"], per["tokens"]))
    _unattributed(per)
    left, right = st.columns([2, 3], gap="large")
    with left:
        top = per.head(TOP).assign(is_other=lambda f: f["app"] == UNATTRIBUTED)
        ui.chart(
            ctx,
            charts_rank.hbars(
                top,
                label="label",
                value="spend",
                name="app_spend",
                heading="Top apps",
                subtitle=f"USD, top {TOP}; “unattributed” in grey",
                tooltip=[
                    charts.tip("requests:Q", "Requests", ","),
                    charts.tip("share:Q", "Share of spend", ".1%"),
                ],
                value_title="Spend (USD)",
            ),
            top.drop(columns=["is_other"]),
            "app_spend",
            "Bars of spend per app",
        )
    with right:
        _per_day(ctx)
    _matrix(ctx)
    st.markdown("#### All apps")
    ui.table(ctx, per, "apps_table", COLUMNS)
    st.caption(ui.sources_caption(r))


def _unattributed(per: pd.DataFrame) -> None:
    row = per.loc[per["app"] == UNATTRIBUTED]
    share = float(row["share"].iloc[0]) if len(row) else 0.0
    spend = float(row["spend"].iloc[0]) if len(row) else 0.0
    st.info(
        f"**Unattributed: {fmt.usd(spend)} ({share:.1%} of this period's spend).** OpenRouter attributes a "
        "request to an app by the `HTTP-Referer` (origin) and `X-Title` (app name) headers the caller sends; "
        "requests without them land in “unattributed”. Send those headers from your own code to see it here.",
        icon=":material/help:",
    )


def _per_day(ctx: PageContext) -> None:
    r = ctx.route([Dim.APP])
    per_day = data.facts(ctx.store, r, ctx.filters.selection, ("date", "app"), top=("app", TOP_PER_DAY))
    per_day = frames.labelled(per_day, "app", str, "other apps").assign(tokens=lambda f: frames.tokens(f))
    metric = st.segmented_control(
        "Per day", ["Spend", "Tokens"], default="Spend", key=METRIC_KEY, label_visibility="collapsed"
    )
    usd = metric != "Tokens"
    spec = charts.stacked_per_day(
        per_day,
        start=ctx.filters.start,
        end=ctx.filters.end,
        series="label",
        value="spend" if usd else "tokens",
        name="app_per_day",
        heading=f"{'Spend' if usd else 'Tokens'} per day by app",
        subtitle=f"{'USD' if usd else 'prompt + completion tokens'}, top {TOP_PER_DAY} apps of the period by spend",
        series_title="App",
        other="other apps",
        usd=usd,
        height=300,
        legend_columns=3,
    )
    ui.chart(ctx, spec, per_day, "app_per_day", "Stacked bars of spend or tokens per day by app")


def _matrix(ctx: PageContext) -> None:
    r = ctx.route([Dim.APP, Dim.MODEL])
    if not ui.route_notes(ctx, r, "App × model"):
        return
    cells = data.facts(ctx.store, r, ctx.filters.selection, ("app", "model"), top=("model", TOP_MODELS))
    if cells.empty:
        return
    cells = frames.labelled(cells, "model", ctx.meta.model_label)
    apps = list(cells.groupby("app")["spend"].sum().sort_values(ascending=False).index)[:TOP]
    cells = cells.loc[cells["app"].isin(apps)]
    models = list(cells.groupby("label")["spend"].sum().sort_values(ascending=False).index)
    models = [m for m in models if m != "other models"] + (["other models"] if "other models" in models else [])
    ui.model_chart(
        ctx,
        charts_rank.heatmap(
            cells,
            x="label",
            y="app",
            value="spend",
            name="app_model",
            heading="Spend per app × model",
            subtitle=f"USD; top {TOP} apps, top {TOP_MODELS} models, the rest as “other models”; click a cell",
            x_title="Model",
            y_title="App",
            x_order=models,
            y_order=apps,
            pick_field="model",
        ),
        cells.drop(columns=["is_other"]),
        "app_model",
    )
