"""Model detail (``/model?model=<permaslug>``), as the seed's model page: what the model is (added to
OpenRouter on, its description, context length, list prices), its tokens per day, the providers that served
it (effective price, latency, throughput) and, per provider and day side by side, latency, throughput,
uptime and prices; the apps and keys using it, its list price history and the health of its endpoints. The
sidebar's model filter does not apply here; the others do.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import streamlit as st

from charts import base, daily, rank
from core import fmt
from dashboard import data, frames, ui, urlstate
from dashboard.context import PageContext
from dashboard.parts import Split, Whole
from dashboard.views import model_days, waterfall
from queries.filters import Filters
from queries.reads_routing import Dim, Need, Route

TITLE = "Model detail"
PICK_KEY = "detail_pick"
TOP_USERS = 10  # apps and keys per chart; the rest as "other"

STATUS = {0: "OK"}

PROVIDER_COLUMNS = {
    **ui.usage_columns(
        "provider", "Provider", paid_help="Effective price at this provider: spend ÷ (prompt + completion tokens)."
    ),
    "input_per_m": st.column_config.NumberColumn(
        "Input $/M paid",
        format="$%.3f",
        help="Effective input price: prompt tokens at the list price, less what caching saved, scaled with the "
        "rest of the bill (discounts, overrides, tiers, fees) in proportion to the list cost.",
    ),
    "list_input_per_m": st.column_config.NumberColumn("Input $/M listed", format="$%.3f"),
    "output_per_m": st.column_config.NumberColumn(
        "Output $/M paid", format="$%.3f", help="Effective output price, the same way (reasoning at its price)."
    ),
    "list_output_per_m": st.column_config.NumberColumn("Output $/M listed", format="$%.3f"),
    "discount": st.column_config.NumberColumn("Endpoint discount", format="percent"),
    **ui.LATENCY_COLUMNS,
}
ENDPOINT_COLUMNS = {
    "provider_name": st.column_config.TextColumn("Provider", pinned=True),
    "tag": st.column_config.TextColumn("Endpoint"),
    "state": st.column_config.TextColumn("Status"),
    "uptime_last_5m": st.column_config.ProgressColumn(
        "Uptime 5 min", format="%.2f%%", min_value=0, max_value=100, color="auto"
    ),
    "uptime_last_30m": st.column_config.ProgressColumn(
        "Uptime 30 min", format="%.2f%%", min_value=0, max_value=100, color="auto"
    ),
    "uptime_last_1d": st.column_config.ProgressColumn(
        "Uptime 1 day", format="%.2f%%", min_value=0, max_value=100, color="auto"
    ),
    "latency_p50": st.column_config.NumberColumn("Latency p50 (ms)", format="%.0f"),
    "throughput_p50": st.column_config.NumberColumn("Throughput p50 (tok/s)", format="%.1f"),
    "prompt_per_m": st.column_config.NumberColumn("Prompt $/M", format="$%.3f"),
    "completion_per_m": st.column_config.NumberColumn("Completion $/M", format="$%.3f"),
    "discount": st.column_config.NumberColumn("Discount", format="percent"),
    "overrides": st.column_config.CheckboxColumn("Conditional prices", help="Lists overrides (long prompts, hours)."),
    "context_length": st.column_config.NumberColumn("Context", format="%,d"),
    "quantization": st.column_config.TextColumn("Quantization"),
}
HISTORY_COLUMNS = {
    "valid_from": st.column_config.DatetimeColumn("From (UTC)", format="YYYY-MM-DD HH:mm"),
    "last_seen_at": st.column_config.DatetimeColumn("Last seen (UTC)", format="YYYY-MM-DD HH:mm"),
    "prompt_per_m": st.column_config.NumberColumn("Prompt $/M", format="$%.4f"),
    "completion_per_m": st.column_config.NumberColumn("Completion $/M", format="$%.4f"),
    "cache_read_per_m": st.column_config.NumberColumn("Cache read $/M", format="$%.4f"),
    "reasoning_per_m": st.column_config.NumberColumn("Reasoning $/M", format="$%.4f"),
    "per_request": st.column_config.NumberColumn("Per request", format="$%.4f"),
    "expiration_date": st.column_config.TextColumn("Expires"),
}
USE_COLUMNS = ui.usage_columns("label", "Name", paid=False)


def _pick() -> None:
    # The URL is where the page reads its model from: a choice here becomes a link like any other.
    st.query_params[urlstate.MODEL] = st.session_state[PICK_KEY]


def render(ctx: PageContext) -> None:
    st.title(TITLE)
    model = ctx.model
    if model is None:
        st.info("No model in the store yet.", icon=":material/info:")
        return
    options = list(dict.fromkeys([*ctx.meta.models, model]))
    st.session_state[PICK_KEY] = model
    st.selectbox(
        "Model",
        options,
        format_func=ctx.meta.model_label,
        key=PICK_KEY,
        on_change=_pick,
        help="Any chart or table naming a model links here too.",
    )
    info = data.model_info(ctx.store, model)
    _facts_row(ctx, model, info)
    st.caption(
        f"`{model}` · {fmt.day_range(ctx.filters.start, ctx.filters.end)} (UTC) · "
        f"filters: {ui.filter_summary(replace(ctx, filters=replace(ctx.filters, models=())))}"
        + (" (the sidebar's model filter does not apply on this page)" if ctx.filters.models else "")
    )
    # This page's subject replaces the sidebar's model filter.
    sel = replace(ctx.filters, models=(model,))
    _tokens(ctx, sel)
    _providers(ctx, sel)
    model_days.render(ctx, model, sel)
    left, right = st.columns(2, gap="large")
    with left:
        _users(ctx, sel, Dim.APP, "app", "Apps using it", "detail_apps")
    with right:
        _users(ctx, sel, Dim.KEY, "key", "API keys using it", "detail_keys")
    st.markdown("#### Effective price")
    waterfall.render(ctx, sel, "detail_waterfall")
    _prices(ctx, model)
    _endpoints(ctx, model)


def _facts_row(ctx: PageContext, model: str, info: dict[str, object] | None) -> None:
    name = str(info["name"]) if info else ctx.meta.model_names.get(model, model)
    st.subheader(name)
    if info is None:
        st.caption("Not in the stored `/models` list: no price or context length known.")
        return
    cols = st.columns(4)
    context = _num(info.get("context_length"))
    created = info.get("created_day")
    values = (
        ("Context length (tokens)", "—" if context is None else fmt.tokens(context)),
        ("Prompt price", fmt.per_million(_num(info.get("prompt_per_m")))),
        ("Completion price", fmt.per_million(_num(info.get("completion_per_m")))),
        ("Cache read price", fmt.per_million(_num(info.get("cache_read_per_m")))),
    )
    for col, (label, value) in zip(cols, values, strict=True):
        col.metric(label, value, border=True)
    added = f"Added to OpenRouter on {created:%Y-%m-%d}" if isinstance(created, date) else "Added: unknown"
    description = info.get("description")
    st.markdown(
        f"**{added}.** {description}" if isinstance(description, str) and description else f"**{added}.**",
        help="As OpenRouter's `/models` describes the model.",
    )


def _num(value: object) -> float | None:
    """A number from a pandas row (numpy scalars, NaN for missing), or None."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _tokens(ctx: PageContext, sel: Filters) -> None:
    r = ctx.route(filters=sel)
    if not ui.route_notes(ctx, r, "Tokens per day"):
        return
    f = ctx.filters
    per_day = data.facts(ctx.store, r, sel, ("date",))
    parts = ["prompt", "completion", "completion_only", "reasoning", "requests", "spend"]
    per_day = frames.stacked_tokens(frames.fill_days(per_day, f.start, f.end, parts))
    spend, requests = float(per_day["spend"].sum()), int(per_day["requests"].sum())
    st.caption(f"{fmt.usd(spend)} spend · {fmt.count(requests)} requests in {f.label}")
    ui.chart(
        ctx,
        daily.tokens_per_day(per_day, f.start, f.end, name="detail_tokens"),
        per_day,
        "detail_tokens",
        "Stacked bars of this model's tokens per UTC day",
        split=Split(sel, tokens=("prompt", "completion_only", "reasoning"), requests="requests"),
    )


def _providers(ctx: PageContext, sel: Filters) -> None:
    st.markdown("#### Providers that served it")
    r = ctx.route([Dim.PROVIDER], filters=sel)
    if not ui.route_notes(ctx, r, "Providers"):
        return
    per = data.facts(ctx.store, r, sel, ("provider",))
    if per.empty:
        st.info("No traffic for this model in this period.", icon=":material/info:")
        return
    per = per.assign(tokens=frames.tokens(per), paid_per_m=frames.per_million_tokens(per["spend"], frames.tokens(per)))
    lat_route = ctx.route([Dim.PROVIDER], [Need.LATENCY], filters=sel)
    if lat_route.answerable and lat_route.has_data_days:
        lat = data.facts(ctx.store, lat_route, sel, ("provider",), latency=True)
        per = per.merge(lat[["provider", "p50_latency", "p90_latency", "p50_throughput", "p90_throughput"]], "left")
    per = _effective(ctx, sel, r, per).sort_values("spend", ascending=False)
    ui.link_table(
        ctx,
        per,
        "detail_providers",
        PROVIDER_COLUMNS,
        ui.LINKS["provider"],
        split=Split(sel, requests="requests", tokens=("prompt", "completion"), by=("provider",)),
    )
    st.caption(
        "Effective price = spend ÷ tokens at that provider. Latency and throughput: request-weighted means of "
        "OpenRouter's daily p50/p90 (analytics keep them 31 days). Select a row or click a bar for the "
        "provider's page. " + ui.sources_caption(r)
    )
    left, right = st.columns(2, gap="large")
    with left:
        bars = per.assign(label=per["provider"]).dropna(subset=["paid_per_m"])
        ui.link_chart(
            ctx,
            rank.hbars(
                bars,
                label="label",
                value="paid_per_m",
                name="detail_provider_price",
                heading="Effective price per provider",
                subtitle="USD per million tokens actually paid",
                tooltip=[base.tip("spend:Q", "Spend", "$,.4f")],
                value_title="USD per million tokens",
                pick_field="provider",
            ),
            bars[["provider", "spend", "tokens", "paid_per_m"]],
            "detail_provider_price",
            ui.LINKS["provider"],
            "Effective price per provider",
            split=Whole("a price per provider"),
        )
    with right:
        lat = per.dropna(subset=["p50_latency"]) if "p50_latency" in per.columns else per.iloc[0:0]
        if lat.empty:
            st.info("No latency reported for this model in the last 31 days.", icon=":material/info:")
        else:
            lat = lat.assign(label=lat["provider"])
            ui.chart(
                ctx,
                rank.latency_bars(lat, label="label", name="detail_latency"),
                lat[["provider", "requests", "p50_latency", "p90_latency", "p50_throughput", "p90_throughput"]],
                "detail_latency",
                "Latency per provider",
                split=Whole("latency means per provider"),
            )


def _effective(ctx: PageContext, sel: Filters, r: Route, per: pd.DataFrame) -> pd.DataFrame:
    """Each provider's input and output $/M, paid and listed. Paid: the input's list cost less what caching
    saved there, the output's list cost, both scaled to the provider's spend in proportion (the rest of the
    bill: discounts, overrides, tiers, fees). Listed: the endpoint's newest prices."""
    prices = data.provider_prices(ctx.store, r, sel)
    if prices.empty:
        return per
    saved = {
        p: data.cache_savings(ctx.store, replace(sel, providers=(p,)), ctx.today).total for p in prices["provider"]
    }
    after_cache = prices["list_input"] - prices["provider"].map(saved).fillna(0.0)
    scale = prices["spend"] / (after_cache + prices["list_output"]).where(lambda x: x > 0)
    prices = prices.assign(
        input_per_m=frames.per_million_tokens(after_cache * scale, prices["prompt"]),
        output_per_m=frames.per_million_tokens(prices["list_output"] * scale, prices["completion"]),
    )
    merged = per.merge(prices[["provider", "input_per_m", "output_per_m"]], on="provider", how="left")
    listed = data.endpoint_health(ctx.store, sel.models[0]) if sel.models else pd.DataFrame()
    if listed.empty:
        return merged
    listed = listed.groupby("provider_name", as_index=False).first()[
        ["provider_name", "prompt_per_m", "completion_per_m", "discount"]
    ]
    listed = listed.rename(
        columns={
            "provider_name": "provider",
            "prompt_per_m": "list_input_per_m",
            "completion_per_m": "list_output_per_m",
        }
    )
    return merged.merge(listed, on="provider", how="left")


def _users(ctx: PageContext, sel: Filters, dim: Dim, column: str, heading: str, name: str) -> None:
    r = ctx.route([dim], filters=sel)
    if not ui.route_notes(ctx, r, heading):
        return
    per = data.facts(ctx.store, r, sel, (column,), top=(column, TOP_USERS))
    if per.empty:
        st.info(f"{heading}: none in this period.", icon=":material/info:")
        return
    label = ctx.meta.key_label if dim is Dim.KEY else str
    per = frames.with_other_count(frames.labelled(per, column, label, "other"), column, f"{column}s")
    per = per.assign(tokens=frames.tokens(per)).sort_values("rank")
    spec = rank.hbars(
        per,
        label="label",
        value="spend",
        name=name,
        heading=heading,
        subtitle=f"USD in this period; top {TOP_USERS}, the rest as “other”; click a bar for its page",
        tooltip=[base.tip("requests:Q", "Requests", ",")],
        value_title="Spend (USD)",
        pick_field=column,
    )
    ui.link_chart(
        ctx,
        spec,
        per[[column, "label", "spend", "requests", "tokens"]],
        name,
        ui.DIM_LINKS[dim],
        heading,
        split=Split(sel, requests="requests", tokens=("tokens",), by=(column,)),
    )


def _prices(ctx: PageContext, model: str) -> None:
    st.markdown("#### List price history")
    history = data.price_history(ctx.store, (model,))
    if history.empty:
        st.info("No `/models` prices stored for this model.", icon=":material/info:")
        return
    ui.table(ctx, history, "detail_price_history", HISTORY_COLUMNS, split=Whole("one row per price state"))
    st.caption("One row per price state seen by `orusage ingest`, in USD per million tokens.")


def _endpoints(ctx: PageContext, model: str) -> None:
    st.markdown("#### Endpoint health")
    health = data.endpoint_health(ctx.store, model)
    if health.empty:
        st.info(
            "No endpoint health stored: `orusage ingest` fetches it for models with traffic.", icon=":material/info:"
        )
        return
    health = health.assign(state=[_status(s) for s in health["status"]])
    ui.table(ctx, health, "detail_endpoints", ENDPOINT_COLUMNS, split=Whole("one row per endpoint"))
    st.caption(f"Snapshot of {fmt.utc_time(pd.Timestamp(health['fetched_at'].max()).to_pydatetime())} from OpenRouter.")


def _status(code: object) -> str:
    """OpenRouter's endpoint status: 0 is normal; its negative codes are undocumented degradations."""
    number = _num(code)
    if number is None:
        return "unknown"
    return STATUS.get(int(number), f"degraded ({int(number)})")
