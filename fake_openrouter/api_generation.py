"""GET /generation?id=: one generation's metadata, from the ``generations`` table.

Fields the table does not hold (``upstream_id``, ``moderation_latency``, ``provider_responses``, ``user_agent``,
``request_id``, …) are derived from the generation id, so they are the same on every call and in every fake.
As on the real API, a generation younger than a few seconds answers 404 first (``ServerState.is_fresh``).
``/generation/content`` (prompts and completions) is never served: the project must not store content.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import duckdb

from fake_openrouter.api_common import ApiError, ApiRequest, JsonObject, iso
from fake_openrouter.catalog import BYOK_PROVIDERS, endpoint_id
from fake_openrouter.dataset import Dataset

NOT_FOUND = "Generation not found"
_UPSTREAM_PREFIX = {"OpenAI": "chatcmpl-", "Azure": "chatcmpl-", "Anthropic": "msg_01", "Amazon Bedrock": "msg_bdrk_01"}
_USER_AGENTS = ("OpenAI/Python 1.99.1", "python-httpx/0.28.1", "OpenAI/JS 5.12.0", "ai-sdk/openai-compatible 1.0.9")
_MODERATED_AUTHORS = ("openai", "anthropic")
_FALLBACK_EVERY = 25  # about one generation in 25 was first tried on another provider, which failed

_COLUMNS = (
    "id, created_at, model, model_permaslug, provider_name, endpoint_id, api_key_hash, workspace_id, app_id, "
    "origin, http_referer, external_user, api_type, tokens_prompt, tokens_completion, native_tokens_prompt, "
    "native_tokens_completion, native_tokens_reasoning, native_tokens_cached, usage, total_cost, "
    "upstream_inference_cost, cache_discount, is_byok, latency, generation_time, finish_reason, "
    "native_finish_reason, streamed, cancelled, service_tier, num_search_results, web_search_engine"
)


def _digest(gen_id: str, salt: str) -> bytes:
    return hashlib.sha256(f"{salt}/{gen_id}".encode()).digest()


def _provider_responses(ds: Dataset, row: dict[str, Any], upstream_id: str) -> list[JsonObject]:
    final: JsonObject = {
        "endpoint_id": row["endpoint_id"],
        "id": upstream_id,
        "is_byok": row["is_byok"],
        "latency": float(row["latency"]),
        "model_permaslug": row["model_permaslug"],
        "provider_name": row["provider_name"],
        "status": 200,
    }
    model = ds.model(row["model"])
    others = [p for p, _ in model.providers if p != row["provider_name"]] if model else []
    fate = _digest(row["id"], "fallback")
    if not others or fate[0] % _FALLBACK_EVERY:
        return [final]
    other = others[fate[1] % len(others)]
    failed: JsonObject = {
        "endpoint_id": endpoint_id(row["model"], other),
        "is_byok": other in BYOK_PROVIDERS,
        "latency": float(200 + fate[2] * 4),
        "model_permaslug": row["model_permaslug"],
        "provider_name": other,
        "status": 502 if fate[3] % 2 else 429,
    }
    return [failed, final]


def _item(ds: Dataset, row: dict[str, Any]) -> JsonObject:
    gen_id = row["id"]
    digest = _digest(gen_id, "upstream").hex()
    upstream_id = _UPSTREAM_PREFIX.get(row["provider_name"], "") + digest[:24]
    image = row["api_type"] == "image"
    moderated = row["model"].split("/", 1)[0] in _MODERATED_AUTHORS and not row["is_byok"]
    ua = _digest(row["api_key_hash"], "user-agent")[0] % len(_USER_AGENTS)
    return {
        "id": gen_id,
        "upstream_id": upstream_id,
        "total_cost": float(row["total_cost"]),
        "cache_discount": float(row["cache_discount"]),
        "upstream_inference_cost": float(row["upstream_inference_cost"]),
        "created_at": iso(row["created_at"].replace(tzinfo=UTC)),
        "model": row["model"],
        "app_id": row["app_id"],
        "streamed": row["streamed"],
        "cancelled": row["cancelled"],
        "provider_name": row["provider_name"],
        "latency": float(row["latency"]),
        "moderation_latency": float(15 + _digest(gen_id, "moderation")[0] % 60) if moderated else None,
        "generation_time": float(row["generation_time"]),
        "finish_reason": row["finish_reason"],
        "service_tier": row["service_tier"],
        "tokens_prompt": row["tokens_prompt"],
        "tokens_completion": row["tokens_completion"],
        "native_tokens_prompt": row["native_tokens_prompt"],
        "native_tokens_completion": row["native_tokens_completion"],
        "native_tokens_completion_images": row["native_tokens_completion"] if image else None,
        "native_tokens_reasoning": row["native_tokens_reasoning"],
        "native_tokens_cached": row["native_tokens_cached"],
        "num_media_prompt": None,
        "num_input_audio_prompt": None,
        "num_media_completion": 1 if image else None,
        "num_search_results": row["num_search_results"] or None,
        "num_fetches": None,
        "web_search_engine": row["web_search_engine"],
        "origin": row["origin"] or "",  # a required string: unattributed requests have none
        "usage": float(row["usage"]),
        "is_byok": row["is_byok"],
        "native_finish_reason": row["native_finish_reason"],
        "external_user": row["external_user"],
        "api_type": row["api_type"],
        "preset_id": None,
        "router": None,
        "provider_responses": _provider_responses(ds, row, upstream_id),
        "user_agent": _USER_AGENTS[ua],
        "http_referer": row["http_referer"],
        "data_region": "global",
        "workspace_id": row["workspace_id"],
        "request_id": "req-" + _digest(gen_id, "request").hex()[:26],
        "session_id": None,
        "response_cache_source_id": None,
    }


def _required_id(req: ApiRequest) -> str:
    gen_id = req.query.get("id", "")
    if not gen_id:
        raise ApiError(400, "Missing required query parameter 'id'")
    return gen_id


class _Lookup:
    """Every generation's /generation columns, columnar (Arrow), with a position per id: a lookup costs
    microseconds where a DuckDB query per call costs milliseconds (the demo fetches tens of thousands)."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.table = cur.sql(
            f"SELECT {_COLUMNS} FROM generations JOIN generation_bills USING (id)"  # noqa: S608 - fixed columns
        ).to_arrow_table()
        self.position = {gen_id: i for i, gen_id in enumerate(self.table.column("id").to_pylist())}

    def row(self, gen_id: str) -> dict[str, Any] | None:
        i = self.position.get(gen_id)
        return None if i is None else self.table.slice(i, 1).to_pylist()[0]


def _lookup(ds: Dataset, cur: duckdb.DuckDBPyConnection) -> _Lookup:
    """The data set's lookup, built at its first /generation call."""
    with ds.lock:
        found = ds.derived.get("generation")
        if not isinstance(found, _Lookup):
            found = ds.derived["generation"] = _Lookup(cur)
        return found


def generation(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    gen_id = _required_id(req)
    row = _lookup(ds, cur).row(gen_id)
    if row is None:
        raise ApiError(404, NOT_FOUND)
    created: datetime = row["created_at"].replace(tzinfo=UTC)
    if req.state.is_fresh(gen_id, created):
        raise ApiError(404, NOT_FOUND)  # not yet visible, as on the real API for a few seconds
    return {"data": _item(ds, row)}


def generation_content(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    _required_id(req)
    raise ApiError(404, "Generation content is not stored by the fake OpenRouter")
