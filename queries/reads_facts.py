"""Routed reads: usage numbers for any filter set, each day read from the one source the route gives it.

``rows_sql`` turns a ``Route`` into one ``UNION ALL`` of its segments, every source mapped onto the same
columns (``date, model, provider, app, key, workspace`` and the metrics), and ``facts`` aggregates it in
SQL by an allowlisted set of columns. Filter values are bound parameters (``VARCHAR[]``); the only text
put into a statement comes from this module's constants.

Metric definitions (README): spend = ``usage + byok_usage_inference`` in activity, ``total_usage`` in
analytics (the same number); completion-only = max(completion − reasoning, 0) per stored row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import duckdb
import pandas as pd

from queries.reads_routing import SHORT_REACH, SOURCES, SOURCES_BY_NAME, Dim, Route, Span

OTHER = "other"

# Column expressions per source table, in ``_COLUMNS`` order. NULL where a table lacks the column.
_COLUMNS = (
    "model",
    "provider",
    "app",
    "key",
    "workspace",
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
)
_ACTIVITY = {
    "model": "model_permaslug",
    "provider": "provider_name",
    "app": "NULL::VARCHAR",
    "key": "NULL::VARCHAR",
    "workspace": "NULL::VARCHAR",
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
}
_ACTIVITY_BY_KEY = {**_ACTIVITY, "key": "api_key_hash"}
_ANALYTICS = {
    "model": "model",
    "provider": "provider",
    "app": "app",
    "key": "api_key_hash",
    "workspace": "workspace",
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
}
_TABLE_COLUMNS = {"activity": _ACTIVITY, "activity_by_key": _ACTIVITY_BY_KEY, "analytics_daily": _ANALYTICS}

# What a read may group by: the only identifiers that ever reach a statement from a caller.
GROUP_COLUMNS: tuple[str, ...] = ("date", "model", "provider", "app", "key", "workspace")
DIM_COLUMN: dict[Dim, str] = {
    Dim.MODEL: "model",
    Dim.PROVIDER: "provider",
    Dim.APP: "app",
    Dim.KEY: "key",
    Dim.WORKSPACE: "workspace",
}

# Sums, and request-weighted means of daily percentiles (a percentile of several days cannot be
# recovered from the days' percentiles; the weighted mean is labelled as such where shown).
_SUMS = (
    "CAST(sum(requests) AS BIGINT) AS requests",
    "CAST(sum(prompt) AS BIGINT) AS prompt",
    "CAST(sum(completion) AS BIGINT) AS completion",
    "CAST(sum(reasoning) AS BIGINT) AS reasoning",
    "CAST(sum(completion_only) AS BIGINT) AS completion_only",
    "CAST(sum(cached) AS BIGINT) AS cached",
    "CAST(sum(spend) AS DOUBLE) AS spend",
    "CAST(sum(byok) AS DOUBLE) AS byok",
)
_LATENCY = tuple(
    f"CAST(sum({m} * requests) FILTER (WHERE {m} IS NOT NULL) "
    f"/ nullif(sum(requests) FILTER (WHERE {m} IS NOT NULL), 0) AS DOUBLE) AS {m}"
    for m in ("p50_latency", "p90_latency", "p50_throughput", "p90_throughput")
)
METRICS: tuple[str, ...] = tuple(s.rsplit(" AS ", 1)[1] for s in _SUMS)
LATENCY_METRICS: tuple[str, ...] = tuple(s.rsplit(" AS ", 1)[1] for s in _LATENCY)


@dataclass(frozen=True)
class Selection:
    """The sidebar's filter values; an empty tuple means "all"."""

    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    workspaces: tuple[str, ...] = ()

    def values(self, dim: Dim) -> tuple[str, ...]:
        return {
            Dim.MODEL: self.models,
            Dim.PROVIDER: self.providers,
            Dim.APP: self.apps,
            Dim.KEY: self.keys,
            Dim.WORKSPACE: self.workspaces,
        }[dim]

    @property
    def dims(self) -> frozenset[Dim]:
        """The dimensions this selection filters on."""
        return frozenset(d for d in Dim if self.values(d))


def _check_by(by: Sequence[str]) -> tuple[str, ...]:
    unknown = [c for c in by if c not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group by {unknown}: allowed are {GROUP_COLUMNS}")
    return tuple(dict.fromkeys(by))


def rows_sql(route: Route, selection: Selection) -> tuple[str, list[Any]]:
    """One row per stored row of the route's segments, on common columns, filtered by ``selection``.

    Raises ``ValueError`` for a route that cannot answer the selection: callers check ``route`` first.
    """
    if not route.answerable:
        raise ValueError(route.unanswerable)
    missing = selection.dims - frozenset(route.dims)
    if missing:
        raise ValueError(f"the route was made without {sorted(missing)}, which the selection filters on")
    parts: list[str] = []
    params: list[Any] = []
    for segment in route.segments:
        source = SOURCES_BY_NAME[segment.source]
        columns = _TABLE_COLUMNS[source.table]
        select = ", ".join(f"{columns[c]} AS {c}" for c in _COLUMNS)
        where = "date BETWEEN ? AND ?"
        params += [segment.first, segment.last]
        if source.grouping is not None:
            where += " AND dimensions = ?"
            params.append(source.grouping)
        for dim in Dim:
            chosen = selection.values(dim)
            if chosen:
                where += f" AND list_contains(?::VARCHAR[], {columns[DIM_COLUMN[dim]]})"
                params.append(list(chosen))
        parts.append(f"SELECT date, {select} FROM {source.table} WHERE {where}")  # noqa: S608 -- constants only
    if not parts:
        # No covered day: an empty relation with the right columns keeps every caller's SQL valid.
        empty = ", ".join(f"{_ACTIVITY[c]} AS {c}" for c in _COLUMNS)
        parts.append(f"SELECT date, {empty} FROM activity WHERE false")  # noqa: S608 -- constants only
    return "\nUNION ALL\n".join(parts), params


def facts_sql(route: Route, selection: Selection, by: Sequence[str], latency: bool = False) -> tuple[str, list[Any]]:
    """Sums per ``by`` group (allowlisted columns), as SQL to compose with: see ``facts``."""
    groups = _check_by(by)
    rows, params = rows_sql(route, selection)
    metrics = ", ".join(_SUMS + (_LATENCY if latency else ()))
    keys = ", ".join(groups)
    head = f"{keys}, " if groups else ""
    tail = f" GROUP BY {keys}" if groups else ""
    return f"SELECT {head}{metrics} FROM ({rows}) rows{tail}", params  # noqa: S608 -- allowlisted names


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def facts(
    con: duckdb.DuckDBPyConnection,
    route: Route,
    selection: Selection,
    by: Sequence[str] = (),
    *,
    top: tuple[str, int] | None = None,
    latency: bool = False,
) -> pd.DataFrame:
    """Requests, tokens, spend (and BYOK) per ``by`` group over the route's days, ordered by ``by``.

    ``top=(column, n)`` keeps the ``n`` biggest values of ``column`` by spend (all of the range) and sums
    the rest into one ``other`` row per remaining group; the frame then also has ``rank`` (``n + 1`` for
    other) and ``members`` (how many values a row stands for). ``latency`` adds request-weighted means of
    the daily p50/p90 latency (ms) and throughput (tokens/s).
    """
    groups = _check_by(by)
    inner, params = facts_sql(route, selection, groups, latency)
    if top is None:
        order = f" ORDER BY {', '.join(groups)}" if groups else ""
        return _frame(con, f"SELECT * FROM ({inner}) f{order}", params)  # noqa: S608 -- allowlisted names
    column, n = top
    if column not in groups:
        raise ValueError(f"top column {column!r} must be one of by={groups}")
    others = [g for g in groups if g != column]
    sums = ", ".join(f"CAST(sum({m}) AS {'DOUBLE' if m in ('spend', 'byok') else 'BIGINT'}) AS {m}" for m in METRICS)
    # Latency means cannot be re-averaged without weights; a top-n frame never carries them.
    sql = f"""WITH f AS ({inner}),
                   ranked AS (SELECT {column}, row_number() OVER (ORDER BY sum(spend) DESC, {column}) AS rank
                              FROM f GROUP BY {column})
              SELECT CASE WHEN rank <= ? THEN f.{column} ELSE ? END AS {column},
                     {"".join(f"f.{o}, " for o in others)}{sums},
                     CAST(least(min(rank), ? + 1) AS BIGINT) AS rank,
                     CAST(count(DISTINCT f.{column}) AS BIGINT) AS members
              FROM f JOIN ranked USING ({column})
              GROUP BY ALL
              ORDER BY {"".join(f"{o}, " for o in others)}rank"""  # noqa: S608 -- allowlisted names
    return _frame(con, sql, [*params, n, OTHER, n])


# ---- covered days -----------------------------------------------------------------------------------------


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


def source_spans(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[Span, ...]]:
    """Covered days of every routed source, from ``coverage`` (merged, inclusive intervals).

    Keyed by (source name, "long"/"short"): see ``reads_routing.Spans``. A store written before coverage
    was recorded (or by hand) has no coverage rows for a table: its first..last stored day stands in.
    """
    rows = con.sql(
        "SELECT source, dimensions, scope, metrics, first_day, last_day FROM coverage ORDER BY first_day"
    ).fetchall()
    found: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for source, dimensions, scope, metrics, first, last in rows:
        if source == "activity":
            found[("activity" if scope == "" else "activity_by_key", "long")].append((first, last))
            continue
        name = f"analytics:{dimensions}"
        if name not in SOURCES_BY_NAME:
            continue
        found[(name, metrics)].append((first, last))
        # A grouping with a 31-day reach is asked for every metric at once: its short fetches hold all.
        if metrics == "short" and SOURCES_BY_NAME[name].reach == SHORT_REACH:
            found[(name, "long")].append((first, last))
    for source in SOURCES:
        if (source.name, "long") in found:
            continue
        if source.grouping is None:
            rows = con.sql(f"SELECT min(date), max(date) FROM {source.table}").fetchall()  # noqa: S608 -- constant
        else:
            rows = con.sql(
                "SELECT min(date), max(date) FROM analytics_daily WHERE dimensions = ?", params=[source.grouping]
            ).fetchall()
        row = rows[0] if rows else None
        if row and row[0] is not None:
            found[(source.name, "long")].append((row[0], row[1]))
    return {key: _merge(spans) for key, spans in found.items()}
