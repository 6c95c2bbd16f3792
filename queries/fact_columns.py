"""How each routed table's rows map onto the common fact columns: one definition for the routed reads
(``reads_facts``) and for the rollups the writer keeps of them (``rollups``), so both sum the same thing.

Metric definitions (docs/definitions.md): spend = ``usage + byok_usage_inference`` in activity, ``total_usage`` in
analytics (the same number); completion-only = max(completion − reasoning, 0) per stored row, and
``clamped_rows`` counts the stored rows where that clamp applied (reasoning above completion).
"""

from __future__ import annotations

# Column expressions per source table, in ``COLUMNS`` order. NULL where a table lacks the column.
COLUMNS: tuple[str, ...] = (
    "model",
    "provider",
    "app",
    "key",
    "workspace",
    "member",
    "end_user",
    "account",
    "requests",
    "prompt",
    "completion",
    "reasoning",
    "completion_only",
    "cached",
    "spend",
    "byok",
    "p50_latency",
    "p90_latency",
    "p50_throughput",
    "p90_throughput",
    "usage_cache",
    "fees",
    "byok_fees",
    "clamped_rows",
)
DIMENSIONS: tuple[str, ...] = ("model", "provider", "app", "key", "workspace", "member", "end_user", "account")
# The summable metrics and their SQL types: what a rollup can hold (latency percentiles cannot be summed).
SUMMED: tuple[tuple[str, str], ...] = (
    ("requests", "BIGINT"),
    ("prompt", "BIGINT"),
    ("completion", "BIGINT"),
    ("reasoning", "BIGINT"),
    ("completion_only", "BIGINT"),
    ("cached", "BIGINT"),
    ("spend", "DOUBLE"),
    ("byok", "DOUBLE"),
)

ACTIVITY = {
    "model": "model_permaslug",
    "provider": "provider_name",
    "app": "NULL::VARCHAR",
    "key": "NULL::VARCHAR",
    "workspace": "NULL::VARCHAR",
    "member": "NULL::VARCHAR",
    "end_user": "NULL::VARCHAR",
    "account": "account",
    "requests": "requests",
    "prompt": "prompt_tokens",
    "completion": "completion_tokens",
    "reasoning": "reasoning_tokens",
    "completion_only": "greatest(completion_tokens - reasoning_tokens, 0)",
    "cached": "NULL::BIGINT",
    "spend": "usage + byok_usage_inference",
    "byok": "byok_usage_inference",
    "p50_latency": "NULL::DOUBLE",
    "p90_latency": "NULL::DOUBLE",
    "p50_throughput": "NULL::DOUBLE",
    "p90_throughput": "NULL::DOUBLE",
    "usage_cache": "NULL::DOUBLE",
    "fees": "NULL::DOUBLE",
    "byok_fees": "NULL::DOUBLE",
    "clamped_rows": "CAST(reasoning_tokens > completion_tokens AS BIGINT)",
}
ACTIVITY_BY_KEY = {**ACTIVITY, "key": "api_key_hash"}
ANALYTICS = {
    "model": "model",
    "provider": "provider",
    "app": "app",
    "key": "api_key_hash",
    "workspace": "workspace",
    "member": '"user"',
    "end_user": "external_user",
    "account": "account",
    "requests": "coalesce(request_count, 0)",
    "prompt": "coalesce(tokens_prompt, 0)",
    "completion": "coalesce(tokens_completion, 0)",
    "reasoning": "coalesce(reasoning_tokens, 0)",
    "completion_only": "greatest(coalesce(tokens_completion, 0) - coalesce(reasoning_tokens, 0), 0)",
    "cached": "coalesce(cached_tokens, 0)",
    "spend": "coalesce(total_usage, 0)",
    "byok": "coalesce(byok_usage, 0)",
    "p50_latency": "p50_latency",
    "p90_latency": "p90_latency",
    "p50_throughput": "p50_throughput",
    "p90_throughput": "p90_throughput",
    # Cost components analytics reports apart (usage_cache is negative where caching saved money): read
    # from the source rows only, never from a rollup.
    "usage_cache": "usage_cache",
    "fees": (
        "coalesce(usage_web, 0) + coalesce(usage_data, 0) + coalesce(usage_file, 0) + coalesce(usage_web_fetch, 0)"
    ),
    "byok_fees": "byok_fees",
    "clamped_rows": "CAST(coalesce(reasoning_tokens, 0) > coalesce(tokens_completion, 0) AS BIGINT)",
}
# A per-key source's workspace: the key's, as /keys last listed it (``rows_sql`` joins this in as ``kw``).
KEY_WORKSPACES = """SELECT k.hash AS key_hash, coalesce(w.name, 'unattributed') AS key_workspace
                    FROM api_keys k LEFT JOIN workspaces w ON w.id = k.workspace_id AND w.account = k.account"""
KEY_WORKSPACE = "coalesce(kw.key_workspace, 'unattributed')"
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "activity": ACTIVITY,
    "activity_by_key": ACTIVITY_BY_KEY,
    "analytics_daily": ANALYTICS,
}
