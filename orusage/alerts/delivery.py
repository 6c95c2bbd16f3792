"""Sending messages: a generic JSON webhook, a Slack-compatible incoming webhook, a Discord webhook, a
Microsoft Teams Workflows webhook (an Adaptive Card), e-mail over SMTP, stdout.

Reusable by anything that sends (alerts, the weekly report): build the channels with ``channels_for`` and
call ``send`` on each. A failed send raises ``DeliveryError`` with one line that never holds a secret
(webhook URLs carry tokens; they are ``SecretStr`` and scrubbed from any error text, with ``core.scrub``: a
receiver answering "Cannot POST /hook/TOKEN" gets its token masked). Every HTTP message carries its
``X-Orusage-Delivery-Id`` (the same on every retry of it), e-mails too, so a receiver can drop a message it
has already seen: delivery is at least once.

Each delivery has an overall deadline (``ORUSAGE_DELIVERY_DEADLINE``, 30 s): a webhook POST and a whole SMTP
session end by then, however slowly the peer trickles its answer. The alerts send without holding the
writer lock at all (``orusage.alerts.outbox``).
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from core import settings
from core.errors import ConfigError
from core.scrub import scrub
from ingest.deadline import deadline, deadline_client
from orusage.alerts.config import Config, EmailConfig

USER_AGENT = "openrouter-usage alerts"
DELIVERY_ID_HEADER = "X-Orusage-Delivery-Id"
DISCORD_MAX = 2000  # Discord refuses a `content` longer than this
TEAMS_CARD_VERSION = "1.4"


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    kind: str = ""  # the alert's kind (threshold, forecast, …) or e.g. 'report'
    event: str = "raised"  # raised | reminder | cleared | digest | test | report
    budget: str = ""
    delivery_id: str = ""  # sent as X-Orusage-Delivery-Id; the same on every retry of this message


class DeliveryError(Exception):
    """One line saying why a message was not delivered (no secrets: scrubbed of every secret setting)."""

    def __init__(self, message: str) -> None:
        super().__init__(scrub(message))


class Channel(Protocol):
    name: str
    fingerprint: str  # changes when the channel's config does (never the config itself: URLs hold tokens)

    def send(self, message: Message) -> None: ...


def fingerprint(*parts: object) -> str:
    """A SHA-256 of a channel's config, to notice that it changed without storing it."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def _headers(message: Message) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if message.delivery_id:
        headers[DELIVERY_ID_HEADER] = message.delivery_id
    return headers


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scrub(text: str, *secrets: SecretStr | None) -> str:
    """``text`` without the given secrets (a URL's token-like parts included) or any secret setting."""
    return scrub(text, *secrets)


def delivery_deadline() -> float:
    """Seconds one delivery may take in all (``ORUSAGE_DELIVERY_DEADLINE``)."""
    with contextlib.suppress(ConfigError):
        return settings.current().orusage_delivery_deadline
    return 30.0


def _post(url: SecretStr, payload: dict[str, Any], timeout: float, headers: dict[str, str] | None = None) -> None:
    limit = delivery_deadline()
    try:
        sent_with = headers or {"User-Agent": USER_AGENT}
        with deadline_client(timeout=timeout, headers=sent_with) as client, deadline(limit) as d:
            response = client.post(url.get_secret_value(), json=payload)
    except httpx.TimeoutException:
        raise DeliveryError(f"no answer within {limit if d.expired else timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(_scrub(f"{type(exc).__name__}: {_first_line(exc)}", url)) from None
    if response.status_code >= 300:
        body = _scrub(response.text.strip().replace("\n", " ")[:120], url)
        raise DeliveryError(f"HTTP {response.status_code} {response.reason_phrase}{': ' + body if body else ''}")


class _SessionDeadline:
    """Ends an SMTP session when its deadline passes, by shutting its socket down: each read has its own
    timeout, but a server trickling a byte at a time never trips it. ``expired`` says it happened."""

    def __init__(self, smtp: smtplib.SMTP, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._smtp = smtp
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="smtp-deadline", daemon=True)

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.expired = True
        while not self._done.is_set():  # again until the session ends: it may not have had a socket yet
            sock = getattr(self._smtp, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._done.wait(0.1)

    def __enter__(self) -> _SessionDeadline:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def _connect(smtp: smtplib.SMTP, host: str, port: int) -> None:
    """Connect and read the greeting (as ``smtplib.SMTP(host, port)`` would, but under the deadline)."""
    smtp._host = host  # type: ignore[attr-defined]  # as the constructor sets it: TLS checks the certificate
    code, message = smtp.connect(host, port)
    if code != 220:
        smtp.close()
        raise smtplib.SMTPConnectError(code, message)


class WebhookChannel:
    """POST ``{"title", "text", "kind", "event", "budget", "source"}`` as JSON."""

    name = "webhook"

    def __init__(self, url: SecretStr, timeout: float = 10.0) -> None:
        self.url, self.timeout = url, timeout
        self.fingerprint = fingerprint(self.name, url.get_secret_value())

    def send(self, message: Message) -> None:
        payload = {
            "source": "openrouter-usage",
            "title": message.title,
            "text": message.text,
            "kind": message.kind,
            "event": message.event,
            "budget": message.budget,
            "delivery_id": message.delivery_id,
        }
        _post(self.url, payload, self.timeout, _headers(message))


class SlackChannel:
    """A Slack-compatible incoming webhook: ``{"text": ...}``, with Block Kit blocks unless turned off."""

    name = "slack"

    def __init__(self, url: SecretStr, timeout: float = 10.0, blocks: bool = True) -> None:
        self.url, self.timeout, self.blocks = url, timeout, blocks
        self.fingerprint = fingerprint(self.name, url.get_secret_value(), blocks)

    def send(self, message: Message) -> None:
        payload: dict[str, Any] = {"text": f"*{message.title}*\n{message.text}"}
        if self.blocks:
            payload["blocks"] = [
                {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": message.text[:3000]}},
            ]
        _post(self.url, payload, self.timeout, _headers(message))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DiscordChannel:
    """A Discord webhook: ``{"content": …}`` of at most 2,000 characters (the title in bold, then the text,
    cut with an ellipsis), mentions disabled so an alert never pings anyone."""

    name = "discord"

    def __init__(self, url: SecretStr, timeout: float = 10.0) -> None:
        self.url, self.timeout = url, timeout
        self.fingerprint = fingerprint(self.name, url.get_secret_value())

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        return {
            "content": _clip(f"**{message.title}**\n{message.text}", DISCORD_MAX),
            "allowed_mentions": {"parse": []},
        }

    def send(self, message: Message) -> None:
        _post(self.url, self.payload(message), self.timeout, _headers(message))


class TeamsChannel:
    """A Microsoft Teams Workflows webhook ("When a Teams webhook request is received"): a message whose
    ``attachments`` hold one Adaptive Card with the title and the text."""

    name = "teams"

    def __init__(self, url: SecretStr, timeout: float = 10.0) -> None:
        self.url, self.timeout = url, timeout
        self.fingerprint = fingerprint(self.name, url.get_secret_value())

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": TEAMS_CARD_VERSION,
            "body": [
                {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True},
                *({"type": "TextBlock", "text": part, "wrap": True} for part in message.text.split("\n\n") if part),
            ],
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
            ],
        }

    def send(self, message: Message) -> None:
        _post(self.url, self.payload(message), self.timeout, _headers(message))


class EmailChannel:
    """One plain-text e-mail per message over SMTP: STARTTLS (or implicit TLS) and AUTH when configured."""

    name = "email"

    def __init__(self, config: EmailConfig, password: SecretStr | None, timeout: float = 10.0) -> None:
        self.config, self.password, self.timeout = config, password, timeout
        ca_file = str(Path(config.ca_file).expanduser()) if config.ca_file else None
        self.context = ssl.create_default_context(cafile=ca_file)
        self.fingerprint = fingerprint(self.name, repr(config))

    def send(self, message: Message) -> None:
        cfg = self.config
        mail = EmailMessage()
        mail["Subject"] = f"[orusage] {message.title}"
        mail["From"] = cfg.sender
        mail["To"] = ", ".join(cfg.to)
        if message.delivery_id:
            mail[DELIVERY_ID_HEADER] = message.delivery_id
        mail.set_content(f"{message.text}\n\n-- \nopenrouter-usage alerts\n")
        self.send_message(mail)

    def send_message(self, mail: EmailMessage) -> None:
        """Send a prepared message (an alert's, or the weekly report's) with this server, TLS and login."""
        cfg = self.config
        if cfg.username and not (cfg.ssl or cfg.starttls) and not cfg.auth_without_tls:  # the config refuses it too
            raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: AUTH without TLS refused (set auth_without_tls to allow)")
        smtp = (
            smtplib.SMTP_SSL(timeout=self.timeout, context=self.context)
            if cfg.ssl
            else smtplib.SMTP(timeout=self.timeout)
        )
        watch = _SessionDeadline(smtp, delivery_deadline())
        try:
            with watch, smtp:
                _connect(smtp, cfg.host, cfg.port)
                smtp.ehlo()
                if cfg.starttls and not cfg.ssl:
                    smtp.starttls(context=self.context)
                    smtp.ehlo()
                if cfg.username:
                    smtp.login(cfg.username, self.password.get_secret_value() if self.password else "")
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP authentication failed ({exc.smtp_code}); check ORUSAGE_SMTP_PASSWORD") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP server {cfg.host}: {_first_line(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            if watch.expired:
                raise DeliveryError(
                    f"SMTP {cfg.host}:{cfg.port}: no complete session within {watch.seconds:g} s"
                ) from None
            text = _scrub(_first_line(exc), self.password)
            raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: {type(exc).__name__}: {text}") from None


class StdoutChannel:
    name = "stdout"
    fingerprint = "stdout"

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo

    def send(self, message: Message) -> None:
        self.echo(f"[{message.event}] {message.title}\n    {message.text}")


@dataclass(frozen=True)
class DeliverySecrets:
    """Secrets from the environment (``core.settings``), used when the file does not hold them."""

    webhook_url: SecretStr | None = None
    slack_url: SecretStr | None = None
    smtp_password: SecretStr | None = None
    discord_url: SecretStr | None = None
    teams_url: SecretStr | None = None


def channels_for(
    config: Config, secrets: DeliverySecrets, echo: Callable[[str], None], timeout: float = 10.0
) -> list[Channel]:
    """The configured channels; stdout alone when none is, so an alert is never silently dropped."""
    d = config.delivery
    for name, env_url in (
        ("ORUSAGE_WEBHOOK_URL", secrets.webhook_url),
        ("ORUSAGE_SLACK_WEBHOOK_URL", secrets.slack_url),
        ("ORUSAGE_DISCORD_WEBHOOK_URL", secrets.discord_url),
        ("ORUSAGE_TEAMS_WEBHOOK_URL", secrets.teams_url),
    ):
        if env_url is not None and not env_url.get_secret_value().strip().startswith(("http://", "https://")):
            raise ConfigError(f"{name} is invalid: expected an http:// or https:// URL.", f"Fix {name}.")
    if d.email is not None and d.email.ca_file and not Path(d.email.ca_file).expanduser().is_file():
        config.fail("[delivery.email]", "ca_file", f"{d.email.ca_file} is not a file")
    channels: list[Channel] = []
    webhook_url = d.webhook_url or secrets.webhook_url
    if d.webhook or secrets.webhook_url:
        if webhook_url is None:
            config.fail("[delivery.webhook]", "url", "missing", "Set url, or ORUSAGE_WEBHOOK_URL.")
        channels.append(WebhookChannel(webhook_url, timeout))
    slack_url = d.slack_url or secrets.slack_url
    if d.slack or secrets.slack_url:
        if slack_url is None:
            config.fail("[delivery.slack]", "url", "missing", "Set url, or ORUSAGE_SLACK_WEBHOOK_URL.")
        channels.append(SlackChannel(slack_url, timeout, d.slack_blocks))
    discord_url = d.discord_url or secrets.discord_url
    if d.discord or secrets.discord_url:
        if discord_url is None:
            config.fail("[delivery.discord]", "url", "missing", "Set url, or ORUSAGE_DISCORD_WEBHOOK_URL.")
        channels.append(DiscordChannel(discord_url, timeout))
    teams_url = d.teams_url or secrets.teams_url
    if d.teams or secrets.teams_url:
        if teams_url is None:
            config.fail("[delivery.teams]", "url", "missing", "Set url, or ORUSAGE_TEAMS_WEBHOOK_URL.")
        channels.append(TeamsChannel(teams_url, timeout))
    if d.email is not None:
        if d.email.username and secrets.smtp_password is None:
            raise ConfigError(
                f"{config.path}: [delivery.email]: username: ORUSAGE_SMTP_PASSWORD is not set.",
                "Export it (or put it in .env) for SMTP AUTH.",
            )
        channels.append(EmailChannel(d.email, secrets.smtp_password, timeout))
    if d.stdout or not channels:
        channels.append(StdoutChannel(echo))
    return channels
