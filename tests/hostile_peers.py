"""Hostile and broken peers on loopback, for the tests of issue 16: each is a real server on a port the OS
gives, run in threads, stopped by its context manager.

- ``HostileProxy``: stands in front of the fake OpenRouter. It accepts any key (the client's sentinel key
  never reaches the fake: the proxy forwards with the fake's own key) and, per path, can answer with an
  error whose message echoes the request's ``Authorization`` header and path (plain, percent-encoded and
  base64, as a misconfigured gateway would), rewrite the fake's answer (NaN, duplicate rows, overflowing
  numbers, impossible dates), answer with a canned body (a ``/keys`` that ignores ``offset``), or trickle
  its answer one byte at a time.
- ``EchoReceiver``: a webhook receiver answering 404 "Cannot POST <path>" (path and query echoed).
- ``TrickleServer``: accepts a connection and sends a fixed greeting one byte every ``interval`` seconds
  (an HTTP status line for a webhook, a 220 line for SMTP), for as long as the client stays.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import duckdb
import httpx

Mutation = Callable[[bytes], bytes]


@dataclass
class Rule:
    """What to do with requests whose path (after /api/v1) starts with ``path``; ``times`` < 0: always."""

    path: str
    echo_status: int | None = None
    mutate: Mutation | None = None
    canned: tuple[int, bytes] | None = None
    answer: Callable[[str], bytes] | None = None  # the body of a 200, from the request's path and query
    trickle_s: float | None = None
    times: int = -1
    method: str | None = None


def echo_message(method: str, target: str, authorization: str) -> str:
    """What a misconfigured gateway says: the request, its header, and the header encoded twice."""
    return (
        f"Refused {method} {target} with Authorization: {authorization} "
        f"(encoded {quote(authorization, safe='')}; as basic credentials "
        f"{base64.b64encode(('user:' + authorization).encode()).decode()})"
    )


class HostileProxy:
    def __init__(self, upstream: str, upstream_key: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.upstream_key = upstream_key
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str]] = []  # (method, path with query) of every request
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._http = httpx.Client(timeout=120)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.handle(self, "GET")

            def do_POST(self) -> None:
                proxy.handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def add(self, rule: Rule) -> None:
        with self._lock:
            self.rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _rule(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if path.startswith(rule.path) and rule.times != 0 and rule.method in (None, method):
                    rule.times -= 1 if rule.times > 0 else 0
                    return rule
        return None

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        target = h.path
        path = urlsplit(target).path.removeprefix("/api/v1")
        with self._lock:
            self.seen.append((method, target))
        rule = self._rule(method, path)
        if rule is not None and rule.echo_status is not None:
            message = echo_message(method, target, h.headers.get("Authorization", ""))
            error = {"error": {"code": rule.echo_status, "message": message}}
            self._send(h, rule.echo_status, json.dumps(error).encode())
            return
        if rule is not None and rule.canned is not None:
            self._send(h, *rule.canned)
            return
        if rule is not None and rule.answer is not None:
            self._send(h, 200, rule.answer(target))
            return
        upstream = self._http.request(
            method,
            self.upstream + target.removeprefix("/api/v1"),
            content=body or None,
            headers={"Authorization": f"Bearer {self.upstream_key}", "Content-Type": "application/json"},
        )
        payload = upstream.content
        if rule is not None and rule.mutate is not None and upstream.status_code == 200:
            payload = rule.mutate(payload)
        if rule is not None and rule.trickle_s is not None:
            self._trickle(h, upstream.status_code, payload, rule.trickle_s)
            return
        self._send(h, upstream.status_code, payload)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, payload: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _trickle(self, h: BaseHTTPRequestHandler, status: int, payload: bytes, interval: float) -> None:
        head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        with contextlib.suppress(OSError):
            for byte in head.encode() + payload:
                if self._stop.wait(interval):
                    return
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
        h.close_connection = True

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self._http.close()


@contextlib.contextmanager
def running_proxy(upstream: str, upstream_key: str) -> Iterator[HostileProxy]:
    proxy = HostileProxy(upstream, upstream_key)
    try:
        yield proxy
    finally:
        proxy.stop()


# ---- rewriting the fake's answers ---------------------------------------------------------------------------


def on_row(edit: Callable[[dict[str, Any]], None], where: str = "data", index: int = 0) -> Mutation:
    """Apply ``edit`` to one row of ``data`` (``data.data`` for analytics: ``where="data.data"``); when
    ``where`` names an object, not a list, to that object."""

    def mutate(payload: bytes) -> bytes:
        body = json.loads(payload)
        rows = body
        for key in where.split("."):
            rows = rows[key]
        if isinstance(rows, dict):
            edit(rows)
        elif rows:
            edit(rows[index])
        return json.dumps(body).encode()

    return mutate


def set_raw(field_name: str, raw: str, where: str = "data") -> Mutation:
    """Set ``field_name`` of the first row to ``raw`` JSON text as it stands (``NaN``, ``1e999``, ``2^64``)."""
    marker = "__ORUSAGE_RAW__"

    def mutate(payload: bytes) -> bytes:
        marked = on_row(lambda row: row.__setitem__(field_name, marker), where)(payload)
        return marked.replace(json.dumps(marker).encode(), raw.encode())

    return mutate


def duplicate_first_row(where: str = "data") -> Mutation:
    def mutate(payload: bytes) -> bytes:
        body = json.loads(payload)
        rows = body
        for key in where.split("."):
            rows = rows[key]
        if rows:
            rows.append(dict(rows[0]))
        return json.dumps(body).encode()

    return mutate


def empty_analytics(payload: bytes) -> bytes:
    body = json.loads(payload)
    body["data"]["data"] = []
    body["data"]["metadata"] = {**body["data"].get("metadata", {}), "row_count": 0, "truncated": False}
    return json.dumps(body).encode()


# ---- webhook receivers and trickling servers -------------------------------------------------------------


@dataclass
class EchoReceiver:
    """Answers every POST with 404 "Cannot POST <path>" (its path and query, token included)."""

    posts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append(self.path)
                body = f"Cannot POST {self.path} (from {self.headers.get('User-Agent')})".encode()
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TrickleServer:
    """Sends ``greeting`` one byte every ``interval`` seconds to each client, reading nothing it must answer."""

    def __init__(self, greeting: bytes, interval: float = 2.0) -> None:
        self.greeting, self.interval = greeting, interval
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            for byte in self.greeting:
                if self._stop.wait(self.interval):
                    return
                conn.sendall(bytes([byte]))
            self._stop.wait()

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()


def elapsed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


# ---- the sentinel search ---------------------------------------------------------------------------------


def assert_no_secret(secrets: Iterable[str], texts: Iterable[str] = (), db: Path | None = None) -> None:
    """No secret (nor its last 12 characters, unless they are as plain as the fake's ``000…``) in any of
    ``texts``, in the bytes of any file beside ``db``, or in any VARCHAR column of ``db`` (when DuckDB can
    read it: a damaged file is searched byte for byte only)."""
    forms = [form for secret in secrets for form in (secret, secret[-12:]) if len(set(form)) > 4]
    for text in texts:
        for form in forms:
            assert form not in text, f"a secret in: {text[:200]}"
    if db is None:
        return
    for path in db.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for form in forms:
                assert form.encode() not in data, path.name
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        for table, column in columns:
            for form in forms:
                hits = con.execute(f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [form]).fetchone()
                assert hits == (0,), f"{table}.{column} holds a secret"
    except duckdb.Error:
        return  # damaged where it is read: its bytes were searched above
    finally:
        con.close()
