"""API keys: each key's limit, reset period and usage as ``/keys`` last reported them, as progress bars,
then the breakdown page per key (``views.breakdown``; by hash, the name shown). Disabled, expired and
deleted keys are marked; deleted keys keep their history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
    if f.values(Dim.KEY):  # the chosen keys, or a team's
        limits = limits.loc[limits["hash"].isin(f.values(Dim.KEY))]
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
    if as_of is not None:
        _hygiene(ctx, as_of)


HYGIENE_LABELS = {
    "near_limit": "near its limit",
    "expiring": "expiring",
    "unused": "unused",
    "no_limit": "no limit",
}
HYGIENE_COLUMNS = {
    "name": st.column_config.TextColumn("Key", pinned=True),
    "issue": st.column_config.TextColumn("Needs a look"),
    "text": st.column_config.TextColumn("Why"),
    "when": st.column_config.DateColumn("Day", help="Projected run-out, expiry, or last use."),
}


def _hygiene(ctx: PageContext, as_of: datetime) -> None:
    """Key hygiene (``queries.key_hygiene``, the alerts' own definition), as of the last /keys fetch."""
    st.markdown("#### Key hygiene")
    issues = data.key_issues(ctx.store, as_of)
    if ctx.filters.keys:
        issues = issues.loc[issues["hash"].isin(ctx.filters.keys)]
    if issues.empty:
        st.caption(
            "Every enabled key has a limit it is not near, is not about to expire and was used in the last 30 days."
        )
        return
    issues = issues.assign(issue=[HYGIENE_LABELS.get(str(k), str(k)) for k in issues["kind"]])
    st.caption(
        f"{len(issues)} thing(s) to look at: keys near their limit (80 % or projected to reach it before it "
        "resets), expiring within 14 days, unused for 30 days (last_used_at when OpenRouter sends it, else the "
        "last request or spend stored), and keys that spent without a limit. `orusage alerts check` sends "
        "them as alerts (thresholds in the alerts config)."
    )
    ui.table(ctx, issues, "key_hygiene", HYGIENE_COLUMNS, split=Whole("one row per key needing a look"))


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
