"""Pure functions from OpenRouter's typed responses to the store's rows. No I/O here.

The typed responses already hold finite numbers within range (``ingest.schemas``); what needs the run's
day (a date at most tomorrow) or the whole response (no natural key twice) is checked here, and raises
``InvalidValue`` naming the field, before anything of the response is stored.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from core.limits import MAX_MONEY
from ingest import schemas
from ingest.values import InvalidValue, check_day


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO timestamps as naive UTC (the store's convention); None for absent or unreadable values."""
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_price(value: str | None, field: str = "price") -> float | None:
    """Prices come as strings of USD per token; "-1" means "varies" (the router) and is kept as None, as is
    a string that is no number. A price that is not finite or beyond $10 M is refused (InvalidValue)."""
    if value is None or value == "":
        return None
    try:
        price = float(value)
    except ValueError:
        return None
    if not math.isfinite(price) or price > MAX_MONEY:
        raise InvalidValue(f"{field} is {value[:40]!r}, not a price")
    return None if price < 0 else price


OVERRIDE_PRICES = ("prompt", "completion", "input_cache_read", "input_cache_write", "input_cache_write_1h")
OVERRIDE_CONDITIONS = ("min_prompt_tokens", "utc_start", "utc_end")


def overrides_json(pricing: schemas.Pricing, where: str) -> str | None:
    """The overrides as stored (``models.pricing_overrides``): JSON, in the order received, prices as numbers
    (USD per token), keys sorted, absent ones left out; None without overrides. Stable text, so an unchanged
    list never starts a new price state."""
    if not pricing.overrides:
        return None
    entries: list[dict[str, float]] = []
    for i, o in enumerate(pricing.overrides):
        entry = {k: float(v) for k in OVERRIDE_CONDITIONS if (v := getattr(o, k)) is not None}
        for k in OVERRIDE_PRICES:
            price = parse_price(getattr(o, k), f"{where}: pricing.overrides[{i}].{k}")
            if price is not None:
                entry[k] = price
        entries.append(entry)
    return json.dumps(entries, sort_keys=True, separators=(",", ":"))


def activity_rows_by_day(items: list[schemas.ActivityItem], today: date) -> dict[date, list[dict[str, Any]]]:
    """Group /activity rows by UTC day (``today``: the run's). Two rows with the same day, model and endpoint
    are refused (summed, a repeated row would double the day), as is a day outside 2020-01-01..tomorrow."""
    merged: dict[tuple[date, str, str], dict[str, Any]] = {}
    for i, item in enumerate(items):
        day = check_day(f"data[{i}].date", item.date, today)
        key = (day, item.model_permaslug, item.endpoint_id)
        if key in merged:
            raise InvalidValue(
                f"data[{i}] repeats {day}, model {item.model_permaslug[:60]!r}, endpoint {item.endpoint_id[:60]!r}"
            )
        merged[key] = {
            "date": day,
            "model": item.model,
            "model_permaslug": item.model_permaslug,
            "endpoint_id": item.endpoint_id,
            "provider_name": item.provider_name,
            "requests": item.requests,
            "prompt_tokens": item.prompt_tokens,
            "completion_tokens": item.completion_tokens,
            "reasoning_tokens": item.reasoning_tokens,
            "usage": item.usage,
            "byok_usage_inference": item.byok_usage_inference,
        }
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for (day, _, _), row in sorted(merged.items()):
        by_day[day].append(row)
    return dict(by_day)


def api_key_row(key: schemas.ApiKey) -> dict[str, Any]:
    row = key.model_dump()
    for field in ("created_at", "updated_at", "expires_at", "last_used_at"):
        row[field] = parse_timestamp(row[field])
    return row


def workspace_row(workspace: schemas.Workspace) -> dict[str, Any]:
    return {
        "id": workspace.id,
        "name": workspace.name,
        "slug": workspace.slug,
        "created_at": parse_timestamp(workspace.created_at),
        "updated_at": parse_timestamp(workspace.updated_at),
    }


def model_row(model: schemas.Model) -> dict[str, Any]:
    pricing = model.pricing
    return {
        "canonical_slug": model.canonical_slug or model.id,
        "id": model.id,
        "name": model.name or model.id,
        "created": model.created,
        "description": (model.description or "").strip() or None,
        "context_length": model.context_length,
        "pricing_prompt": parse_price(pricing.prompt, f"{model.id}: pricing.prompt"),
        "pricing_completion": parse_price(pricing.completion, f"{model.id}: pricing.completion"),
        "pricing_request": parse_price(pricing.request, f"{model.id}: pricing.request"),
        "pricing_image": parse_price(pricing.image, f"{model.id}: pricing.image"),
        "pricing_web_search": parse_price(pricing.web_search, f"{model.id}: pricing.web_search"),
        "pricing_internal_reasoning": parse_price(
            pricing.internal_reasoning, f"{model.id}: pricing.internal_reasoning"
        ),
        "pricing_input_cache_read": parse_price(pricing.input_cache_read, f"{model.id}: pricing.input_cache_read"),
        "pricing_input_cache_write": parse_price(pricing.input_cache_write, f"{model.id}: pricing.input_cache_write"),
        "pricing_input_cache_write_1h": parse_price(
            pricing.input_cache_write_1h, f"{model.id}: pricing.input_cache_write_1h"
        ),
        "pricing_discount": pricing.discount,
        "pricing_overrides": overrides_json(pricing, model.id),
        "expiration_date": model.expiration_date,
        "output_modalities": ",".join(sorted(model.architecture.output_modalities)) or None,
    }


def endpoint_rows(permaslug: str, endpoints: schemas.ModelEndpoints) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for e in endpoints.endpoints:
        latency = e.latency_last_30m or schemas.Percentiles()
        throughput = e.throughput_last_30m or schemas.Percentiles()
        tag = e.tag or e.provider_name
        rows[tag] = {
            "model_permaslug": permaslug,
            "model_id": endpoints.id,
            "provider_name": e.provider_name,
            "tag": tag,
            "name": e.name,
            "status": e.status,
            "quantization": e.quantization,
            "context_length": e.context_length,
            "max_completion_tokens": e.max_completion_tokens,
            "uptime_last_5m": e.uptime_last_5m,
            "uptime_last_30m": e.uptime_last_30m,
            "uptime_last_1d": e.uptime_last_1d,
            "latency_p50": latency.p50,
            "latency_p75": latency.p75,
            "latency_p90": latency.p90,
            "latency_p99": latency.p99,
            "throughput_p50": throughput.p50,
            "throughput_p75": throughput.p75,
            "throughput_p90": throughput.p90,
            "throughput_p99": throughput.p99,
            "pricing_prompt": parse_price(e.pricing.prompt, f"{endpoints.id}: pricing.prompt"),
            "pricing_completion": parse_price(e.pricing.completion, f"{endpoints.id}: pricing.completion"),
            "pricing_request": parse_price(e.pricing.request, f"{endpoints.id}: pricing.request"),
            "pricing_input_cache_read": parse_price(
                e.pricing.input_cache_read, f"{endpoints.id}: pricing.input_cache_read"
            ),
            "pricing_internal_reasoning": parse_price(
                e.pricing.internal_reasoning, f"{endpoints.id}: pricing.internal_reasoning"
            ),
            "pricing_input_cache_write": parse_price(
                e.pricing.input_cache_write, f"{endpoints.id}: pricing.input_cache_write"
            ),
            "pricing_input_cache_write_1h": parse_price(
                e.pricing.input_cache_write_1h, f"{endpoints.id}: pricing.input_cache_write_1h"
            ),
            "pricing_web_search": parse_price(e.pricing.web_search, f"{endpoints.id}: pricing.web_search"),
            "pricing_discount": e.pricing.discount,
            "pricing_overrides": overrides_json(e.pricing, endpoints.id),
        }
    return list(rows.values())
