# ruff: noqa: S608 -- every statement here is built from this module's and fact_columns' constants; values are bound
"""Narrow rollups of the daily facts, kept by the writer in the same transaction as the facts they sum, so a
published snapshot never holds stale ones. A page's first run after an ingest reads these instead of
rescanning a year of facts.

Three tables (migration 0005), each a pure function of the facts:

* ``rollup_daily``: per UTC day and routed source, the facts summed by one dimension (``kind`` ``app`` or
  ``key``) or by none (``total``), on ``fact_columns``'s columns (``DAILY`` lists them). A year of "spend per
  app per day" is ~70 k rows there against ~670 k rows of analytics by model × app at 10 M generations.
* ``rollup_values``: every value of a dimension each source holds, with its spend (to order the filters'
  options; NULL where only the value's presence is kept), first and last day (for "new this week"), and
  for models the activity's display slug, for members their e-mail.
* ``rollup_spans``: the days each routed source covers, merged: from ``coverage``, or for a source no fetch
  was recorded for, its first..last stored day.

``refresh_all`` rebuilds all three (migration 0005; stores written with plain SQL, such as the benchmark's).
``activity_changed``, ``key_activity_changed``, ``analytics_changed`` and ``coverage_changed``, called by
``writes`` inside the caller's transaction, redo only what one unit of work touched. ``ensure`` gives a
snapshot written before 0005 the same tables as temporary ones, so readers have one code path.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

from queries.fact_columns import SUMMED, TABLE_COLUMNS
from queries.reads_routing import SHORT_REACH, SOURCES, SOURCES_BY_NAME

TABLES = ("rollup_daily", "rollup_values", "rollup_spans")
MIGRATION = 5  # migrations/0005_rollups.sql
TOTAL = "total"
# Per source: the kinds of daily rollup kept (the fact column summed by; TOTAL for none). Only where it
# shrinks the rows a question reads: analytics by model is already one row per model and day.
DAILY: dict[str, tuple[str, ...]] = {
    "activity": (TOTAL,),
    "activity_by_key": ("key",),
    "analytics:model": (TOTAL,),
    "analytics:model,app": ("app",),
    "analytics:api_key_hash,model": ("key",),
}
_DAILY_COLUMNS = ("source", "kind", "value", "date", *(m for m, _ in SUMMED))


def _daily_select(name: str, kind: str, where: str = "") -> str:
    """One source's facts summed per day (and per ``kind``'s value), ``where`` narrowing the rows read."""
    source = SOURCES_BY_NAME[name]
    columns = TABLE_COLUMNS[source.table]
    value = "NULL::VARCHAR" if kind == TOTAL else columns[kind]
    sums = ", ".join(f"CAST(sum({columns[m]}) AS {sql_type}) AS {m}" for m, sql_type in SUMMED)
    grouping = f" AND dimensions = '{source.grouping}'" if source.grouping else ""
    return (
        f"SELECT '{name}' AS source, '{kind}' AS kind, {value} AS value, date, {sums} "
        f"FROM {source.table} WHERE true{grouping}{where} GROUP BY ALL"
    )


@dataclass(frozen=True)
class _Values:
    """How one source's values of one dimension are summed up: ``select`` gives value, spend, first_day,
    last_day, display, and is redone whenever that source is written."""

    kind: str
    source: str
    select: str


def _from_daily(name: str, kind: str) -> str:
    # The daily rollup is refreshed first, so summing it is the same as summing the facts, and far cheaper.
    return (
        "SELECT value, CAST(sum(spend) AS DOUBLE), min(date), max(date), NULL::VARCHAR FROM rollup_daily "
        f"WHERE source = '{name}' AND kind = '{kind}' AND value IS NOT NULL GROUP BY value"
    )


def _from_analytics(grouping: str, column: str) -> str:
    return (
        f"SELECT {column}, CAST(sum(total_usage) AS DOUBLE), min(date), max(date), NULL::VARCHAR "
        f"FROM analytics_daily WHERE dimensions = '{grouping}' AND {column} IS NOT NULL GROUP BY {column}"
    )


_ACTIVITY_SPEND = "CAST(sum(usage + byok_usage_inference) AS DOUBLE)"
VALUES: tuple[_Values, ...] = (
    _Values(
        "model",
        "activity",
        f"""SELECT model_permaslug, {_ACTIVITY_SPEND}, min(date), max(date), arg_max(model, date)
            FROM activity WHERE model_permaslug IS NOT NULL GROUP BY model_permaslug""",
    ),
    _Values(
        "provider",
        "activity",
        f"""SELECT provider_name, {_ACTIVITY_SPEND}, min(date), max(date), NULL::VARCHAR
            FROM activity WHERE provider_name IS NOT NULL GROUP BY provider_name""",
    ),
    _Values("key", "activity_by_key", _from_daily("activity_by_key", "key")),
    _Values("model", "analytics:model", _from_analytics("model", "model")),
    _Values("app", "analytics:model,app", _from_daily("analytics:model,app", "app")),
    _Values("key", "analytics:api_key_hash,model", _from_daily("analytics:api_key_hash,model", "key")),
    _Values("provider", "analytics:model,provider", _from_analytics("model,provider", "provider")),
    _Values("workspace", "analytics:workspace", _from_analytics("workspace", "workspace")),
    # Members by the name analytics gives them, their e-mail as the display.
    _Values(
        "member",
        "analytics:user",
        """SELECT "user", CAST(sum(total_usage) AS DOUBLE), min(date), max(date), any_value(user_email)
           FROM analytics_daily WHERE dimensions = 'user' AND "user" IS NOT NULL GROUP BY 1""",
    ),
    _Values("end_user", "analytics:external_user", _from_analytics("external_user", "external_user")),
)
# Every other analytics grouping that has a model column only says which models it holds and when
# (model options, the model page's catalog): grown from the days written, never rescanned, because
# analytics rows are upserted and never deleted.
_SEEN_MODELS = """SELECT model AS value, min(date) AS first_day, max(date) AS last_day FROM analytics_daily
                  WHERE dimensions = ? AND model IS NOT NULL{where} GROUP BY model"""
_ALL_SEEN_MODELS = """SELECT 'model', 'analytics:' || dimensions, model, NULL::DOUBLE, min(date), max(date),
                             NULL::VARCHAR
                      FROM analytics_daily WHERE dimensions <> 'model' AND model IS NOT NULL
                      GROUP BY dimensions, model"""


def _spans_select() -> str:
    """``reads_routing.Spans`` as rows (source, metrics, first_day, last_day), overlapping and adjacent
    fetches merged. Reads ``coverage`` and, for sources never recorded there, ``rollup_values``."""
    names = ", ".join(f"'{s.name}'" for s in SOURCES)
    short = ", ".join(f"'{s.name}'" for s in SOURCES if s.reach == SHORT_REACH) or "NULL"
    return f"""
        WITH cov AS (
            SELECT CASE WHEN source = 'activity' THEN CASE WHEN scope = '' THEN 'activity' ELSE 'activity_by_key' END
                        ELSE 'analytics:' || dimensions END AS name,
                   CASE WHEN source = 'activity' THEN 'long' ELSE metrics END AS metrics, first_day, last_day
            FROM coverage WHERE source IN ('activity', 'analytics')),
        fetched AS (
            SELECT name, metrics, first_day, last_day FROM cov WHERE name IN ({names})
            -- A grouping with a 31-day reach is asked for every metric at once: its short fetches hold all.
            UNION ALL SELECT name, 'long', first_day, last_day FROM cov WHERE metrics = 'short' AND name IN ({short})),
        stored AS (
            SELECT source AS name, 'long' AS metrics, min(first_day) AS first_day, max(last_day) AS last_day
            FROM rollup_values WHERE source IN ({names}) GROUP BY source),
        every AS (
            SELECT * FROM fetched
            UNION ALL SELECT * FROM stored WHERE name NOT IN (SELECT name FROM fetched WHERE metrics = 'long')),
        reached AS (
            SELECT *, max(last_day) OVER (PARTITION BY name, metrics ORDER BY first_day, last_day
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
            FROM every),
        islands AS (
            SELECT *, sum(CASE WHEN first_day <= reach + 1 THEN 0 ELSE 1 END)
                          OVER (PARTITION BY name, metrics ORDER BY first_day, last_day ROWS UNBOUNDED PRECEDING)
                          AS island
            FROM reached)
        SELECT name AS source, metrics, min(first_day) AS first_day, max(last_day) AS last_day
        FROM islands GROUP BY name, metrics, island"""


_SPANS = _spans_select()


# ---- writing ----------------------------------------------------------------------------------------------


def _days_filter(days: Sequence[date]) -> tuple[str, list[object]]:
    # BETWEEN lets DuckDB skip row groups by their date range; the list keeps exactly the days written.
    return " AND date BETWEEN ? AND ? AND list_contains(?::DATE[], date)", [min(days), max(days), sorted(set(days))]


def _refresh_daily(con: duckdb.DuckDBPyConnection, name: str, days: Sequence[date], key: str | None = None) -> None:
    where, params = _days_filter(days)
    only_key = " AND api_key_hash = ?" if key is not None else ""
    key_params: list[object] = [key] if key is not None else []
    columns = ", ".join(_DAILY_COLUMNS)
    for kind in DAILY.get(name, ()):
        con.execute(
            f"DELETE FROM rollup_daily WHERE source = ? AND kind = ?{where}{' AND value = ?' if key else ''}",
            [name, kind, *params, *key_params],
        )
        con.execute(
            f"INSERT INTO rollup_daily ({columns}) {_daily_select(name, kind, where + only_key)}",
            [*params, *key_params],
        )


def _refresh_values(con: duckdb.DuckDBPyConnection, source: str) -> None:
    for values in VALUES:
        if values.source == source:
            con.execute("DELETE FROM rollup_values WHERE kind = ? AND source = ?", [values.kind, values.source])
            con.execute(
                f"INSERT INTO rollup_values SELECT ?, ?, * FROM ({values.select})", [values.kind, values.source]
            )


def _grow_seen_models(con: duckdb.DuckDBPyConnection, grouping: str, days: Sequence[date]) -> None:
    where, params = _days_filter(days)
    seen = _SEEN_MODELS.format(where=where)
    source = f"analytics:{grouping}"
    con.execute(
        f"""UPDATE rollup_values SET first_day = least(rollup_values.first_day, t.first_day),
                                     last_day = greatest(rollup_values.last_day, t.last_day)
            FROM ({seen}) t
            WHERE rollup_values.kind = 'model' AND rollup_values.source = ? AND rollup_values.value = t.value""",
        [grouping, *params, source],
    )
    con.execute(
        f"""INSERT INTO rollup_values
            SELECT 'model', ?, t.value, NULL, t.first_day, t.last_day, NULL FROM ({seen}) t
            WHERE t.value NOT IN (SELECT value FROM rollup_values WHERE kind = 'model' AND source = ?)""",
        [source, grouping, *params, source],
    )


def coverage_changed(con: duckdb.DuckDBPyConnection) -> None:
    """After a ``coverage`` write (or any write that may change a source's stored days)."""
    con.execute("DELETE FROM rollup_spans")
    con.execute(f"INSERT INTO rollup_spans SELECT * FROM ({_SPANS})")


def activity_changed(con: duckdb.DuckDBPyConnection, days: Sequence[date]) -> None:
    """After account-wide ``activity`` of ``days`` was replaced."""
    if days:
        _refresh_daily(con, "activity", days)
    _refresh_values(con, "activity")
    coverage_changed(con)


def key_activity_changed(con: duckdb.DuckDBPyConnection, api_key_hash: str, days: Sequence[date]) -> None:
    """After one key's ``activity_by_key`` of ``days`` was replaced."""
    if days:
        _refresh_daily(con, "activity_by_key", days, api_key_hash)
    _refresh_values(con, "activity_by_key")
    coverage_changed(con)


def analytics_changed(con: duckdb.DuckDBPyConnection, grouping: str, days: Sequence[date]) -> None:
    """After ``analytics_daily`` rows of one grouping (``dimensions``) on ``days`` were upserted."""
    source = f"analytics:{grouping}"
    if days:
        _refresh_daily(con, source, days)
        if grouping != "model":
            _grow_seen_models(con, grouping, days)
    _refresh_values(con, source)
    coverage_changed(con)


def refresh_all(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every rollup from the facts (in the caller's transaction)."""
    for table in TABLES:
        con.execute(f"DELETE FROM {table}")
    columns = ", ".join(_DAILY_COLUMNS)
    for name, kinds in DAILY.items():
        for kind in kinds:
            # Ordered so that each source's rows sit together and by day: DuckDB skips row groups by range.
            con.execute(f"INSERT INTO rollup_daily ({columns}) {_daily_select(name, kind)} ORDER BY date, value")
    for values in VALUES:
        con.execute(f"INSERT INTO rollup_values SELECT ?, ?, * FROM ({values.select})", [values.kind, values.source])
    con.execute(f"INSERT INTO rollup_values {_ALL_SEEN_MODELS}")
    con.execute(f"INSERT INTO rollup_spans SELECT * FROM ({_SPANS})")


# ---- reading ----------------------------------------------------------------------------------------------

_READY: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, bool] = weakref.WeakKeyDictionary()


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Make the rollups readable on ``con``: a snapshot published before migration 0005 gets them as
    temporary tables, built from its facts (slow, once per connection, until the next ingest publishes)."""
    if _READY.get(con):
        return
    # The migration that made them, not the catalogue: duckdb_tables() costs 5 ms on every new connection,
    # and every cold page run opens one. (The migration and its tables are one transaction.)
    rows = con.sql("SELECT count(*) FROM schema_migrations WHERE version = ?", params=[MIGRATION]).fetchall()
    if not rows or not rows[0][0]:
        daily = " UNION ALL ".join(_daily_select(name, kind) for name, kinds in DAILY.items() for kind in kinds)
        con.execute(f"CREATE TEMP TABLE rollup_daily AS {daily}")
        values = " UNION ALL ".join(f"SELECT '{v.kind}', '{v.source}', * FROM ({v.select})" for v in VALUES)
        con.execute(
            f"""CREATE TEMP TABLE rollup_values AS
                SELECT * FROM ({values} UNION ALL {_ALL_SEEN_MODELS})
                    t(kind, source, value, spend, first_day, last_day, display)"""
        )
        con.execute(f"CREATE TEMP TABLE rollup_spans AS SELECT * FROM ({_SPANS})")
    _READY[con] = True
