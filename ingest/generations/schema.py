"""The /generation answer, as the spec gives it (tolerant like ``ingest.schemas``: unknown fields ignored,
every field optional except the id and the time, since real answers lack "required" fields at times)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ingest.values import Count, Measure, Money, SignedMoney


class Generation(BaseModel):
    # Numbers finite and within ingest.values' ranges (cache_discount may be negative, as analytics'
    # usage_cache is); created_at is checked against the run's clock by the transform.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    id: str
    created_at: str
    model: str | None = None
    provider_name: str | None = None
    workspace_id: str | None = None
    app_id: Count | None = None
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
    tokens_prompt: Count | None = None
    tokens_completion: Count | None = None
    native_tokens_prompt: Count | None = None
    native_tokens_completion: Count | None = None
    native_tokens_completion_images: Count | None = None
    native_tokens_reasoning: Count | None = None
    native_tokens_cached: Count | None = None
    num_media_prompt: Count | None = None
    num_input_audio_prompt: Count | None = None
    num_media_completion: Count | None = None
    num_search_results: Count | None = None
    num_fetches: Count | None = None
    usage: Money | None = None
    total_cost: Money | None = None
    cache_discount: SignedMoney | None = None
    upstream_inference_cost: Money | None = None
    is_byok: bool | None = None
    latency: Measure | None = None
    generation_time: Measure | None = None
    moderation_latency: Measure | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    streamed: bool | None = None
    cancelled: bool | None = None
    # Kept verbatim (as JSON): every provider tried, fallbacks included. No content is in it.
    provider_responses: list[dict[str, Any]] | None = None


class GenerationResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    data: Generation
