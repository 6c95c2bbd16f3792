"""GET /models: the catalog with current list prices as strings, text-output models unless asked otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import duckdb

from fake_openrouter.api_common import ApiRequest, JsonObject, int_param
from fake_openrouter.catalog import Model, Override, Prices, usd_string
from fake_openrouter.dataset import Dataset

_PARAMS = ["max_tokens", "temperature", "top_p", "stop", "tools", "tool_choice", "response_format", "seed"]


def _wanted(model: Model, output_modalities: str | None) -> bool:
    if output_modalities is None or output_modalities == "":
        return model.text_output
    wanted = {m.strip() for m in output_modalities.split(",") if m.strip()}
    return "all" in wanted or bool(wanted & set(model.output_modalities))


def _override(o: Override) -> JsonObject:
    item: JsonObject = {}
    for key, value in (("min_prompt_tokens", o.min_prompt_tokens), ("utc_start", o.utc_start), ("utc_end", o.utc_end)):
        if value is not None:
            item[key] = value
    for key, price in (
        ("prompt", o.prompt),
        ("completion", o.completion),
        ("input_cache_read", o.cache_read),
        ("input_cache_write", o.cache_write),
        ("input_cache_write_1h", o.cache_write_1h),
    ):
        if price is not None:
            item[key] = usd_string(price)
    return item


def pricing(prices: Prices, overrides: tuple[Override, ...] = ()) -> JsonObject:
    """Prices as the API writes them: USD per token as plain decimal strings; ``overrides`` after the
    model's own (an endpoint's time windows)."""
    out: JsonObject = {"prompt": usd_string(prices.prompt), "completion": usd_string(prices.completion)}
    if prices.request:
        out["request"] = format(prices.request, "f").rstrip("0").rstrip(".")
    if prices.cache_read is not None:
        out["input_cache_read"] = usd_string(prices.cache_read)
    if prices.cache_write is not None:
        out["input_cache_write"] = usd_string(prices.cache_write)
    if prices.cache_write_1h is not None:
        out["input_cache_write_1h"] = usd_string(prices.cache_write_1h)
    if prices.reasoning is not None:
        out["internal_reasoning"] = usd_string(prices.reasoning)
    if prices.web_search is not None:
        out["web_search"] = format(prices.web_search, "f").rstrip("0").rstrip(".")
    entries = (*prices.overrides, *overrides)
    if entries:
        out["overrides"] = [_override(o) for o in entries]
    return out


def _pricing(model: Model, ds: Dataset) -> JsonObject:
    return pricing(model.listed_at(ds.today))


def model_item(model: Model, ds: Dataset, base_url: str) -> JsonObject:
    created = datetime(model.created.year, model.created.month, model.created.day, 12, tzinfo=UTC)
    params = _PARAMS + (["reasoning", "include_reasoning"] if model.reasoning else [])
    item: JsonObject = {
        "id": model.id,
        "canonical_slug": model.canonical_slug,
        "hugging_face_id": None,
        "name": model.name,
        "created": int(created.timestamp()),
        "description": f"{model.name}, served by the fake OpenRouter.",
        "context_length": model.context_length,
        "architecture": {
            "modality": "+".join(model.input_modalities) + "->" + "+".join(model.output_modalities),
            "input_modalities": list(model.input_modalities),
            "output_modalities": list(model.output_modalities),
            "tokenizer": model.tokenizer,
            "instruct_type": None,
        },
        "pricing": _pricing(model, ds),
        "top_provider": {
            "context_length": model.context_length,
            "max_completion_tokens": min(model.context_length // 4, 128_000),
            "is_moderated": model.author in ("openai", "anthropic"),
        },
        "per_request_limits": None,
        "supported_parameters": params if model.text_output else ["seed"],
        "default_parameters": None,
        "supported_voices": None,
        "knowledge_cutoff": None,
        "expiration_date": None,
        "links": {"details": f"{base_url}/models/{model.id}/endpoints"},
    }
    if model.reasoning:
        item["reasoning"] = {"mandatory": model.author != "anthropic", "default_enabled": True}
    if ds.quirks:
        item["provider_count"] = len(model.providers)
    return item


def list_models(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    offset = int_param(req.query, "offset", 0, 0)
    limit = int_param(req.query, "limit", 500, 1, 1000)
    chosen = [m for m in ds.models if m.created <= ds.today and _wanted(m, req.query.get("output_modalities"))]
    chosen.sort(key=lambda m: (-m.created.toordinal(), m.id))  # newest first, like the real list
    page = chosen[offset : offset + limit]
    body: JsonObject = {"data": [model_item(m, ds, req.base_url) for m in page]}
    if ds.quirks:
        return body  # real responses have been seen without total_count and links
    nxt = None
    if offset + limit < len(chosen):
        nxt = f"{req.base_url}/models?" + urlencode({**req.query, "offset": offset + limit, "limit": limit})
    body["total_count"] = len(chosen)
    body["links"] = {"next": nxt}
    return body
