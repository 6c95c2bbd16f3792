"""`orusage alerts check` and `orusage ingest --alerts`: evaluate, record, deliver.

A writer command (same lock as ingest). One run: read the facts and the stored alert state, plan what is
new (``plan``), record it with one pending delivery per channel in one transaction, then send every
delivery that is due (this run's and earlier failures), recording each attempt in its own transaction.
A process killed between sending and recording may send that one message again at the next run; nothing
is ever dropped. ``--dry-run`` reads only the snapshot and prints what would be sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from core.clock import alerts_now
from core.errors import EXIT_UNAVAILABLE, OrusageError
from core.settings import Settings
from orusage.alerts.config import Config, load_config
from orusage.alerts.delivery import Channel, DeliveryError, DeliverySecrets, Message, channels_for
from orusage.alerts.evaluate import Evaluation, evaluate, page_rows
from orusage.alerts.findings import AlertKey
from orusage.alerts.plan import ACTIVE, Plan, StoredAlert, plan
from queries import alert_state
from queries.store import NoSnapshotError, Writer, read_snapshot

MAX_ATTEMPTS = 48  # a delivery still failing after this many runs stays listed as failed, no longer retried


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

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        state = "dry run" if self.dry_run else ("delivery failed" if self.failures else "ok")
        line = (
            f"alerts {state}: {self.budgets} budgets checked, {self.raised} raised, {self.cleared} cleared, "
            f"{self.sent} messages {verb}"
        )
        return line + (f", {len(self.failures)} failed" if self.failures else "")

    def raise_for_failures(self) -> None:
        if self.failures:
            raise DeliveryFailedError(
                f"{self.summary()}: {self.failures[0]}.",
                "They are kept and retried at the next run; `orusage alerts check --dry-run` lists them.",
            )


def _stored(rows: Sequence[alert_state.AlertRow]) -> list[StoredAlert]:
    return [
        StoredAlert(r.alert_id, AlertKey(r.budget, r.kind, r.subject, r.period, r.threshold), r.status) for r in rows
    ]


def _record(writer: Writer, p: Plan, e: Evaluation, channels: Sequence[Channel], now: datetime) -> None:
    statuses, days = page_rows(e, now)
    with writer.transaction() as con:
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
                for channel in channels:
                    alert_state.queue_delivery(con, alert_id, "raised", channel.name, f.title, f.message, now)
        for clear in p.clears:
            alert_state.clear_alert(con, clear.alert_id, now)
            r = clear.recovery
            for channel in channels:
                alert_state.queue_delivery(con, clear.alert_id, "cleared", channel.name, r.title, r.message, now)
        alert_state.replace_budget_status(con, statuses, days, e.teams)


def deliver(writer: Writer, channels: Sequence[Channel], clock: Callable[[], datetime]) -> tuple[int, list[str]]:
    """Send every delivery that is due; (messages sent, one line per failure)."""
    by_name = {c.name: c for c in channels}
    sent, failures = 0, []
    for due in alert_state.deliveries_due(writer.con, list(by_name), MAX_ATTEMPTS):
        message = Message(due.title, due.message, due.kind, due.event, due.budget)
        error: str | None = None
        try:
            by_name[due.channel].send(message)
            sent += 1
        except DeliveryError as exc:
            error = str(exc) or "failed"
            failures.append(f"{due.channel}: {error}")
        with writer.transaction() as con:
            alert_state.record_attempt(con, due.delivery_id, clock(), error)
    return sent, failures


def check(
    writer: Writer, config: Config, channels: Sequence[Channel], clock: Callable[[], datetime] = alerts_now
) -> RunResult:
    """One alerts run inside an open writer session (after an ingest, or on its own)."""
    now = clock()
    stored = _stored(alert_state.stored_alerts(writer.con))
    e = evaluate(writer.con, config, now, stored)
    p = plan(e.outcomes, stored)
    _record(writer, p, e, channels, now)
    sent, failures = deliver(writer, channels, clock)
    return RunResult(len(e.facts), len(p.raised), len(p.clears), sent, failures, e.warnings)


def preview(
    db_path: Path, config: Config, channels: Sequence[Channel], echo: Callable[[str], None], now: datetime
) -> RunResult:
    """What a run would send, from the snapshot; changes nothing."""
    with read_snapshot(db_path) as con:
        stored = _stored(alert_state.stored_alerts(con))
        e = evaluate(con, config, now, stored)
        due = alert_state.deliveries_due(con, [c.name for c in channels], MAX_ATTEMPTS)
    p = plan(e.outcomes, stored)
    names = ", ".join(c.name for c in channels)
    messages = [("raised", f.title, f.message) for f in p.raised]
    messages += [("cleared", c.recovery.title, c.recovery.message) for c in p.clears]
    for event, title, text in messages:
        echo(f"would send to {names}: [{event}] {title}\n    {text}")
    for d in due:
        echo(f"would retry ({d.status}, {d.attempts} attempts) to {d.channel}: [{d.event}] {d.title}")
    sent = len(messages) * len(channels) + len(due)
    return RunResult(len(e.facts), len(p.raised), len(p.clears), sent, [], e.warnings, dry_run=True)


def secrets_from(settings: Settings) -> DeliverySecrets:
    return DeliverySecrets(
        webhook_url=settings.orusage_webhook_url,
        slack_url=settings.orusage_slack_webhook_url,
        smtp_password=settings.orusage_smtp_password,
    )


@dataclass
class Prepared:
    """A checked config and its channels: built before an ingest, so a bad config fails fast."""

    config: Config
    channels: list[Channel]
    last: RunResult | None = None

    def run(self, writer: Writer) -> RunResult:
        self.last = check(writer, self.config, self.channels)
        return self.last

    def after_ingest(self, writer: Writer) -> str:
        """For `ingest --alerts`: the run's summary line (failed deliveries are named, not raised)."""
        result = self.run(writer)
        return result.summary() + (f" ({result.failures[0]}; retried at the next run)" if result.failures else "")

    def raise_for_failures(self) -> None:
        if self.last is not None:
            self.last.raise_for_failures()


def prepare(settings: Settings, echo: Callable[[str], None], config_path: Path | None = None) -> Prepared:
    config = load_config((config_path or settings.orusage_config).expanduser())
    return Prepared(config, channels_for(config, secrets_from(settings), echo, settings.orusage_http_timeout))


def run_check(
    settings: Settings, echo: Callable[[str], None], *, config_path: Path | None = None, dry_run: bool = False
) -> RunResult:
    """`orusage alerts check`: returns the result; raises OrusageError (exit code) on failure."""
    prepared = prepare(settings, echo, config_path)
    db = settings.orusage_db.expanduser()
    if dry_run:
        return preview(db, prepared.config, prepared.channels, echo, alerts_now())
    if not db.exists():
        raise NoSnapshotError(f"no data yet in {db}.", "Run `orusage ingest` first.")
    with Writer(db) as writer:
        return prepared.run(writer)
