"""The /generation answer, as the spec gives it (tolerant like ``ingest.schemas``: unknown fields ignored,
every field optional except the id and the time, since real answers lack "required" fields at times)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Generation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    created_at: str
    model: str | None = None
    provider_name: str | None = None
    workspace_id: str | None = None
    app_id: int | None = None
    origin: str | None = None
    http_referer: str | None = None
    external_user: str | None = None
    user_agent: str | None = None
    api_type: str | None = None
    router: str | None = None
    preset_id: str | None = None
    service_tier: str | None = None
    data_region: str | None = None
    web_search_engine: str | None = None
    upstream_id: str | None = None
    request_id: str | None = None
    session_id: str | None = None
    response_cache_source_id: str | None = None
    tokens_prompt: int | None = None
    tokens_completion: int | None = None
    native_tokens_prompt: int | None = None
    native_tokens_completion: int | None = None
    native_tokens_completion_images: int | None = None
    native_tokens_reasoning: int | None = None
    native_tokens_cached: int | None = None
    num_media_prompt: int | None = None
    num_input_audio_prompt: int | None = None
    num_media_completion: int | None = None
    num_search_results: int | None = None
    num_fetches: int | None = None
    usage: float | None = None
    total_cost: float | None = None
    cache_discount: float | None = None
    upstream_inference_cost: float | None = None
    is_byok: bool | None = None
    latency: float | None = None
    generation_time: float | None = None
    moderation_latency: float | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    streamed: bool | None = None
    cancelled: bool | None = None
    # Kept verbatim (as JSON): every provider tried, fallbacks included. No content is in it.
    provider_responses: list[dict[str, Any]] | None = None


class GenerationResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    data: Generation
