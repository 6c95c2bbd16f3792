"""Alert state in the store (the alerts and alert operations migrations): which alerts were raised, what is still to be
delivered and who is sending it, each channel's health, snoozes, and what the last run evaluated. Writes run
inside the caller's ``Writer`` transaction.

One sender under concurrency: a delivery is *claimed* (``claimed_by`` an owner, until ``lease_until``) in
the writer's transaction before it is sent, and the claim is only ever taken from a row nobody holds or
whose lease has ended; so two runs started at the same moment send it once, and a sender that died is taken
over when its lease ends (delivery is at least once; ``delivery_key`` lets receivers drop a repeat).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
MUTED = "muted"  # snoozed when it was raised: recorded, never sent
UNSENT = (PENDING, FAILED)


def _first(rows: list[Any]) -> Any:
    """The first row or None; fetching everything leaves no unfinished result on the connection."""
    return rows[0] if rows else None


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = _first(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()",
            [table],
        ).fetchall()
    )
    return bool(row and row[0])


def has_alert_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a store (or an old snapshot) from before migration 0004."""
    return _has_table(con, "alerts")


def has_operations(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a store (or an old snapshot) from before the alert operations migration (claims, channels, snoozes)."""
    return _has_table(con, "alert_channels")


def new_delivery_key() -> str:
    return str(uuid.uuid4())


# ---- alerts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    budget: str
    kind: str
    subject: str
    period: str
    threshold: float
    status: str
    raised_at: datetime | None = None
    acked_at: datetime | None = None
    notified_at: datetime | None = None
    reminders: int = 0
    title: str = ""


def stored_alerts(con: duckdb.DuckDBPyConnection) -> list[AlertRow]:
    if not has_alert_tables(con):
        return []
    extra = "acked_at, notified_at, coalesce(reminders, 0)" if has_operations(con) else "NULL, NULL, 0"
    rows = con.execute(
        f"SELECT alert_id, budget, kind, subject, period, threshold, status, raised_at, {extra}, title "  # noqa: S608
        "FROM alerts ORDER BY alert_id"
    ).fetchall()
    return [
        AlertRow(int(r[0]), r[1], r[2], r[3], r[4], float(r[5]), r[6], r[7], r[8], r[9], int(r[10]), r[11])
        for r in rows
    ]


def alert_by_id(con: duckdb.DuckDBPyConnection, alert_id: int) -> AlertRow | None:
    return next((a for a in stored_alerts(con) if a.alert_id == alert_id), None)


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
                               title, message, notified_at, reminders)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) RETURNING alert_id""",
            [budget, kind, subject, period, threshold, status, at, limit_usd, spend_usd, title, message, at],
        ).fetchall()
    )
    assert row is not None
    return int(row[0])


def clear_alert(con: duckdb.DuckDBPyConnection, alert_id: int, at: datetime, status: str = "cleared") -> None:
    """``cleared`` (recovered, a notice is queued) or ``closed`` (a one-off notice whose moment has passed)."""
    con.execute("UPDATE alerts SET status = ?, cleared_at = ? WHERE alert_id = ?", [status, at, alert_id])


def mark_reminded(con: duckdb.DuckDBPyConnection, alert_id: int, at: datetime) -> int:
    """Count one more reminder; returns its number (1 for the first)."""
    row = _first(
        con.execute(
            "UPDATE alerts SET notified_at = ?, reminders = coalesce(reminders, 0) + 1 WHERE alert_id = ? "
            "RETURNING reminders",
            [at, alert_id],
        ).fetchall()
    )
    return int(row[0]) if row else 0


def ack_alert(con: duckdb.DuckDBPyConnection, alert_id: int, at: datetime) -> None:
    con.execute("UPDATE alerts SET acked_at = coalesce(acked_at, ?) WHERE alert_id = ?", [at, alert_id])


# ---- snoozes --------------------------------------------------------------------------------------------


def snooze(con: duckdb.DuckDBPyConnection, alert: AlertRow, until: datetime, at: datetime) -> None:
    """Mute deliveries of the alert's rule and scope (budget, kind, subject) until ``until``."""
    con.execute(
        "INSERT OR REPLACE INTO alert_snoozes VALUES (?, ?, ?, ?, ?, ?)",
        [alert.budget, alert.kind, alert.subject, until, alert.alert_id, at],
    )


def snoozed(con: duckdb.DuckDBPyConnection, now: datetime) -> dict[tuple[str, str, str], datetime]:
    """(budget, kind, subject) → muted until, for the snoozes still running at ``now``."""
    if not has_operations(con):
        return {}
    rows = con.execute("SELECT budget, kind, subject, until FROM alert_snoozes WHERE until > ?", [now]).fetchall()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


# ---- deliveries -----------------------------------------------------------------------------------------


def queue_delivery(
    con: duckdb.DuckDBPyConnection,
    alert_id: int,
    event: str,
    channel: str,
    title: str,
    message: str,
    at: datetime,
    status: str = PENDING,
) -> None:
    con.execute(
        """INSERT INTO alert_deliveries (alert_id, event, channel, status, created_at, title, message, delivery_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
        [alert_id, event, channel, status, at, title, message, new_delivery_key()],
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
    delivery_key: str = ""
    created_at: datetime | None = None


_DELIVERY = """d.delivery_id, d.alert_id, d.event, d.channel, d.status, d.attempts, d.title, d.message, a.kind,
               a.budget, coalesce(d.delivery_key, 'orusage-delivery-' || d.delivery_id), d.created_at"""


def _deliveries(rows: list[Any]) -> list[DeliveryRow]:
    return [
        DeliveryRow(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), r[6], r[7], r[8], r[9], r[10], r[11])
        for r in rows
    ]


def deliveries_due(con: duckdb.DuckDBPyConnection, channels: Sequence[str], max_attempts: int) -> list[DeliveryRow]:
    """Messages not yet delivered to a channel that is still configured, oldest first (claimed or not)."""
    if not has_alert_tables(con):
        return []
    rows = con.execute(
        f"""SELECT {_DELIVERY} FROM alert_deliveries d JOIN alerts a USING (alert_id)
           WHERE list_contains(?::VARCHAR[], d.status) AND d.attempts < ? AND list_contains(?::VARCHAR[], d.channel)
           ORDER BY d.delivery_id""",  # noqa: S608 -- constants
        [list(UNSENT), max_attempts, list(channels)],
    ).fetchall()
    return _deliveries(rows)


def claim_due(
    con: duckdb.DuckDBPyConnection,
    channels: Sequence[str],
    owner: str,
    now: datetime,
    lease_until: datetime,
    max_attempts: int,
) -> list[DeliveryRow]:
    """Claim every unsent delivery to these (enabled) channels that nobody holds, or whose lease has ended."""
    ids = con.execute(
        """UPDATE alert_deliveries SET claimed_by = ?, lease_until = ?
           WHERE list_contains(?::VARCHAR[], status) AND attempts < ? AND list_contains(?::VARCHAR[], channel)
             AND (lease_until IS NULL OR lease_until <= ?)
           RETURNING delivery_id""",
        [owner, lease_until, list(UNSENT), max_attempts, list(channels), now],
    ).fetchall()
    return _claimed(con, [int(r[0]) for r in ids])


def claim_backlog(
    con: duckdb.DuckDBPyConnection, channel: str, owner: str, now: datetime, lease_until: datetime
) -> list[DeliveryRow]:
    """Claim everything a (re-enabled) channel still owes, whatever its attempts: its digest."""
    ids = con.execute(
        """UPDATE alert_deliveries SET claimed_by = ?, lease_until = ?
           WHERE list_contains(?::VARCHAR[], status) AND channel = ? AND (lease_until IS NULL OR lease_until <= ?)
           RETURNING delivery_id""",
        [owner, lease_until, list(UNSENT), channel, now],
    ).fetchall()
    return _claimed(con, [int(r[0]) for r in ids])


def _claimed(con: duckdb.DuckDBPyConnection, ids: list[int]) -> list[DeliveryRow]:
    if not ids:
        return []
    rows = con.execute(
        f"SELECT {_DELIVERY} FROM alert_deliveries d JOIN alerts a USING (alert_id) "  # noqa: S608 -- constants
        "WHERE list_contains(?::BIGINT[], d.delivery_id) ORDER BY d.delivery_id",
        [ids],
    ).fetchall()
    return _deliveries(rows)


def record_sent(
    con: duckdb.DuckDBPyConnection, delivery_ids: Sequence[int], at: datetime, digest_of: str | None = None
) -> None:
    """Delivered (alone, or inside the digest ``digest_of``): the claim ends with it."""
    con.execute(
        """UPDATE alert_deliveries SET status = 'sent', attempts = attempts + 1, last_attempt_at = ?, sent_at = ?,
                  error = NULL, claimed_by = NULL, lease_until = NULL, digest_of = ?
           WHERE list_contains(?::BIGINT[], delivery_id)""",
        [at, at, digest_of, list(delivery_ids)],
    )


def record_failed(con: duckdb.DuckDBPyConnection, delivery_ids: Sequence[int], at: datetime, error: str) -> None:
    """One failed try: kept, retried at the next run (or in the digest when its channel is re-enabled)."""
    con.execute(
        """UPDATE alert_deliveries SET status = 'failed', attempts = attempts + 1, last_attempt_at = ?, error = ?,
                  claimed_by = NULL, lease_until = NULL
           WHERE list_contains(?::BIGINT[], delivery_id) AND status <> 'sent'""",
        [at, error, list(delivery_ids)],
    )


def release(con: duckdb.DuckDBPyConnection, delivery_ids: Sequence[int], owner: str) -> None:
    """Give back claims that were not tried (their channel failed earlier in the run)."""
    con.execute(
        "UPDATE alert_deliveries SET claimed_by = NULL, lease_until = NULL "
        "WHERE list_contains(?::BIGINT[], delivery_id) AND claimed_by = ?",
        [list(delivery_ids), owner],
    )


def record_attempt(con: duckdb.DuckDBPyConnection, delivery_id: int, at: datetime, error: str | None) -> None:
    """One try of one delivery: sent, or failed with the error's one line."""
    if error is None:
        record_sent(con, [delivery_id], at)
    else:
        record_failed(con, [delivery_id], at, error)


# ---- what the last run evaluated, for the Budgets page ----------------------------------------------------

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
    "over_since",
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


# ---- the operator's view (`orusage alerts list`, the Budgets page) ---------------------------------------


@dataclass(frozen=True)
class ListedAlert:
    alert_id: int
    raised_at: datetime
    budget: str
    kind: str
    subject: str
    period: str
    status: str
    title: str
    acked_at: datetime | None
    snoozed_until: datetime | None
    reminders: int
    undelivered: int  # deliveries of it not sent yet (pending, failed)


def listed_alerts(
    con: duckdb.DuckDBPyConnection, now: datetime, *, everything: bool = False, limit: int = 200
) -> list[ListedAlert]:
    """Open alerts (``everything``: every alert), newest first, with their acknowledgement and snooze."""
    if not has_alert_tables(con):
        return []
    if not has_operations(con):
        rows = con.execute(
            """SELECT alert_id, raised_at, budget, kind, subject, period, status, title, NULL, NULL, 0, 0
               FROM alerts WHERE ? OR status = 'active' ORDER BY raised_at DESC, alert_id DESC LIMIT ?""",
            [everything, limit],
        ).fetchall()
    else:
        rows = con.execute(
            """SELECT a.alert_id, a.raised_at, a.budget, a.kind, a.subject, a.period, a.status, a.title, a.acked_at,
                      (SELECT max(s.until) FROM alert_snoozes s WHERE s.budget = a.budget AND s.kind = a.kind
                         AND s.subject = a.subject AND s.until > ?),
                      coalesce(a.reminders, 0),
                      (SELECT count(*) FROM alert_deliveries d WHERE d.alert_id = a.alert_id
                         AND d.status IN ('pending', 'failed'))
               FROM alerts a WHERE ? OR a.status = 'active'
               ORDER BY a.raised_at DESC, a.alert_id DESC LIMIT ?""",
            [now, everything, limit],
        ).fetchall()
    return [
        ListedAlert(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], int(r[10]), int(r[11]))
        for r in rows
    ]
