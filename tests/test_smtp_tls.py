"""SMTP credentials travel only over TLS, unless the config says `auth_without_tls = true`: checked against a
real SMTP server (aiosmtpd on loopback) that offers no TLS at all and would accept AUTH in the clear."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as Mail
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from orusage.alerts.config import EmailConfig, parse_config
from orusage.alerts.delivery import DeliveryError, EmailChannel, Message
from tests.alert_endpoints import SMTP_PASSWORD, SMTP_USER, free_port
from tests.helpers import run_cli

MESSAGE = Message("Budget 'main' reached 80%", "Budget 'main': $81.00 of $100.00.", "threshold", budget="main")


@dataclass
class PlainSmtp:
    """No STARTTLS offered; AUTH accepted over the plain connection. Records what it saw."""

    host: str
    port: int
    greetings: int = 0
    auths: list[tuple[str, bytes]] = field(default_factory=list)  # (mechanism, password as received)
    messages: list[Mail] = field(default_factory=list)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        self.greetings += 1
        session.host_name = hostname  # what aiosmtpd's own EHLO does (a hook must do it)
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.auths.append((mechanism, data.password))
        ok = isinstance(data, LoginPassword) and data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def plain_smtp() -> Iterator[PlainSmtp]:
    server = PlainSmtp("127.0.0.1", free_port())
    controller = Controller(
        server,
        hostname=server.host,
        port=server.port,
        auth_required=False,
        auth_require_tls=False,  # this server would take a password in the clear: the client must not offer it
        authenticator=server.authenticate,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def _toml(server: PlainSmtp, extra: str) -> str:
    return (
        f'[delivery.email]\nhost = "{server.host}"\nport = {server.port}\nusername = "{SMTP_USER}"\n'
        f'from = "orusage@example.test"\nto = ["ops@example.test"]\n{extra}'
    )


def _email(server: PlainSmtp, extra: str) -> EmailConfig:
    email = parse_config(tomllib.loads(_toml(server, extra)), Path("c.toml")).delivery.email
    assert email is not None
    return email


@pytest.mark.reliability("secret")
def test_a_config_with_auth_over_a_plain_connection_is_refused_when_read(plain_smtp: PlainSmtp, tmp_path: Path) -> None:
    config = tmp_path / "alerts.toml"
    config.write_text(_toml(plain_smtp, "starttls = false\n"), encoding="utf-8")
    env = {"ORUSAGE_CONFIG": str(config), "ORUSAGE_SMTP_PASSWORD": SMTP_PASSWORD}
    result = run_cli(["alerts", "check", "--db", str(tmp_path / "x.duckdb")], env)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"orusage: {config}: [delivery.email]: username: AUTH over a connection without TLS")
    assert "auth_without_tls" in line and SMTP_PASSWORD not in result.stdout + result.stderr
    assert plain_smtp.greetings == 0 and plain_smtp.auths == []  # never connected


@pytest.mark.reliability("secret")
def test_the_channel_itself_refuses_auth_without_tls(plain_smtp: PlainSmtp) -> None:
    email = EmailConfig(
        host=plain_smtp.host, port=plain_smtp.port, sender="a@example.test", to=("b@example.test",),
        username=SMTP_USER, starttls=False,
    )  # fmt: skip
    with pytest.raises(DeliveryError, match="AUTH without TLS refused"):
        EmailChannel(email, SecretStr(SMTP_PASSWORD)).send(MESSAGE)
    assert plain_smtp.greetings == 0 and plain_smtp.auths == []


@pytest.mark.reliability("secret")
def test_starttls_against_a_server_without_it_never_sends_the_password(plain_smtp: PlainSmtp) -> None:
    with pytest.raises(DeliveryError) as info:
        EmailChannel(_email(plain_smtp, "starttls = true\n"), SecretStr(SMTP_PASSWORD)).send(MESSAGE)
    assert "STARTTLS" in str(info.value) and SMTP_PASSWORD not in str(info.value)
    assert plain_smtp.greetings == 1 and plain_smtp.auths == [] and plain_smtp.messages == []


def test_auth_without_tls_when_explicitly_allowed(plain_smtp: PlainSmtp) -> None:
    email = _email(plain_smtp, "starttls = false\nauth_without_tls = true\n")
    EmailChannel(email, SecretStr(SMTP_PASSWORD)).send(MESSAGE)
    assert [password for _mechanism, password in plain_smtp.auths] == [SMTP_PASSWORD.encode()]
    (mail,) = plain_smtp.messages
    assert mail["Subject"] == f"[orusage] {MESSAGE.title}"
