"""Credits: top-ups inferred from the stored ``/credits`` snapshots, and the runway with its band.

* A **top-up** is a rise of ``total_credits`` between two consecutive snapshots (OpenRouter reports only
  the running total of credits bought): its amount is the rise, its time the snapshot that first shows it
  (the top-up happened between the two fetches).
* The **runway** is how long the credits left last at the projected burn: the daily ``usage`` (what
  credits pay; BYOK inference is paid to your own provider) projected with ``core.forecast.project`` (the
  pace of the last 28 completed days with weekday seasonality), from now until the cumulative projection
  reaches the credits left; the band is where the 80 % band's high and low edges reach it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from core.forecast import MAX_HISTORY_DAYS, project
from queries import budgets as q
from queries.accounts import CHOSEN, NEWEST_CREDITS

TOP_UP_MIN_USD = 0.005  # rounding in the API's figures is not a top-up
RUNWAY_HORIZON_DAYS = 366


@dataclass(frozen=True)
class TopUp:
    at: datetime  # the snapshot that first showed it
    previous_at: datetime  # the snapshot before: the top-up happened between the two
    amount: float
    total_after: float


def top_ups(con: duckdb.DuckDBPyConnection, accounts: Sequence[str] = ()) -> list[TopUp]:
    """Every rise of ``total_credits`` between consecutive snapshots of one account (of ``accounts``; every
    account when empty), oldest first."""
    rows = con.execute(
        f"""SELECT fetched_at, prev_at, total_credits - prev_total, total_credits FROM (
               SELECT fetched_at, total_credits, lag(fetched_at) OVER w AS prev_at,
                      lag(total_credits) OVER w AS prev_total
               FROM credits WHERE {CHOSEN} WINDOW w AS (PARTITION BY account ORDER BY fetched_at))
           WHERE prev_total IS NOT NULL AND total_credits - prev_total > ? ORDER BY fetched_at""",  # noqa: S608
        [list(accounts), TOP_UP_MIN_USD],
    ).fetchall()
    return [TopUp(r[0], r[1], float(r[2]), float(r[3])) for r in rows]


@dataclass(frozen=True)
class Runway:
    as_of: datetime
    total_credits: float
    left_usd: float
    pace_per_day: float  # mean daily usage of the recent history
    days: float | None  # expected; None when the projection never reaches it within a year
    low_days: float | None  # the band's early edge (spending at the band's high edge)
    high_days: float | None  # the band's late edge; None: beyond the horizon
    out_on: date | None  # the day the expected projection runs out

    def text(self) -> str:
        """``about 5 days (80 % band 4–7 days)``."""
        if self.left_usd <= 0:
            return "none left"
        if self.days is None:
            return "more than a year"
        band = ""
        if self.low_days is not None:
            high = f"{self.high_days:.0f}" if self.high_days is not None else "365+"
            if f"{self.low_days:.0f}" != high:
                band = f" (80% band {self.low_days:.0f}–{high} days)"
        return f"about {self.days:.0f} days{band}"


def latest(
    con: duckdb.DuckDBPyConnection, today: date = date.max, accounts: Sequence[str] = ()
) -> tuple[datetime, float, float] | None:
    """(as of, total credits, total usage) of the newest ``/credits`` snapshots up to ``today``: each account's
    newest (of ``accounts``; every account when empty), summed (as of the oldest of them)."""
    rows = con.execute(
        f"SELECT min(fetched_at), sum(total_credits), sum(total_usage) FROM ({NEWEST_CREDITS}) "  # noqa: S608
        f"WHERE {CHOSEN}",
        [today, list(accounts)],
    ).fetchall()
    return (rows[0][0], float(rows[0][1]), float(rows[0][2])) if rows and rows[0][0] is not None else None


def _days_until(cumulative: list[tuple[date, float]], target: float, now: datetime) -> float | None:
    """Days from ``now`` until the cumulative curve (end of each day, from today) reaches ``target``,
    linear within a day (today's share runs from ``now`` to midnight)."""
    previous, start = 0.0, now
    for day, value in cumulative:
        end = datetime.combine(day + timedelta(days=1), datetime.min.time())
        if value >= target:
            within = (target - previous) / (value - previous) if value > previous else 0.0
            return max((start + (end - start) * within - now).total_seconds() / 86400, 0.0)
        previous, start = value, end
    return None


def runway(con: duckdb.DuckDBPyConnection, now: datetime, accounts: Sequence[str] = ()) -> Runway | None:
    """The credits' runway as of the newest ``/credits`` snapshot (of ``accounts``' credits at their pace;
    every account when empty); None without one or without a week of known usage."""
    found = latest(con, accounts=accounts)
    if found is None:
        return None
    as_of, total, used = found
    left = total - used
    today = now.date()
    first_known = q.known_from(con)
    if first_known is None:
        return None
    first = max(first_known, today - timedelta(days=MAX_HISTORY_DAYS))
    scope = q.Scope(q.ACCOUNT, tuple(accounts))
    history = q.daily_spend(con, scope, first, today - timedelta(days=1), include_byok=False)
    midnight = datetime.combine(today, datetime.min.time())
    so_far = q.today_so_far(con, scope, today, include_byok=False)
    forecast = project(
        history,
        today=today,
        end=today + timedelta(days=RUNWAY_HORIZON_DAYS),
        spent=0.0,
        today_known=so_far is not None,
        day_fraction=(now - midnight).total_seconds() / 86400,
    )
    if forecast is None:
        return None
    if left <= 0:
        return Runway(as_of, total, left, forecast.pace, 0.0, 0.0, 0.0, today)
    expected = [(d.date, d.expected) for d in forecast.days]
    days = _days_until(expected, left, now)
    low = high = None
    if forecast.seasonal:
        low = _days_until([(d.date, d.high or d.expected) for d in forecast.days], left, now)
        high = _days_until([(d.date, d.low or d.expected) for d in forecast.days], left, now)
    out_on = (now + timedelta(days=days)).date() if days is not None else None
    return Runway(as_of, total, left, forecast.pace, days, low, high, out_on)
