"""The analytics catalogue: metrics, dimensions, filter operators and granularities, each with its SQL.

Every identifier the query engine puts into SQL comes from here; request values only ever become parameters.
Columns refer to the engine's ``base`` relation: the ``analytics_generations`` view plus the derived
``throughput`` and ``context_length_bucket`` columns (see ``analytics_engine``).

Reach (how far back a metric or dimension goes) follows NOTES.md: volume and cost metrics and the account
dimensions 365 days; per-generation metrics and dimensions 31 days. Costs come from the one bill
(``billing``); the ones the fake never incurs (file processing, web fetches, upstream web search, data-logging
discounts) are ``used=False``: always 0, and ``null`` in quirks mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fake_openrouter.api_common import JsonObject

Kind = Literal["count", "cost", "rate"]
LONG_REACH = 365
SHORT_REACH = 31


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    kind: Kind
    sql: str  # an aggregate over ``base``
    reach_days: int
    display_format: str  # number, currency, percent, latency, throughput
    used: bool = True  # False: a cost the fake never incurs

    @property
    def is_rate(self) -> bool:
        return self.kind == "rate"


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    id_sql: str  # what rows are grouped by and filters compare with
    value_sql: str  # what rows show (a label for the enriched dimensions)
    reach_days: int
    has_unset: bool = False  # NULL ids form an "unset" bucket (include_unset is allowed)
    numeric: bool = False  # filter values are numbers
    extra: tuple[tuple[str, str], ...] = ()  # more output columns: (key, SQL)


def _count(name: str, label: str, sql: str, reach: int = LONG_REACH) -> Metric:
    return Metric(name, label, "count", sql, reach, "number")


def _cost(name: str, label: str, sql: str, reach: int = LONG_REACH, used: bool = True) -> Metric:
    return Metric(name, label, "cost", sql if used else "0", reach, "currency", used)


def _rate(name: str, label: str, sql: str, fmt: str) -> Metric:
    return Metric(name, label, "rate", sql, SHORT_REACH, fmt)


def _percentile(column: str, q: float) -> str:
    return f"quantile_cont({column}, {q})"


METRICS: tuple[Metric, ...] = (
    _count("request_count", "Requests", "count(*)"),
    _count("tokens_total", "Total Tokens", "sum(native_tokens_prompt + native_tokens_completion)"),
    _count("tokens_prompt", "Prompt Tokens", "sum(native_tokens_prompt)"),
    _count("tokens_completion", "Completion Tokens", "sum(native_tokens_completion)"),
    _count("reasoning_tokens", "Reasoning Tokens", "sum(native_tokens_reasoning)"),
    _count("cached_tokens", "Cached Tokens", "sum(native_tokens_cached)"),
    _count("byok_request_count", "BYOK Requests", "count(*) FILTER (WHERE is_byok)"),
    _cost("total_usage", "Total Spend", "sum(usage + byok_usage_inference)"),
    _cost("byok_usage", "BYOK Spend", "sum(byok_usage_inference)"),
    _cost("credits_usage", "Credits Spend", "sum(usage)"),
    _cost("usage_upstream", "Upstream Cost", "sum(upstream_inference_cost)"),
    # Negative where caching saved money; positive where writing the cache cost more than reading it saved.
    _cost("usage_cache", "Cache Cost", "-sum(cache_discount)"),
    _cost("usage_data", "Data Logging Adjustment", "", used=False),
    _cost("usage_web", "Web Search Cost", "sum(web_cost)"),
    _cost("usage_upstream_web", "Upstream Web Search Cost", "", used=False),
    _cost("openrouter_usage", "OpenRouter Inference Spend", "sum(usage) FILTER (WHERE NOT is_byok)", SHORT_REACH),
    _cost("byok_fees", "BYOK Fees", "sum(byok_fee)", SHORT_REACH),
    _cost("usage_file", "File Processing Cost", "", SHORT_REACH, used=False),
    _cost("usage_upstream_file", "Upstream File Processing Cost", "", SHORT_REACH, used=False),
    _cost("usage_web_fetch", "Web Fetch Cost", "", SHORT_REACH, used=False),
    _cost("usage_upstream_web_fetch", "Upstream Web Fetch Cost", "", SHORT_REACH, used=False),
    _rate("avg_latency", "Avg Latency", "avg(latency)", "latency"),
    _rate("p50_latency", "P50 Latency", _percentile("latency", 0.5), "latency"),
    _rate("p90_latency", "P90 Latency", _percentile("latency", 0.9), "latency"),
    _rate("p99_latency", "P99 Latency", _percentile("latency", 0.99), "latency"),
    _rate("avg_throughput", "Avg Throughput", "avg(throughput)", "throughput"),
    _rate("p50_throughput", "P50 Throughput", _percentile("throughput", 0.5), "throughput"),
    _rate("p90_throughput", "P90 Throughput", _percentile("throughput", 0.9), "throughput"),
    _rate("p99_throughput", "P99 Throughput", _percentile("throughput", 0.99), "throughput"),
    _rate(
        "cache_hit_rate",
        "Cache Hit Rate",
        "sum(native_tokens_cached) / nullif(sum(native_tokens_prompt), 0)",
        "percent",
    ),
    _count(
        "guardrail_invoked_count", "Guardrail Invocations", "count(*) FILTER (WHERE guardrail_invoked)", SHORT_REACH
    ),
    _rate("guardrail_invoked_rate", "Guardrail Invocation Rate", "avg(guardrail_invoked::INTEGER)", "percent"),
    # The fake never serves a response from OpenRouter's response cache.
    _count("response_cached_count", "Cached Responses", "count(*) FILTER (WHERE false)", SHORT_REACH),
    _rate("response_cached_rate", "Cached Response Rate", "0.0", "percent"),
)
METRICS_BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("model", "Model", "model_permaslug", "model_permaslug", LONG_REACH),
    Dimension("variant", "Variant", "variant", "variant", LONG_REACH),
    Dimension("api_key_id", "API Key", "api_key_hash", "api_key_name", LONG_REACH),
    Dimension(
        "user", "User", "user_id", "user_name", LONG_REACH, has_unset=True, extra=(("user_email", "user_email"),)
    ),
    Dimension("workspace", "Workspace", "workspace_id", "workspace_name", LONG_REACH),
    Dimension("app", "App", "app_id", "app_name", LONG_REACH, has_unset=True, numeric=True),
    Dimension("generation_id", "Generation", "id", "id", SHORT_REACH),
    Dimension("provider", "Provider", "provider_name", "provider_name", SHORT_REACH),
    Dimension("origin", "Origin", "origin", "origin", SHORT_REACH, has_unset=True),
    Dimension("country", "Country", "country", "country", SHORT_REACH, has_unset=True),
    Dimension("finish_reason", "Finish Reason", "finish_reason", "finish_reason", SHORT_REACH, has_unset=True),
    Dimension("external_user", "External User", "external_user", "external_user", SHORT_REACH, has_unset=True),
    Dimension("context_length_bucket", "Context Length", "context_length_bucket", "context_length_bucket", SHORT_REACH),
)
DIMENSIONS_BY_NAME: dict[str, Dimension] = {d.name: d for d in DIMENSIONS}

# Prompt sizes in native tokens; the labels are the fake's (the real ones are only described as 1K, 10K, …).
CONTEXT_BUCKET_SQL = (
    "CASE WHEN native_tokens_prompt < 1000 THEN '<1K' WHEN native_tokens_prompt < 10000 THEN '1K-10K' "
    "WHEN native_tokens_prompt < 100000 THEN '10K-100K' WHEN native_tokens_prompt < 1000000 THEN '100K-1M' "
    "ELSE '1M+' END"
)
# Output tokens per second after the first token; NULL when there is nothing to measure.
THROUGHPUT_SQL = (
    "CASE WHEN native_tokens_completion > 0 AND generation_time > latency "
    "THEN native_tokens_completion * 1000.0 / (generation_time - latency) END"
)

OPERATORS: dict[str, str] = {  # name -> value type
    "eq": "scalar",
    "neq": "scalar",
    "gt": "scalar",
    "gte": "scalar",
    "lt": "scalar",
    "lte": "scalar",
    "in": "array",
    "not_in": "array",
}
COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

GRANULARITIES: dict[str, str] = {  # name -> display label; the name is also DuckDB's date_trunc unit
    "minute": "Minute",
    "hour": "Hour",
    "day": "Day",
    "week": "Week",
    "month": "Month",
}


def meta_body() -> JsonObject:
    """The body of GET /analytics/meta."""
    return {
        "data": {
            "metrics": [
                {"name": m.name, "display_label": m.label, "is_rate": m.is_rate, "display_format": m.display_format}
                for m in METRICS
            ],
            "dimensions": [{"name": d.name, "display_label": d.label} for d in DIMENSIONS],
            "operators": [{"name": name, "value_type": kind} for name, kind in OPERATORS.items()],
            "granularities": [{"name": name, "display_label": label} for name, label in GRANULARITIES.items()],
        }
    }
