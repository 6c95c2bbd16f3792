"""Reads for the Data health page: which days each source holds (from ``coverage``), the gaps, the runs.

A *track* is one line of the coverage strip: account-wide activity, activity per key, or one analytics
grouping with its year-reach ("long") or 31-day ("short") metrics. A day's ``share`` is the fraction of a
track's scopes (keys, for per-key tracks; else one) whose fetches covered it: 1 covered, 0 missing,
in between partly covered.

The store keeps what it fetched for as long as it lives, beyond OpenRouter's own reach: so a day a track
missed after its first stored day (no ingest ran while OpenRouter still served it) is a gap for good, and
the gaps say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import pandas as pd

from queries.reads_routing import SHORT_REACH, SOURCES

# Groupings with a 31-day reach are fetched in one metric set (recorded as "short"): no "(31-day metrics)"
# line of their own.
_SHORT_GROUPINGS = ", ".join(f"'{s.grouping}'" for s in SOURCES if s.grouping and s.reach == SHORT_REACH)
# Reach in days as reads_routing has it: ACTIVITY_REACH, SHORT_REACH, LONG_REACH (checked by a test).
_TRACKS = f"""
    cov AS (
        SELECT source, dimensions, metrics, scope, first_day, last_day, rows_received, fetched_at,
               CASE WHEN source = 'activity' THEN CASE WHEN scope = '' THEN 'activity' ELSE 'activity per key' END
                    ELSE 'analytics by ' || dimensions || CASE WHEN metrics = 'short' AND dimensions NOT IN
                        ({_SHORT_GROUPINGS}) THEN ' (31-day metrics)' ELSE '' END
               END AS track,
               CASE WHEN source = 'activity' THEN 30 WHEN metrics = 'short' THEN 31 ELSE 365 END AS reach
        FROM coverage),
    tracks AS (
        SELECT track, any_value(source) AS source, any_value(dimensions) AS dimensions,
               any_value(metrics) AS metrics, max(reach) AS reach, count(DISTINCT scope) AS scopes,
               min(first_day) AS first_day, max(last_day) AS last_day,
               CAST(sum(rows_received) AS BIGINT) AS rows_received, max(fetched_at) AS fetched_at
        FROM cov GROUP BY track)
"""  # noqa: S608 -- constants only


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def coverage_tracks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per track: track, source, dimensions, metrics, reach (days), scopes, first_day, last_day,
    rows_received, fetched_at (newest fetch). Ordered activity first, then analytics by name."""
    return _frame(
        con,
        f"WITH {_TRACKS} SELECT * FROM tracks ORDER BY source, track",  # noqa: S608 -- constants only
        [],
    )


_STRIP = f"""
    WITH {_TRACKS},
        days AS (SELECT CAST(d AS DATE) AS day
                 FROM range(CAST(? AS DATE), CAST(? AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY) r(d)),
        covered AS (
            SELECT track, day, count(DISTINCT scope) AS n
            FROM cov JOIN days ON day BETWEEN cov.first_day AND cov.last_day GROUP BY track, day)
    SELECT t.track, t.source, d.day,
           CAST(coalesce(c.n, 0) AS DOUBLE) / t.scopes AS share,
           (d.day >= t.first_day OR d.day >= CAST(? AS DATE) - t.reach + 1) AS expected
    FROM tracks t CROSS JOIN days d LEFT JOIN covered c ON c.track = t.track AND c.day = d.day
"""  # noqa: S608 -- constants only


def coverage_runs(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    """The strip as runs of consecutive days in one state, per track (a few dozen rows, not one per day).

    Columns: track, state (``stored``, ``partly stored``, ``missing``: within reach or after the track's
    first stored day, ``outside reach``), first, last (inclusive UTC days), days.
    """
    strip, params = _STRIP, [first, last, last + timedelta(days=1)]
    return _frame(
        con,
        f"""WITH strip AS ({strip}),
                states AS (
                    SELECT track, day,
                           CASE WHEN share >= 1 THEN 'stored' WHEN share > 0 THEN 'partly stored'
                                WHEN expected THEN 'missing' ELSE 'outside reach' END AS state
                    FROM strip),
                islands AS (
                    SELECT *, day - CAST(row_number() OVER (PARTITION BY track, state ORDER BY day) AS INTEGER) AS grp
                    FROM states)
            SELECT track, state, min(day) AS first, max(day) AS last, CAST(count(*) AS BIGINT) AS days
            FROM islands GROUP BY track, state, grp ORDER BY track, first""",  # noqa: S608 -- constants only
        params,
    )


def coverage_gaps(con: duckdb.DuckDBPyConnection, today: date) -> pd.DataFrame:
    """Runs of days a track should hold but does not (fully), up to yesterday, with what to do.

    Columns: track, first, last, days, partial (some of the track's keys have the days), reason.
    """
    yesterday = today - timedelta(days=1)
    return _frame(
        con,
        f"""WITH {_TRACKS},
                horizon AS (SELECT min(first_day) AS first_day FROM coverage),
                days AS (SELECT CAST(d AS DATE) AS day
                         FROM range((SELECT first_day FROM horizon), CAST(? AS DATE) + INTERVAL 1 DAY,
                                    INTERVAL 1 DAY) r(d)),
                covered AS (
                    SELECT track, day, count(DISTINCT scope) AS n
                    FROM cov JOIN days ON day BETWEEN cov.first_day AND cov.last_day GROUP BY track, day),
                analytics_model AS (
                    SELECT DISTINCT day FROM cov JOIN days ON day BETWEEN cov.first_day AND cov.last_day
                    WHERE cov.source = 'analytics' AND cov.dimensions = 'model' AND cov.metrics = 'long'),
                missing AS (
                    SELECT t.track, t.source, t.reach, d.day, coalesce(c.n, 0) AS n, t.scopes,
                           d.day >= CAST(? AS DATE) - t.reach + 1 AS in_reach,
                           a.day IS NOT NULL AS in_analytics
                    FROM tracks t JOIN days d
                         -- Account-wide activity is the long-term memory: every day since the first matters.
                         -- Analytics are kept too: a day missed after a grouping's first stored one matters.
                         ON d.day >= CASE WHEN t.track = 'activity' THEN (SELECT first_day FROM horizon)
                                          WHEN t.source = 'analytics'
                                              THEN least(t.first_day, CAST(? AS DATE) - t.reach + 1)
                                          ELSE CAST(? AS DATE) - t.reach + 1 END
                    LEFT JOIN covered c ON c.track = t.track AND c.day = d.day
                    LEFT JOIN analytics_model a ON a.day = d.day
                    WHERE coalesce(c.n, 0) < t.scopes),
                islands AS (
                    SELECT *, day - CAST(row_number() OVER (
                                  PARTITION BY track, in_reach, in_analytics ORDER BY day) AS INTEGER) AS grp
                    FROM missing)
            SELECT track, min(day) AS first, max(day) AS last, CAST(count(*) AS BIGINT) AS days,
                   bool_or(n > 0) AS partial,
                   CASE WHEN any_value(source) = 'analytics' AND bool_and(in_reach)
                            THEN 'not fetched yet: run `orusage ingest` (it resumes the backfill)'
                        WHEN any_value(source) = 'analytics'
                            THEN 'missed: no ingest ran while OpenRouter still served these days (it keeps them '
                                 || any_value(reach) || ' days); they cannot be fetched any more'
                        WHEN bool_and(in_reach)
                            THEN 'not ingested yet: run `orusage ingest` (OpenRouter still serves these days)'
                        WHEN bool_and(in_analytics)
                            THEN 'left the 30-day window before they were ingested; they are covered by analytics'
                        ELSE 'missing: these days are not available from OpenRouter any more' END AS reason
            FROM islands GROUP BY track, in_reach, in_analytics, grp
            ORDER BY track, first""",  # noqa: S608 -- constants only
        [yesterday, today, today, today],
    )


def ingest_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    """The newest ``limit`` ingest runs: run_id, command, started_at, finished_at, seconds, status,
    units_done, rows_written, message."""
    return _frame(
        con,
        """SELECT run_id, command, started_at, finished_at,
                  CAST(epoch(finished_at - started_at) AS DOUBLE) AS seconds,
                  status, units_done, rows_written, message
           FROM ingest_runs ORDER BY run_id DESC LIMIT ?""",
        [limit],
    )
