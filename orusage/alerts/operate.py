"""The operator's controls: `orusage alerts list`, `ack ID`, `snooze ID --for 24h` and `test-send`.

``list`` reads the snapshot (safe while an ingest runs); ``ack`` and ``snooze`` write through the one writer
(waiting for it like `alerts check`); ``test-send`` sends a test message to every configured channel without
the lock, then records each channel's health: a channel that was disabled and now works is re-enabled and
sent what it missed as one digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from core import fmt
from core.clock import alerts_now
from core.errors import EXIT_UNAVAILABLE, ConfigError, OrusageError
from orusage.alerts import outbox
from orusage.alerts.delivery import Channel, DeliveryError, Message
from orusage.alerts.runner import LOCK_WAIT_S, Batch, Prepared, RunResult, send_and_record
from queries import alert_channels, alert_state
from queries.store import NoSnapshotError, Writer, read_snapshot

MAX_SNOOZE = timedelta(days=365)
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


class SendTestFailedError(OrusageError):
    """A channel did not take the test message."""

    exit_code = EXIT_UNAVAILABLE


def parse_duration(text: str) -> timedelta:
    """'24h', '30m', '2d', '1w', '1d12h' → a duration (at least a minute, at most a year)."""
    parts = re.findall(r"(\d+)\s*([wdhm])", text.strip().lower())
    if not parts or re.sub(r"(\d+)\s*([wdhm])|\s", "", text.strip().lower()):
        raise ConfigError(f"--for {text!r} is not a duration.", "Use e.g. 24h, 30m, 2d, 1w or 1d12h.")
    delta = timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))
    if delta < timedelta(minutes=1) or delta > MAX_SNOOZE:
        raise ConfigError(f"--for {text!r} is out of range.", "Snooze for at least a minute and at most a year.")
    return delta


def _subject(a: alert_state.ListedAlert) -> str:
    """The budget (or the account) and what within it; a key's hash is left out: its title names the key."""
    where = f"budget {a.budget!r}" if a.budget else "account"
    subject = "" if re.fullmatch(r"[0-9a-f]{64}", a.subject) else a.subject
    return f"{where}{' · ' + subject if subject else ''}"


def render_list(alerts: list[alert_state.ListedAlert], now: datetime, everything: bool) -> str:
    if not alerts:
        return "No alert raised yet." if everything else "No open alert."
    lines = [f"{'id':>5}  {'age':<12} {'kind':<13} {'what':<34} title"]
    for a in alerts:
        flags = []
        if a.status != "active":
            flags.append(a.status)
        if a.acked_at is not None:
            flags.append("acknowledged")
        if a.snoozed_until is not None:
            flags.append(f"snoozed until {a.snoozed_until:%Y-%m-%d %H:%M} UTC")
        if a.undelivered:
            flags.append(f"{a.undelivered} undelivered")
        age = fmt.duration(now - a.raised_at)
        what = _subject(a)
        what = what if len(what) <= 34 else what[:33] + "…"
        lines.append(
            f"{a.alert_id:>5}  {age:<12} {a.kind:<13} {what:<34} {a.title}"
            + (f"  [{', '.join(flags)}]" if flags else "")
        )
    return "\n".join(lines)


def list_alerts(db: Path, now: datetime, everything: bool) -> list[alert_state.ListedAlert]:
    with read_snapshot(db) as con:
        return alert_state.listed_alerts(con, now, everything=everything)


def _open(con_alert: alert_state.AlertRow | None, alert_id: int) -> alert_state.AlertRow:
    if con_alert is None:
        raise ConfigError(f"no alert {alert_id}.", "`orusage alerts list` shows the open alerts and their ids.")
    if con_alert.status != "active":
        raise ConfigError(
            f"alert {alert_id} is not open ({con_alert.status}): {con_alert.title}.",
            "`orusage alerts list` shows the open alerts.",
        )
    return con_alert


def _writer(db: Path) -> Writer:
    if not db.exists():
        raise NoSnapshotError(f"no data yet in {db}.", "Run `orusage ingest` first.")
    return Writer(db, wait_s=LOCK_WAIT_S)


def acknowledge(db: Path, alert_id: int, now: datetime) -> alert_state.AlertRow:
    """No more reminders for this alert while it stays open; its recovery notice still goes out."""
    with _writer(db) as writer:
        alert = _open(alert_state.alert_by_id(writer.con, alert_id), alert_id)
        with writer.transaction() as con:
            alert_state.ack_alert(con, alert_id, now)
    return alert


def snooze(db: Path, alert_id: int, length: timedelta, now: datetime) -> tuple[alert_state.AlertRow, datetime]:
    """Mute every delivery of the alert's rule and scope until now + ``length``; evaluation goes on."""
    with _writer(db) as writer:
        alert = _open(alert_state.alert_by_id(writer.con, alert_id), alert_id)
        until = now + length
        with writer.transaction() as con:
            alert_state.snooze(con, alert, until, now)
    return alert, until


@dataclass
class ProbeResult:
    ok: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # 'channel: error'
    reenabled: list[str] = field(default_factory=list)
    digest: RunResult | None = None


def probe_message(now: datetime) -> Message:
    return Message(
        "Test message from openrouter-usage",
        f"`orusage alerts test-send` at {fmt.utc_time(now)}: if you can read this, alerts reach this channel.",
        kind="test",
        event="test",
        delivery_id=outbox.new_test_id(),
    )


def send_probes(prepared: Prepared, only: str | None) -> ProbeResult:
    """Send a test message to each configured channel (or only ``only``); then, if a store exists, record
    each channel's health and send a re-enabled channel its digest."""
    channels: list[Channel] = [c for c in prepared.channels if only is None or c.name == only]
    if only is not None and not channels:
        names = ", ".join(c.name for c in prepared.channels)
        raise ConfigError(f"--channel {only!r} is not configured.", f"Configured channels: {names}.")
    now = alerts_now()
    result = ProbeResult()
    for channel in channels:
        try:
            channel.send(probe_message(now))
            result.ok.append(channel.name)
        except DeliveryError as exc:
            result.failed.append(f"{channel.name}: {exc}")
    db = prepared.db_path
    if not db.exists():
        return result
    owner = outbox.owner_id()
    with Writer(db, wait_s=LOCK_WAIT_S) as writer, writer.transaction() as con:
        outbox.register(con, channels, now)
        sends: list[outbox.Send] = []
        for name in result.ok:
            if alert_channels.channel_succeeded(con, name, now):
                result.reenabled.append(name)
                sends += outbox.backlog(con, name, owner, now)
    if sends:
        result.digest = send_and_record(db, Batch(RunResult(), owner, sends), channels)
    return result
