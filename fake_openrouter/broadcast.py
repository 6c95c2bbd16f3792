"""Broadcast, as OpenRouter does it: the generations the fake bills, posted as OTLP/JSON traces to a
destination (a Webhook), one delivery per request, with faults on demand.

What a delivery holds follows OpenRouter's Broadcast pages (overview, Webhook, OpenTelemetry Collector; the
project's docs/broadcast.md cites them): a root span per generation with the id (``gen_ai.response.id``),
its time, model, provider, tokens, total cost, finish reason, ``user.id``, ``session.id``, the key's name
and the request's ``trace`` metadata (``trace.metadata.*``), plus a child provider-attempt span without the
id. The destination's settings decide the rest, as on openrouter.ai:

- ``privacy_mode`` off: the prompt and completion are sent too, under the content attributes OTLP
  receivers know (``gen_ai.prompt``, ``gen_ai.completion``, ``gen_ai.input.messages``, …);
- the opt-in groups (``cost``, ``identity``, ``request_context``) add ``/generation``'s own fields under
  ``trace.metadata.openrouter_generation.*`` (which field sits in which group beyond those the docs name
  is the fake's choice, ``GROUPS``);
- ``sampling_rate``: a deterministic share (per session when there is one, else per generation);
- ``api_key_hashes``: only those keys' traffic.

Faults (``BroadcastFaults``): ``duplicate`` (each of the next N deliveries posted twice), ``reorder`` (the
next batch posted newest first), ``drop`` (the next N deliveries never posted: a trace the receiver must
count as missing), ``malformed`` (N bodies that are not OTLP posted before the next batch).

``bill`` makes new generations "now" (the server's clock) in the data set itself, so /generation,
analytics and /activity all know them, and posts them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from fake_openrouter.dataset import Dataset

_NS = uuid.UUID("6c1f0e52-7d0b-4c55-9a3c-2b8e5f7d9a41")
FEATURES = ("chat", "search", "summarize", "classify", "extract")
CONTENT_KEYS = (
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "trace.input",
    "trace.output",
)
# The opt-in groups of "Additional generation metadata": /generation's names, in openrouter_generation.
GROUPS: dict[str, tuple[str, ...]] = {
    "cost": (
        "usage",
        "is_byok",
        "byok_usage_inference",
        "upstream_inference_cost",
        "cache_discount",
        "cancelled",
        "tokens_prompt",
        "tokens_completion",
        "model",
        "api_type",
    ),
    "identity": ("app_id", "origin", "http_referer", "workspace_id", "external_user"),
    "request_context": (
        "model",
        "api_type",
        "streamed",
        "latency",
        "generation_time",
        "native_finish_reason",
    ),
}
GENERATION_PREFIX = "trace.metadata.openrouter_generation."
SAMPLING_MIN = 0.0001
FAULT_KINDS = ("duplicate", "reorder", "drop", "malformed")
MALFORMED_BODY = b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "'


@dataclass
class Destination:
    """A Webhook destination as ``/observability/destinations`` lists it (and where the fake posts)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    name: str = "orusage receive"
    type: str = "webhook"
    enabled: bool = True
    sampling_rate: float = 1.0
    privacy_mode: bool = False
    cost: bool = True
    identity: bool = True
    request_context: bool = True
    api_key_hashes: list[str] | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2026, 1, 12, 9, 30, tzinfo=UTC))

    def __post_init__(self) -> None:
        if self.method not in ("POST", "PUT"):
            raise ValueError("method must be POST or PUT")
        if not SAMPLING_MIN <= self.sampling_rate <= 1:
            raise ValueError(f"sampling_rate must be between {SAMPLING_MIN} and 1")
        if self.type not in ("webhook", "otel-collector"):
            raise ValueError("type must be webhook or otel-collector")

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NS, f"destination/{self.name}"))

    def listed(self, workspace_id: str) -> dict[str, Any]:
        """The spec's ObservabilityWebhookDestination (or OtelCollector): header values masked, as the API does."""
        masked = {k: (v[:4] + "..." + v[-4:] if len(v) > 12 else "****") for k, v in self.headers.items()}
        config: dict[str, Any] = (
            {"url": self.url, "method": self.method, "headers": masked}
            if self.type == "webhook"
            else {"endpoint": self.url, "headers": masked}
        )
        stamp = self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": self.id,
            "workspace_id": workspace_id,
            "name": self.name,
            "type": self.type,
            "enabled": self.enabled,
            "privacy_mode": self.privacy_mode,
            "broadcast_generation_cost": self.cost,
            "broadcast_generation_identity": self.identity,
            "broadcast_generation_request_context": self.request_context,
            "sampling_rate": self.sampling_rate,
            "api_key_hashes": self.api_key_hashes,
            "filter_rules": None,
            "config": config,
            "created_at": stamp,
            "updated_at": stamp,
        }


class BroadcastFaults:
    """Queued misbehaviours of the sender; each ``take`` consumes one use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: Counter[str] = Counter()

    def add(self, kind: str, times: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown broadcast fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        with self._lock:
            self._left[kind] += times

    def take(self, kind: str, all_of_them: bool = False) -> int:
        with self._lock:
            left = self._left[kind]
            used = left if all_of_them else min(left, 1)
            self._left[kind] = left - used
            return used

    def clear(self) -> None:
        with self._lock:
            self._left.clear()

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {k: v for k, v in self._left.items() if v}


@dataclass
class Report:
    """What one send did."""

    ids: list[str] = field(default_factory=list)  # generations posted (at least once)
    deliveries: int = 0  # HTTP requests made (duplicates and malformed bodies included)
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no answer (connection refused, timeout)
    dropped: list[str] = field(default_factory=list)  # chosen by the ``drop`` fault: never posted
    unsampled: int = 0
    filtered: int = 0  # not one of the destination's keys
    malformed: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "ids": self.ids,
            "deliveries": self.deliveries,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "dropped": self.dropped,
            "unsampled": self.unsampled,
            "filtered": self.filtered,
            "malformed": self.malformed,
        }


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def sampled(gen_id: str, session_id: str | None, rate: float) -> bool:
    """Deterministic: a session is kept or left out whole (OpenRouter's Broadcast overview)."""
    if rate >= 1:
        return True
    unit = int(_hex(f"sample/{session_id or gen_id}", 8), 16) / 0x1_0000_0000
    return unit < rate


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # OTLP/JSON: 64-bit integers as strings
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _attributes(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in values.items() if v is not None]


def _nanos(moment: datetime) -> str:
    epoch = datetime(1970, 1, 1)
    delta = moment.replace(tzinfo=None) - epoch
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000)


_COLUMNS = (
    "g.id, g.created_at, g.model, g.model_permaslug, g.provider_name, g.api_key_hash, g.api_key_name, "
    "g.workspace_id, g.app_id, g.origin, g.http_referer, g.external_user, g.api_type, g.tokens_prompt, "
    "g.tokens_completion, g.native_tokens_prompt, g.native_tokens_completion, g.native_tokens_reasoning, "
    "g.native_tokens_cached, g.usage, g.total_cost, g.byok_usage_inference, g.upstream_inference_cost, "
    "g.cache_discount, g.is_byok, g.latency, g.generation_time, g.finish_reason, g.native_finish_reason, "
    "g.streamed, g.cancelled"
)


class Broadcaster:
    """The fake's Broadcast sender over its data set. Thread-safe; posts on the calling thread."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.faults = BroadcastFaults()
        self._lock = threading.Lock()
        self._destination: Destination | None = None
        self._requests: dict[str, dict[str, Any]] = {}  # id -> what a billed request carried (trace, prompt)
        self._billed = itertools.count(1)

    @property
    def destination(self) -> Destination | None:
        with self._lock:
            return self._destination

    def configure(self, destination: Destination | None) -> None:
        with self._lock:
            self._destination = destination

    # ---- what a request carried ----------------------------------------------------------------------

    def request_of(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The request's ``trace`` metadata, session and content: a billed one's as given, else derived
        from the id (stable across fakes)."""
        with self._lock:
            given = self._requests.get(row["id"])
        if given is not None:
            return given
        digest = int(_hex(f"request/{row['id']}", 8), 16)
        environment = "staging" if "staging" in str(row["api_key_name"]) else "production"
        trace: dict[str, Any] = {"environment": environment, "feature": FEATURES[digest % len(FEATURES)]}
        if digest % 7 == 0:
            trace["trace_name"] = "nightly-batch"
        # A third of requests belong to a session (a user's hour of chat): sampling keeps or drops it whole.
        hour = str(row["created_at"])[:13]
        session = f"sess-{_hex(str(row['external_user']) + hour, 12)}" if digest % 3 == 0 else None
        return {
            "trace": trace,
            "session_id": session,
            "prompt": f"Question {digest % 1000} about {trace['feature']}",
            "completion": f"Answer {digest % 997}",
        }

    # ---- the payload ---------------------------------------------------------------------------------

    def payload(self, row: Mapping[str, Any], destination: Destination) -> dict[str, Any]:
        """One delivery: the generation's trace, as the destination's settings shape it."""
        request = self.request_of(row)
        created: datetime = row["created_at"]
        ended = created + timedelta(milliseconds=float(row["generation_time"] or 0))
        trace_id = _hex(f"trace/{row['id']}", 32)
        root_span = _hex(f"span/{row['id']}", 16)
        finish = row["finish_reason"]
        root: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.response.id": row["id"],
            "gen_ai.request.model": row["model"],
            "gen_ai.response.model": row["model"],
            "gen_ai.usage.input_tokens": row["native_tokens_prompt"],
            "gen_ai.usage.output_tokens": row["native_tokens_completion"],
            "gen_ai.usage.total_tokens": (row["native_tokens_prompt"] or 0) + (row["native_tokens_completion"] or 0),
            "gen_ai.usage.input_tokens.cached": row["native_tokens_cached"],
            "gen_ai.usage.output_tokens.reasoning": row["native_tokens_reasoning"],
            "gen_ai.usage.total_cost": float(row["total_cost"]),
            "gen_ai.response.finish_reasons": [finish] if finish else None,
            "openrouter.provider_name": row["provider_name"],
            "trace.metadata.openrouter.api_key_name": row["api_key_name"],
            "user.id": row["external_user"],
            "session.id": request.get("session_id"),
        }
        for key, value in (request.get("trace") or {}).items():
            root[f"trace.metadata.{key}"] = value
        groups = [g for g, on in (("cost", destination.cost), ("identity", destination.identity),
                                   ("request_context", destination.request_context)) if on]  # fmt: skip
        for group in groups:
            for name in GROUPS[group]:
                root[GENERATION_PREFIX + name] = row["model_permaslug"] if name == "model" else row[name]
        child: dict[str, Any] = {"openrouter.provider_name": row["provider_name"], "gen_ai.request.model": row["model"]}
        if not destination.privacy_mode:
            prompt = json.dumps([{"role": "user", "content": request.get("prompt", "")}])
            completion = json.dumps([{"role": "assistant", "content": request.get("completion", "")}])
            for key in CONTENT_KEYS:
                root[key] = prompt if "prompt" in key or "input" in key else completion
            child["gen_ai.prompt"] = prompt
        span_name = (request.get("trace") or {}).get("generation_name") or row["model"]
        spans = [
            {
                "traceId": trace_id,
                "spanId": root_span,
                "name": span_name,
                "kind": 3,
                "startTimeUnixNano": _nanos(created),
                "endTimeUnixNano": _nanos(ended),
                "attributes": _attributes(root),
                "status": {"code": 1},
            },
            {
                "traceId": trace_id,
                "spanId": _hex(f"attempt/{row['id']}", 16),
                "parentSpanId": root_span,
                "name": f"provider {row['provider_name']}",
                "kind": 3,
                "startTimeUnixNano": _nanos(created),
                "endTimeUnixNano": _nanos(ended),
                "attributes": _attributes(child),
            },
        ]
        return {
            "resourceSpans": [
                {
                    "resource": {"attributes": _attributes({"service.name": "openrouter"})},
                    "scopeSpans": [{"scope": {"name": "openrouter"}, "spans": spans}],
                }
            ]
        }

    # ---- sending -------------------------------------------------------------------------------------

    def rows(self, ids: Sequence[str] | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Generations by id, or created in [since, until), oldest first."""
        cur = self.dataset.cursor()
        try:
            if ids is not None:
                where = "list_contains(?::VARCHAR[], g.id)"
                params: list[Any] = [list(ids)]
            else:
                where = (
                    "(?::TIMESTAMP IS NULL OR g.created_at >= ?::TIMESTAMP) "
                    "AND (?::TIMESTAMP IS NULL OR g.created_at < ?::TIMESTAMP)"
                )
                lo = since.replace(tzinfo=None) if since else None
                hi = until.replace(tzinfo=None) if until else None
                params = [lo, lo, hi, hi]
            params.append(limit if limit is not None else 1 << 62)
            result = cur.execute(
                f"SELECT {_COLUMNS} FROM generations g WHERE {where} ORDER BY g.created_at, g.id LIMIT ?",  # noqa: S608
                params,
            )
            names = [d[0] for d in result.description]
            return [dict(zip(names, r, strict=True)) for r in result.fetchall()]
        finally:
            cur.close()

    def send(self, rows: Iterable[Mapping[str, Any]], timeout: float = 10.0) -> Report:
        """Post each generation's trace to the destination, applying the queued faults."""
        report = Report()
        destination = self.destination
        if destination is None or not destination.enabled:
            return report
        batch: list[Mapping[str, Any]] = []
        for row in rows:
            if destination.api_key_hashes is not None and row["api_key_hash"] not in destination.api_key_hashes:
                report.filtered += 1
            elif not sampled(row["id"], self.request_of(row).get("session_id"), destination.sampling_rate):
                report.unsampled += 1
            else:
                batch.append(row)
        for _ in range(self.faults.take("malformed", all_of_them=True)):
            report.malformed += 1
            self._post(destination, MALFORMED_BODY, report, timeout)
        if self.faults.take("reorder"):
            batch.reverse()
        for row in batch:
            if self.faults.take("drop"):
                report.dropped.append(row["id"])
                continue
            body = json.dumps(self.payload(row, destination)).encode()
            copies = 2 if self.faults.take("duplicate") else 1
            for _ in range(copies):
                self._post(destination, body, report, timeout)
            report.ids.append(row["id"])
        return report

    def _post(self, destination: Destination, body: bytes, report: Report, timeout: float) -> None:
        request = urllib.request.Request(
            destination.url,
            data=body,
            method=destination.method,
            headers={**destination.headers, "Content-Type": "application/json"},
        )
        report.deliveries += 1
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                report.statuses[answer.status] += 1
        except urllib.error.HTTPError as exc:
            report.statuses[exc.code] += 1
        except (urllib.error.URLError, OSError):
            report.statuses[0] += 1

    # ---- billing new generations ---------------------------------------------------------------------

    def bill(
        self,
        now: datetime,
        count: int = 1,
        *,
        trace: Mapping[str, Any] | None = None,
        prompt: str | None = None,
        session_id: str | None = None,
        key_name: str | None = None,
    ) -> list[str]:
        """Make ``count`` generations at ``now`` (naive or aware UTC), each a copy of a recent one of the key
        (any key by default) under a new id, in every table the endpoints answer from. Returns their ids."""
        if not 1 <= count <= 1000:
            raise ValueError("count must be 1..1000")
        moment = (now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)).replace(tzinfo=None)
        ids = []
        cur = self.dataset.cursor()
        try:
            template = cur.execute(
                "SELECT id FROM generations WHERE (?::VARCHAR IS NULL OR api_key_name = ?) "
                "ORDER BY created_at DESC, id LIMIT ?",
                [key_name, key_name, count],
            ).fetchall()
            if not template:
                raise ValueError(f"no generation of key {key_name!r} to copy")
            for index in range(count):
                source = template[index % len(template)][0]
                seq = next(self._billed)
                at = moment + timedelta(microseconds=index)
                new_id = f"gen-{int(at.replace(tzinfo=UTC).timestamp())}-{_hex(f'bill/{seq}/{at.isoformat()}', 20)}"
                _copy(cur, source, new_id, at)
                ids.append(new_id)
                with self._lock:
                    self._requests[new_id] = {
                        "trace": dict(trace) if trace is not None else {"environment": "production", "feature": "chat"},
                        "session_id": session_id,
                        "prompt": prompt if prompt is not None else f"Billed request {seq}",
                        "completion": f"Answer to billed request {seq}",
                    }
        finally:
            cur.close()
        with self.dataset.lock:
            self.dataset.derived.pop("generation", None)  # /generation's lookup predates these ids
        return ids


def _copy(cur: duckdb.DuckDBPyConnection, source: str, new_id: str, at: datetime) -> None:
    cur.execute(
        "INSERT INTO generations SELECT * REPLACE (? AS id, ?::TIMESTAMP AS created_at) FROM generations WHERE id = ?",
        [new_id, at, source],
    )
    cur.execute(
        "INSERT INTO generation_extras SELECT * REPLACE (? AS id) FROM generation_extras WHERE id = ?",
        [new_id, source],
    )
    cur.execute(  # what the bill was made of: /generation, analytics and the export read it
        "INSERT INTO generation_bills SELECT * REPLACE (? AS id) FROM generation_bills WHERE id = ?",
        [new_id, source],
    )
