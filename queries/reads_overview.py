"""Reads for the Overview page's account-wide outlook: credit burn, days of credit left, month-end forecast.

All account-wide (credits belong to the account, not to a filter), all routed like every other read, so
a store whose recent activity is missing still answers from analytics.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from queries.filters import everything
from queries.reads import kpis
from queries.reads_facts import facts, source_spans
from queries.reads_routing import Route, route

BURN_DAYS = 7


@dataclass(frozen=True)
class Outlook:
    """``None`` means unknown (no data, or no spend to divide by), never zero."""

    today: date
    burn_first: date
    burn_last: date
    burn_days: int  # stored days among the last BURN_DAYS completed days
    spend_per_day: float | None  # credits + BYOK, average of those days
    credits_per_day: float | None  # credits only (BYOK is paid to your own provider keys)
    credits_left: float | None
    days_left: float | None  # credits_left / credits_per_day
    month_start: date
    month_end: date
    month_done: float  # completed days of this month
    days_remaining: int  # days left in the month, today included
    month_forecast: float | None


def _spend(con: duckdb.DuckDBPyConnection, r: Route) -> tuple[float, float, int]:
    """(spend, byok, days with data) over a route with no dimensions."""
    days = sum((s.last - s.first).days + 1 for s in r.segments)
    if not days:
        return 0.0, 0.0, 0
    frame = facts(con, r, everything(r.start, r.end))
    spend = float(frame["spend"].fillna(0).iloc[0]) if len(frame) else 0.0
    byok = float(frame["byok"].fillna(0).iloc[0]) if len(frame) else 0.0
    return spend, byok, days


def outlook(con: duckdb.DuckDBPyConnection, today: date) -> Outlook:
    spans = source_spans(con)
    yesterday = today - timedelta(days=1)
    burn_first = today - timedelta(days=BURN_DAYS)
    spend, byok, days = _spend(con, route((), burn_first, yesterday, spans, today))
    spend_per_day = spend / days if days else None
    credits_per_day = (spend - byok) / days if days else None

    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    month_done = _spend(con, route((), month_start, yesterday, spans, today))[0] if today > month_start else 0.0
    days_remaining = (month_end - today).days + 1

    credits_left = kpis(con, today).credits_left
    days_left = (
        credits_left / credits_per_day
        if credits_left is not None and credits_per_day is not None and credits_per_day > 0
        else None
    )
    forecast = month_done + days_remaining * spend_per_day if spend_per_day is not None else None
    return Outlook(
        today=today,
        burn_first=burn_first,
        burn_last=yesterday,
        burn_days=days,
        spend_per_day=spend_per_day,
        credits_per_day=credits_per_day,
        credits_left=credits_left,
        days_left=days_left,
        month_start=month_start,
        month_end=month_end,
        month_done=month_done,
        days_remaining=days_remaining,
        month_forecast=forecast,
    )
