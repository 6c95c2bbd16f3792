"""The weekly report's sends (the alert operations migration): one row per report × week × channel, so `orusage report
weekly --send` sends each once (``--resend`` asks for another), claimed like the alerts' deliveries so that
two runs at once send it once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from queries.alert_state import new_delivery_key


@dataclass(frozen=True)
class ReportSend:
    channel: str
    delivery_key: str


@dataclass(frozen=True)
class AlreadySent:
    channel: str
    sent_at: datetime | None
    busy: bool  # another run holds it right now (else: sent before)


def claim(
    con: duckdb.DuckDBPyConnection,
    report: str,
    period: str,
    channels: list[str],
    owner: str,
    now: datetime,
    lease_until: datetime,
    resend: bool,
) -> tuple[list[ReportSend], list[AlreadySent]]:
    """(what this run sends, what it leaves alone): a channel already sent to is left alone unless
    ``resend``; one another run is sending right now always is."""
    sends: list[ReportSend] = []
    skipped: list[AlreadySent] = []
    for channel in channels:
        row = con.execute(
            "SELECT status, sent_at, claimed_by, lease_until, delivery_key FROM report_deliveries "
            "WHERE report = ? AND period = ? AND channel = ?",
            [report, period, channel],
        ).fetchall()
        if row:
            status, sent_at, claimed_by, lease, key = row[0]
            if claimed_by is not None and lease is not None and lease > now:
                skipped.append(AlreadySent(channel, sent_at, True))
                continue
            if status == "sent" and not resend:
                skipped.append(AlreadySent(channel, sent_at, False))
                continue
            key = new_delivery_key() if status == "sent" else key  # a retry keeps its id, a resend is new
            con.execute(
                "UPDATE report_deliveries SET claimed_by = ?, lease_until = ?, delivery_key = ? "
                "WHERE report = ? AND period = ? AND channel = ?",
                [owner, lease_until, key, report, period, channel],
            )
        else:
            key = new_delivery_key()
            con.execute(
                """INSERT INTO report_deliveries (report, period, channel, status, delivery_key, claimed_by,
                                                  lease_until, created_at)
                   VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)""",
                [report, period, channel, key, owner, lease_until, now],
            )
        sends.append(ReportSend(channel, str(key)))
    return sends, skipped


def record(
    con: duckdb.DuckDBPyConnection, report: str, period: str, channel: str, at: datetime, error: str | None
) -> None:
    con.execute(
        """UPDATE report_deliveries SET attempts = attempts + 1, claimed_by = NULL, lease_until = NULL,
                  status = CASE WHEN ? IS NULL OR status = 'sent' THEN 'sent' ELSE 'failed' END,
                  sends = sends + CASE WHEN ? IS NULL THEN 1 ELSE 0 END,
                  sent_at = CASE WHEN ? IS NULL THEN ? ELSE sent_at END, error = ?
           WHERE report = ? AND period = ? AND channel = ?""",
        [error, error, error, at, error, report, period, channel],
    )
