"""Reads for the Models and Model detail pages: list prices in force each day, cached tokens, price history
and changes, model facts and endpoint health.

``models`` keeps one row per distinct price state of a model from ``valid_from``; the price "in force" on
a UTC day is the newest state seen by the end of that day. Days before a model's first recorded state use
its earliest known state (the store cannot know older prices), which the pages say.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from queries.fact_columns import DIMENSIONS
from queries.filters import Filters
from queries.reads_facts import rows_sql
from queries.reads_routing import Route

PER_MILLION = 1_000_000
DIM_COLUMNS = DIMENSIONS  # what reasoning may be split by: any dimension of the routed rows


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


# The price in force on a UTC day is the newest state seen by the day's end, i.e. the newest whose
# valid_from falls on that day or before; the earliest state also stands in for the days before it (and
# for any price a later state lacks). So each state holds for [from_day, to_day), and every stored row is
# priced by an equi-join on the model plus a range test: no per-day aggregate, no ASOF join. Each priced
# row also says which state priced it (``price_state``: its valid_from) and how (``price_source``:
# 'in-force', 'earliest-known' for a day before the model's first state, 'not-listed' when the store has
# no state of the model).
_PRICED = """
    stored AS ({rows}),
    states AS (
        SELECT canonical_slug,
               CASE WHEN row_number() OVER w = 1 THEN DATE '0001-01-01' ELSE CAST(valid_from AS DATE) END AS from_day,
               coalesce(CAST(lead(valid_from) OVER w AS DATE), DATE '9999-12-31') AS to_day,
               coalesce(pricing_prompt, first_value(pricing_prompt) OVER w) AS price_prompt,
               coalesce(pricing_completion, first_value(pricing_completion) OVER w) AS price_completion,
               coalesce(pricing_internal_reasoning, pricing_completion,
                        first_value(pricing_completion) OVER w) AS price_reasoning,
               coalesce(pricing_request, first_value(pricing_request) OVER w, 0) AS price_request,
               coalesce(pricing_input_cache_read, first_value(pricing_input_cache_read) OVER w) AS price_cache_read,
               valid_from AS price_state, name AS model_name
        FROM models WINDOW w AS (PARTITION BY canonical_slug ORDER BY valid_from)),
    priced AS (
        SELECT stored.*, s.price_prompt, s.price_completion, s.price_reasoning,
               coalesce(s.price_request, 0) AS price_request,
               s.price_cache_read, s.canonical_slug IS NOT NULL AS priced, s.price_state, s.model_name,
               CASE WHEN s.canonical_slug IS NULL THEN 'not-listed'
                    WHEN stored.date < CAST(s.price_state AS DATE) THEN 'earliest-known'
                    ELSE 'in-force' END AS price_source
        FROM stored LEFT JOIN states s
             ON s.canonical_slug = stored.model AND stored.date >= s.from_day AND stored.date < s.to_day)
"""


def priced_cte(rows: str) -> str:
    """``stored AS (rows), states AS (…), priced AS (…)``: ``rows`` (with ``date`` and ``model``) priced at the
    list prices in force each day, for a ``WITH`` clause of another module (the FOCUS export)."""
    return _PRICED.format(rows=rows)


def list_cost(con: duckdb.DuckDBPyConnection, route: Route, filters: Filters) -> pd.DataFrame:
    """Per model: what was paid and what the list prices in force each day would have charged.

    Columns: model, spend, byok, requests, prompt, completion, reasoning, completion_only, list_cost (USD;
    prompt × prompt price + completion-only × completion price + reasoning × ``internal_reasoning`` price
    (the completion price where none is listed) + requests × request price), reasoning_cost (the reasoning
    part of it; reasoning counted within completion, so never above it), priced (whether the store has the
    model's list prices). Sorted by spend.
    """
    rows, params = rows_sql(route, filters, ("model",))
    sql = f"""WITH {_PRICED.format(rows=rows)}
              SELECT model,
                     CAST(sum(spend) AS DOUBLE) AS spend, CAST(sum(byok) AS DOUBLE) AS byok,
                     CAST(sum(requests) AS BIGINT) AS requests, CAST(sum(prompt) AS BIGINT) AS prompt,
                     CAST(sum(completion) AS BIGINT) AS completion, CAST(sum(reasoning) AS BIGINT) AS reasoning,
                     CAST(sum(completion_only) AS BIGINT) AS completion_only,
                     CAST(sum(prompt * price_prompt + completion_only * price_completion
                              + (completion - completion_only) * price_reasoning + requests * price_request)
                          AS DOUBLE) AS list_cost,
                     CAST(sum((completion - completion_only) * price_reasoning) AS DOUBLE) AS reasoning_cost,
                     bool_and(priced AND price_prompt IS NOT NULL AND price_completion IS NOT NULL) AS priced
              FROM priced GROUP BY model ORDER BY spend DESC, model"""  # noqa: S608 -- composed constants
    return _frame(con, sql, params)


def provider_prices(con: duckdb.DuckDBPyConnection, route: Route, filters: Filters) -> pd.DataFrame:
    """Per provider (the route holds provider): prompt and completion tokens, spend, and their cost at the
    model's list prices in force each day split into input (prompt) and output (completion-only, reasoning at
    its price, per-request fees). With cache savings per provider, what turns them into effective prices."""
    rows, params = rows_sql(route, filters, ("model", "provider"))
    sql = f"""WITH {_PRICED.format(rows=rows)}
              SELECT provider, CAST(sum(spend) AS DOUBLE) AS spend, CAST(sum(prompt) AS BIGINT) AS prompt,
                     CAST(sum(completion) AS BIGINT) AS completion, CAST(sum(requests) AS BIGINT) AS requests,
                     CAST(sum(prompt * price_prompt) AS DOUBLE) AS list_input,
                     CAST(sum(completion_only * price_completion + (completion - completion_only) * price_reasoning
                              + requests * price_request) AS DOUBLE) AS list_output,
                     bool_and(priced AND price_prompt IS NOT NULL) AS priced
              FROM priced GROUP BY provider ORDER BY spend DESC, provider"""  # noqa: S608 -- composed constants
    return _frame(con, sql, params)


def reasoning_by(con: duckdb.DuckDBPyConnection, route: Route, filters: Filters, column: str) -> pd.DataFrame:
    """Per value of ``column`` (the route holds it and the model): reasoning tokens counted within completion
    (completion − completion-only, so a row reporting more reasoning than completion never counts twice) and
    what they cost at the ``internal_reasoning`` price in force each day (the completion price where none is
    listed). Columns: ``column``, reasoning_within, reasoning_cost (NULL where no price is known)."""
    if column not in DIM_COLUMNS:
        raise ValueError(f"cannot split reasoning by {column!r}")
    rows, params = rows_sql(route, filters, (column, "model"))
    sql = f"""WITH {_PRICED.format(rows=rows)}
              SELECT {column}, CAST(sum(completion - completion_only) AS BIGINT) AS reasoning_within,
                     CAST(sum((completion - completion_only) * price_reasoning) AS DOUBLE) AS reasoning_cost
              FROM priced GROUP BY {column} ORDER BY {column}"""  # noqa: S608 -- allowlisted column
    return _frame(con, sql, params)


def cached_tokens(con: duckdb.DuckDBPyConnection, route: Route, filters: Filters) -> pd.DataFrame:
    """Per model: prompt and cached prompt tokens. The route must read analytics (``Need.CACHED``): activity
    has no cached tokens. (What caching saved is ``queries.cache_savings``.)"""
    rows, params = rows_sql(route, filters, ("model",))
    sql = f"""SELECT model, CAST(sum(prompt) AS BIGINT) AS prompt, CAST(sum(cached) AS BIGINT) AS cached
              FROM ({rows}) GROUP BY model ORDER BY model"""  # noqa: S608 -- composed constants
    return _frame(con, sql, params)


def price_history(con: duckdb.DuckDBPyConnection, models: Sequence[str]) -> pd.DataFrame:
    """Every recorded price state of the given permaslugs, oldest first, prices in USD per million tokens."""
    return _frame(
        con,
        f"""SELECT canonical_slug AS model, valid_from, last_seen_at,
                   pricing_prompt * {PER_MILLION} AS prompt_per_m,
                   pricing_completion * {PER_MILLION} AS completion_per_m,
                   pricing_input_cache_read * {PER_MILLION} AS cache_read_per_m,
                   pricing_input_cache_write * {PER_MILLION} AS cache_write_per_m,
                   pricing_internal_reasoning * {PER_MILLION} AS reasoning_per_m,
                   pricing_request AS per_request, pricing_discount AS discount, expiration_date
            FROM models WHERE list_contains(?::VARCHAR[], canonical_slug)
            ORDER BY canonical_slug, valid_from""",  # noqa: S608 -- a numeric constant
        [list(models)],
    )


def price_changes(con: duckdb.DuckDBPyConnection, start: date, end: date, models: Sequence[str]) -> pd.DataFrame:
    """Price changes recorded on a UTC day in [start, end] for the given permaslugs (all when empty).

    Columns: model, date (UTC day of the change), valid_from, old/new prompt and completion prices per
    million tokens. A model's first recorded state is not a change.
    """
    return _frame(
        con,
        f"""WITH states AS (
                SELECT canonical_slug AS model, valid_from, pricing_prompt, pricing_completion,
                       lag(pricing_prompt) OVER w AS old_prompt, lag(pricing_completion) OVER w AS old_completion,
                       row_number() OVER w AS n
                FROM models WINDOW w AS (PARTITION BY canonical_slug ORDER BY valid_from))
            SELECT model, CAST(valid_from AS DATE) AS date, valid_from,
                   old_prompt * {PER_MILLION} AS old_prompt_per_m, pricing_prompt * {PER_MILLION} AS prompt_per_m,
                   old_completion * {PER_MILLION} AS old_completion_per_m,
                   pricing_completion * {PER_MILLION} AS completion_per_m
            FROM states
            WHERE n > 1 AND CAST(valid_from AS DATE) BETWEEN ? AND ?
              AND (pricing_prompt IS DISTINCT FROM old_prompt OR pricing_completion IS DISTINCT FROM old_completion)
              AND (? OR list_contains(?::VARCHAR[], model))
            ORDER BY valid_from, model""",  # noqa: S608 -- a numeric constant
        [start, end, not models, list(models)],
    )


def model_info(con: duckdb.DuckDBPyConnection, permaslug: str) -> dict[str, Any] | None:
    """The newest ``/models`` state of one model (prices per million tokens), or ``None`` if unknown.

    ``created_day``: the UTC day the model was added to OpenRouter (``created`` is epoch seconds);
    ``description``: as ``/models`` gives it (None in a snapshot from before it was kept).
    """
    frame = _frame(
        con,
        f"""SELECT canonical_slug, id, name, context_length, created,
                   CAST(make_timestamp(created * 1000000) AS DATE) AS created_day, valid_from, last_seen_at,
                   pricing_prompt * {PER_MILLION} AS prompt_per_m,
                   pricing_completion * {PER_MILLION} AS completion_per_m,
                   pricing_input_cache_read * {PER_MILLION} AS cache_read_per_m,
                   pricing_internal_reasoning * {PER_MILLION} AS reasoning_per_m,
                   pricing_request AS per_request, expiration_date, output_modalities
            FROM models_current WHERE canonical_slug = ?""",  # noqa: S608 -- a numeric constant
        [permaslug],
    )
    if frame.empty:
        return None
    return {**{str(k): v for k, v in frame.iloc[0].to_dict().items()}, "description": _description(con, permaslug)}


def _description(con: duckdb.DuckDBPyConnection, permaslug: str) -> str | None:
    try:
        rows = con.sql(
            "SELECT description FROM models WHERE canonical_slug = ? ORDER BY valid_from DESC LIMIT 1",
            params=[permaslug],
        ).fetchall()
    except duckdb.BinderException:  # a snapshot published before migration 0006 kept descriptions
        return None
    return str(rows[0][0]) if rows and rows[0][0] is not None else None


def endpoint_health(con: duckdb.DuckDBPyConnection, permaslug: str) -> pd.DataFrame:
    """The newest health snapshot of each endpoint of one model (``model_endpoints_latest``).

    Columns: provider_name, tag, status, uptime_last_5m/30m/1d (%), latency_p50/p90 (ms),
    throughput_p50/p90 (tokens/s), prompt/completion price per million, discount (0..1), overrides (whether
    it lists conditional prices), context_length, quantization, fetched_at.
    """
    return _frame(
        con,
        f"""SELECT provider_name, tag, status, uptime_last_5m, uptime_last_30m, uptime_last_1d,
                   latency_p50, latency_p90, throughput_p50, throughput_p90,
                   pricing_prompt * {PER_MILLION} AS prompt_per_m,
                   pricing_completion * {PER_MILLION} AS completion_per_m,
                   coalesce(pricing_discount, 0) AS discount, pricing_overrides IS NOT NULL AS overrides,
                   context_length, quantization, fetched_at
            FROM model_endpoints_latest WHERE model_permaslug = ?
            ORDER BY uptime_last_1d DESC NULLS LAST, provider_name, tag""",  # noqa: S608 -- a numeric constant
        [permaslug],
    )
