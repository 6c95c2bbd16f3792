"""Reads for the Overview page's account-wide outlook: credit burn, days of credit left, month-end forecast.

All account-wide (credits belong to the account, not to a filter), or the chosen accounts' in a store of
several (``queries.accounts``); all routed like every other read, so a store whose recent activity is missing
still answers from analytics.

The month-end forecast is the budgets' (docs/definitions.md): ``core.forecast.project`` over the account's
daily spend as ``queries.budgets`` reads it for an account budget (credits + BYOK), today so far from the
newest ``/keys`` fetch of the day, the rest of today counted from that fetch on. So the Overview, the weekly
review and an account-wide monthly budget on the Budgets page show one figure.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from core.forecast import MAX_HISTORY_DAYS, Forecast, project
from queries import alert_facts, budgets, credits
from queries.filters import Filters
from queries.reads import kpis
from queries.reads_facts import facts, source_spans
from queries.reads_routing import Dim, Route, route

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
    runway: credits.Runway | None  # the one runway (queries.credits): the credits panel's and the alert's
    month_start: date
    month_end: date
    month_done: float  # completed days of this month
    days_remaining: int  # days left in the month, today included
    forecast: Forecast | None  # the month's cumulative spend to its last day (None: under a week of history)
    today_so_far: float | None  # today's spend so far (credits + BYOK), None without a /keys fetch today
    today_as_of: datetime | None

    @property
    def days_left(self) -> float | None:
        """Days of credit left: the runway's expected days (None: no /credits fetch, under a week of history,
        or not within a year)."""
        return None if self.runway is None else self.runway.days

    @property
    def month_forecast(self) -> float | None:
        """Projected spend of the whole month (credits + BYOK)."""
        return None if self.forecast is None else self.forecast.total

    @property
    def month_low(self) -> float | None:
        return None if self.forecast is None else self.forecast.low

    @property
    def month_high(self) -> float | None:
        return None if self.forecast is None else self.forecast.high


def _spend(con: duckdb.DuckDBPyConnection, r: Route, accounts: Sequence[str]) -> tuple[float, float, int]:
    """(spend, byok, days with data) of ``accounts`` (every account when empty) over a route made for them."""
    days = sum((s.last - s.first).days + 1 for s in r.segments)
    if not days:
        return 0.0, 0.0, 0
    frame = facts(con, r, Filters(r.start, r.end, accounts=tuple(accounts)))
    spend = float(frame["spend"].fillna(0).iloc[0]) if len(frame) else 0.0
    byok = float(frame["byok"].fillna(0).iloc[0]) if len(frame) else 0.0
    return spend, byok, days


def month_forecast(
    con: duckdb.DuckDBPyConnection, today: date, accounts: Sequence[str] = ()
) -> tuple[Forecast | None, budgets.TodaySoFar | None]:
    """The month-end forecast as a monthly budget of ``accounts`` (every account when empty; BYOK included)
    computes it, and today so far. The projection counts the rest of today from the moment today's spend was
    fetched."""
    account = budgets.Scope(budgets.ACCOUNT, tuple(accounts))
    so_far = budgets.today_so_far(con, account, today)
    first_known = budgets.known_from(con)
    if first_known is None:
        return None, so_far
    first = max(today - timedelta(days=MAX_HISTORY_DAYS), first_known)
    history = budgets.daily_spend(con, account, first, today - timedelta(days=1))
    month_start = today.replace(day=1)
    completed = sum(v for d, v in history.items() if d >= month_start)
    end = (month_start + timedelta(days=32)).replace(day=1)
    fraction = 0.0
    if so_far is not None:
        moment = so_far.as_of
        fraction = (moment - datetime(moment.year, moment.month, moment.day)).total_seconds() / 86400
    forecast = project(
        history,
        today=today,
        end=end,
        spent=completed + (so_far.usd if so_far else 0.0),
        today_known=so_far is not None,
        day_fraction=fraction,
        # As the account budget: models expiring before the month ends take their share of the pace with them.
        scale=alert_facts.expiry_scale(con, account, today, end),
    )
    return forecast, so_far


def outlook(
    con: duckdb.DuckDBPyConnection, today: date, now: datetime | None = None, accounts: Sequence[str] = ()
) -> Outlook:
    """The outlook of ``accounts`` (every account when empty: the account-wide figures). ``now``: the moment
    the runway counts from (the dashboard's clock, as the credits panel uses it); by default the newest /keys
    fetch of ``today``, else the start of ``today``."""
    spans = source_spans(con)
    yesterday = today - timedelta(days=1)
    burn_first = today - timedelta(days=BURN_DAYS)
    dims = (Dim.ACCOUNT,) if accounts else ()
    spend, byok, days = _spend(con, route(dims, burn_first, yesterday, spans, today), accounts)
    spend_per_day = spend / days if days else None
    credits_per_day = (spend - byok) / days if days else None

    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    month_done = (
        _spend(con, route(dims, month_start, yesterday, spans, today), accounts)[0] if today > month_start else 0.0
    )
    days_remaining = (month_end - today).days + 1

    credits_left = kpis(con, today, accounts).credits_left
    forecast, so_far = month_forecast(con, today, accounts)
    if now is None:
        now = so_far.as_of if so_far is not None else datetime(today.year, today.month, today.day)
    return Outlook(
        today=today,
        burn_first=burn_first,
        burn_last=yesterday,
        burn_days=days,
        spend_per_day=spend_per_day,
        credits_per_day=credits_per_day,
        credits_left=credits_left,
        runway=credits.runway(con, now, accounts),
        month_start=month_start,
        month_end=month_end,
        month_done=month_done,
        days_remaining=days_remaining,
        forecast=forecast,
        today_so_far=so_far.usd if so_far else None,
        today_as_of=so_far.as_of if so_far else None,
    )
