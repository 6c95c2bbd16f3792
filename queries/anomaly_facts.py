"""What the anomaly rules read: every model's, key's, app's and provider's daily spend (``budgets.
daily_spend_by_value``), today so far per value, and the breakdown that names a driver (a model's apps, a
key's, app's or provider's models). Breakdowns come from analytics (``analytics_daily``; today from
``analytics_hourly``), each a grouping that holds the whole of the parent's traffic."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from queries import budgets as q
from queries import hourly

# parent kind → (the child kind it is broken down by, the analytics grouping, parent column, child column)
BREAKDOWNS = {
    q.MODELS: ("app", "model,app", "model", "app"),
    q.KEYS: ("model", "api_key_hash,model", "api_key_hash", "model"),
    q.APPS: ("model", "model,app", "app", "model"),
    q.PROVIDERS: ("model", "model,provider", "provider", "model"),
}
# scope kind → (the hourly grouping, the column naming the value)
_HOURLY = {q.MODELS: ("model", "model"), q.APPS: ("model,app", "app"), q.PROVIDERS: ("model,provider", "provider")}
_SPEND = "coalesce(total_usage, 0)"


def today_by_value(con: duckdb.DuckDBPyConnection, kind: str, today: date) -> tuple[dict[str, float], datetime | None]:
    """Each value's spend today so far and as of when: keys from the newest ``/keys`` fetch of the day,
    models, apps and providers from today's hours; ({}, None) when nothing was fetched today."""
    if kind == q.KEYS:
        rows = con.execute(
            """SELECT hash, coalesce(usage_daily, 0) + coalesce(byok_usage_daily, 0), fetched_at FROM api_key_snapshots
               WHERE fetched_at = (SELECT max(fetched_at) FROM api_key_snapshots WHERE CAST(fetched_at AS DATE) = ?)""",
            [today],
        ).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}, (rows[0][2] if rows else None)
    grouping, column = _HOURLY[kind]
    fetched = hourly.fetched_today(con, grouping, today)
    if fetched is None:
        return {}, None
    start = datetime.combine(today, datetime.min.time())
    rows = con.execute(
        f"""SELECT {column}, sum({_SPEND}) FROM analytics_hourly
            WHERE dimensions = ? AND hour >= ? AND hour < ? GROUP BY 1""",  # noqa: S608 -- constants
        [grouping, start, start + timedelta(days=1)],
    ).fetchall()
    return {str(r[0]): float(r[1]) for r in rows if r[0] is not None}, fetched


def children(
    con: duckdb.DuckDBPyConnection, kind: str, value: str, first: date, last: date
) -> dict[str, dict[date, float]]:
    """The parent's daily spend per child (``BREAKDOWNS``) over ``first..last``."""
    _, grouping, parent, child = BREAKDOWNS[kind]
    rows = con.execute(
        f"""SELECT {child}, date, sum({_SPEND}) FROM analytics_daily
            WHERE dimensions = ? AND {parent} = ? AND date BETWEEN ? AND ? GROUP BY 1, 2""",  # noqa: S608 -- constants
        [grouping, value, first, last],
    ).fetchall()
    out: dict[str, dict[date, float]] = {}
    for name, day, spend in rows:
        out.setdefault(str(name), {})[day] = float(spend)
    return out


def children_today(con: duckdb.DuckDBPyConnection, kind: str, value: str, today: date) -> dict[str, float]:
    """The parent's spend today so far per child, from today's hours (keys: none, no hourly per key)."""
    if kind == q.KEYS or not hourly.has_hourly(con):
        return {}
    _, grouping, parent, child = BREAKDOWNS[kind]
    start = datetime.combine(today, datetime.min.time())
    rows = con.execute(
        f"""SELECT {child}, sum({_SPEND}) FROM analytics_hourly
            WHERE dimensions = ? AND {parent} = ? AND hour >= ? AND hour < ? GROUP BY 1""",  # noqa: S608 -- constants
        [grouping, value, start, start + timedelta(days=1)],
    ).fetchall()
    return {str(r[0]): float(r[1]) for r in rows}


def key_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in con.execute("SELECT hash, name FROM api_keys").fetchall()}
