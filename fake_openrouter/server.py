"""The fake OpenRouter HTTP server: stdlib ``ThreadingHTTPServer`` on loopback, API under ``/api/v1``.

``FakeServer`` runs in a background thread (tests, the demo); ``serve`` blocks until Ctrl-C (the CLI).
Outside the API prefix, ``/__fake__/…`` lets a test drive a fake running in another process: ``POST
/__fake__/faults`` queues a fault (JSON body like ``FakeServer.add_fault``'s arguments), ``GET
/__fake__/requests`` lists what was called, ``POST /__fake__/fresh`` (``{"ids": [...], "seconds": 5}``) makes
generations "fresh" (``FakeServer.make_fresh``), ``POST /__fake__/activity-hidden`` (``{"ids": [...]}``) leaves
generations out of /activity only (``FakeServer.hide_from_activity``), ``POST /__fake__/broadcast/destination``
(``{"url", "token", …}``), ``…/broadcast/bill`` (``{"count", "trace", "prompt"}``), ``…/broadcast/send``
(``{"ids"}`` or ``{"since", "until"}``), ``…/broadcast/faults`` (``{"kind", "times"}``) and ``…/broadcast/stop``
drive its Broadcast (``fake_openrouter.broadcast``).

Time-dependent behaviour runs on ``clock`` (default: the data set's, ``time.monotonic``): the analytics rate
limit (``analytics_rate_per_minute``, default 64 per key, ``None`` = unlimited, settable while running) and
fresh generations. ``latency_s`` delays every API answer (for benchmarks).

Several accounts: ``FakeServer(dataset, others=(second,))`` answers each API request from the data set whose
account holds the request's bearer key (its management key, or one of its regular keys), as OpenRouter serves
every account from one base URL; no key or an unknown one is answered by ``dataset``'s rules. Faults, the
rate limit's clock, fresh and hidden generations are the server's; Broadcast serves ``dataset`` only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fake_openrouter import faults as fault_kinds
from fake_openrouter.api_common import ApiResponse, error_body
from fake_openrouter.auth import bearer_token
from fake_openrouter.broadcast import Broadcaster, Destination, Report
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.faults import API_PREFIX, Fault, FaultQueue
from fake_openrouter.keys import (
    DEMO_API_KEY,
    DEMO_API_KEY_NAME,
    DEMO_MANAGEMENT_KEY,
    DEMO_MANAGEMENT_KEY_NAME,
    DEMO_SECOND_API_KEY,
    DEMO_SECOND_API_KEY_NAME,
    DEMO_SECOND_MANAGEMENT_KEY,
    DEMO_SECOND_MANAGEMENT_KEY_NAME,
    key_hash,
)
from fake_openrouter.routes import dataset_for, dispatch
from fake_openrouter.runtime import ANALYTICS_RATE_PER_MINUTE, FRESH_SECONDS, Clock, ServerState

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/__fake__"
FAULT_HEADER = "X-Fake-Fault"  # on every faulty answer, so validators can tell injected faults apart

OnResponse = Callable[[str, str, dict[str, str], int, dict[str, str], bytes], None]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as requested, e.g. /api/v1/activity
    endpoint: str | None  # relative to the API prefix, None outside it
    query: dict[str, str]
    auth: str  # "management", "regular", "unknown" or "none": never the key itself
    status: int | None  # None: the connection was reset
    fault: str | None
    at: datetime


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a client opens many at once on a busy
    # machine (the demo and its tests fetch /generation on 16 connections); real servers queue far more.
    request_queue_size = 128
    fake: FakeServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    timeout = 60  # idle keep-alive connections give up eventually
    error_content_type = "application/json"
    error_message_format = '{"error": {"code": %(code)d, "message": "%(message)s"}}'

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake OpenRouter: " + format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith(CONTROL_PREFIX + "/"):
            self._control(method, url.path[len(CONTROL_PREFIX) :], body)
            return
        fake = self.server.fake
        endpoint = None
        if url.path == API_PREFIX or url.path.startswith(API_PREFIX + "/"):
            endpoint = "/" + url.path[len(API_PREFIX) :].strip("/")
        fault = fake.faults.take(endpoint if endpoint is not None else url.path)
        record = RecordedRequest(
            method=method,
            path=url.path,
            endpoint=endpoint,
            query=query,
            auth=fake._auth_kind(self.headers.get("Authorization")),
            status=None,
            fault=fault.kind if fault else None,
            at=datetime.now(UTC),
        )
        if fault is not None and fault.kind == "reset":
            fake._record(record)
            self._reset()
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(float(fault.params.get("seconds", 1.0)))
        if endpoint is not None and fake.state.latency_s > 0:
            time.sleep(fake.state.latency_s)
        if fault is not None and fault.kind in ("status", "html", "malformed_json"):
            status, headers, payload = _fault_answer(fault)
        else:
            answer = dispatch(
                dataset_for(fake.datasets, self.headers.get("Authorization")),
                method,
                endpoint,
                query,
                self.headers.get("Authorization"),
                fake.base_url,
                body,
                fake.state,
            )
            status, headers, payload = _json_answer(answer)
            if fault is not None and fault.kind == "wrong_type" and status == 200:
                mutated = fault_kinds.wrong_type(answer.body, fault.params.get("field"))
                payload = json.dumps(mutated).encode()
                headers = {**headers, "Content-Length": str(len(payload)), FAULT_HEADER: "wrong_type"}
        if fault is not None and fault.kind in ("truncated", "delay"):
            headers = {**headers, FAULT_HEADER: fault.kind}
        fake._record(replace(record, status=status))
        fake._notify(method, url.path, query, status, headers, payload)
        if fault is not None and fault.kind == "truncated":
            headers["Content-Length"] = str(len(payload) + max(64, len(payload)))
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        self._send(status, headers, payload)

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN: a real "connection reset".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _control(self, method: str, path: str, body: bytes) -> None:
        fake = self.server.fake
        status = 200
        answer: dict[str, Any] = {"ok": True}
        if path == "/faults" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
                params = {k: v for k, v in spec.items() if k not in ("path", "kind", "times", "params")}
                params |= spec.get("params") or {}
                fake.add_fault(spec["path"], spec["kind"], int(spec.get("times", 1)), **params)
                status, answer = 201, {"ok": True, "pending": fake.faults.pending()}
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                status, answer = 400, error_body(400, f"bad fault: {exc}")
        elif path == "/faults" and method == "GET":
            answer = {"data": fake.faults.pending()}
        elif path == "/faults" and method == "DELETE":
            fake.clear_faults()
        elif path == "/requests" and method == "GET":
            answer = {"data": [{**asdict(r), "at": r.at.isoformat()} for r in fake.requests]}
        elif path == "/requests" and method == "DELETE":
            fake.clear_requests()
        elif path == "/fresh" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
                ids = spec["ids"]
                if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                    raise ValueError("'ids' must be a list of generation ids")
                fake.make_fresh(ids, float(spec.get("seconds", FRESH_SECONDS)))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                status, answer = 400, error_body(400, f"bad fresh ids: {exc}")
        elif path.startswith("/broadcast/") and method == "POST":
            status, answer = fake._broadcast_control(path[len("/broadcast/") :], body)
        elif path == "/activity-hidden" and method == "POST":
            try:
                ids = json.loads(body or b"{}")["ids"]
                if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                    raise ValueError("'ids' must be a list of generation ids")
                fake.hide_from_activity(ids)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                status, answer = 400, error_body(400, f"bad hidden ids: {exc}")
        else:
            status, answer = 404, error_body(404, "Not Found")
        payload = json.dumps(answer).encode()
        self._send(status, {"Content-Type": "application/json", "Content-Length": str(len(payload))}, payload)


def _json_answer(answer: ApiResponse) -> tuple[int, dict[str, str], bytes]:
    payload = json.dumps(answer.body).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(payload)), **answer.headers}
    return answer.status, headers, payload


def _fault_answer(fault: Fault) -> tuple[int, dict[str, str], bytes]:
    if fault.kind == "status":
        code = int(fault.params.get("code", 500))
        payload = json.dumps(error_body(code, fault.params.get("message"))).encode()
        headers = {"Content-Type": "application/json"}
        if fault.params.get("retry_after") is not None:
            headers["Retry-After"] = str(fault.params["retry_after"])
    elif fault.kind == "html":
        code = int(fault.params.get("code", 502))
        payload = fault_kinds.HTML_PAGE.format(code=code).encode()
        headers = {"Content-Type": "text/html; charset=UTF-8"}
    else:
        code, payload, headers = 200, fault_kinds.MALFORMED_JSON, {"Content-Type": "application/json"}
    return code, {**headers, "Content-Length": str(len(payload)), FAULT_HEADER: fault.kind}, payload


def _check_accounts(dataset: Dataset, others: Sequence[Dataset]) -> None:
    """Accounts served together share the server's present and never a key (the key chooses the account)."""
    seen: set[str] = set()
    for ds in (dataset, *others):
        if ds.now != dataset.now:
            raise ValueError(f"every account's data set must be built at the same now ({dataset.now.isoformat()})")
        hashes = {ds.account.management_key.hash, *(k.hash for k in ds.account.keys)}
        if hashes & seen:
            raise ValueError("two accounts share a key: build the others with dataset.build(..., second=True)")
        seen |= hashes


class FakeServer:
    """A running fake OpenRouter over ``dataset``; ``base_url`` ends in ``/api/v1`` like the real one.

    ``clock`` (seconds; default ``dataset.clock``) drives the analytics rate limit and fresh generations;
    ``analytics_rate_per_minute`` is the per-key limit on POST /analytics/query (None: no limit; also settable
    later through the attribute); ``latency_s`` sleeps that long before every API answer. ``others``: more
    accounts' data sets (built at the same ``now``, no key shared), each answering the requests that carry
    one of its keys.
    """

    def __init__(
        self,
        dataset: Dataset,
        host: str = "127.0.0.1",
        port: int = 0,
        on_response: OnResponse | None = None,
        *,
        clock: Clock | None = None,
        analytics_rate_per_minute: int | None = ANALYTICS_RATE_PER_MINUTE,
        latency_s: float = 0.0,
        others: Sequence[Dataset] = (),
    ) -> None:
        _check_accounts(dataset, others)
        self.dataset = dataset
        self.datasets: tuple[Dataset, ...] = (dataset, *others)
        self.on_response = on_response
        self.state = ServerState(
            dataset.now,
            clock or dataset.clock,
            analytics_rate_per_minute=analytics_rate_per_minute,
            latency_s=latency_s,
        )
        self.faults = FaultQueue()
        self.broadcaster = Broadcaster(dataset)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._httpd = _HTTPServer((host, port), _Handler, bind_and_activate=True)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    def start(self) -> FakeServer:
        if self._thread is None:
            # A short poll interval keeps stop() quick (shutdown waits for the loop to notice).
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openrouter", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: new connections are refused and open keep-alive connections are closed."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def add_fault(self, path: str, kind: str, times: int = 1, **params: Any) -> None:
        """Make the next ``times`` requests to ``path`` ("/activity", or "*" for any) misbehave as ``kind``."""
        self.faults.add(path, kind, times, **params)

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def analytics_rate_per_minute(self) -> int | None:
        return self.state.analytics_limiter.per_minute

    @analytics_rate_per_minute.setter
    def analytics_rate_per_minute(self, value: int | None) -> None:
        self.state.analytics_limiter.per_minute = value

    @property
    def latency_s(self) -> float:
        return self.state.latency_s

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        if value < 0:
            raise ValueError("latency_s must be >= 0")
        self.state.latency_s = value

    def now(self) -> datetime:
        """The fake's present: ``dataset.now`` advanced by the clock time elapsed since the server was made."""
        return self.state.now()

    def hide_from_activity(self, ids: Iterable[str]) -> None:
        """Inject a known discrepancy: /activity leaves these generations out; every other endpoint keeps them."""
        self.state.hide_from_activity(ids)

    # ---- Broadcast (fake_openrouter.broadcast) ------------------------------------------------------------

    def broadcast_to(self, url: str, token: str | None = None, **settings: Any) -> Destination:
        """Send Broadcast deliveries to ``url`` (a Webhook destination, listed by /observability/destinations),
        with ``Authorization: Bearer token`` when given. ``settings``: ``Destination``'s fields
        (``sampling_rate``, ``privacy_mode``, ``cost``, ``identity``, ``request_context``, ``api_key_hashes``,
        ``method``, ``type``, ``enabled``, ``name``, ``headers``)."""
        headers = dict(settings.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        destination = Destination(url=url, headers=headers, **settings)
        self.broadcaster.configure(destination)
        self.state.set_destinations([destination.listed(self.dataset.account.default_workspace.id)])
        return destination

    def stop_broadcast(self) -> None:
        self.broadcaster.configure(None)
        self.state.set_destinations([])

    def add_broadcast_fault(self, kind: str, times: int = 1) -> None:
        """``duplicate``, ``reorder``, ``drop`` or ``malformed`` for the next ``times`` deliveries (batches)."""
        self.broadcaster.faults.add(kind, times)

    def send_broadcast(
        self, ids: Sequence[str] | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> Report:
        """Post the traces of generations the fake already has (by id, or created in [since, until))."""
        return self.broadcaster.send(self.broadcaster.rows(ids, since, until))

    def bill(self, count: int = 1, **request: Any) -> tuple[list[str], Report]:
        """Make ``count`` generations now (the server's clock) and post their traces. ``request``: ``trace``
        (the request's metadata), ``prompt``, ``session_id``, ``key_name``."""
        ids = self.broadcaster.bill(self.now(), count, **request)
        return ids, self.broadcaster.send(self.broadcaster.rows(ids))

    def _broadcast_control(self, action: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            spec = json.loads(body or b"{}")
            if not isinstance(spec, dict):
                raise ValueError("the body must be a JSON object")
            if action == "destination":
                url = spec.pop("url")
                destination = self.broadcast_to(url, spec.pop("token", None), **spec)
                return 201, {"ok": True, "id": destination.id}
            if action == "stop":
                self.stop_broadcast()
                return 200, {"ok": True}
            if action == "faults":
                self.add_broadcast_fault(str(spec["kind"]), int(spec.get("times", 1)))
                return 201, {"ok": True, "pending": self.broadcaster.faults.pending()}
            if action == "send":
                since = datetime.fromisoformat(spec["since"]) if spec.get("since") else None
                until = datetime.fromisoformat(spec["until"]) if spec.get("until") else None
                return 200, self.send_broadcast(spec.get("ids"), since, until).as_json()
            if action == "bill":
                ids, report = self.bill(int(spec.pop("count", 1)), **spec)
                return 200, {"ids": ids, "report": report.as_json()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return 400, error_body(400, f"bad broadcast request: {exc}")
        return 404, error_body(404, "Not Found")

    def make_fresh(self, ids: Iterable[str], seconds: float = FRESH_SECONDS) -> None:
        """Make GET /generation answer 404 for these ids until ``seconds`` have passed on the clock."""
        self.state.make_fresh(ids, seconds)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def request_count(self, endpoint: str) -> int:
        """How many requests reached ``endpoint`` ("/activity"; the API prefix is optional)."""
        wanted = fault_kinds.normalize_path(endpoint)
        return sum(1 for r in self.requests if r.endpoint == wanted)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _auth_kind(self, authorization: str | None) -> str:
        token = bearer_token(authorization)
        if token is None:
            return "none"
        hashed = key_hash(token)
        for ds in self.datasets:
            if hashed == ds.account.management_key.hash:
                return "management"
            if ds.account.key_by_hash(hashed):
                return "regular"
        return "unknown"

    def _notify(
        self, method: str, path: str, query: dict[str, str], status: int, headers: dict[str, str], body: bytes
    ) -> None:
        if self.on_response is None:
            return
        try:
            self.on_response(method, path, dict(query), status, dict(headers), body)
        except Exception:
            log.exception("fake OpenRouter: on_response callback failed")


def banner(base_url: str, now: datetime, quirks: bool, two_accounts: bool = False) -> str:
    """What ``serve`` prints at start-up: where it listens, the demo keys in full (fake, safe to show), a try."""
    head = f"Fake OpenRouter ({'quirks' if quirks else 'spec'} mode, now={now.isoformat()}) at {base_url}"
    if not two_accounts:
        return (
            f"{head}\n"
            f"  management key ('{DEMO_MANAGEMENT_KEY_NAME}'): {DEMO_MANAGEMENT_KEY}\n"
            f"  regular key ('{DEMO_API_KEY_NAME}'):  {DEMO_API_KEY}\n"
            f"Try: OPENROUTER_BASE_URL={base_url} OPENROUTER_MANAGEMENT_KEY={DEMO_MANAGEMENT_KEY} orusage ingest"
        )
    keys = f"main={DEMO_MANAGEMENT_KEY},second={DEMO_SECOND_MANAGEMENT_KEY}"
    return (
        f"{head}, two accounts (the key chooses)\n"
        f"  account 'main'\n"
        f"    management key ('{DEMO_MANAGEMENT_KEY_NAME}'): {DEMO_MANAGEMENT_KEY}\n"
        f"    regular key ('{DEMO_API_KEY_NAME}'):  {DEMO_API_KEY}\n"
        f"  account 'second'\n"
        f"    management key ('{DEMO_SECOND_MANAGEMENT_KEY_NAME}'): {DEMO_SECOND_MANAGEMENT_KEY}\n"
        f"    regular key ('{DEMO_SECOND_API_KEY_NAME}'):  {DEMO_SECOND_API_KEY}\n"
        f'Try: OPENROUTER_BASE_URL={base_url} OPENROUTER_MANAGEMENT_KEYS="{keys}" orusage ingest'
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    now: datetime | None = None,
    quirks: bool = False,
    seed: int = 7,
    analytics_rate_per_minute: int | None = ANALYTICS_RATE_PER_MINUTE,
    two_accounts: bool = False,
) -> None:
    """Run a fake until Ctrl-C, printing its demo keys (``fake_openrouter.keys``: fake, safe to show).

    ``two_accounts`` also serves the second demo account (``dataset.build(..., second=True)``) at the same URL.
    """
    at = now or datetime.now(UTC)
    dataset = build(at, seed=seed, quirks=quirks)
    others = (build(at, seed=seed, quirks=quirks, second=True),) if two_accounts else ()
    with FakeServer(
        dataset, host=host, port=port, analytics_rate_per_minute=analytics_rate_per_minute, others=others
    ) as fake:
        print(banner(fake.base_url, dataset.now, quirks, two_accounts), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Fake OpenRouter stopped.", file=sys.stderr)
