"""API keys: spend per key over time (by hash, the name shown), and each key's limit, reset period and
usage as ``/keys`` last reported them, as progress bars. Disabled, expired and deleted keys are marked;
deleted keys keep their history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, charts_rank, data, frames, ui
from dashboard import format as fmt
from dashboard.context import PageContext
from queries.reads_routing import Dim

TITLE = "API keys"
TOP = 12
TOP_PER_DAY = 8
STATUS_MARK = {"active": "● active", "disabled": "○ disabled", "expired": "◆ expired", "deleted": "✕ deleted"}

LIMIT_COLUMNS = {
    "name": st.column_config.TextColumn("Key", pinned=True),
    "state": st.column_config.TextColumn("Status"),
    "workspace": st.column_config.TextColumn("Workspace"),
    "used_share": st.column_config.ProgressColumn(
        "Used of limit",
        format="percent",
        min_value=0.0,
        max_value=1.0,
        color="auto-inverse",
        help="Usage in the reset period ÷ limit.",
    ),
    "period_usage": st.column_config.NumberColumn("Used", format="$%.2f", help="In the current reset period."),
    "limit": st.column_config.NumberColumn("Limit", format="$%.2f"),
    "resets": st.column_config.TextColumn("Resets"),
    "usage": st.column_config.NumberColumn("Usage (all time)", format="$%.2f"),
    "label": st.column_config.TextColumn("Label"),
    "expires_at": st.column_config.DatetimeColumn("Expires (UTC)", format="YYYY-MM-DD"),
    "deleted_at": st.column_config.DatetimeColumn("Deleted (UTC)", format="YYYY-MM-DD"),
}
SPEND_COLUMNS = {
    **ui.usage_columns("label", "Key", paid=False),
    "byok": st.column_config.NumberColumn("of which BYOK", format="$%.2f"),
    "key": st.column_config.TextColumn("Hash"),
}


def render(ctx: PageContext) -> None:
    ui.header(TITLE, ctx, "Per API key")
    _limits(ctx)
    st.divider()
    st.markdown(f"#### Spend per key · {fmt.day_range(ctx.filters.start, ctx.filters.end)} (UTC)")
    r = ctx.route([Dim.KEY])
    if not ui.route_notes(ctx, r, "Per-key figures"):
        if ctx.filters.workspace:
            st.caption("To see one workspace's keys, pick them in the sidebar's API keys filter instead.")
        return
    per = data.facts(ctx.store, r, ctx.filters.selection, ("key",), top=("key", TOP))
    if per.empty:
        ui.no_usage(ctx)
        return
    per = frames.with_other_count(frames.labelled(per, "key", ctx.meta.key_label, "other"), "key", "keys")
    per = per.assign(tokens=frames.tokens(per)).sort_values("rank")
    left, right = st.columns([2, 3], gap="large")
    with left:
        ui.chart(
            ctx,
            charts_rank.hbars(
                per,
                label="label",
                value="spend",
                name="key_spend",
                heading="Spend per key",
                subtitle=f"USD, top {TOP}",
                tooltip=[charts.tip("requests:Q", "Requests", ",")],
                value_title="Spend (USD)",
            ),
            per.drop(columns=["is_other"]),
            "key_spend",
            "Bars of spend per API key",
        )
    with right:
        per_day = data.facts(ctx.store, r, ctx.filters.selection, ("date", "key"), top=("key", TOP_PER_DAY))
        per_day = frames.labelled(per_day, "key", ctx.meta.key_label, "other keys")
        spec = charts.stacked_per_day(
            per_day,
            start=ctx.filters.start,
            end=ctx.filters.end,
            series="label",
            value="spend",
            name="key_per_day",
            heading="Spend per day by key",
            subtitle=f"USD, top {TOP_PER_DAY} keys of the period",
            series_title="Key",
            other="other keys",
            legend_columns=3,
        )
        ui.chart(ctx, spec, per_day.drop(columns=["is_other"]), "key_per_day", "Stacked bars of spend per day by key")
    st.caption(
        "Keys are followed by hash: a renamed key keeps its history, a deleted one keeps its name. "
        + ui.sources_caption(r)
    )


def _limits(ctx: PageContext) -> None:
    st.markdown("#### Limits and usage")
    as_of = ctx.meta.as_of.finished_at
    limits = data.key_limits(ctx.store, as_of) if as_of is not None else pd.DataFrame()
    if limits.empty:
        st.info("No `/keys` fetch stored yet: run `orusage ingest`.", icon=":material/info:")
        return
    f = ctx.filters
    if f.keys:
        limits = limits.loc[limits["hash"].isin(f.keys)]
    if f.workspace:
        limits = limits.loc[limits["workspace"] == f.workspace]
    limits = limits.assign(
        state=[STATUS_MARK.get(str(s), str(s)) for s in limits["status"]],
        resets=[_resets(r) for r in limits["limit_reset"]],
    )
    counts = limits["status"].value_counts()
    st.caption(
        f"As `/keys` reported at {fmt.utc_time(as_of)}: {len(limits)} keys · "
        + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUS_MARK if counts.get(s, 0))
        + ". Usage is counted against the limit over its reset period (daily, weekly, monthly), "
        "or over the key's whole life when it never resets; BYOK counts only for keys set to include it."
    )
    ui.table(ctx, limits, "key_limits", LIMIT_COLUMNS)


def _resets(value: object) -> str:
    return "never" if value is None or value != value or value == "" else str(value)
