"""`orusage report weekly --send`: deliver the report through the alert channels (``orusage.alerts``).

* e-mail: the HTML with its charts inline (``multipart/related``, ``cid:`` images; ``orusage.review.mail``);
* generic webhook: the Markdown (without images: a webhook receiver cannot fetch local files);
* Slack and stdout: a few summary lines (Slack shows no Markdown tables).

Every configured channel is tried; failures are named together at the end (exit 4), nothing is retried.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from core.settings import Settings
from orusage.alerts.delivery import Channel, DeliveryError, EmailChannel, Message, WebhookChannel
from orusage.alerts.runner import DeliveryFailedError, prepare
from orusage.review.document import summary_text
from orusage.review.mail import build_email
from orusage.review.rendered import Report


def email_for(report: Report, channel: EmailChannel) -> EmailMessage:
    cfg = channel.config
    return build_email(
        subject=f"[orusage] {report.title}",
        sender=cfg.sender,
        to=cfg.to,
        title=report.title,
        blocks=report.blocks,
        images=report.images,
        text=report.markdown(None),
    )


def deliver(report: Report, channels: list[Channel]) -> tuple[list[str], list[str]]:
    """(channels delivered to, one line per failure)."""
    sent: list[str] = []
    failures: list[str] = []
    for channel in channels:
        try:
            if isinstance(channel, EmailChannel):
                channel.send_message(email_for(report, channel))
            elif isinstance(channel, WebhookChannel):
                channel.send(Message(report.title, report.markdown(None), kind="report", event="report"))
            else:
                channel.send(Message(report.title, summary_text(report.review), kind="report", event="report"))
            sent.append(channel.name)
        except DeliveryError as exc:
            failures.append(f"{channel.name}: {exc}")
    return sent, failures


def send_report(
    report: Report, settings: Settings, echo: Callable[[str], None], config_path: Path | None = None
) -> list[str]:
    """Send through the channels of the alerts config; raises DeliveryFailedError (exit 4) on any failure."""
    prepared = prepare(settings, echo, config_path)
    sent, failures = deliver(report, prepared.channels)
    if failures:
        raise DeliveryFailedError(
            f"the report was sent to {len(sent)} of {len(prepared.channels)} channels: {'; '.join(failures)}.",
            "Check the [delivery] section of the alerts config (and its secrets), then send again.",
        )
    return sent
