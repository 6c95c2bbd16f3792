"""An OTLP/JSON trace delivery → the allowlisted generation records it holds. Pure.

Only the attributes of docs/broadcast.md's allowlist are read (``FIELDS``, the opt-in generation metadata
under ``GENERATION_PREFIXES``, the tags under ``TAG_PREFIX``); everything else — prompts, completions,
messages, events, span names, resource attributes — is never copied anywhere, so nothing downstream (the
spool, the store) can hold it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from queries.broadcast import MAX_TAGS, TAG_KEY_CHARS, TAG_VALUE_CHARS
from queries.generations import BROADCAST_COLUMNS

MAX_TEXT = 1024  # longer text in an allowlisted column is not an id, name or reason: dropped
MAX_ID = 256
EPOCH = datetime(1970, 1, 1)

# The generation id, first match wins.
ID_KEYS = ("gen_ai.response.id", "trace.metadata.openrouter.generation_id", "openrouter.generation_id")
# Column → attributes, first match wins (docs/broadcast.md, "The allowlist").
FIELDS: dict[str, tuple[str, ...]] = {
    "model": ("gen_ai.request.model", "gen_ai.response.model"),
    "provider_name": ("openrouter.provider_name", "trace.metadata.openrouter.provider_name"),
    "native_tokens_prompt": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "native_tokens_completion": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "native_tokens_cached": ("gen_ai.usage.input_tokens.cached",),
    "native_tokens_reasoning": ("gen_ai.usage.output_tokens.reasoning",),
    "native_tokens_completion_images": ("gen_ai.usage.output_tokens.image",),
    "total_cost": ("gen_ai.usage.total_cost", "gen_ai.usage.cost"),
    "finish_reason": ("gen_ai.response.finish_reasons", "gen_ai.response.finish_reason", "openrouter.finish_reason"),
    "external_user": ("user.id",),
    "session_id": ("session.id",),
    "api_key_name": ("trace.metadata.openrouter.api_key_name", "openrouter.api_key_name"),
}
# The opt-in generation metadata (Cost, Identity, Request context) carries /generation's own field names.
GENERATION_PREFIXES = ("trace.metadata.openrouter_generation.", "openrouter_generation.", "trace.metadata.openrouter.")
# `model` there is "the versioned model permaslug" (OpenRouter's Broadcast overview).
GENERATION_RENAMED = {"model": "model_permaslug"}
TAG_PREFIX = "trace.metadata."
NOT_TAGS = ("openrouter.", "openrouter_generation.")  # OpenRouter's own metadata, not the request's `trace`
USAGE = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.total_cost", "gen_ai.usage.cost")


class NotOtlp(ValueError):
    """The body is not an OTLP/JSON trace export: ``str()`` says what is wrong, in one line."""


@dataclass(frozen=True)
class Record:
    """One generation as a delivery describes it: only allowlisted columns and the tags."""

    id: str
    created_at: datetime  # naive UTC
    fields: dict[str, Any]
    tags: tuple[tuple[str, str], ...]


@dataclass
class Extracted:
    records: list[Record] = field(default_factory=list)
    spans: int = 0
    without_id: int = 0
    without_time: int = 0
    tags_dropped: int = 0


def parse(body: bytes) -> Mapping[str, Any]:
    """The JSON object of an OTLP/JSON export. An empty body is an empty export (the connection test)."""
    if not body.strip():
        return {}
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotOtlp(f"not JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(payload, dict):
        raise NotOtlp("not an OTLP export: the body is not a JSON object")
    spans = payload.get("resourceSpans", [])
    if not isinstance(spans, list) or not all(isinstance(r, dict) for r in spans):
        raise NotOtlp("not an OTLP export: resourceSpans is not a list of objects")
    for resource in spans:
        scopes = resource.get("scopeSpans", [])
        if not isinstance(scopes, list) or not all(isinstance(s, dict) for s in scopes):
            raise NotOtlp("not an OTLP export: scopeSpans is not a list of objects")
        for scope in scopes:
            inner = scope.get("spans", [])
            if not isinstance(inner, list) or not all(isinstance(s, dict) for s in inner):
                raise NotOtlp("not an OTLP export: spans is not a list of objects")
    if not spans and set(payload) - {"resourceSpans"}:
        raise NotOtlp("not an OTLP export: no resourceSpans")
    return payload


def _scalar(value: Any) -> Any:
    """An OTLP AnyValue as a Python value (None for what has no scalar form)."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"] if isinstance(value["stringValue"], str) else None
    if "boolValue" in value:
        return value["boolValue"] if isinstance(value["boolValue"], bool) else None
    if "intValue" in value:  # 64-bit integers are JSON strings in OTLP/JSON; some senders use numbers
        raw = value["intValue"]
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
        return None
    if "doubleValue" in value:
        raw = value["doubleValue"]
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            return float(raw)
        return None
    if "arrayValue" in value:
        items = value["arrayValue"].get("values") if isinstance(value["arrayValue"], dict) else None
        return [_scalar(v) for v in items] if isinstance(items, list) else None
    return None


def _typed(column: str, value: Any) -> Any:
    """``value`` as the column's type, or None when it is not one (never guessed)."""
    kind = BROADCAST_COLUMNS.get(column, "VARCHAR")
    if isinstance(value, list):  # e.g. gen_ai.response.finish_reasons: the first
        value = next((v for v in value if v is not None), None)
    if value is None:
        return None
    if kind == "VARCHAR":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        text = str(value)
        return text if 0 < len(text) <= MAX_TEXT else None
    if kind == "BIGINT":
        if isinstance(value, bool):
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return value if isinstance(value, int) and -(2**63) <= value < 2**63 else None
    if kind == "DOUBLE":
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return None
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
    if kind == "BOOLEAN":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value if isinstance(value, bool) else None
    return None


def _time(span: Mapping[str, Any]) -> datetime | None:
    for name in ("startTimeUnixNano", "endTimeUnixNano"):
        raw = span.get(name)
        nanos = int(raw) if isinstance(raw, str) and raw.isdigit() else raw if isinstance(raw, int) else None
        if nanos and 0 < nanos < 2**63:
            return EPOCH + timedelta(microseconds=nanos // 1000)
    return None


def _tag(key: str, value: Any) -> tuple[str, str] | None:
    if not key or len(key) > TAG_KEY_CHARS or not key.isprintable():
        return None
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = str(value)
    return key, text[:TAG_VALUE_CHARS]


@dataclass
class _Span:
    id: str | None
    created_at: datetime | None
    fields: dict[str, Any]
    tags: list[tuple[str, str]]
    dropped: int
    usage: bool


def _span(span: Mapping[str, Any]) -> _Span:
    attributes = span.get("attributes")
    values: dict[str, Any] = {}
    if isinstance(attributes, list):
        for item in attributes:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                values.setdefault(item["key"], item.get("value"))  # the first of a repeated key
    gen_id = next((_typed("id", _scalar(values[k])) for k in ID_KEYS if k in values), None)
    if gen_id is not None and (len(gen_id) > MAX_ID or not gen_id.isprintable()):
        gen_id = None
    fields: dict[str, Any] = {}
    for column, keys in FIELDS.items():
        for key in keys:
            typed = _typed(column, _scalar(values[key])) if key in values else None
            if typed is not None:
                fields[column] = typed
                break
    tags: list[tuple[str, str]] = []
    dropped = 0
    for key, value in values.items():
        prefix = next((p for p in GENERATION_PREFIXES if key.startswith(p)), None)
        if prefix is not None:
            name = key[len(prefix) :]
            column = GENERATION_RENAMED.get(name, name)
            if column in BROADCAST_COLUMNS and column not in fields:
                typed = _typed(column, _scalar(value))
                if typed is not None:
                    fields[column] = typed
            continue
        if key.startswith(TAG_PREFIX):
            name = key[len(TAG_PREFIX) :]
            if name.startswith(NOT_TAGS) or name.endswith(".truncated"):
                continue
            tag = _tag(name, _scalar(value))
            if tag is None or len(tags) >= MAX_TAGS:
                dropped += 1
            else:
                tags.append(tag)
    return _Span(gen_id, _time(span), fields, tags, dropped, any(k in values for k in USAGE))


def extract(payload: Mapping[str, Any]) -> Extracted:
    """The generation records of a parsed export (``parse``). A span without a generation id (a provider
    attempt, a timing span) or without a time is counted and skipped; when several spans carry one id, the
    one with usage figures wins, then the one with the most fields."""
    out = Extracted()
    best: dict[str, _Span] = {}
    for resource in payload.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for raw in scope.get("spans", []):
                out.spans += 1
                span = _span(raw)
                if span.id is None:
                    out.without_id += 1
                    continue
                if span.created_at is None:
                    out.without_time += 1
                    continue
                known = best.get(span.id)
                if known is None or (span.usage, len(span.fields)) > (known.usage, len(known.fields)):
                    best[span.id] = span
    for span in best.values():
        assert span.id is not None and span.created_at is not None
        out.tags_dropped += span.dropped
        out.records.append(Record(span.id, span.created_at, span.fields, tuple(span.tags)))
    return out


def record_json(record: Record) -> dict[str, Any]:
    """A record as the spool keeps it (JSON); ``record_from_json`` reads it back."""
    return {
        "id": record.id,
        "created_at": record.created_at.isoformat(),
        "fields": record.fields,
        "tags": [list(t) for t in record.tags],
    }


def record_from_json(data: Mapping[str, Any]) -> Record:
    fields = {c: _typed(c, v) for c, v in dict(data.get("fields") or {}).items() if c in BROADCAST_COLUMNS}
    tags: Sequence[Any] = data.get("tags") or []
    return Record(
        id=str(data["id"]),
        created_at=datetime.fromisoformat(str(data["created_at"])),
        fields={c: v for c, v in fields.items() if v is not None},
        tags=tuple((str(k), str(v)) for k, v in tags),
    )
