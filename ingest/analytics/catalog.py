"""What the analytics API offers, as NOTES.md describes it, and the groupings this project stores."""

from __future__ import annotations

from dataclasses import dataclass

LONG_REACH_DAYS = 365
SHORT_REACH_DAYS = 31

# Metrics with a 365-day reach.
LONG_METRICS: tuple[str, ...] = (
    "request_count",
    "tokens_total",
    "tokens_prompt",
    "tokens_completion",
    "reasoning_tokens",
    "cached_tokens",
    "byok_request_count",
    "total_usage",
    "byok_usage",
    "credits_usage",
    "usage_upstream",
    "usage_cache",
    "usage_data",
    "usage_web",
    "usage_upstream_web",
)
# Metrics that reach back 31 days only.
SHORT_METRICS: tuple[str, ...] = (
    "openrouter_usage",
    "byok_fees",
    "usage_file",
    "usage_web_fetch",
    "avg_latency",
    "p50_latency",
    "p90_latency",
    "p99_latency",
    "avg_throughput",
    "p50_throughput",
    "p90_throughput",
    "p99_throughput",
    "cache_hit_rate",
    "guardrail_invoked_count",
    "response_cached_count",
)
COUNT_METRICS = frozenset(
    {
        "request_count",
        "tokens_total",
        "tokens_prompt",
        "tokens_completion",
        "reasoning_tokens",
        "cached_tokens",
        "byok_request_count",
        "guardrail_invoked_count",
        "response_cached_count",
    }
)
# Averages and percentiles: no value means "no data", never zero.
RATE_METRICS = frozenset(m for m in SHORT_METRICS if "latency" in m or "throughput" in m or m == "cache_hit_rate")

# API dimension → the analytics_daily column holding its (label) value.
DIMENSION_COLUMNS = {
    "model": "model",
    "app": "app",
    "provider": "provider",
    "workspace": "workspace",
    "user": "user",
    "external_user": "external_user",
}
SHORT_DIMENSIONS = frozenset({"provider", "external_user", "generation_id", "origin", "country", "finish_reason"})

UNATTRIBUTED = "unattributed"


@dataclass(frozen=True)
class Grouping:
    """One way of slicing the account that the store keeps.

    ``name`` is the ``dimensions`` value of its rows; ``api_dimensions`` what the query groups by;
    ``per_key`` means the query is run once per API key, filtered by the key's hash; ``usage_only`` that
    only the 365-day metrics (requests, tokens, spend) are asked for, in one metric set over the grouping's
    reach (recorded as ``short`` when a dimension reaches back 31 days only).
    """

    name: str
    api_dimensions: tuple[str, ...]
    per_key: bool = False
    needs_organization: bool = False
    usage_only: bool = False

    @property
    def short_only(self) -> bool:
        return any(d in SHORT_DIMENSIONS for d in self.api_dimensions)


GROUPINGS: tuple[Grouping, ...] = (
    Grouping("model", ("model",)),
    Grouping("model,app", ("model", "app")),
    Grouping("model,provider", ("model", "provider")),
    Grouping("api_key_hash,model", ("model",), per_key=True),
    Grouping("workspace", ("workspace",)),
    Grouping("user", ("user",), needs_organization=True),
    Grouping("external_user", ("external_user",)),
)
