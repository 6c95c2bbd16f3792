"""Named reads for `orusage status`, `orusage doctor` and the data-health page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from core.settings import DEFAULT_ACCOUNT


@dataclass(frozen=True)
class CoverageRow:
    source: str
    dimensions: str
    scope: str
    metrics: str
    first_day: date
    last_day: date
    fetched_at: datetime
    rows_received: int
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class RunRow:
    run_id: int
    command: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    units_done: int
    rows_written: int
    message: str | None
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class StoreFacts:
    schema_version: int
    written_by_duckdb: str
    activity_days: int
    activity_first: date | None
    activity_last: date | None
    analytics_rows: int
    analytics_first: date | None
    analytics_last: date | None
    keys: int
    models: int
    last_keys_fetch: datetime | None
    last_credits_fetch: datetime | None


def coverage(con: duckdb.DuckDBPyConnection) -> list[CoverageRow]:
    rows = con.execute(
        "SELECT source, dimensions, scope, metrics, first_day, last_day, fetched_at, rows_received, account "
        "FROM coverage ORDER BY source, dimensions, scope, metrics, first_day"
    ).fetchall()
    return [CoverageRow(*row) for row in rows]


def last_runs(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[RunRow]:
    rows = con.execute(
        "SELECT run_id, command, started_at, finished_at, status, units_done, rows_written, message, account "
        "FROM ingest_runs ORDER BY run_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [RunRow(*row) for row in rows]


def last_successful_run(con: duckdb.DuckDBPyConnection) -> datetime | None:
    row = con.execute("SELECT max(finished_at) FROM ingest_runs WHERE status = 'ok'").fetchone()
    return row[0] if row else None


def store_facts(con: duckdb.DuckDBPyConnection) -> StoreFacts:
    row = con.execute(
        """SELECT (SELECT max(version) FROM schema_migrations),
                  (SELECT arg_max(duckdb_version, applied_at) FROM schema_migrations),
                  (SELECT count(DISTINCT date) FROM activity), (SELECT min(date) FROM activity),
                  (SELECT max(date) FROM activity),
                  (SELECT count(*) FROM analytics_daily), (SELECT min(date) FROM analytics_daily),
                  (SELECT max(date) FROM analytics_daily),
                  (SELECT count(*) FROM api_keys WHERE deleted_at IS NULL),
                  (SELECT count(*) FROM models_current),
                  (SELECT max(fetched_at) FROM api_key_snapshots), (SELECT max(fetched_at) FROM credits)"""
    ).fetchone()
    assert row is not None
    return StoreFacts(*row)


def key_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {h: n for h, n in con.execute("SELECT hash, name FROM api_keys").fetchall()}
