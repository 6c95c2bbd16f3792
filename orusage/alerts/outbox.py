"""One sender under concurrency: claim under the writer lock, send without it, record under it again.

1. In the writer's transaction (``claim``): every configured channel is registered (a changed config
   re-enables a disabled one), and the deliveries due to enabled channels are claimed with this run's
   owner id and a lease. A re-enabled channel's backlog is claimed as one digest. Another run, started at
   the same moment, finds them claimed and leaves them alone; so each message is sent once.
2. The lock is released; ``send_all`` sends each claimed message (a slow channel holds up nobody). A
   channel that fails is not tried again in this run: one failure per channel per run.
3. Under the lock again (``record``): sent, failed (kept, retried at the next run) or given back. A channel
   that failed in ``FAILURES_TO_DISABLE`` runs in a row is disabled; its messages are kept, never dropped,
   and go out as one digest when it is re-enabled (a successful `alerts test-send`, or a change of its
   config).

A process that dies between sending and recording leaves its claims to expire: the next run after the lease
sends them again, with the same ``X-Orusage-Delivery-Id``. Delivery is at least once.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from orusage.alerts.delivery import Channel, DeliveryError, Message
from queries import alert_channels, alert_state

if TYPE_CHECKING:
    import duckdb

FAILURES_TO_DISABLE = 5
MAX_ATTEMPTS = 48  # a delivery still failing after this many tries is no longer retried (a digest still takes it)
LEASE = timedelta(minutes=15)  # longer than any run takes to send what it claimed
DIGEST_LINES = 50


def owner_id() -> str:
    """Who holds a claim: host, process and a random part (a pid can be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Send:
    """One message to one channel: a delivery, or a digest of several."""

    channel: str
    message: Message
    delivery_ids: tuple[int, ...]
    digest: bool = False


@dataclass(frozen=True)
class SendResult:
    send: Send
    error: str | None
    tried: bool = True


@dataclass
class Recorded:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)  # channels this run disabled
    reenabled: list[str] = field(default_factory=list)


def _message(row: alert_state.DeliveryRow) -> Message:
    event = "reminder" if row.event.startswith("reminder") else row.event
    return Message(row.title, row.message, row.kind, event, row.budget, row.delivery_key)


def digest_message(channel: str, rows: Sequence[alert_state.DeliveryRow]) -> Message:
    """Everything a re-enabled channel missed, oldest first, as one message."""
    lines = [f"• [{r.event.split(' ')[0]}] {r.title} ({r.created_at:%Y-%m-%d %H:%M} UTC): {r.message}" for r in rows]
    more = len(lines) - DIGEST_LINES
    shown = lines[:DIGEST_LINES] + ([f"… and {more} more (the Budgets page lists them all)."] if more > 0 else [])
    title = f"{len(rows)} alert messages held while {channel} was disabled"
    text = f"The {channel} channel failed {FAILURES_TO_DISABLE} runs in a row and was disabled; it works again. "
    text += "What it missed:\n\n" + "\n".join(shown)
    return Message(title, text, "digest", "digest", "", str(uuid.uuid4()))


def register(con: duckdb.DuckDBPyConnection, channels: Sequence[Channel], now: datetime) -> list[str]:
    """Record the configured channels; the names of those a config change re-enabled."""
    return [c.name for c in channels if alert_channels.register_channel(con, c.name, c.fingerprint, now)]


def backlog(con: duckdb.DuckDBPyConnection, channel: str, owner: str, now: datetime) -> list[Send]:
    """A re-enabled channel's backlog: one digest (or the one message it missed)."""
    rows = alert_state.claim_backlog(con, channel, owner, now, now + LEASE)
    if not rows:
        return []
    if len(rows) == 1:
        return [Send(channel, _message(rows[0]), (rows[0].delivery_id,))]
    return [Send(channel, digest_message(channel, rows), tuple(r.delivery_id for r in rows), digest=True)]


def claim(
    con: duckdb.DuckDBPyConnection,
    channels: Sequence[Channel],
    owner: str,
    now: datetime,
    reenabled: Collection[str] = (),
) -> list[Send]:
    """Claim what is due (in the caller's transaction, under the writer lock)."""
    sends = [s for name in reenabled for s in backlog(con, name, owner, now)]
    states = alert_channels.channel_states(con)
    enabled = [c.name for c in channels if c.name not in states or not states[c.name].disabled]
    for row in alert_state.claim_due(con, enabled, owner, now, now + LEASE, MAX_ATTEMPTS):
        sends.append(Send(row.channel, _message(row), (row.delivery_id,)))
    return sends


def send_all(sends: Sequence[Send], channels: Mapping[str, Channel]) -> list[SendResult]:
    """Send each claimed message (no lock held); after a channel's first failure, skip its others."""
    results: list[SendResult] = []
    failed: set[str] = set()
    for send in sends:
        if send.channel in failed:
            results.append(SendResult(send, None, tried=False))
            continue
        try:
            channels[send.channel].send(send.message)
            results.append(SendResult(send, None))
        except DeliveryError as exc:
            failed.add(send.channel)
            results.append(SendResult(send, str(exc) or "failed"))
    return results


def record(con: duckdb.DuckDBPyConnection, owner: str, results: Sequence[SendResult], now: datetime) -> Recorded:
    """Record what happened (in the caller's transaction, under the writer lock)."""
    out = Recorded()
    succeeded: set[str] = set()
    errors: dict[str, str] = {}
    for r in results:
        ids = r.send.delivery_ids
        if not r.tried:
            alert_state.release(con, ids, owner)
        elif r.error is None:
            alert_state.record_sent(con, ids, now, r.send.message.delivery_id if r.send.digest else None)
            out.sent += 1
            succeeded.add(r.send.channel)
        else:
            alert_state.record_failed(con, ids, now, r.error)
            out.failures.append(f"{r.send.channel}: {r.error}")
            errors.setdefault(r.send.channel, r.error)
    for channel in sorted(succeeded):
        if alert_channels.channel_succeeded(con, channel, now):
            out.reenabled.append(channel)
    for channel, error in sorted(errors.items()):
        if channel not in succeeded and alert_channels.channel_failed(con, channel, now, error, FAILURES_TO_DISABLE):
            out.disabled.append(channel)
    return out


def new_test_id() -> str:
    return f"test-{uuid.uuid4()}"
