"""Each alert delivery channel's health (the alert operations migration): failures in a row, disabled or
not, its last error and success, and how many messages it still owes. A channel failing
``failures_to_disable`` runs in a row is disabled; a successful send, or a change of its config (its
fingerprint), re-enables it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from queries.alert_state import has_operations


def _first(rows: list[Any]) -> Any:
    return rows[0] if rows else None


@dataclass(frozen=True)
class ChannelState:
    channel: str
    fingerprint: str
    failures_in_a_row: int
    disabled_at: datetime | None
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def channel_states(con: duckdb.DuckDBPyConnection) -> dict[str, ChannelState]:
    if not has_operations(con):
        return {}
    rows = con.execute(
        "SELECT channel, fingerprint, failures_in_a_row, disabled_at, last_error, last_failure_at, last_success_at "
        "FROM alert_channels ORDER BY channel"
    ).fetchall()
    return {r[0]: ChannelState(r[0], r[1], int(r[2]), r[3], r[4], r[5], r[6]) for r in rows}


def register_channel(con: duckdb.DuckDBPyConnection, channel: str, fingerprint: str, at: datetime) -> bool:
    """Record a configured channel; a changed config re-enables a disabled one (True: it was re-enabled)."""
    state = channel_states(con).get(channel)
    if state is None:
        con.execute(
            "INSERT INTO alert_channels (channel, fingerprint, failures_in_a_row, updated_at) VALUES (?, ?, 0, ?)",
            [channel, fingerprint, at],
        )
        return False
    if state.fingerprint == fingerprint:
        return False
    con.execute(
        "UPDATE alert_channels SET fingerprint = ?, failures_in_a_row = 0, disabled_at = NULL, updated_at = ? "
        "WHERE channel = ?",
        [fingerprint, at, channel],
    )
    return state.disabled


def channel_succeeded(con: duckdb.DuckDBPyConnection, channel: str, at: datetime) -> bool:
    """A message went through; True when that re-enabled a disabled channel."""
    state = channel_states(con).get(channel)
    con.execute(
        "UPDATE alert_channels SET failures_in_a_row = 0, disabled_at = NULL, last_success_at = ?, updated_at = ? "
        "WHERE channel = ?",
        [at, at, channel],
    )
    return state is not None and state.disabled


def channel_failed(
    con: duckdb.DuckDBPyConnection, channel: str, at: datetime, error: str, failures_to_disable: int
) -> bool:
    """One more failed run for the channel; True when this one disabled it."""
    row = _first(
        con.execute(
            """UPDATE alert_channels SET failures_in_a_row = failures_in_a_row + 1, last_error = ?,
                      last_failure_at = ?, updated_at = ?,
                      disabled_at = CASE WHEN disabled_at IS NULL AND failures_in_a_row + 1 >= ? THEN ?
                                         ELSE disabled_at END
               WHERE channel = ? RETURNING disabled_at""",
            [error, at, at, failures_to_disable, at, channel],
        ).fetchall()
    )
    return bool(row and row[0] == at)


@dataclass(frozen=True)
class ChannelHealth:
    channel: str
    failures_in_a_row: int
    disabled_at: datetime | None
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None
    held: int  # messages to it not delivered yet (kept for the next run, or for its digest)


def channel_health(con: duckdb.DuckDBPyConnection) -> list[ChannelHealth]:
    """Every channel an alerts run has used, with how many messages it still owes."""
    if not has_operations(con):
        return []
    rows = con.execute(
        """SELECT c.channel, c.failures_in_a_row, c.disabled_at, c.last_error, c.last_failure_at, c.last_success_at,
                  (SELECT count(*) FROM alert_deliveries d WHERE d.channel = c.channel
                     AND d.status IN ('pending', 'failed'))
           FROM alert_channels c ORDER BY c.channel"""
    ).fetchall()
    return [ChannelHealth(r[0], int(r[1]), r[2], r[3], r[4], r[5], int(r[6])) for r in rows]
