"""The provisional hourly table (the analytics_hourly migration): the last fetch of today's and yesterday's
spend per hour, per grouping, replaced whole at every ingest; and what the alerts read from it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from queries.accounts import CURRENT

HOURLY_COLUMNS = (
    "hour", "dimensions", "dim_key", "model", "provider", "app", "user", "user_email",
    "request_count", "total_usage", "byok_usage",
)  # fmt: skip


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def replace_hourly(
    con: duckdb.DuckDBPyConnection,
    fetches: Sequence[tuple[str, datetime, Sequence[dict[str, Any]], int]],
    fetched_at: datetime,
) -> int:
    """Make the current account's rows exactly these fetches: (grouping, first hour, rows, rows received)
    each; groupings not fetched this time are dropped too (nothing older than the last run is ever kept)."""
    con.execute(f"DELETE FROM analytics_hourly WHERE account = {CURRENT}")  # noqa: S608 -- a constant
    con.execute(f"DELETE FROM analytics_hourly_fetches WHERE account = {CURRENT}")  # noqa: S608 -- a constant
    written = 0
    for grouping, first_hour, rows, received in fetches:
        if rows:
            table = pa.Table.from_pylist([{c: row.get(c) for c in HOURLY_COLUMNS} for row in rows])
            con.register("incoming_hourly", table)
            con.execute(
                f"INSERT INTO analytics_hourly ({_quoted(HOURLY_COLUMNS)}) "  # noqa: S608 -- constants
                f"SELECT {_quoted(HOURLY_COLUMNS)} FROM incoming_hourly"
            )
            con.unregister("incoming_hourly")
            written += len(rows)
        con.execute(
            "INSERT INTO analytics_hourly_fetches (dimensions, first_hour, fetched_at, rows_received) "
            "VALUES (?, ?, ?, ?)",
            [grouping, first_hour, fetched_at, received],
        )
    return written


def has_hourly(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a store (or snapshot) from before the analytics_hourly migration."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'analytics_hourly' "
        "AND database_name = current_database()"
    ).fetchall()
    return bool(rows and rows[0][0])


def fetched_today(con: duckdb.DuckDBPyConnection, grouping: str, today: date) -> datetime | None:
    """When today's hours of ``grouping`` were last fetched (None: not today, or never)."""
    if not has_hourly(con):
        return None
    rows = con.execute(
        "SELECT fetched_at FROM analytics_hourly_fetches WHERE dimensions = ? AND CAST(fetched_at AS DATE) = ? "
        "AND first_hour <= ?",
        [grouping, today, datetime.combine(today, datetime.min.time())],
    ).fetchall()
    return rows[0][0] if rows else None


def day_shape(con: duckdb.DuckDBPyConnection, day: date) -> list[float] | None:
    """The share of ``day``'s account-wide spend in by the end of each hour (24 cumulative shares), from
    the stored hours of that day; None when that day is not held whole or spent nothing."""
    if not has_hourly(con):
        return None
    start = datetime.combine(day, datetime.min.time())
    rows = con.execute(
        """SELECT hour(hour), sum(coalesce(total_usage, 0)) FROM analytics_hourly
           WHERE dimensions = 'model' AND hour >= ? AND hour < ?
             AND EXISTS (SELECT 1 FROM analytics_hourly_fetches f
                         WHERE f.dimensions = 'model' AND f.first_hour <= ? AND f.fetched_at >= ?)
           GROUP BY 1""",
        [start, start + timedelta(days=1), start, start + timedelta(days=1)],
    ).fetchall()
    per_hour = [0.0] * 24
    for hour, spend in rows:
        per_hour[int(hour)] = float(spend)
    total = sum(per_hour)
    if total <= 0:
        return None
    shares, running = [], 0.0
    for value in per_hour:
        running += value
        shares.append(running / total)
    return shares
