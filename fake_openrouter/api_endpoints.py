"""GET /models/{author}/{slug}/endpoints: a model and one endpoint per provider that serves it.

Prices are the model's current list prices (as in /models) plus the endpoint's own terms: its ``discount``
and its time-window ``overrides`` (after the model's). Uptime, latency and throughput figures are derived
from the provider's catalogue figures and a hash of (model, provider): deterministic, and plausible; uptime also
of the UTC day, as real uptime moves from day to day. As on the real API, the latency and throughput
percentiles are ``null`` without a key.
"""

from __future__ import annotations

import hashlib
from datetime import date
from urllib.parse import unquote

import duckdb

from fake_openrouter.api_common import ApiError, ApiRequest, JsonObject
from fake_openrouter.api_models import model_item, pricing
from fake_openrouter.catalog import PROVIDERS, Model, terms
from fake_openrouter.dataset import Dataset

# Open-weight hosts serve quantized weights; the labs' own endpoints do not say.
_QUANTIZATION = {
    "DeepInfra": "fp8",
    "Together": "fp8",
    "Groq": "bf16",
    "Fireworks": "fp8",
    "Novita": "fp8",
    "Parasail": "bf16",
    "Cerebras": "bf16",
}
_IMPLICIT_CACHING = frozenset({"OpenAI", "Azure", "Google AI Studio", "Google", "DeepSeek", "xAI"})


def _jitter(model: Model, provider: str, salt: str) -> float:
    """A stable number in [0, 1) for this (model, provider)."""
    digest = hashlib.sha256(f"{salt}/{model.id}/{provider}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _percentiles(p50: float, spread: tuple[float, float, float]) -> JsonObject:
    return {"p50": round(p50, 1), **{k: round(p50 * f, 1) for k, f in zip(("p75", "p90", "p99"), spread, strict=True)}}


def _endpoint_pricing(model: Model, provider: str, ds: Dataset) -> JsonObject:
    """The model's list prices plus what this endpoint adds: its discount and its own overrides."""
    prices = model.listed_at(ds.today)
    endpoint = terms(model.id, provider)
    out = pricing(prices, endpoint.overrides(prices))
    if endpoint.discount:
        out["discount"] = endpoint.discount
    return out


def _endpoint(
    model: Model, provider: str, prices: JsonObject, params: list[str], authed: bool, day: date
) -> JsonObject:
    stats = PROVIDERS[provider]
    j = _jitter(model, provider, "stats")
    u = _jitter(model, provider, f"uptime/{day.isoformat()}")
    uptime = round(100 - 2.5 * u, 2)
    max_completion = min(model.context_length // 4, 128_000) if model.text_output else None
    return {
        "name": f"{provider} | {model.id}",
        "model_id": model.canonical_slug,
        "model_name": model.name,
        "context_length": model.context_length,
        "pricing": prices,
        "provider_name": provider,
        "tag": provider.lower().replace(" ", "-"),
        "quantization": _QUANTIZATION.get(provider),
        "max_completion_tokens": max_completion,
        "max_prompt_tokens": None,
        "supported_parameters": params,
        "status": 0,
        "uptime_last_5m": 100.0 if u < 0.7 else uptime,
        "uptime_last_30m": round(100 - 1.5 * u, 2),
        "uptime_last_1d": uptime,
        "latency_last_30m": _percentiles(stats.latency_ms * (0.9 + 0.2 * j), (1.3, 1.8, 3.2)) if authed else None,
        # Throughput percentiles go down: the slow tail is the 99th.
        "throughput_last_30m": _percentiles(stats.throughput * (0.9 + 0.2 * j), (0.85, 0.7, 0.45)) if authed else None,
        "supports_implicit_caching": provider in _IMPLICIT_CACHING and model.prices[0].prices.cache_read is not None,
    }


def model_endpoints(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    _, author, slug, _ = req.path.strip("/").split("/")
    model_id = f"{unquote(author)}/{unquote(slug)}"
    model = ds.model(model_id)
    if model is None or model.created > ds.today:
        raise ApiError(404, f"Model {model_id!r} not found")
    item = model_item(model, ds, req.base_url)
    architecture = dict(item["architecture"])
    return {
        "data": {
            "id": model.id,
            "name": model.name,
            "created": item["created"],
            "description": item["description"],
            "architecture": architecture,
            "endpoints": [
                _endpoint(
                    model,
                    provider,
                    _endpoint_pricing(model, provider, ds),
                    item["supported_parameters"],
                    req.principal is not None,
                    ds.today,
                )
                for provider, _ in model.providers
            ],
        }
    }
