"""Typed views of OpenRouter's responses: the fields this project reads, named as the API names them.

Tolerant on purpose (NOTES.md): unknown fields are ignored, and fields the spec marks required but real
responses have been seen without are optional here. A field of the wrong type is still an error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ActivityItem(_Lenient):
    date: str
    model: str
    model_permaslug: str
    endpoint_id: str
    provider_name: str
    usage: float
    byok_usage_inference: float = 0.0
    requests: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    workspace_id: str | None = None

    @field_validator("date")
    @classmethod
    def _day_only(cls, value: str) -> str:
        # Real rows have been seen as "2026-04-22 00:00:00": the day is the first 10 characters.
        day = value.strip()[:10]
        if len(day) != 10 or day[4] != "-" or day[7] != "-":
            raise ValueError(f"not a date: {value!r}")
        return day


class ActivityResponse(_Lenient):
    data: list[ActivityItem]


class KeyInfo(_Lenient):
    label: str = ""
    is_management_key: bool = False
    is_provisioning_key: bool = False
    usage: float | None = None


class KeyInfoResponse(_Lenient):
    data: KeyInfo


class ApiKey(_Lenient):
    hash: str
    name: str
    label: str = ""
    disabled: bool = False
    limit: float | None = None
    limit_remaining: float | None = None
    limit_reset: str | None = None
    include_byok_in_limit: bool | None = None
    usage: float | None = None
    usage_daily: float | None = None
    usage_weekly: float | None = None
    usage_monthly: float | None = None
    byok_usage: float | None = None
    byok_usage_daily: float | None = None
    byok_usage_weekly: float | None = None
    byok_usage_monthly: float | None = None
    created_at: str | None = None
    updated_at: str | None = None
    expires_at: str | None = None
    creator_user_id: str | None = None
    workspace_id: str | None = None


class ApiKeysResponse(_Lenient):
    data: list[ApiKey]


class Workspace(_Lenient):
    id: str
    name: str
    slug: str = ""
    created_at: str | None = None
    updated_at: str | None = None


class WorkspacesResponse(_Lenient):
    data: list[Workspace]
    total_count: int | None = None


class Credits(_Lenient):
    total_credits: float
    total_usage: float


class CreditsResponse(_Lenient):
    data: Credits


class PricingOverride(_Lenient):
    """A conditional price: applies when every condition holds (``min_prompt_tokens``: strictly more prompt
    tokens; ``utc_start``/``utc_end``: an HHMM window, possibly wrapping midnight)."""

    min_prompt_tokens: float | None = None
    utc_start: float | None = None
    utc_end: float | None = None
    prompt: str | None = None
    completion: str | None = None
    input_cache_read: str | None = None
    input_cache_write: str | None = None
    input_cache_write_1h: str | None = None


class Pricing(_Lenient):
    prompt: str | None = None
    completion: str | None = None
    request: str | None = None
    image: str | None = None
    web_search: str | None = None
    internal_reasoning: str | None = None
    input_cache_read: str | None = None
    input_cache_write: str | None = None
    input_cache_write_1h: str | None = None
    discount: float | None = None
    overrides: list[PricingOverride] | None = None


class Architecture(_Lenient):
    output_modalities: list[str] = Field(default_factory=list)


class Model(_Lenient):
    id: str
    canonical_slug: str | None = None
    name: str = ""
    created: int | None = None
    context_length: int | None = None
    pricing: Pricing = Field(default_factory=Pricing)
    architecture: Architecture = Field(default_factory=Architecture)
    expiration_date: str | None = None


class ModelsResponse(_Lenient):
    data: list[Model]
    total_count: int | None = None


class ErrorBody(_Lenient):
    code: int | None = None
    message: str = ""


class ErrorResponse(_Lenient):
    error: ErrorBody


class AnalyticsMetadata(_Lenient):
    row_count: int | None = None
    truncated: bool = False


class AnalyticsResult(_Lenient):
    data: list[dict[str, Any]]
    metadata: AnalyticsMetadata = Field(default_factory=AnalyticsMetadata)
    warnings: list[str] = Field(default_factory=list)


class AnalyticsResponse(_Lenient):
    data: AnalyticsResult


class Member(_Lenient):
    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    role: str | None = None


class MembersResponse(_Lenient):
    data: list[Member]
    total_count: int | None = None


class Percentiles(_Lenient):
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    p99: float | None = None


class Endpoint(_Lenient):
    name: str | None = None
    provider_name: str
    tag: str | None = None
    status: int | None = None
    quantization: str | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    uptime_last_5m: float | None = None
    uptime_last_30m: float | None = None
    uptime_last_1d: float | None = None
    latency_last_30m: Percentiles | None = None
    throughput_last_30m: Percentiles | None = None
    pricing: Pricing = Field(default_factory=Pricing)


class ModelEndpoints(_Lenient):
    id: str
    name: str = ""
    endpoints: list[Endpoint] = Field(default_factory=list)


class ModelEndpointsResponse(_Lenient):
    data: ModelEndpoints
