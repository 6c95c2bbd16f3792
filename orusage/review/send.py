"""`orusage report weekly --send`: deliver the report through the alert channels (``orusage.alerts``).

* e-mail: the HTML with its charts inline (``multipart/related``, ``cid:`` images; ``orusage.review.mail``);
* generic webhook: the Markdown (without images: a webhook receiver cannot fetch local files);
* Slack, Discord, Teams and stdout: a few summary lines (they show no Markdown tables).

Each send is recorded per week and channel (``queries.report_sends``): a rerun does not send it again to a
channel that has it, unless ``--resend``. Channels are claimed under the writer lock, sent without it, and
recorded under it again, like the alerts; every message carries its ``X-Orusage-Delivery-Id``. Failures
are named together at the end (exit 4); a rerun retries the channels that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from core.clock import alerts_now
from core.settings import Settings
from orusage.alerts import outbox
from orusage.alerts.delivery import DELIVERY_ID_HEADER, Channel, DeliveryError, EmailChannel, Message, WebhookChannel
from orusage.alerts.runner import LOCK_WAIT_S, RECORD_WAIT_S, DeliveryFailedError, prepare
from orusage.review.document import summary_text
from orusage.review.mail import build_email
from orusage.review.rendered import Report
from queries import report_sends
from queries.store import Writer

REPORT = "weekly"


def email_for(report: Report, channel: EmailChannel, delivery_id: str = "") -> EmailMessage:
    cfg = channel.config
    mail = build_email(
        subject=f"[orusage] {report.title}",
        sender=cfg.sender,
        to=cfg.to,
        title=report.title,
        blocks=report.blocks,
        images=report.images,
        text=report.markdown(None),
    )
    if delivery_id:
        mail[DELIVERY_ID_HEADER] = delivery_id
    return mail


def send_one(report: Report, channel: Channel, delivery_id: str = "") -> None:
    """The report in the form this channel shows best; DeliveryError when it is not delivered."""
    if isinstance(channel, EmailChannel):
        channel.send_message(email_for(report, channel, delivery_id))
    elif isinstance(channel, WebhookChannel):
        channel.send(Message(report.title, report.markdown(None), "report", "report", "", delivery_id))
    else:
        channel.send(Message(report.title, summary_text(report.review), "report", "report", "", delivery_id))


def deliver(report: Report, channels: list[Channel]) -> tuple[list[str], list[str]]:
    """Send to every channel, unrecorded: (channels delivered to, one line per failure)."""
    sent: list[str] = []
    failures: list[str] = []
    for channel in channels:
        try:
            send_one(report, channel)
            sent.append(channel.name)
        except DeliveryError as exc:
            failures.append(f"{channel.name}: {exc}")
    return sent, failures


@dataclass
class SendResult:
    sent: list[str] = field(default_factory=list)
    skipped: list[report_sends.AlreadySent] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self, week: str) -> str:
        parts = [f"sent to {', '.join(self.sent)}"] if self.sent else ["nothing sent"]
        for s in self.skipped:
            if s.busy:
                parts.append(f"{s.channel} is being sent by another run")
            else:
                when = f" on {s.sent_at:%Y-%m-%d %H:%M} UTC" if s.sent_at else ""
                parts.append(f"already sent to {s.channel}{when} (--resend sends it again)")
        return f"report {week}: " + "; ".join(parts)


def send_report(
    report: Report,
    settings: Settings,
    echo: Callable[[str], None],
    config_path: Path | None = None,
    *,
    week: str,
    resend: bool = False,
    clock: Callable[[], datetime] = alerts_now,
) -> SendResult:
    """Send through the channels of the alerts config, once per week and channel (``resend``: again);
    raises DeliveryFailedError (exit 4) when a channel fails."""
    prepared = prepare(settings, echo, config_path)
    channels = {c.name: c for c in prepared.channels}
    owner, now = outbox.owner_id(), clock()
    with Writer(prepared.db_path, wait_s=LOCK_WAIT_S) as writer, writer.transaction() as con:
        sends, skipped = report_sends.claim(con, REPORT, week, list(channels), owner, now, now + outbox.LEASE, resend)
    result = SendResult(skipped=skipped)
    outcomes: list[tuple[str, str | None]] = []
    for send in sends:
        try:
            send_one(report, channels[send.channel], send.delivery_key)
            outcomes.append((send.channel, None))
            result.sent.append(send.channel)
        except DeliveryError as exc:
            outcomes.append((send.channel, str(exc) or "failed"))
            result.failures.append(f"{send.channel}: {exc}")
    if outcomes:
        with Writer(prepared.db_path, wait_s=RECORD_WAIT_S) as writer, writer.transaction() as con:
            for channel, error in outcomes:
                report_sends.record(con, REPORT, week, channel, clock(), error)
    if result.failures:
        raise DeliveryFailedError(
            f"the report was sent to {len(result.sent)} of {len(sends)} channels: {'; '.join(result.failures)}.",
            "Check the [delivery] section of the alerts config (and its secrets), then run it again: channels "
            "that have it already are not sent it twice.",
        )
    return result
