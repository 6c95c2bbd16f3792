"""Reads for the Data health page: which days each source holds, the gaps, the runs.

The tracks, their states and their gaps are ``queries.coverage_tracks``' (the definition `orusage status`
reports from too), computed over the ``coverage`` records: a page and a command that cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import pandas as pd

from queries import coverage_tracks as ct
from queries import status as q

TRACK_COLUMNS = ("track", "source", "dimensions", "metrics", "reach", "scopes", "first_day", "last_day",
                 "rows_received", "fetched_at")  # fmt: skip
RUN_COLUMNS = ("track", "state", "first", "last", "days")
GAP_COLUMNS = ("track", "first", "last", "days", "partial", "keys", "reason")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def coverage_tracks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per track: track (its name for people), source, dimensions, metrics, reach (days; None for
    per-generation records), scopes, first_day, last_day, rows_received, fetched_at (newest fetch)."""
    rows = [
        {
            "track": t.name,
            "source": t.source,
            "dimensions": t.grouping,
            "metrics": t.metrics,
            "reach": t.reach,
            "scopes": len(t.scopes),
            "first_day": t.first_day,
            "last_day": t.last_day,
            "rows_received": t.rows_received,
            "fetched_at": t.fetched_at,
        }
        for t in ct.tracks(q.coverage(con))
    ]
    return pd.DataFrame(rows, columns=list(TRACK_COLUMNS))


def coverage_runs(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    """The strip as runs of consecutive days in one state, per track (a few dozen rows, not one per day),
    as of the day after ``last``. Columns: track, state (``stored``, ``partly stored``, ``missing``: a gap
    ``coverage_gaps`` names, ``outside reach``), first, last (inclusive UTC days), days."""
    runs = ct.strip(q.coverage(con), first, last, last + timedelta(days=1), q.key_names(con))
    return pd.DataFrame([(r.track, r.state, r.first, r.last, r.days) for r in runs], columns=list(RUN_COLUMNS))


def coverage_gaps(con: duckdb.DuckDBPyConnection, today: date) -> pd.DataFrame:
    """Runs of days a track should hold but does not (fully), up to yesterday, with what to do: the gaps
    `orusage status` reports. Columns: track, first, last, days, partial (some of the track's keys have
    the days), keys (which keys lack them, per-key tracks), reason."""
    gaps = ct.all_gaps(q.coverage(con), today, q.key_names(con))
    rows = [(g.source, g.first_day, g.last_day, g.days, g.partial, g.scopes, g.reason) for g in gaps]
    return pd.DataFrame(rows, columns=list(GAP_COLUMNS))


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


def reasoning_over_completion(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Stored rows whose reasoning tokens exceed their completion tokens (which include reasoning, by
    OpenRouter's billing rule; real rows break it, e.g. models reporting completion without reasoning).
    Per source and model: rows, first and last day, and the tokens beyond completion. The charts count such
    rows' reasoning within completion, so the token parts still add up to the total."""
    return _frame(
        con,
        """SELECT * FROM (
               SELECT 'activity' AS source, model_permaslug AS model, count(*) AS rows, min(date) AS first,
                      max(date) AS last, CAST(sum(reasoning_tokens - completion_tokens) AS BIGINT) AS excess
               FROM activity WHERE reasoning_tokens > completion_tokens GROUP BY ALL
               UNION ALL
               SELECT 'analytics per model', model, count(*), min(date), max(date),
                      CAST(sum(reasoning_tokens - tokens_completion) AS BIGINT)
               FROM analytics_daily WHERE dimensions = 'model' AND reasoning_tokens > tokens_completion GROUP BY ALL
               UNION ALL
               SELECT 'per-generation records', coalesce(model_permaslug, model), count(*),
                      min(CAST(created_at AS DATE)), max(CAST(created_at AS DATE)),
                      CAST(sum(native_tokens_reasoning - native_tokens_completion) AS BIGINT)
               FROM generations WHERE native_tokens_reasoning > native_tokens_completion GROUP BY ALL)
           ORDER BY source, excess DESC, model""",
        [],
    )
