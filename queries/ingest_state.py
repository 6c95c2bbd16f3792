"""What the ingest needs to know about the store to decide what to fetch: the current account's rows
(``queries.accounts``), since each account is fetched on its own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import duckdb

from core.limits import MAX_COUNT, MAX_MONEY
from queries.accounts import CURRENT


def analytics_coverage(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, date, date, datetime]]:
    """(dimensions, scope, metrics, first_day, last_day, fetched_at) of every analytics fetch stored."""
    rows = con.execute(
        "SELECT dimensions, scope, metrics, first_day, last_day, fetched_at FROM coverage "  # noqa: S608 -- a constant
        f"WHERE source = 'analytics' AND account = {CURRENT}"
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


def models_with_traffic(con: duckdb.DuckDBPyConnection, since: date) -> list[tuple[str, str]]:
    """(permaslug, slug) of every model with traffic since ``since``, by activity or analytics."""
    rows = con.execute(
        """WITH used AS (
               SELECT DISTINCT model_permaslug AS permaslug FROM activity WHERE date >= ?
               UNION SELECT DISTINCT model FROM analytics_daily WHERE dimensions = 'model' AND date >= ?)
           SELECT u.permaslug, m.id FROM used u JOIN models_current m ON m.canonical_slug = u.permaslug
           ORDER BY u.permaslug""",
        [since, since],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def activity_spend(con: duckdb.DuckDBPyConnection, first: date, last: date, key_hash: str = "") -> float:
    """USD spent on ``first..last`` as stored /activity rows show it (account-wide, or one key's)."""
    if key_hash:
        row = con.execute(
            f"""SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity_by_key
               WHERE date BETWEEN ? AND ? AND api_key_hash = ? AND account = {CURRENT}""",  # noqa: S608 -- a constant
            [first, last, key_hash],
        ).fetchone()
    else:
        row = con.execute(
            "SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity "  # noqa: S608 -- a constant
            f"WHERE date BETWEEN ? AND ? AND account = {CURRENT}",
            [first, last],
        ).fetchone()
    return float(row[0]) if row else 0.0


def credits_spend(con: duckdb.DuckDBPyConnection, first: date, last: date) -> float:
    """USD by which /credits' total usage grew between two consecutive snapshots both taken on
    ``first..last``: spend that must have happened on those days."""
    row = con.execute(
        f"""WITH s AS (
               SELECT fetched_at, total_usage,
                      lag(fetched_at) OVER (ORDER BY fetched_at) AS before_at,
                      lag(total_usage) OVER (ORDER BY fetched_at) AS before_usage
               FROM credits WHERE account = {CURRENT})
           SELECT coalesce(sum(total_usage - before_usage), 0) FROM s
           WHERE before_at::DATE >= ? AND fetched_at::DATE <= ? AND total_usage > before_usage""",  # noqa: S608
        [first, last],
    ).fetchone()
    return float(row[0]) if row else 0.0


def impossible_analytics(con: duckdb.DuckDBPyConnection, kinds: Mapping[str, str]) -> list[tuple[str, str, str, date]]:
    """(dimensions, scope, metric, day) of every stored analytics value that cannot be (stored before such
    values were refused): ``kinds`` maps each metric column to ``count``, ``money``, ``signed_money`` or
    ``measure`` (``core.limits``' rules). The ingest asks for those days again."""
    tests = {
        "count": "({c} < 0 OR {c} >= " + str(MAX_COUNT) + ")",
        "money": "(NOT isfinite({c}) OR {c} < 0 OR {c} > " + repr(MAX_MONEY) + ")",
        "signed_money": "(NOT isfinite({c}) OR abs({c}) > " + repr(MAX_MONEY) + ")",
        "measure": "(NOT isfinite({c}) OR {c} < 0)",
    }
    flags = {metric: tests[kind].format(c=f'"{metric}"') for metric, kind in kinds.items()}
    if not flags:
        return []
    named = ", ".join(f"CASE WHEN {test} THEN '{metric}' END" for metric, test in flags.items())
    rows = con.execute(
        f"""SELECT DISTINCT dimensions, scope, metric, date FROM (
                SELECT dimensions, coalesce(api_key_hash, '') AS scope, date, unnest([{named}]) AS metric
                FROM analytics_daily WHERE account = {CURRENT} AND ({" OR ".join(flags.values())}))
            WHERE metric IS NOT NULL ORDER BY ALL"""  # noqa: S608 - column names from the caller's catalogue
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
