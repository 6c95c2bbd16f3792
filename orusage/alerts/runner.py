"""`orusage alerts check` and `orusage ingest --alerts`: evaluate, record, claim; send; record.

A writer command in three steps, so that the writer lock is never held while a channel is slow:

1. under the lock (the ingest's, for ``ingest --alerts``): read the facts and the stored state, plan what is
   new (``plan``), record it with one delivery per channel (``muted`` while snoozed), and claim what is due
   (``outbox.claim``: owner and lease) — all in one transaction;
2. without the lock: send what was claimed;
3. under the lock again: record each attempt and each channel's health (``outbox.record``).

Two runs started at the same moment send each message once (the second finds it claimed); a process killed
between sending and recording may send that one message again once its lease ends (at least once, with the
same ``X-Orusage-Delivery-Id``); nothing is ever dropped. ``--dry-run`` reads only the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from core.clock import alerts_now
from core.errors import EXIT_UNAVAILABLE, OrusageError, StoreError
from core.settings import Settings
from orusage.alerts import outbox
from orusage.alerts.config import Config, load_config
from orusage.alerts.delivery import Channel, DeliverySecrets, channels_for
from orusage.alerts.evaluate import Evaluation, evaluate, page_rows
from orusage.alerts.findings import AlertKey
from orusage.alerts.plan import ACTIVE, CLOSED, Plan, StoredAlert, plan
from queries import alert_channels, alert_state, budget_periods
from queries.store import NoSnapshotError, Writer, read_snapshot

MAX_ATTEMPTS = outbox.MAX_ATTEMPTS
Rule = tuple[str, str, str]  # (budget, kind, subject): what a snooze mutes
LOCK_WAIT_S = 60.0  # a run waits this long for another writer (a racing check, an ingest) before exit 5
RECORD_WAIT_S = 300.0  # after sending, how long to wait for the lock to record it


class DeliveryFailedError(OrusageError):
    """Some messages could not be delivered; they are kept and retried at the next run."""

    exit_code = EXIT_UNAVAILABLE


@dataclass
class RunResult:
    budgets: int = 0
    raised: int = 0
    cleared: int = 0
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    reminded: int = 0
    muted: int = 0
    disabled: list[str] = field(default_factory=list)  # channels disabled (by this run or before)

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        state = "dry run" if self.dry_run else ("delivery failed" if self.failures else "ok")
        line = (
            f"alerts {state}: {self.budgets} budgets checked, {self.raised} raised, {self.cleared} cleared, "
            f"{self.sent} messages {verb}"
        )
        line += f", {len(self.failures)} failed" if self.failures else ""
        line += f", {self.reminded} reminders" if self.reminded else ""
        line += f", {self.muted} muted (snoozed)" if self.muted else ""
        if self.disabled:
            line += f"; disabled: {', '.join(self.disabled)} (messages kept; `orusage alerts test-send` re-enables)"
        return line

    def raise_for_failures(self) -> None:
        if self.failures:
            raise DeliveryFailedError(
                f"{self.summary()}: {self.failures[0]}.",
                "They are kept and retried at the next run; `orusage alerts check --dry-run` lists them.",
            )


def _stored(rows: Sequence[alert_state.AlertRow]) -> list[StoredAlert]:
    return [
        StoredAlert(
            r.alert_id,
            AlertKey(r.budget, r.kind, r.subject, r.period, r.threshold),
            r.status,
            r.acked_at is not None,
            r.notified_at or r.raised_at,
        )
        for r in rows
    ]


def _plan(
    e: Evaluation, stored: list[StoredAlert], config: Config, now: datetime, snoozed: Mapping[Rule, datetime]
) -> Plan:
    return plan(
        e.outcomes,
        stored,
        now=now,
        remind_hours=config.rules.remind_hours,
        snoozed=snoozed,
        budgets={f.budget.name for f in e.facts},
    )


def _record(writer: Writer, p: Plan, e: Evaluation, channels: Sequence[Channel], now: datetime) -> int:
    """Record the plan and the page's tables; the number of messages muted by a snooze."""
    statuses, days = page_rows(e, now)
    muted = 0
    con = writer.con
    for new in p.new:
        f = new.finding
        alert_id = alert_state.insert_alert(
            con,
            budget=f.key.budget,
            kind=f.key.kind,
            subject=f.key.subject,
            period=f.key.period,
            threshold=f.key.threshold,
            status=new.status,
            at=now,
            limit_usd=f.limit_usd,
            spend_usd=f.spend_usd,
            title=f.title,
            message=f.message,
        )
        if new.status == ACTIVE:
            status = alert_state.MUTED if new.muted else alert_state.PENDING
            muted += len(channels) if new.muted else 0
            for channel in channels:
                alert_state.queue_delivery(con, alert_id, "raised", channel.name, f.title, f.message, now, status)
    for clear in p.clears:
        alert_state.clear_alert(con, clear.alert_id, now)
        r = clear.recovery
        status = alert_state.MUTED if clear.muted else alert_state.PENDING
        muted += len(channels) if clear.muted else 0
        for channel in channels:
            alert_state.queue_delivery(con, clear.alert_id, "cleared", channel.name, r.title, r.message, now, status)
    for reminder in p.reminders:
        number = alert_state.mark_reminded(con, reminder.alert_id, now)
        f = reminder.finding
        title, event = f"Reminder: {f.title}", f"reminder {number}"
        for channel in channels:
            alert_state.queue_delivery(con, reminder.alert_id, event, channel.name, title, f.message, now)
    for alert_id in p.closes:
        alert_state.clear_alert(con, alert_id, now, CLOSED)
    for seen in e.seen_periods:
        budget_periods.mark_seen(con, *seen, now)
    for budget, label, final in e.closed_periods:
        budget_periods.close(con, budget, label, final, now)
    alert_state.replace_budget_status(con, statuses, days, e.teams)
    return muted


@dataclass
class Batch:
    """What step 1 leaves for steps 2 and 3."""

    result: RunResult
    owner: str
    sends: list[outbox.Send]


def evaluate_and_claim(
    writer: Writer, config: Config, channels: Sequence[Channel], clock: Callable[[], datetime] = alerts_now
) -> Batch:
    """Step 1, inside an open writer session: evaluate, record, claim."""
    now = clock()
    stored = _stored(alert_state.stored_alerts(writer.con))
    snoozed = alert_state.snoozed(writer.con, now)
    e = evaluate(writer.con, config, now, stored)
    p = _plan(e, stored, config, now, snoozed)
    owner = outbox.owner_id()
    with writer.transaction() as con:
        muted = _record(writer, p, e, channels, now)
        reenabled = outbox.register(con, channels, now)
        sends = outbox.claim(con, channels, owner, now, reenabled)
        states = alert_channels.channel_states(con)
    disabled = sorted(c.name for c in channels if c.name in states and states[c.name].disabled)
    result = RunResult(
        len(e.facts), len(p.raised), len(p.clears), 0, [], e.warnings,
        reminded=len(p.reminders), muted=muted, disabled=disabled,
    )  # fmt: skip
    return Batch(result, owner, sends)


def send_and_record(
    db_path: Path, batch: Batch, channels: Sequence[Channel], clock: Callable[[], datetime] = alerts_now
) -> RunResult:
    """Steps 2 and 3: send what was claimed (no lock held), then record it under the lock."""
    result = batch.result
    if not batch.sends:
        return result
    results = outbox.send_all(batch.sends, {c.name: c for c in channels})
    try:
        with Writer(db_path, wait_s=RECORD_WAIT_S) as writer, writer.transaction() as con:
            recorded = outbox.record(con, batch.owner, results, clock())
    except StoreError as exc:
        sent = sum(1 for r in results if r.tried and r.error is None)
        raise StoreError(
            f"{sent} alert messages were sent but could not be recorded: {exc.message}",
            "They will be sent again once their lease ends (15 min), with the same X-Orusage-Delivery-Id.",
        ) from None
    result.sent += recorded.sent
    result.failures += recorded.failures
    result.disabled = sorted((set(result.disabled) | set(recorded.disabled)) - set(recorded.reenabled))
    return result


def check(
    db_path: Path, config: Config, channels: Sequence[Channel], clock: Callable[[], datetime] = alerts_now
) -> RunResult:
    """One whole run on the database at ``db_path``: step 1 under the writer lock, step 2 without it, step 3
    under it again."""
    if not db_path.exists():
        raise NoSnapshotError(f"no data yet in {db_path}.", "Run `orusage ingest` first.")
    with Writer(db_path, wait_s=LOCK_WAIT_S) as writer:
        batch = evaluate_and_claim(writer, config, channels, clock)
    return send_and_record(db_path, batch, channels, clock)


def preview(
    db_path: Path, config: Config, channels: Sequence[Channel], echo: Callable[[str], None], now: datetime
) -> RunResult:
    """What a run would send, from the snapshot; changes nothing."""
    with read_snapshot(db_path) as con:
        stored = _stored(alert_state.stored_alerts(con))
        snoozed = alert_state.snoozed(con, now)
        e = evaluate(con, config, now, stored)
        due = alert_state.deliveries_due(con, [c.name for c in channels], MAX_ATTEMPTS)
        states = alert_channels.channel_states(con)
    p = _plan(e, stored, config, now, snoozed)
    names = ", ".join(c.name for c in channels)
    messages = [("raised", n.finding.title, n.finding.message) for n in p.new if n.status == ACTIVE and not n.muted]
    messages += [("cleared", c.recovery.title, c.recovery.message) for c in p.clears if not c.muted]
    messages += [("reminder", f"Reminder: {r.finding.title}", r.finding.message) for r in p.reminders]
    for event, title, text in messages:
        echo(f"would send to {names}: [{event}] {title}\n    {text}")
    for d in due:
        held = " (channel disabled: kept for its digest)" if d.channel in states and states[d.channel].disabled else ""
        echo(f"would retry ({d.status}, {d.attempts} attempts) to {d.channel}: [{d.event}] {d.title}{held}")
    sent = len(messages) * len(channels) + len(due)
    return RunResult(
        len(e.facts), len(p.raised), len(p.clears), sent, [], e.warnings, dry_run=True, reminded=len(p.reminders)
    )


def secrets_from(settings: Settings) -> DeliverySecrets:
    return DeliverySecrets(
        webhook_url=settings.orusage_webhook_url,
        slack_url=settings.orusage_slack_webhook_url,
        smtp_password=settings.orusage_smtp_password,
        discord_url=settings.orusage_discord_webhook_url,
        teams_url=settings.orusage_teams_webhook_url,
    )


@dataclass
class Prepared:
    """A checked config and its channels: built before an ingest, so a bad config fails fast."""

    config: Config
    channels: list[Channel]
    db_path: Path
    last: RunResult | None = None

    def run(self) -> RunResult:
        """`orusage alerts check`: the three steps, taking the writer lock for steps 1 and 3 only."""
        self.last = check(self.db_path, self.config, self.channels)
        return self.last

    def after_ingest(self, writer: Writer) -> Callable[[], str]:
        """For `ingest --alerts`: step 1 in the ingest's writer session; returns steps 2 and 3, to run once
        the ingest has released the lock, which give the run's summary line (failures named, not raised)."""
        batch = evaluate_and_claim(writer, self.config, self.channels)

        def finish() -> str:
            result = send_and_record(self.db_path, batch, self.channels)
            self.last = result
            failed = f" ({result.failures[0]}; retried at the next run)" if result.failures else ""
            return result.summary() + failed

        return finish

    def raise_for_failures(self) -> None:
        if self.last is not None:
            self.last.raise_for_failures()


def prepare(settings: Settings, echo: Callable[[str], None], config_path: Path | None = None) -> Prepared:
    config = load_config((config_path or settings.orusage_config).expanduser())
    channels = channels_for(config, secrets_from(settings), echo, settings.orusage_http_timeout)
    return Prepared(config, channels, settings.orusage_db.expanduser())


def run_check(
    settings: Settings, echo: Callable[[str], None], *, config_path: Path | None = None, dry_run: bool = False
) -> RunResult:
    """`orusage alerts check`: returns the result; raises OrusageError (exit code) on failure."""
    prepared = prepare(settings, echo, config_path)
    if dry_run:
        return preview(prepared.db_path, prepared.config, prepared.channels, echo, alerts_now())
    return prepared.run()
