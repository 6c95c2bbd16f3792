"""`orusage report weekly --send`: deliver the report through the alert channels (``orusage.alerts``).

* e-mail: the HTML with its charts inline (``multipart/related``, ``cid:`` images; ``orusage.review.mail``);
* generic webhook: the Markdown (without images: a webhook receiver cannot fetch local files);
* Slack and stdout: a few summary lines (Slack shows no Markdown tables).

Every configured channel is tried; failures are named together at the end (exit 4), nothing is retried.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from orusage.alerts.delivery import Channel, DeliveryError, EmailChannel, Message, WebhookChannel
from orusage.alerts.runner import DeliveryFailedError, prepare
from orusage.review.document import summary_text
from orusage.review.mail import build_email
from orusage.review.rendered import Report
from orusage.settings import Settings


def _smtp_send(channel: EmailChannel, mail: EmailMessage) -> None:
    """Send a prepared message with the e-mail channel's server, TLS and login.

    The alerts' ``EmailChannel.send`` builds its own plain-text message; this is its transport for a message
    built elsewhere. Once the channel offers sending a prepared message, call that instead.
    """
    cfg = channel.config
    try:
        smtp = (
            smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=channel.timeout, context=channel.context)
            if cfg.ssl
            else smtplib.SMTP(cfg.host, cfg.port, timeout=channel.timeout)
        )
        with smtp:
            smtp.ehlo()
            if cfg.starttls and not cfg.ssl:
                smtp.starttls(context=channel.context)
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, channel.password.get_secret_value() if channel.password else "")
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP authentication failed ({exc.smtp_code}); check ORUSAGE_SMTP_PASSWORD") from None
    except (smtplib.SMTPException, OSError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if channel.password is not None and channel.password.get_secret_value():
            text = text.replace(channel.password.get_secret_value(), "<secret>")
        raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: {type(exc).__name__}: {text}") from None


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
                _smtp_send(channel, email_for(report, channel))
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
