"""Routed reads: usage numbers for any filter set, each day read from the one source the route gives it.

``rows_sql`` turns a ``Route`` into one ``UNION ALL`` of its segments, every source mapped onto the same
columns (``date, model, provider, app, key, workspace, member, end_user`` and the metrics, see
``fact_columns``; a per-key source's workspace is its key's), and ``facts``
aggregates it in SQL by an allowlisted set of columns. A segment whose question needs no dimension beyond
one a daily rollup keeps (``rollups.DAILY``: per app, per key, or none) reads that rollup instead of the
source's rows: the same sums from up to 45× fewer rows. Filter values are bound parameters
(``VARCHAR[]``); the only text put into a statement comes from constants.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import duckdb
import pandas as pd

from queries import rollups
from queries.fact_columns import ACTIVITY, COLUMNS, DIMENSIONS, KEY_WORKSPACE, KEY_WORKSPACES, SUMMED, TABLE_COLUMNS
from queries.filters import Filters
from queries.parts import OTHER, fold_sql
from queries.reads_routing import SOURCES_BY_NAME, Dim, Route, Span

__all__ = ["OTHER", "facts", "facts_sql", "rows_sql", "source_spans"]

# What a read may group by: the only identifiers that ever reach a statement from a caller.
GROUP_COLUMNS: tuple[str, ...] = ("date", *DIMENSIONS)
DIM_COLUMN: dict[Dim, str] = {
    Dim.MODEL: "model",
    Dim.PROVIDER: "provider",
    Dim.APP: "app",
    Dim.KEY: "key",
    Dim.WORKSPACE: "workspace",
    Dim.MEMBER: "member",
    Dim.END_USER: "end_user",
    Dim.ACCOUNT: "account",
}
# What a top-n read may rank by: an aggregate over the stored rows, by name.
RANK_BY: dict[str, str] = {
    "spend": "sum(spend)",
    "requests": "sum(requests)",
    "tokens": "sum(prompt) + sum(completion)",
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
# How many stored rows had reasoning above completion (completion-only clamped at 0): exact only from the
# sources' own rows, so asking for it (``flags``) bypasses the rollups.
_FLAGS = ("CAST(sum(clamped_rows) AS BIGINT) AS clamped_rows",)
METRICS: tuple[str, ...] = tuple(s.rsplit(" AS ", 1)[1] for s in _SUMS)
LATENCY_METRICS: tuple[str, ...] = tuple(s.rsplit(" AS ", 1)[1] for s in _LATENCY)


def _check_by(by: Sequence[str]) -> tuple[str, ...]:
    unknown = [c for c in by if c not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group by {unknown}: allowed are {GROUP_COLUMNS}")
    return tuple(dict.fromkeys(by))


def _rollup_kind(source: str, needed: Collection[str] | None) -> str | None:
    """The daily rollup of ``source`` that holds every column ``needed`` (None: use the source's rows)."""
    if needed is None:
        return None
    for kind in rollups.DAILY.get(source, ()):
        if set(needed) <= (set() if kind == rollups.TOTAL else {kind}):
            return kind
    return None


def _rollup_select(kind: str) -> str:
    summed = {m for m, _ in SUMMED}

    def column(name: str) -> str:
        if name == kind:
            return "value"
        if name in summed:
            return name
        if name == "clamped_rows":
            return "NULL::BIGINT"  # not kept in rollups: ``flags`` reads never use them
        return "NULL::VARCHAR" if name in DIMENSIONS else "NULL::DOUBLE"  # another dimension; a percentile

    return ", ".join(f"{column(c)} AS {c}" for c in COLUMNS)


def rows_sql(route: Route, filters: Filters, needed: Collection[str] | None = None) -> tuple[str, list[Any]]:
    """One row per stored row of the route's segments, on common columns, filtered by ``filters``.

    ``needed``: the dimension columns the caller will read (``filters``'s are added); when given, a
    segment may read a daily rollup whose rows hold only those (and NULL in the other dimensions). Leave it
    None for rows with every column. Raises ``ValueError`` for a route that cannot answer the filters:
    callers check ``route`` first.
    """
    if not route.answerable:
        raise ValueError(route.unanswerable)
    missing = filters.dims - frozenset(route.dims)
    if missing:
        raise ValueError(f"the route was made without {sorted(missing)}, which the filters limit")
    if needed is not None:
        needed = {*needed, *(DIM_COLUMN[d] for d in filters.dims)}
    parts: list[str] = []
    params: list[Any] = []
    for segment in route.segments:
        source = SOURCES_BY_NAME[segment.source]
        kind = _rollup_kind(source.name, needed)
        if kind is not None:
            where = "source = ? AND kind = ? AND date BETWEEN ? AND ?"
            params += [source.name, kind, segment.first, segment.last]
            for dim in Dim:
                chosen = filters.values(dim)
                if chosen:  # only the rollup's own dimension can be chosen here (it is in ``needed``)
                    where += " AND list_contains(?::VARCHAR[], value)"
                    params.append(list(chosen))
            select = _rollup_select(kind)
            parts.append(f"SELECT date, {select} FROM rollup_daily WHERE {where}")  # noqa: S608 -- constants only
            continue
        columns = TABLE_COLUMNS[source.table]
        table = source.table
        if Dim.WORKSPACE in source.derived:
            columns = {**columns, "workspace": KEY_WORKSPACE}
            table = f"{source.table} LEFT JOIN ({KEY_WORKSPACES}) kw ON kw.key_hash = {columns['key']}"
        select = ", ".join(f"{columns[c]} AS {c}" for c in COLUMNS)
        where = "date BETWEEN ? AND ?"
        params += [segment.first, segment.last]
        if source.grouping is not None:
            where += " AND dimensions = ?"
            params.append(source.grouping)
        for dim in Dim:
            chosen = filters.values(dim)
            if chosen:
                where += f" AND list_contains(?::VARCHAR[], {columns[DIM_COLUMN[dim]]})"
                params.append(list(chosen))
        parts.append(f"SELECT date, {select} FROM {table} WHERE {where}")  # noqa: S608 -- constants only
    if not parts:
        # No covered day: an empty relation with the right columns keeps every caller's SQL valid.
        empty = ", ".join(f"{ACTIVITY[c]} AS {c}" for c in COLUMNS)
        parts.append(f"SELECT date, {empty} FROM activity WHERE false")  # noqa: S608 -- constants only
    return "\nUNION ALL\n".join(parts), params


def facts_sql(
    route: Route, filters: Filters, by: Sequence[str], latency: bool = False, flags: bool = False
) -> tuple[str, list[Any]]:
    """Sums per ``by`` group (allowlisted columns), as SQL to compose with: see ``facts``."""
    groups = _check_by(by)
    # Percentiles and flags live in the sources' own rows only; otherwise a rollup may answer.
    needed = None if latency or flags else [g for g in groups if g != "date"]
    rows, params = rows_sql(route, filters, needed)
    metrics = ", ".join(_SUMS + (_LATENCY if latency else ()) + (_FLAGS if flags else ()))
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
    filters: Filters,
    by: Sequence[str] = (),
    *,
    top: tuple[str, int] | None = None,
    latency: bool = False,
    flags: bool = False,
    rank_by: str = "spend",
) -> pd.DataFrame:
    """Requests, tokens, spend (and BYOK) per ``by`` group over the route's days, ordered by ``by``.

    ``top=(column, n)`` keeps the ``n`` biggest values of ``column`` by ``rank_by`` (``RANK_BY``: spend,
    requests or tokens, over all of the range), keeps ``unattributed`` as a row of its own and sums the rest
    into one ``other`` row per remaining group (``queries.parts.fold_sql``); the frame then also has ``rank``
    (``n + 1`` unattributed, ``n + 2`` other) and ``members`` (how many values a row stands for). ``latency``
    adds request-weighted means of the daily p50/p90 latency (ms) and throughput (tokens/s); ``flags`` adds
    ``clamped_rows`` (rows whose completion-only tokens were clamped at 0).
    """
    groups = _check_by(by)
    if rank_by not in RANK_BY:
        raise ValueError(f"cannot rank by {rank_by!r}: allowed are {tuple(RANK_BY)}")
    inner, params = facts_sql(route, filters, groups, latency, flags)
    if top is None:
        order = f" ORDER BY {', '.join(groups)}" if groups else ""
        return _frame(con, f"SELECT * FROM ({inner}) f{order}", params)  # noqa: S608 -- allowlisted names
    column, n = top
    if column not in groups:
        raise ValueError(f"top column {column!r} must be one of by={groups}")
    if latency or flags:
        raise ValueError("a top-n read sums its rows again: it carries neither latency nor flags")
    others = [g for g in groups if g != column]
    sums = [(m, "DOUBLE" if m in ("spend", "byok") else "BIGINT") for m in METRICS]
    if others:
        # Summed per (others, value) first, a year per day and model is ~90 k groups, most of the cost. The
        # stored rows go straight into (others, rank bucket) groups instead.
        inner, params = rows_sql(route, filters, [g for g in groups if g != "date"])
    # Latency means cannot be re-averaged without weights; a top-n frame never carries them. Summed per value, the
    # source is a few hundred rows: read once (materialize), not once for the ranks and again for the buckets.
    sql, values = fold_sql(inner, params, column, n, others, sums, RANK_BY[rank_by], materialize=not others)
    return _frame(con, sql, values)


# ---- covered days -----------------------------------------------------------------------------------------


SPANS_SQL = "SELECT source, metrics, first_day, last_day FROM rollup_spans"
SPAN_COLUMNS = ("source", "metrics", "first_day", "last_day")


def source_spans(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[Span, ...]]:
    """Covered days of every routed source (merged, inclusive intervals), as the writer keeps them in
    ``rollup_spans``: from ``coverage``; a source no fetch was recorded for (a store written by hand) has its
    first..last stored day instead.

    Keyed by (source name, "long"/"short"): see ``reads_routing.Spans``.
    """
    return spans_by_source(con.sql(f"{SPANS_SQL} ORDER BY first_day").fetchall())


def spans_by_source(rows: Iterable[Iterable[Any]]) -> dict[tuple[str, str], tuple[Span, ...]]:
    """(source, metrics, first_day, last_day) rows, oldest first, as ``source_spans`` gives them."""
    found: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for source, metrics, first, last in rows:
        found[(str(source), str(metrics))].append((first, last))
    return {key: tuple(spans) for key, spans in found.items()}
