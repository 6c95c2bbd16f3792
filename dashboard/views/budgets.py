"""Budgets: each budget as the last ``orusage alerts check`` evaluated it (spend vs limit, the forecast line
and its band, when the period resets, open alerts), the alerts sent and the deliveries that failed, and
spend per team (chargeback). Read-only: the budgets live in the alerts config file (``ORUSAGE_CONFIG``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from charts import budgets as budgets_charts
from core import fmt, settings
from core.clock import alerts_now
from core.settings import CONFIG_ENV
from core.urls import without_urls
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
CHANNEL_COLUMNS = {
    "channel": st.column_config.TextColumn("Channel", pinned=True),
    "disabled_at": st.column_config.DatetimeColumn("Disabled since (UTC)", format="YYYY-MM-DD HH:mm"),
    "failures_in_a_row": st.column_config.NumberColumn("Failing runs in a row", format="%d"),
    "last_error": st.column_config.TextColumn("Last error"),
    "last_success_at": st.column_config.DatetimeColumn("Last delivery (UTC)", format="YYYY-MM-DD HH:mm"),
    "held": st.column_config.NumberColumn("Messages kept", format="%d"),
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


def page_now(ctx: PageContext) -> datetime:
    """Now, for "resets in": the clock, unless the page is pinned to another day (then its noon)."""
    now = alerts_now()
    return now if now.date() == ctx.today else datetime.combine(ctx.today, time(12))


def render(ctx: PageContext) -> None:
    st.title(TITLE)
    _source_note()
    _disabled_channels(ctx)
    now = page_now(ctx)
    rows = data.budget_overview(ctx.store, now)
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
        _budget(ctx, row, now)
    st.divider()
    _alerts(ctx)
    st.divider()
    _teams(ctx)


def resets_text(period_end: Any, now: datetime) -> str:
    """``resets in 6 h 27 min``, as the CLI says it (``core.fmt.resets_in``)."""
    if period_end is None or pd.isna(period_end):
        return "never resets"
    end = pd.Timestamp(period_end).date()
    return fmt.resets_in(datetime.combine(end, time.min), now)


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def outlook_text(spend: float, limit: float, over_since: Any, cross: Any) -> tuple[str, str] | None:
    """(kind, sentence) under a budget: over its limit since a day, or on course to cross it on one."""
    if spend > limit:
        since = "" if _missing(over_since) else f" since {pd.Timestamp(over_since).date()}"
        return "error", f"{fmt.over_by(spend, limit).capitalize()}{since}."
    if spend == limit:
        return "error", "At its limit."
    if not _missing(cross):
        return "warning", f"At this pace the limit is crossed on {pd.Timestamp(cross).date()}."
    return None


def _budget(ctx: PageContext, r: Mapping[Hashable, Any], now: datetime) -> None:
    """One budget: a row of ``budget_overview``."""
    name, limit, spend = str(r["budget"]), float(r["limit_usd"]), float(r["spend_usd"])
    share = spend / limit if limit else 0.0
    with st.container(border=True):
        st.markdown(f"#### {name}")
        st.caption(
            f"{r['scope']} · {r['period']} {r['period_label']} · {resets_text(r['period_end'], now)}"
            + (" · mirrors an OpenRouter key limit" if bool(r["mirrored"]) else "")
        )
        st.progress(
            min(max(share, 0.0), 1.0),
            text=f"{name}: {fmt.usd(spend)} of {fmt.usd(limit)} ({share:.0%})",
        )
        cols = st.columns(4)
        cols[0].metric("Spent", fmt.usd(spend))
        if spend > limit:
            cols[1].metric("Over by", fmt.usd(spend - limit))
        else:
            cols[1].metric("Remaining", fmt.usd(limit - spend))
        projected = r["forecast_usd"]
        cols[2].metric("Forecast at period end", "—" if pd.isna(projected) else fmt.usd(float(projected)))
        cols[3].metric("Open alerts", int(r["open_alerts"]))
        said = outlook_text(spend, limit, r.get("over_since"), r["forecast_cross"])
        if said is not None and said[0] == "error":
            st.error(said[1], icon=":material/error:")
        elif said is not None:
            st.warning(said[1], icon=":material/trending_up:")
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


def _disabled_channels(ctx: PageContext) -> None:
    channels = data.channel_health(ctx.store)
    for row in channels.loc[channels["disabled_at"].notna()].to_dict("records") if not channels.empty else []:
        st.error(
            f"**Alert channel {row['channel']} is disabled** since {fmt.utc_time(row['disabled_at'])}, after "
            f"{int(row['failures_in_a_row'])} failing runs in a row ({without_urls(str(row['last_error']))}). Its "
            f"{int(row['held'])} message(s) are kept and go out as one digest when it is re-enabled: run "
            "`orusage alerts test-send` once it works again, or change its config.",
            icon=":material/notifications_off:",
        )


def _alerts(ctx: PageContext) -> None:
    st.markdown("#### Alerts sent")
    alerts = data.alert_history(ctx.store)
    if alerts.empty:
        st.info("No alert raised yet.", icon=":material/notifications_off:")
    else:
        ui.table(ctx, alerts, "alert_history", HISTORY_COLUMNS, split=Whole("one row per alert"))
    channels = data.channel_health(ctx.store)
    if not channels.empty:
        st.markdown("#### Delivery channels")
        shown_channels = channels.assign(
            last_error=[without_urls(e) if isinstance(e, str) else e for e in channels["last_error"]]
        )
        ui.table(ctx, shown_channels, "alert_channels", CHANNEL_COLUMNS, split=Whole("one row per channel"))
    st.markdown("#### Failed deliveries")
    undelivered = data.failed_deliveries(ctx.store)
    if undelivered.empty:
        st.caption("Every message was delivered.")
    else:
        st.warning(
            f"{len(undelivered)} message(s) not delivered yet; they are retried at every alerts run.",
            icon=":material/error:",
        )
        # The error is the receiver's own words: it may spell a webhook's URL (and its token) back. Never shown.
        shown = undelivered.assign(error=[without_urls(e) if isinstance(e, str) else e for e in undelivered["error"]])
        ui.table(ctx, shown, "failed_deliveries", FAILED_COLUMNS, split=Whole("one row per message"))


def _teams(ctx: PageContext) -> None:
    last = ctx.today - timedelta(days=1)
    first = last.replace(day=1)
    per_team = data.team_spend(ctx.store, first, last)
    if per_team.empty:
        return
    st.markdown(f"#### Spend of each team's scope · {fmt.day_range(first, last)} (UTC)")
    st.caption(
        "What a team's budget counts: all spend its keys, workspaces, apps or members match, as the last alerts "
        "run resolved them, so teams may overlap here (an app team's spend on another team's key counts for "
        "both). For chargeback, where each dollar goes to one team, see the Teams page."
    )
    ui.table(ctx, per_team, "team_spend", TEAM_COLUMNS, split=Whole("each team's whole scope: teams may overlap"))
