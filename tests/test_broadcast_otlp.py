"""OTLP/JSON deliveries → allowlisted records (ingest.broadcast.otlp), pure: what is kept, what never is."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from ingest.broadcast import otlp
from queries.broadcast import MAX_TAGS, TAG_VALUE_CHARS

SENTINEL = "SENTINEL-PROMPT-7f3a"
# Every name content travels under in OTLP receivers' conventions, plus ones nobody allowlists.
CONTENT_KEYS = (
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "input.value",
    "output.value",
    "span.input",
    "span.output",
    "trace.input",
    "trace.output",
    "llm.input_messages.0.message.content",
    "gen_ai.prompt.0.content",
    "some.future.attribute",
)


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": value}}


def span(attributes: list[dict[str, Any]], start: str | None = "1763650000123456789", name: str = "chat") -> dict:
    out: dict[str, Any] = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": name, "attributes": attributes}
    if start is not None:
        out["startTimeUnixNano"] = start
        out["endTimeUnixNano"] = str(int(start) + 10**9)
    return out


def export(*spans: dict[str, Any], resource: list[dict[str, Any]] | None = None) -> bytes:
    body = {"resourceSpans": [{"resource": {"attributes": resource or []}, "scopeSpans": [{"spans": list(spans)}]}]}
    return json.dumps(body).encode()


ROOT = [
    attr("gen_ai.response.id", "gen-1763650000-abc"),
    attr("gen_ai.request.model", "openai/gpt-4o"),
    attr("gen_ai.usage.input_tokens", 120),
    attr("gen_ai.usage.output_tokens", 45),
    attr("gen_ai.usage.input_tokens.cached", 100),
    attr("gen_ai.usage.output_tokens.reasoning", 7),
    attr("gen_ai.usage.total_cost", 0.00123),
    attr("gen_ai.response.finish_reasons", ["stop"]),
    attr("openrouter.provider_name", "OpenAI"),
    attr("trace.metadata.openrouter.api_key_name", "production-backend"),
    attr("user.id", "user_1001"),
    attr("session.id", "sess-1"),
    attr("trace.metadata.project", "alpha"),
    attr("trace.metadata.openrouter_generation.usage", 0.00123),
    attr("trace.metadata.openrouter_generation.is_byok", False),
    attr("trace.metadata.openrouter_generation.model", "openai/gpt-4o-2024-08-06"),
    attr("trace.metadata.openrouter_generation.app_id", 301245),
]


def test_the_allowlist_maps_each_attribute_onto_its_column() -> None:
    found = otlp.extract(otlp.parse(export(span(ROOT))))
    assert (found.spans, found.without_id, found.without_time) == (1, 0, 0)
    (record,) = found.records
    assert record.id == "gen-1763650000-abc"
    assert record.created_at == datetime(2025, 11, 20, 14, 46, 40, 123456)  # nanoseconds → microseconds, UTC
    assert record.fields == {
        "model": "openai/gpt-4o",
        "native_tokens_prompt": 120,
        "native_tokens_completion": 45,
        "native_tokens_cached": 100,
        "native_tokens_reasoning": 7,
        "total_cost": 0.00123,
        "finish_reason": "stop",
        "provider_name": "OpenAI",
        "api_key_name": "production-backend",
        "external_user": "user_1001",
        "session_id": "sess-1",
        "usage": 0.00123,
        "is_byok": False,
        "model_permaslug": "openai/gpt-4o-2024-08-06",
        "app_id": 301245,
    }
    assert record.tags == (("project", "alpha"),)


def test_content_under_any_name_is_never_copied() -> None:
    content = [attr(k, f"[{{'role': 'user', 'content': '{SENTINEL}'}}]") for k in CONTENT_KEYS]
    root = span([*ROOT, *content], name=SENTINEL)
    root["events"] = [{"name": "gen_ai.content.prompt", "attributes": [attr("gen_ai.prompt", SENTINEL)]}]
    child = span([attr("gen_ai.prompt", SENTINEL), attr("openrouter.provider_name", "OpenAI")], name=SENTINEL)
    found = otlp.extract(otlp.parse(export(root, child, resource=[attr("service.name", SENTINEL)])))
    kept = json.dumps([otlp.record_json(r) for r in found.records])
    assert SENTINEL not in kept
    assert found.records[0].fields["total_cost"] == pytest.approx(0.00123)


def test_a_value_of_the_wrong_type_is_ignored_never_guessed() -> None:
    found = otlp.extract(
        otlp.parse(
            export(
                span(
                    [
                        attr("gen_ai.response.id", "gen-x"),
                        attr("gen_ai.usage.input_tokens", "many"),  # not a number
                        attr("gen_ai.usage.total_cost", True),  # not a number either
                        attr("gen_ai.request.model", "x" * 2000),  # too long for a model: content, not a name
                        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 12}},  # a JSON number: fine
                    ]
                )
            )
        )
    )
    assert found.records[0].fields == {"native_tokens_completion": 12}


def test_spans_without_an_id_or_a_time_are_counted_and_skipped() -> None:
    child = span([attr("openrouter.provider_name", "OpenAI")])
    untimed = span([attr("gen_ai.response.id", "gen-untimed")], start=None)
    found = otlp.extract(otlp.parse(export(span(ROOT), child, untimed)))
    assert (found.spans, found.without_id, found.without_time) == (3, 1, 1)
    assert [r.id for r in found.records] == ["gen-1763650000-abc"]


def test_of_several_spans_with_one_id_the_one_with_usage_wins() -> None:
    attempt = span([attr("gen_ai.response.id", "gen-1763650000-abc"), attr("openrouter.provider_name", "Azure")])
    found = otlp.extract(otlp.parse(export(attempt, span(ROOT))))
    assert len(found.records) == 1 and found.records[0].fields["provider_name"] == "OpenAI"


def test_tags_are_capped_per_generation_and_in_length() -> None:
    many = [attr(f"trace.metadata.k{i:02d}", f"v{i}") for i in range(MAX_TAGS + 5)]
    long_value = attr("trace.metadata.note", "y" * 500)
    long_key = attr("trace.metadata." + "k" * 101, "v")
    found = otlp.extract(otlp.parse(export(span([ROOT[0], long_value, *many, long_key]))))
    tags = found.records[0].tags
    assert len(tags) == MAX_TAGS and tags[0] == ("note", "y" * TAG_VALUE_CHARS)
    assert found.tags_dropped == 5 + 1 + 1  # beyond 20, and the key over 100 characters


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"resourceSpans": {}}', b'{"resourceSpans": [{"scopeSpans": [{"spans": 3}]}]}',
     b'{"data": []}', b"\xff\xfe"],
)  # fmt: skip
def test_a_body_that_is_not_an_otlp_export_is_refused(body: bytes) -> None:
    with pytest.raises(otlp.NotOtlp):
        otlp.parse(body)


@pytest.mark.parametrize("body", [b"", b"  ", b"{}", b'{"resourceSpans": []}'])
def test_an_empty_export_is_an_export_with_nothing_in_it(body: bytes) -> None:
    assert otlp.extract(otlp.parse(body)).spans == 0
