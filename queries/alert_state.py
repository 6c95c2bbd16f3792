"""Alert state in the store (migration 0004): which alerts were raised, what is still to be delivered, and
what the last run evaluated. Writes run inside the caller's ``Writer`` transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


def _first(rows: list[Any]) -> Any:
    """The first row or None; fetching everything leaves no unfinished result on the connection."""
    return rows[0] if rows else None


def has_alert_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a store (or an old snapshot) from before migration 0004."""
    row = _first(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alerts' AND database_name = current_database()"
        ).fetchall()
    )
    return bool(row and row[0])


@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    budget: str
    kind: str
    subject: str
    period: str
    threshold: float
    status: str


def stored_alerts(con: duckdb.DuckDBPyConnection) -> list[AlertRow]:
    if not has_alert_tables(con):
        return []
    rows = con.execute(
        "SELECT alert_id, budget, kind, subject, period, threshold, status FROM alerts ORDER BY alert_id"
    ).fetchall()
    return [AlertRow(int(r[0]), r[1], r[2], r[3], r[4], float(r[5]), r[6]) for r in rows]


def insert_alert(
    con: duckdb.DuckDBPyConnection,
    *,
    budget: str,
    kind: str,
    subject: str,
    period: str,
    threshold: float,
    status: str,
    at: datetime,
    limit_usd: float | None,
    spend_usd: float | None,
    title: str,
    message: str,
) -> int:
    row = _first(
        con.execute(
            """INSERT INTO alerts (budget, kind, subject, period, threshold, status, raised_at, limit_usd, spend_usd,
                               title, message)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING alert_id""",
            [budget, kind, subject, period, threshold, status, at, limit_usd, spend_usd, title, message],
        ).fetchall()
    )
    assert row is not None
    return int(row[0])


def clear_alert(con: duckdb.DuckDBPyConnection, alert_id: int, at: datetime) -> None:
    con.execute("UPDATE alerts SET status = 'cleared', cleared_at = ? WHERE alert_id = ?", [at, alert_id])


def queue_delivery(
    con: duckdb.DuckDBPyConnection, alert_id: int, event: str, channel: str, title: str, message: str, at: datetime
) -> None:
    con.execute(
        """INSERT INTO alert_deliveries (alert_id, event, channel, status, created_at, title, message)
           VALUES (?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING""",
        [alert_id, event, channel, at, title, message],
    )


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: int
    alert_id: int
    event: str
    channel: str
    status: str
    attempts: int
    title: str
    message: str
    kind: str
    budget: str


def deliveries_due(con: duckdb.DuckDBPyConnection, channels: Sequence[str], max_attempts: int) -> list[DeliveryRow]:
    """Messages not yet delivered to a channel that is still configured, oldest first."""
    if not has_alert_tables(con):
        return []
    rows = con.execute(
        """SELECT d.delivery_id, d.alert_id, d.event, d.channel, d.status, d.attempts, d.title, d.message,
                  a.kind, a.budget
           FROM alert_deliveries d JOIN alerts a USING (alert_id)
           WHERE d.status <> 'sent' AND d.attempts < ? AND list_contains(?::VARCHAR[], d.channel)
           ORDER BY d.delivery_id""",
        [max_attempts, list(channels)],
    ).fetchall()
    return [DeliveryRow(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), r[6], r[7], r[8], r[9]) for r in rows]


def record_attempt(con: duckdb.DuckDBPyConnection, delivery_id: int, at: datetime, error: str | None) -> None:
    """One try: sent, or failed with the error's one line (kept, retried at the next run)."""
    con.execute(
        """UPDATE alert_deliveries SET attempts = attempts + 1, last_attempt_at = ?,
                  status = CASE WHEN ? IS NULL THEN 'sent' ELSE 'failed' END,
                  sent_at = CASE WHEN ? IS NULL THEN ? ELSE sent_at END, error = ?
           WHERE delivery_id = ?""",
        [at, error, error, at, error, delivery_id],
    )


BUDGET_STATUS_COLUMNS = (
    "budget",
    "scope",
    "mirrored",
    "period",
    "period_label",
    "period_start",
    "period_end",
    "limit_usd",
    "spend_usd",
    "today_usd",
    "today_as_of",
    "include_byok",
    "thresholds",
    "forecast_usd",
    "forecast_low",
    "forecast_high",
    "forecast_cross",
    "note",
    "evaluated_at",
)
BUDGET_FORECAST_COLUMNS = ("budget", "date", "actual_usd", "forecast_usd", "low_usd", "high_usd")


def replace_budget_status(
    con: duckdb.DuckDBPyConnection,
    statuses: Sequence[Mapping[str, Any]],
    forecast_days: Sequence[Mapping[str, Any]],
    teams: Sequence[tuple[str, str, str]],
) -> None:
    """Make the Budgets page's tables exactly what this run evaluated."""
    con.execute("DELETE FROM budget_status")
    con.execute("DELETE FROM budget_forecast")
    con.execute("DELETE FROM cost_centres")
    marks = ", ".join("?" for _ in BUDGET_STATUS_COLUMNS)
    if statuses:
        con.executemany(
            f"INSERT INTO budget_status ({', '.join(BUDGET_STATUS_COLUMNS)}) VALUES ({marks})",  # noqa: S608 -- constants
            [[row.get(c) for c in BUDGET_STATUS_COLUMNS] for row in statuses],
        )
    if forecast_days:
        con.executemany(
            f"INSERT INTO budget_forecast ({', '.join(BUDGET_FORECAST_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
            [[row.get(c) for c in BUDGET_FORECAST_COLUMNS] for row in forecast_days],
        )
    if teams:
        con.executemany("INSERT OR IGNORE INTO cost_centres VALUES (?, ?, ?)", [list(t) for t in teams])
