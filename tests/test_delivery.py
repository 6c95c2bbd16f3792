"""Delivery over real local endpoints: an HTTP receiver and an SMTP server with STARTTLS and AUTH."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.errors import ConfigError
from orusage.alerts.config import Config, EmailConfig, parse_config
from orusage.alerts.delivery import (
    DELIVERY_ID_HEADER,
    DISCORD_MAX,
    DeliveryError,
    DeliverySecrets,
    DiscordChannel,
    EmailChannel,
    Message,
    SlackChannel,
    StdoutChannel,
    TeamsChannel,
    WebhookChannel,
    channels_for,
)
from tests.alert_endpoints import (
    SMTP_PASSWORD,
    SMTP_USER,
    TOKEN,
    Receiver,
    SmtpServer,
    free_port,
    running_receiver,
    running_smtp,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    with running_smtp(tmp_path_factory.mktemp("tls")) as server:
        yield server


MESSAGE = Message(
    "Budget 'main' reached 80% (2026-11)",
    "Budget 'main': $81.00 of $100.00.",
    "threshold",
    budget="main",
    delivery_id="6f1c2b9e-0d1a-4c55-9a7e-1d2c3b4a5f60",
)


def test_webhook_posts_the_message_as_json_with_its_delivery_id(receiver: Receiver) -> None:
    WebhookChannel(SecretStr(receiver.url)).send(MESSAGE)
    assert receiver.bodies == [
        {"source": "openrouter-usage", "title": MESSAGE.title, "text": MESSAGE.text, "kind": "threshold",
         "event": "raised", "budget": "main", "delivery_id": MESSAGE.delivery_id}
    ]  # fmt: skip
    assert receiver.headers[0][DELIVERY_ID_HEADER.lower()] == MESSAGE.delivery_id


def test_discord_content_is_at_most_2000_characters_and_pings_nobody() -> None:
    long = replace(MESSAGE, text="@everyone " + "x" * 3000)
    with running_receiver(success=204) as discord:  # Discord answers 204 No Content
        DiscordChannel(SecretStr(discord.url)).send(MESSAGE)
        DiscordChannel(SecretStr(discord.url)).send(long)
    short, clipped = discord.bodies
    assert short == {"content": f"**{MESSAGE.title}**\n{MESSAGE.text}", "allowed_mentions": {"parse": []}}
    assert len(clipped["content"]) == DISCORD_MAX and clipped["content"].endswith("…")
    assert clipped["content"].startswith(f"**{MESSAGE.title}**\n@everyone xxx")
    assert all(h[DELIVERY_ID_HEADER.lower()] == MESSAGE.delivery_id for h in discord.headers)


def test_teams_workflows_gets_an_adaptive_card_in_attachments() -> None:
    two_paragraphs = replace(MESSAGE, text="First paragraph.\n\nSecond one.")
    with running_receiver(success=202) as teams:  # a Workflows trigger answers 202 Accepted
        TeamsChannel(SecretStr(teams.url)).send(two_paragraphs)
    (body,) = teams.bodies
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert [(b["type"], b["text"]) for b in card["body"]] == [
        ("TextBlock", MESSAGE.title),
        ("TextBlock", "First paragraph."),
        ("TextBlock", "Second one."),
    ]
    assert card["body"][0]["weight"] == "Bolder" and all(b["wrap"] for b in card["body"])
    assert teams.headers[0][DELIVERY_ID_HEADER.lower()] == MESSAGE.delivery_id


def test_slack_payload_has_text_and_optional_blocks(receiver: Receiver) -> None:
    SlackChannel(SecretStr(receiver.url)).send(MESSAGE)
    SlackChannel(SecretStr(receiver.url), blocks=False).send(MESSAGE)
    with_blocks, plain = receiver.bodies
    assert with_blocks["text"] == f"*{MESSAGE.title}*\n{MESSAGE.text}"
    assert [b["type"] for b in with_blocks["blocks"]] == ["header", "section"]
    assert plain == {"text": with_blocks["text"]}


def test_webhook_failures_are_one_line_without_the_token(receiver: Receiver) -> None:
    receiver.status = 503
    with pytest.raises(DeliveryError) as down:
        WebhookChannel(SecretStr(receiver.url)).send(MESSAGE)
    assert str(down.value) == "HTTP 503 Service Unavailable: down for maintenance"
    nobody = f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"
    with pytest.raises(DeliveryError) as refused:
        WebhookChannel(SecretStr(nobody), timeout=2).send(MESSAGE)
    assert "ConnectError" in str(refused.value) and TOKEN not in str(refused.value)
    assert "\n" not in str(refused.value)


def email(server: SmtpServer, **changes: object) -> EmailConfig:
    base = EmailConfig(host=server.host, port=server.port, sender="orusage@example.test", to=("ops@example.test",),
                       username=SMTP_USER, starttls=True, ca_file=str(server.cert))  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_email_over_starttls_with_auth(smtp_server: SmtpServer) -> None:
    before = len(smtp_server.messages)
    EmailChannel(email(smtp_server), SecretStr(SMTP_PASSWORD)).send(MESSAGE)
    mail = smtp_server.messages[before]
    assert mail["Subject"] == f"[orusage] {MESSAGE.title}"
    assert mail["From"] == "orusage@example.test" and mail["To"] == "ops@example.test"
    assert MESSAGE.text in mail.get_payload()
    assert mail[DELIVERY_ID_HEADER] == MESSAGE.delivery_id
    assert smtp_server.logins[-1] == ("LOGIN", SMTP_USER) or smtp_server.logins[-1] == ("PLAIN", SMTP_USER)


@pytest.mark.parametrize(
    ("changes", "password", "says"),
    [
        ({}, "wrong-password", "SMTP authentication failed (535)"),
        ({"starttls": False}, SMTP_PASSWORD, "SMTP"),  # the server requires STARTTLS before anything else
        ({"ca_file": None}, SMTP_PASSWORD, "CERTIFICATE_VERIFY_FAILED"),  # a self-signed certificate
    ],
    ids=["wrong-password", "no-starttls", "untrusted-certificate"],
)
def test_email_failures_are_one_line_without_the_password(
    smtp_server: SmtpServer, changes: dict[str, object], password: str, says: str
) -> None:
    before = len(smtp_server.messages)
    with pytest.raises(DeliveryError) as info:
        EmailChannel(email(smtp_server, **changes), SecretStr(password)).send(MESSAGE)
    assert says in str(info.value) and "\n" not in str(info.value)
    assert password not in str(info.value) and SMTP_PASSWORD not in str(info.value)
    assert len(smtp_server.messages) == before


def test_stdout_channel() -> None:
    printed: list[str] = []
    StdoutChannel(printed.append).send(MESSAGE)
    assert printed == [f"[raised] {MESSAGE.title}\n    {MESSAGE.text}"]


PASSWORD = SecretStr("p")


def config(text: str = "") -> Config:
    return parse_config(tomllib.loads(text), Path("c.toml"))


def test_channels_from_file_and_environment() -> None:
    assert [c.name for c in channels_for(config(), DeliverySecrets(), print)] == ["stdout"]
    from_env = DeliverySecrets(webhook_url=SecretStr("https://h.example/x"), slack_url=SecretStr("https://s.example/y"))
    assert [c.name for c in channels_for(config(), from_env, print)] == ["webhook", "slack"]
    both = config('[delivery.webhook]\nurl = "https://h.example/z"\n[delivery.stdout]\n')
    assert [c.name for c in channels_for(both, DeliverySecrets(), print)] == ["webhook", "stdout"]
    chat = config('[delivery.discord]\nurl = "https://discord.example/api/webhooks/1/t"\n[delivery.teams]\n')
    teams_env = DeliverySecrets(teams_url=SecretStr("https://prod.example/workflows/t"))
    assert [c.name for c in channels_for(chat, teams_env, print)] == ["discord", "teams"]
    with pytest.raises(ConfigError, match=r"\[delivery\.teams\]: url: missing"):
        channels_for(chat, DeliverySecrets(), print)


def test_channel_settings_that_cannot_work_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"c\.toml: \[delivery\.webhook\]: url: missing"):
        channels_for(config("[delivery.webhook]\n"), DeliverySecrets(), print)
    text = '[delivery.email]\nhost = "h"\nfrom = "a@b.c"\nto = "d@e.f"\nusername = "u"\n'
    with pytest.raises(ConfigError, match="ORUSAGE_SMTP_PASSWORD is not set"):
        channels_for(config(text), DeliverySecrets(), print)
    with pytest.raises(ConfigError, match=r"ca_file: .* is not a file"):
        channels_for(
            config(text + f'ca_file = "{tmp_path}/none.pem"\n'), DeliverySecrets(smtp_password=PASSWORD), print
        )
    with pytest.raises(ConfigError, match="ORUSAGE_WEBHOOK_URL is invalid") as info:
        channels_for(config(), DeliverySecrets(webhook_url=SecretStr(f"hooks.example/{TOKEN}")), print)
    assert TOKEN not in str(info.value)
