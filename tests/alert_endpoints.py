"""Real local endpoints for the alert delivery tests: an HTTP webhook receiver and an SMTP server.

Use them through ``running_receiver()`` and ``running_smtp(folder)`` (context managers), e.g. in a fixture.

- ``Receiver``: stdlib ``http.server`` in a thread on loopback; counts every POST (``requests``), records
  the bodies it accepted and their headers; ``status`` sets the answer (e.g. 503 while "down"), ``delay``
  makes it slow. Its URL carries a token, as real webhook URLs do.
- ``SmtpServer``: aiosmtpd's Controller on loopback requiring STARTTLS (a self-signed certificate made
  with ``openssl req`` for 127.0.0.1) and AUTH LOGIN/PLAIN with a test password; records every message.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

TOKEN = "T0KEN-sentinel-4f9c2e"  # a test secret that must never show up in output
SMTP_USER = "alerts@example.test"
SMTP_PASSWORD = "smtp-sentinel-p4ss-7d1e"


class Receiver:
    def __init__(self, success: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # of the accepted requests, as the bodies
        self.requests = 0  # every POST, accepted or not
        self.status = success
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests += 1
                    if receiver.status < 300:
                        receiver.bodies.append(json.loads(body))
                        receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"down for maintenance")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl req); skips when openssl is missing."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the SMTP server's certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@dataclass
class SmtpServer:
    host: str
    port: int
    cert: Path
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, login) that succeeded

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert session.authenticated, "the server requires AUTH"
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == SMTP_USER.encode()
            and data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            self.logins.append((mechanism, SMTP_USER))
        return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def running_receiver(success: int = 200) -> Iterator[Receiver]:
    """``success``: the status a working receiver answers (Discord: 204, Teams Workflows: 202)."""
    r = Receiver(success)
    try:
        yield r
    finally:
        r.stop()


@contextlib.contextmanager
def running_smtp(folder: Path) -> Iterator[SmtpServer]:
    cert, key = make_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer("127.0.0.1", free_port(), cert)
    controller = Controller(
        server,
        hostname=server.host,
        port=server.port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=server.authenticate,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def email_toml(server: SmtpServer) -> str:
    """The [delivery.email] table for this server (the password comes from ORUSAGE_SMTP_PASSWORD)."""
    return (
        f'[delivery.email]\nhost = "{server.host}"\nport = {server.port}\nstarttls = true\n'
        f'username = "{SMTP_USER}"\nfrom = "orusage@example.test"\nto = ["ops@example.test"]\n'
        f'ca_file = "{server.cert}"\n'
    )
