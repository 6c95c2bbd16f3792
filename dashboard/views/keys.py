"""API keys: each key's limit, reset period and usage as ``/keys`` last reported them, as progress bars,
then the breakdown page per key (``views.breakdown``; by hash, the name shown). Disabled, expired and
deleted keys are marked; deleted keys keep their history."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core import fmt
from dashboard import data, ui
from dashboard.context import PageContext
from dashboard.data import Meta
from dashboard.parts import Whole
from dashboard.views import breakdown
from queries.reads_routing import Dim

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


def _limits(ctx: PageContext) -> None:
    st.markdown("#### Limits and usage")
    if ctx.filters.workspace:
        st.caption("To see one workspace's keys, pick them in the sidebar's API keys filter.")
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
    ui.table(ctx, limits, "key_limits", LIMIT_COLUMNS, split=Whole("each key's limit as /keys reports it"))


def _resets(value: object) -> str:
    return "never" if value is None or value != value or value == "" else str(value)


def _key_label(meta: Meta) -> Callable[[str], str]:
    return meta.key_label


PAGE = breakdown.Breakdown(
    dim=Dim.KEY,
    title="API keys",
    noun="key",
    plural="keys",
    top_per_day=8,
    label=_key_label,
    columns={"key": st.column_config.TextColumn("Hash")},
    opening=_limits,
    caption="Keys are followed by hash: a renamed key keeps its history, a deleted one keeps its name.",
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    breakdown.render(ctx, PAGE)
