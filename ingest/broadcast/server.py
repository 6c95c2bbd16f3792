"""The HTTP receiver for Broadcast's Webhook (or OpenTelemetry-collector) deliveries: OTLP/JSON in, the
spool out. stdlib ``ThreadingHTTPServer``: a delivery is one small request, and the work per request is a
parse and an fsync, so threads are plenty and no web framework is needed.

Every request is checked before its body is read, in this order: the path (404), the token (401), the
length (411 without one, 413 above the bound), the content type and encoding (415); then the body must be
OTLP/JSON (400). Only then is the delivery's allowlist (``otlp.extract``) spooled, fsynced, and answered
200. The store's writer lock is never taken here.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import SecretStr

from ingest.broadcast import otlp
from ingest.broadcast.spool import Spool

log = logging.getLogger("orusage.receive")

PATHS = ("/", "/v1/traces")  # the Webhook URL's path is the user's choice; OTLP collectors use /v1/traces
HEALTH = "/healthz"
JSON = "application/json"
CONCURRENT_BODIES = 16  # requests reading or parsing a body at once; others wait up to BUSY_WAIT_S
BUSY_WAIT_S = 30.0
READ_TIMEOUT_S = 30.0


@dataclass
class ReceiverConfig:
    spool: Spool
    token: SecretStr | None
    max_bytes: int
    clock: Callable[[], datetime]


@dataclass
class Counts:
    """What the receiver answered since it started, by outcome (thread-safe)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_status: Counter[int] = field(default_factory=Counter)
    deliveries: int = 0  # spooled
    tests: int = 0  # connection tests answered
    spans: int = 0

    def add(self, status: int, *, delivery: bool = False, test: bool = False, spans: int = 0) -> None:
        with self.lock:
            self.by_status[status] += 1
            self.deliveries += delivery
            self.tests += test
            self.spans += spans

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "deliveries": self.deliveries,
                "tests": self.tests,
                "spans": self.spans,
                "refused": {k: v for k, v in sorted(self.by_status.items()) if k != 200},
            }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    config: ReceiverConfig
    counts: Counts
    bodies: threading.BoundedSemaphore


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT_S
    server_version = "orusage-receive"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # the request line only: no header, no body
        log.debug("receive: " + format, *args)

    def do_POST(self) -> None:
        self._deliver()

    def do_PUT(self) -> None:
        self._deliver()

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == HEALTH:
            self._answer(200, {"ok": True})
        else:
            self._refuse(_Refused(404 if self.path.split("?", 1)[0] not in PATHS else 405, "not found"))

    def do_DELETE(self) -> None:
        self._refuse(_Refused(405, "use POST or PUT"))

    def do_PATCH(self) -> None:
        self._refuse(_Refused(405, "use POST or PUT"))

    # ---- one delivery ------------------------------------------------------------------------------------

    def _deliver(self) -> None:
        try:
            length = self._checked()
        except _Refused as refused:
            self._refuse(refused)
            return
        if not self.server.bodies.acquire(timeout=BUSY_WAIT_S):
            self._refuse(_Refused(503, "busy: try again", {"Retry-After": "5"}))
            return
        try:
            self._store(self._body(length))
        except _Refused as refused:
            self._refuse(refused)
        finally:
            self.server.bodies.release()

    def _checked(self) -> int:
        """The body's length, once everything the headers can tell is acceptable."""
        config = self.server.config
        if self.path.split("?", 1)[0] not in PATHS:
            raise _Refused(404, f"deliveries go to {' or '.join(PATHS)}")
        if config.token is not None:
            scheme, _, given = (self.headers.get("Authorization") or "").strip().partition(" ")
            expected = config.token.get_secret_value().encode("utf-8")
            ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), expected)
            if not ok:
                raise _Refused(401, "a valid Authorization: Bearer token is required", {"WWW-Authenticate": "Bearer"})
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise _Refused(411, "Content-Length is required")
        if not raw.strip().isdigit():
            raise _Refused(400, "Content-Length is not a number")
        length = int(raw)
        if length > config.max_bytes:
            raise _Refused(413, f"the body is larger than {config.max_bytes:,} bytes (ORUSAGE_RECEIVE_MAX_BYTES)")
        kind = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if kind != JSON and not (kind == "" and length == 0):
            raise _Refused(415, f"the body must be {JSON} (OTLP/JSON), not {kind or 'untyped'}")
        if (self.headers.get("Content-Encoding") or "identity").strip().lower() not in ("identity", "gzip"):
            raise _Refused(415, "Content-Encoding must be gzip or none")
        return length

    def _body(self, length: int) -> bytes:
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise _Refused(400, "the body ended before Content-Length")
        if (self.headers.get("Content-Encoding") or "").strip().lower() == "gzip" and body:
            inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            try:
                plain = inflate.decompress(body, self.server.config.max_bytes + 1)
            except zlib.error:
                raise _Refused(400, "the body is not gzip") from None
            if len(plain) > self.server.config.max_bytes or inflate.unconsumed_tail:
                raise _Refused(413, f"the body is larger than {self.server.config.max_bytes:,} bytes unpacked")
            body = plain
        return body

    def _store(self, body: bytes) -> None:
        config = self.server.config
        test = (self.headers.get("X-Test-Connection") or "").strip().lower() == "true"
        try:
            extracted = otlp.extract(otlp.parse(body))
        except otlp.NotOtlp as exc:
            if test:  # the connection test's "empty OTLP payload", in whatever form it comes
                self.server.counts.add(200, test=True)
                self._answer(200, {})
                return
            raise _Refused(400, str(exc)) from None
        if extracted.spans == 0:  # an empty export: the connection test, or nothing to keep
            self.server.counts.add(200, test=test)
            self._answer(200, {})
            return
        try:
            config.spool.append(extracted, config.clock())
        except OSError as exc:
            log.error("receive: cannot keep a delivery in %s: %s", config.spool.root, exc.strerror or exc)
            raise _Refused(503, "cannot store the delivery right now", {"Retry-After": "30"}) from None
        self.server.counts.add(200, delivery=True, spans=extracted.spans)
        rejected = extracted.without_id + extracted.without_time
        answer: dict[str, Any] = {}
        if rejected:
            answer["partialSuccess"] = {
                "rejectedSpans": str(rejected),
                "errorMessage": "spans without a generation id or time are not kept",
            }
        self._answer(200, answer)

    # ---- answers -----------------------------------------------------------------------------------------

    def _refuse(self, refused: _Refused) -> None:
        self.server.counts.add(refused.status)
        # The body was not read (or not all of it): this connection cannot carry another request.
        self.close_connection = True
        self._answer(refused.status, {"code": refused.status, "message": refused.message}, refused.headers)

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


class Receiver:
    """A running receiver (a background thread); ``url`` is where deliveries go."""

    def __init__(self, host: str, port: int, config: ReceiverConfig) -> None:
        server = _Server6 if ":" in host else _Server
        self._httpd = server((host, port), _Handler, bind_and_activate=True)
        self._httpd.config = config
        self._httpd.counts = Counts()
        self._httpd.bodies = threading.BoundedSemaphore(CONCURRENT_BODIES)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1/traces"

    @property
    def counts(self) -> Counts:
        return self._httpd.counts

    def start(self) -> Receiver:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="broadcast-receiver", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()
