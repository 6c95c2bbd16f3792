"""The effective-price waterfall section, shared by Models, Model detail and the Weekly review: from the
period's cost at list prices, step by step, to what was billed (``queries.waterfall``), then the same per
model and ISO week. Only the models filter applies: the waterfall is per model across keys, apps and
providers."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from charts import waterfall as charts
from core import fmt
from dashboard import data, ui
from dashboard.context import PageContext
from dashboard.parts import Split
from queries.filters import Filters
from queries.waterfall import STEPS

STEP_HELP = {
    "list_cost": "Tokens and requests at the /models prices in force each day (reasoning at internal_reasoning).",
    "cache": "What caching took off, net of cache writes: analytics' usage_cache, else generations' cache_discount.",
    "endpoint": "Endpoint prices, discount and overrides: per generation where records hold the day; estimated "
    "per provider from endpoint prices elsewhere (overrides invisible there).",
    "tier": "flex × 0.5, priority × 1.75 (an assumption: no per-tier price is published); generation days only.",
    "byok_fee": "OpenRouter's fee on BYOK traffic: analytics' byok_fees (31 days), else 5 % of BYOK spend (estimated).",
    "fees": "Web search, file processing, data-logging adjustments: analytics, else an export's costs.",
    "residual": "What the steps do not explain: never hidden.",
}
USD = "dollar"  # the sign before the currency symbol, as core.fmt writes money; exact values in the CSV
COLUMNS = {
    "label": st.column_config.TextColumn("Model", pinned=True, width="medium"),
    "week": st.column_config.TextColumn("ISO week"),
    "list_cost": st.column_config.NumberColumn("At list", format=USD, help=STEP_HELP["list_cost"]),
    "cache": st.column_config.NumberColumn("Cache", format=USD, help=STEP_HELP["cache"]),
    "endpoint": st.column_config.NumberColumn("Endpoint", format=USD, help=STEP_HELP["endpoint"]),
    "tier": st.column_config.NumberColumn("Tier", format=USD, help=STEP_HELP["tier"]),
    "byok_fee": st.column_config.NumberColumn("BYOK fee", format=USD, help=STEP_HELP["byok_fee"]),
    "fees": st.column_config.NumberColumn("Fees", format=USD, help=STEP_HELP["fees"]),
    "residual": st.column_config.NumberColumn("Residual", format=USD, help=STEP_HELP["residual"]),
    "unpriced": st.column_config.NumberColumn("Unpriced", format=USD, help="Billed on days with no list price."),
    "billed": st.column_config.NumberColumn("Billed", format=USD),
    "effective_per_m": st.column_config.NumberColumn("Paid / M", format="$%.3f"),
    "list_per_m": st.column_config.NumberColumn("List / M", format="$%.3f"),
    "generation_days": st.column_config.NumberColumn("Days per generation", help="Days measured per generation."),
    "days": st.column_config.NumberColumn("Days"),
}


def notes(frame: pd.DataFrame) -> dict[str, str]:
    """How each step was measured over the rows' days, in words."""
    days = int(frame["days"].sum()) if len(frame) else 0
    if not days:
        return {}

    def share(column: str) -> str:
        n = int(frame[column].sum())
        return "every day" if n == days else f"{n} of {days} model-days"

    gen = int(frame["generation_days"].sum())
    return {
        "list_cost": "/models prices in force each day",
        "cache": f"measured on {share('cache_days')}",
        "endpoint": f"per generation on {gen} of {days} model-days, estimated per provider on "
        f"{int(frame['endpoint_days'].sum()) - gen}; not measured on the rest",
        "tier": f"per generation on {gen} of {days} model-days (multiplier assumed)",
        "byok_fee": f"reported on {share('byok_days')}, estimated (5 %) elsewhere",
        "fees": f"reported on {share('fees_days')}",
        "residual": "billed − the steps",
        "unpriced": f"{int(frame['unpriced_days'].sum())} model-days without a list price",
    }


def render(
    ctx: PageContext,
    filters: Filters,
    name: str,
    *,
    rows: pd.DataFrame | None = None,
    per_week: bool = True,
) -> pd.DataFrame:
    """The section; returns the per model × week rows (empty when nothing is priced). ``rows``: the
    waterfall already read (the weekly review's), else it is read for ``filters``' days and models."""
    only_models = Filters(filters.start, filters.end, models=filters.models)
    if rows is None:
        rows = data.waterfall(ctx.store, only_models, ctx.today, ("model", "week"))
    if rows.empty:
        st.info("No usage to explain in this period.", icon=":material/info:")
        return rows
    totals = {str(k): float(v) for k, v in rows[[*STEPS, "unpriced"]].sum().items()}
    frame = charts.steps(totals, notes(rows))
    subtitle = f"USD, {fmt.day_range(filters.start, filters.end)}: each step from its own source; they add up"
    ui.chart(
        ctx,
        charts.waterfall(frame, name, "From list price to billed", subtitle),
        frame,
        name,
        "Waterfall from the cost at list prices to the billed spend",
        split=Split(only_models, money=("amount",)),
    )
    ignored = replace(filters, start=filters.start, end=filters.end, models=()) != Filters(filters.start, filters.end)
    st.caption(
        "Residual = billed − the steps: what no stored field explains (on days without per-generation records, "
        "overrides on prompt size or clock time and service tiers are not reported)."
        + (" Only the models filter applies here: the waterfall covers every key, app and provider." if ignored else "")
    )
    if per_week:
        table = rows.assign(
            label=[ctx.meta.model_label(str(m)) for m in rows["model"]],
            effective_per_m=rows["billed"] / rows["tokens"].where(rows["tokens"] > 0) * 1e6,
            list_per_m=rows["list_cost"] / rows["tokens"].where(rows["tokens"] > 0) * 1e6,
        ).sort_values(["week", "billed"], ascending=[False, False])
        ui.model_table(ctx, table, f"{name}_weeks", COLUMNS, split=Split(only_models, money=("billed",)))
        st.caption("Per model and ISO week (Monday–Sunday, UTC), clipped to the period.")
    return rows
