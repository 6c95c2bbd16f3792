"""Budgets: each budget as the last ``orusage alerts check`` evaluated it (spend vs limit, the forecast line
and its band, when the period resets, open alerts), the alerts sent and the deliveries that failed, and
spend per team (chargeback). Read-only: the budgets live in the alerts config file (``ORUSAGE_CONFIG``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from charts import budgets as budgets_charts
from core import fmt, settings
from core.settings import CONFIG_ENV
from dashboard import data, ui
from dashboard.context import PageContext
from dashboard.parts import Whole

TITLE = "Budgets"
EMPTY_TEXT = "No budget has been evaluated yet"


HISTORY_COLUMNS = {
    "raised_at": st.column_config.DatetimeColumn("Raised (UTC)", format="YYYY-MM-DD HH:mm"),
    "budget": st.column_config.TextColumn("Budget"),
    "kind": st.column_config.TextColumn("Kind"),
    "period": st.column_config.TextColumn("Period"),
    "threshold": st.column_config.NumberColumn("Threshold %", format="%.0f"),
    "status": st.column_config.TextColumn("Status"),
    "spend_usd": st.column_config.NumberColumn("Spend", format="$%.2f"),
    "limit_usd": st.column_config.NumberColumn("Limit", format="$%.2f"),
    "title": st.column_config.TextColumn("Alert"),
    "delivered_to": st.column_config.TextColumn("Delivered to"),
    "undelivered_to": st.column_config.TextColumn("Not delivered to"),
    "cleared_at": st.column_config.DatetimeColumn("Cleared (UTC)", format="YYYY-MM-DD HH:mm"),
}
FAILED_COLUMNS = {
    "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
    "budget": st.column_config.TextColumn("Budget"),
    "kind": st.column_config.TextColumn("Kind"),
    "event": st.column_config.TextColumn("Event"),
    "channel": st.column_config.TextColumn("Channel"),
    "status": st.column_config.TextColumn("Status"),
    "attempts": st.column_config.NumberColumn("Attempts", format="%d"),
    "error": st.column_config.TextColumn("Last error"),
    "title": st.column_config.TextColumn("Message"),
}
TEAM_COLUMNS = {
    "team": st.column_config.TextColumn("Team", pinned=True),
    "kind": st.column_config.TextColumn("Made of"),
    "members": st.column_config.NumberColumn("Members", format="%d"),
    "spend_usd": st.column_config.NumberColumn("Spend", format="$%.2f"),
}


def config_path() -> str:
    """The alerts config as the CLI finds it: ``$ORUSAGE_CONFIG``, else the default place."""
    return str(settings.dashboard_view().config)


def _source_note() -> None:
    where = f"`{config_path()}`" + ("" if settings.dashboard_view().config_chosen else f" (or `${CONFIG_ENV}`)")
    st.caption(
        f"Read-only: the budgets and teams are defined in the alerts config file {where}, the one source of "
        "truth. Edit it there and run `orusage alerts check` to see the change here."
    )


def render(ctx: PageContext) -> None:
    st.title(TITLE)
    _source_note()
    rows = data.budget_overview(ctx.store, datetime.combine(ctx.today, time.min))
    if rows.empty:
        st.info(
            f"**{EMPTY_TEXT}.** Write a budget in the config file — see docs/budgets-and-alerts.md — and run "
            "`orusage alerts check`.",
            icon=":material/savings:",
        )
        st.code("orusage alerts check", language="bash")
        _teams(ctx)
        return
    evaluated = max(rows["evaluated_at"])
    st.caption(f"As the last `orusage alerts check` evaluated them, at {fmt.utc_time(evaluated)}. All days are UTC.")
    for row in rows.to_dict("records"):
        _budget(ctx, row)
    st.divider()
    _alerts(ctx)
    st.divider()
    _teams(ctx)


def resets_text(period_end: Any, today: date) -> str:
    if period_end is None or pd.isna(period_end):
        return "never resets"
    return fmt.resets_on(pd.Timestamp(period_end).date(), today)


def _budget(ctx: PageContext, r: Mapping[Hashable, Any]) -> None:
    """One budget: a row of ``budget_overview``."""
    name, limit, spend = str(r["budget"]), float(r["limit_usd"]), float(r["spend_usd"])
    share = spend / limit if limit else 0.0
    with st.container(border=True):
        st.markdown(f"#### {name}")
        st.caption(
            f"{r['scope']} · {r['period']} {r['period_label']} · {resets_text(r['period_end'], ctx.today)}"
            + (" · mirrors an OpenRouter key limit" if bool(r["mirrored"]) else "")
        )
        st.progress(
            min(max(share, 0.0), 1.0),
            text=f"{name}: {fmt.usd(spend)} of {fmt.usd(limit)} ({share:.0%})",
        )
        cols = st.columns(4)
        cols[0].metric("Spent", fmt.usd(spend))
        cols[1].metric("Remaining", fmt.usd(limit - spend))
        projected = r["forecast_usd"]
        cols[2].metric("Forecast at period end", "—" if pd.isna(projected) else fmt.usd(float(projected)))
        cols[3].metric("Open alerts", int(r["open_alerts"]))
        cross = r["forecast_cross"]
        if cross is not None and not pd.isna(cross):
            st.warning(
                f"At this pace the limit is crossed on {pd.Timestamp(cross).date()}.", icon=":material/trending_up:"
            )
        if r["note"]:
            st.caption(str(r["note"]))
        frame = data.budget_forecast(ctx.store, name)
        if not frame.empty:
            ui.chart(
                ctx,
                budgets_charts.forecast_chart(frame, name),
                frame,
                f"budget_{_slug(name)}",
                f"Forecast of budget {name}",
                split=Whole("a budget's cumulative spend and its forecast"),
            )


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "budget"


def _alerts(ctx: PageContext) -> None:
    st.markdown("#### Alerts sent")
    alerts = data.alert_history(ctx.store)
    if alerts.empty:
        st.info("No alert raised yet.", icon=":material/notifications_off:")
    else:
        ui.table(ctx, alerts, "alert_history", HISTORY_COLUMNS, split=Whole("one row per alert"))
    st.markdown("#### Failed deliveries")
    undelivered = data.failed_deliveries(ctx.store)
    if undelivered.empty:
        st.caption("Every message was delivered.")
    else:
        st.warning(
            f"{len(undelivered)} message(s) not delivered yet; they are retried at every alerts run.",
            icon=":material/error:",
        )
        ui.table(ctx, undelivered, "failed_deliveries", FAILED_COLUMNS, split=Whole("one row per message"))


def _teams(ctx: PageContext) -> None:
    last = ctx.today - timedelta(days=1)
    first = last.replace(day=1)
    per_team = data.team_spend(ctx.store, first, last)
    if per_team.empty:
        return
    st.markdown(f"#### Spend per team · {fmt.day_range(first, last)} (UTC)")
    st.caption("Chargeback: the teams (cost centres) of the config file as the last alerts run resolved them.")
    # Teams may share keys and need not cover the account: not parts of one total.
    ui.table(ctx, per_team, "team_spend", TEAM_COLUMNS, split=Whole("cost centres, which may overlap"))
