"""Typed views of OpenRouter's responses: the fields this project reads, named as the API names them.

Tolerant on purpose (NOTES.md): unknown fields are ignored, and fields the spec marks required but real
responses have been seen without are optional here. A field of the wrong type is still an error.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.values import Count, Finite, Measure, Money, SignedTotalMoney, TotalMoney, parse_utc_day


class _Lenient(BaseModel):
    # Numbers must be finite (JSON's NaN and Infinity, and "NaN" strings, are refused by field name); the
    # ranges are ingest.values'.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class ActivityItem(_Lenient):
    date: dt.date
    model: str
    model_permaslug: str
    endpoint_id: str
    provider_name: str
    usage: Money
    byok_usage_inference: Money = 0.0
    requests: Count
    prompt_tokens: Count
    completion_tokens: Count
    reasoning_tokens: Count = 0
    workspace_id: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _utc_day(cls, value: Any) -> dt.date:
        # Real rows have been seen as "2026-04-22 00:00:00"; a time with an offset is the UTC day it falls on.
        if not isinstance(value, str):
            raise ValueError("not a date")
        return parse_utc_day(value)


class ActivityResponse(_Lenient):
    data: list[ActivityItem]


class KeyInfo(_Lenient):
    label: str = ""
    is_management_key: bool = False
    is_provisioning_key: bool = False
    usage: TotalMoney | None = None


class KeyInfoResponse(_Lenient):
    data: KeyInfo


class ApiKey(_Lenient):
    hash: str
    name: str
    label: str = ""
    disabled: bool = False
    limit: TotalMoney | None = None
    limit_remaining: SignedTotalMoney | None = None
    limit_reset: str | None = None
    include_byok_in_limit: bool | None = None
    usage: TotalMoney | None = None
    usage_daily: TotalMoney | None = None
    usage_weekly: TotalMoney | None = None
    usage_monthly: TotalMoney | None = None
    byok_usage: TotalMoney | None = None
    byok_usage_daily: TotalMoney | None = None
    byok_usage_weekly: TotalMoney | None = None
    byok_usage_monthly: TotalMoney | None = None
    created_at: str | None = None
    updated_at: str | None = None
    expires_at: str | None = None
    last_used_at: str | None = None  # newer than the spec held here; absent from older answers
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
    total_count: Count | None = None


class Credits(_Lenient):
    total_credits: TotalMoney
    total_usage: TotalMoney


class CreditsResponse(_Lenient):
    data: Credits


class PricingOverride(_Lenient):
    """A conditional price: applies when every condition holds (``min_prompt_tokens``: strictly more prompt
    tokens; ``utc_start``/``utc_end``: an HHMM window, possibly wrapping midnight)."""

    min_prompt_tokens: Finite | None = None
    utc_start: Finite | None = None
    utc_end: Finite | None = None
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
    discount: Finite | None = None
    overrides: list[PricingOverride] | None = None


class Architecture(_Lenient):
    output_modalities: list[str] = Field(default_factory=list)


class Model(_Lenient):
    id: str
    canonical_slug: str | None = None
    name: str = ""
    created: Count | None = None
    description: str | None = None
    context_length: Count | None = None
    pricing: Pricing = Field(default_factory=Pricing)
    architecture: Architecture = Field(default_factory=Architecture)
    expiration_date: str | None = None


class ModelsResponse(_Lenient):
    data: list[Model]
    total_count: Count | None = None


class ErrorBody(_Lenient):
    code: int | None = None
    message: str = ""


class ErrorResponse(_Lenient):
    error: ErrorBody


class AnalyticsMetadata(_Lenient):
    row_count: Count | None = None
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
    total_count: Count | None = None


class Percentiles(_Lenient):
    p50: Measure | None = None
    p75: Measure | None = None
    p90: Measure | None = None
    p99: Measure | None = None


class Endpoint(_Lenient):
    name: str | None = None
    provider_name: str
    tag: str | None = None
    status: Annotated[int, Field(ge=-(2**31), lt=2**31)] | None = None
    quantization: str | None = None
    context_length: Count | None = None
    max_completion_tokens: Count | None = None
    uptime_last_5m: Measure | None = None
    uptime_last_30m: Measure | None = None
    uptime_last_1d: Measure | None = None
    latency_last_30m: Percentiles | None = None
    throughput_last_30m: Percentiles | None = None
    pricing: Pricing = Field(default_factory=Pricing)


class ModelEndpoints(_Lenient):
    id: str
    name: str = ""
    endpoints: list[Endpoint] = Field(default_factory=list)


class ModelEndpointsResponse(_Lenient):
    data: ModelEndpoints


class ObservabilityDestination(_Lenient):
    """One Broadcast destination (``GET /observability/destinations``). ``config`` is never read: its
    headers hold the receiver's token."""

    id: str
    type: str
    name: str | None = None
    enabled: bool = True
    sampling_rate: float = 1.0
    privacy_mode: bool = False
    broadcast_generation_cost: bool = False
    broadcast_generation_identity: bool = False
    broadcast_generation_request_context: bool = False
    api_key_hashes: list[str] | None = None
    filter_rules: dict[str, Any] | None = None
    workspace_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ObservabilityDestinationsResponse(_Lenient):
    data: list[ObservabilityDestination]
    total_count: int | None = None
