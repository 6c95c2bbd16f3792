"""Runs an ``AnalyticsQuery`` over the ``analytics_generations`` view and shapes the rows as OpenRouter does.

SQL is assembled from the catalogue's identifiers only (``analytics_schema``); every request value is a named
parameter. Rows are grouped by dimension *ids* and show their *labels*, so two keys with one name stay two rows.

Order: the requested ``order_by`` (labels for dimensions), else newest bucket first with a granularity, else
the first metric descending; then always newest bucket first and dimension ids ascending as tie-breakers, so
the order is total and truncation (``limit`` → ``metadata.truncated``; ``group_limit`` → per combination of
dimension ids) keeps the same rows every time.

Values: spec mode gives counts as integers, costs as numbers (0 when unused); quirks mode gives counts as
strings, costs ``null`` when zero or unused, and ``created_at__<granularity>`` instead of ``date__<granularity>``.
Rates (latency, throughput, ratios) are numbers, ``null`` when there is nothing to measure. Unattributed
dimension values are ``""``.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import duckdb

from fake_openrouter.analytics_request import AnalyticsQuery, Filter
from fake_openrouter.analytics_schema import COMPARISONS, CONTEXT_BUCKET_SQL, THROUGHPUT_SQL, Metric
from fake_openrouter.api_common import JsonObject

TIME_FORMATS = {"minute": "%Y-%m-%d %H:%M:%S", "hour": "%Y-%m-%d %H:%M:%S"}  # coarser buckets: the date alone


def _filter_sql(f: Filter, i: int, params: dict[str, object]) -> str:
    col = f.dimension.id_sql
    name = f"f{i}"
    if f.operator in ("in", "not_in"):
        params[name] = list(f.values)
        test = f"list_contains(${name}, {col})"
        test = f"NOT {test}" if f.operator == "not_in" else test
    else:
        params[name] = f.values[0]
        test = f"{col} {COMPARISONS[f.operator]} ${name}"
    # Unset (NULL) ids match only when asked for: plain SQL comparisons already leave them out.
    return f"({col} IS NULL OR {test})" if f.include_unset else f"({col} IS NOT NULL AND {test})"


def _order_terms(q: AnalyticsQuery, metric_cols: dict[str, str]) -> list[str]:
    direction = "DESC" if q.descending else "ASC"
    terms: list[str] = []
    if q.order_field == "date" or (q.order_field is None and q.granularity is not None):
        terms.append(f"t {direction}")
    elif q.order_field is None:
        terms.append(f"{metric_cols[q.metrics[0].name]} DESC NULLS LAST")
    elif q.order_field in metric_cols:
        terms.append(f"{metric_cols[q.order_field]} {direction} NULLS LAST")
    else:
        i = next(i for i, d in enumerate(q.dimensions) if d.name == q.order_field)
        terms.append(f"v{i} {direction}")
    if q.granularity is not None:
        terms.append("t DESC")
    terms += [f"k{i} ASC NULLS FIRST" for i in range(len(q.dimensions))]
    return terms


def build_sql(q: AnalyticsQuery) -> tuple[str, dict[str, object]]:
    params: dict[str, object] = {"start": q.start, "end": q.end, "limit": q.limit + 1}
    where = " AND ".join(_filter_sql(f, i, params) for i, f in enumerate(q.filters)) or "true"
    select: list[str] = []
    keys: list[str] = []
    if q.granularity is not None:
        select.append(f"date_trunc('{q.granularity}', created_at) AS t")
        keys.append("t")
    for i, dim in enumerate(q.dimensions):
        # Labels as shown, "" for unattributed, so that ordering by a dimension follows what rows show.
        select += [f"{dim.id_sql} AS k{i}", f"coalesce(any_value({dim.value_sql})::VARCHAR, '') AS v{i}"]
        select += [f"coalesce(any_value({sql})::VARCHAR, '') AS v{i}_{j}" for j, (_, sql) in enumerate(dim.extra)]
        keys.append(f"k{i}")
    metric_cols = {m.name: f"m{i}" for i, m in enumerate(q.metrics)}
    select += [f"{m.sql} AS m{i}" for i, m in enumerate(q.metrics)]
    if "request_count" not in metric_cols:
        select.append("count(*) AS _requests")  # so that order_by may name it without requesting it
        metric_cols["request_count"] = "_requests"
    order = ", ".join(_order_terms(q, metric_cols))
    group_by = f"GROUP BY {', '.join(keys)}" if keys else ""
    ranked = "true"
    if q.group_limit is not None and q.dimensions:
        partition = ", ".join(f"k{i}" for i in range(len(q.dimensions)))
        params["group_limit"] = q.group_limit
        ranked = f"row_number() OVER (PARTITION BY {partition} ORDER BY {order}) <= $group_limit"
    sql = f"""
        WITH src AS (
            SELECT *, {CONTEXT_BUCKET_SQL} AS context_length_bucket, {THROUGHPUT_SQL} AS throughput
            FROM analytics_generations
            WHERE created_at >= $start AND created_at < $end
        ), base AS (
            SELECT * FROM src WHERE {where}
        ), grouped AS (
            SELECT {", ".join(select)} FROM base {group_by} HAVING count(*) > 0
        ), ranked AS (
            SELECT *, {ranked} AS _kept FROM grouped
        )
        SELECT * EXCLUDE (_kept) FROM ranked WHERE _kept ORDER BY {order} LIMIT $limit
    """  # noqa: S608 - identifiers come from analytics_schema; values are parameters
    return sql, params


def _metric_value(metric: Metric, value: Any, quirks: bool) -> object:
    if metric.kind == "count":
        count = int(value or 0)
        return str(count) if quirks else count
    if metric.kind == "cost":
        cost = float(value or 0.0) if metric.used else 0.0
        return None if quirks and cost == 0 else cost
    return None if value is None else float(value)


def _time_value(bucket: datetime, granularity: str, quirks: bool) -> str:
    if quirks:
        return bucket.strftime("%Y-%m-%d %H:%M:%S")  # the real API has been seen sending DateTime strings
    return bucket.strftime(TIME_FORMATS.get(granularity, "%Y-%m-%d"))


def _shape(q: AnalyticsQuery, record: dict[str, Any], quirks: bool) -> JsonObject:
    row: JsonObject = {}
    if q.granularity is not None:
        prefix = "created_at" if quirks else "date"
        row[f"{prefix}__{q.granularity}"] = _time_value(record["t"], q.granularity, quirks)
    for i, dim in enumerate(q.dimensions):
        row[dim.name] = record[f"v{i}"]
        row |= {key: record[f"v{i}_{j}"] for j, (key, _) in enumerate(dim.extra)}
    for i, metric in enumerate(q.metrics):
        row[metric.name] = _metric_value(metric, record[f"m{i}"], quirks)
    return row


def run_query(cur: duckdb.DuckDBPyConnection, q: AnalyticsQuery, quirks: bool) -> JsonObject:
    """The body of POST /analytics/query for ``q``."""
    started = time.perf_counter()
    sql, params = build_sql(q)
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    records = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
    truncated = len(records) > q.limit
    rows = [_shape(q, r, quirks) for r in records[: q.limit]]
    data: JsonObject = {
        "data": rows,
        "metadata": {
            "query_time_ms": round((time.perf_counter() - started) * 1000, 3),
            "row_count": len(rows),
            "truncated": truncated,
        },
    }
    if q.warnings:
        data["warnings"] = list(q.warnings)
    return {"data": data}
