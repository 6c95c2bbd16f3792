"""What the ingest needs to know about the store to decide what to fetch."""

from __future__ import annotations

from datetime import date, datetime

import duckdb


def analytics_coverage(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, date, date, datetime]]:
    """(dimensions, scope, metrics, first_day, last_day, fetched_at) of every analytics fetch stored."""
    rows = con.execute(
        "SELECT dimensions, scope, metrics, first_day, last_day, fetched_at FROM coverage WHERE source = 'analytics'"
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
