"""Named reads: every query the dashboard (and later reports) runs against the published snapshot.

Each function takes a read-only DuckDB connection plus typed parameters and returns a pandas DataFrame or
a small dataclass. Parameters are always bound (`?`), never formatted into the SQL text: a model filter is
a bound ``VARCHAR[]``, so nothing a user types can change a statement.

Definitions shared with the README:

* spend = ``usage + byok_usage_inference`` (OpenRouter's ``total_usage``); BYOK is also reported apart;
* completion-only tokens = ``max(completion - reasoning, 0)``: reasoning is part of completion;
* days are UTC; ``/activity`` never holds today, so today's spend comes from the newest ``/keys`` fetch
  of that day (``usage_daily + byok_usage_daily``), "so far";
* this week (Monday..Sunday) / this month = completed days from ``activity`` + today so far.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import duckdb
import pandas as pd

from queries.errors import ConfigError
from queries.store import NoSnapshotError, default_db_path, read_snapshot, snapshot_version

__all__ = [
    "OTHER_MODELS",
    "TODAY_ENV",
    "DataAsOf",
    "DateBounds",
    "Kpis",
    "NoSnapshotError",
    "PageReader",
    "data_as_of",
    "date_bounds",
    "default_db_path",
    "kpis",
    "model_options",
    "snapshot_version",
    "spend_per_day",
    "spend_per_model",
    "today_utc",
    "tokens_per_day",
    "with_snapshot",
]

# Tests pin "today" with this (an ISO date); in normal use it is unset and today is the UTC date now.
TODAY_ENV = "ORUSAGE_TODAY"

OTHER_MODELS = "other"

P = ParamSpec("P")
T = TypeVar("T")


def today_utc() -> date:
    """The current UTC day, or ``$ORUSAGE_TODAY`` when set (tests only: the data's own day)."""
    pinned = os.environ.get(TODAY_ENV, "").strip()
    if pinned:
        try:
            return date.fromisoformat(pinned)
        except ValueError:
            raise ConfigError(
                f"{TODAY_ENV}={pinned!r} is not a date.", f"Use YYYY-MM-DD, or unset {TODAY_ENV}."
            ) from None
    return datetime.now(UTC).date()


# ---- connection handling for pages ------------------------------------------------------------------


def with_snapshot(fn: Callable[Concatenate[duckdb.DuckDBPyConnection, P], T], db_path: Path | None = None,
                  *args: P.args, **kwargs: P.kwargs) -> T:  # fmt: skip
    """Open the snapshot read-only, run ``fn(con, ...)``, close. Raises ``NoSnapshotError`` if empty."""
    with read_snapshot(db_path) as con:
        return fn(con, *args, **kwargs)


class PageReader:
    """At most one read-only connection for one page run, opened only if some read actually runs.

    Pages cache their reads, so most runs never touch the database; the ones that do share a single
    connection, closed when the run ends. Never keep a reader beyond the run that created it.
    """

    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = (db_path or default_db_path()).expanduser()
        self._stack = contextlib.ExitStack()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._open = False

    def __enter__(self) -> PageReader:
        self._open = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._open = False
        self._con = None
        self._stack.close()

    @property
    def opened(self) -> bool:
        """Whether this run opened the database (tests use it to check caching)."""
        return self._con is not None

    def run(self, fn: Callable[Concatenate[duckdb.DuckDBPyConnection, P], T], *args: P.args,
            **kwargs: P.kwargs) -> T:  # fmt: skip
        if not self._open:
            raise RuntimeError("PageReader used outside its `with` block")
        if self._con is None:
            self._con = self._stack.enter_context(read_snapshot(self.db_path))
        return fn(self._con, *args, **kwargs)


# ---- helpers ----------------------------------------------------------------------------------------


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    # A relation, not execute(): DuckDB 2 copies DB-API results once more on the way to Arrow.
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def _row(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    rows = con.sql(sql, params=list(params)).fetchall()
    return rows[0] if rows else None


def _model_params(models: Sequence[str] | None) -> list[Any]:
    """Bind values for ``(? OR list_contains(?::VARCHAR[], model_permaslug))``: empty means all."""
    chosen = list(models or [])
    return [not chosen, chosen]


_MODEL_FILTER = "(? OR list_contains(?::VARCHAR[], model_permaslug))"


# ---- reads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataAsOf:
    """The newest finished ingest run (``None`` fields when nothing ever finished)."""

    finished_at: datetime | None
    status: str | None
    command: str | None
    message: str | None
    last_ok_at: datetime | None


def data_as_of(con: duckdb.DuckDBPyConnection) -> DataAsOf:
    newest = _row(
        con,
        """SELECT finished_at, status, command, message FROM ingest_runs
           WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, run_id DESC LIMIT 1""",
    )
    last_ok = _row(con, "SELECT max(finished_at) FROM ingest_runs WHERE status = 'ok'")
    if newest is None:
        return DataAsOf(None, None, None, None, None)
    return DataAsOf(newest[0], newest[1], newest[2], newest[3], last_ok[0] if last_ok else None)


@dataclass(frozen=True)
class DateBounds:
    """First and last UTC day in ``activity`` (``None`` when it is empty)."""

    first: date | None
    last: date | None


def date_bounds(con: duckdb.DuckDBPyConnection) -> DateBounds:
    row = _row(con, "SELECT min(date), max(date) FROM activity")
    return DateBounds(row[0], row[1]) if row else DateBounds(None, None)


def model_options(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model seen in ``activity``: ``model_permaslug``, ``model`` (display slug) and ``label``.

    The label is the display slug unless two permaslugs share it (versions of one model), then the
    permaslug, so a label always names exactly one permaslug. Biggest spenders first.
    """
    return _frame(
        con,
        """WITH per_model AS (
               SELECT model_permaslug, arg_max(model, date) AS model,
                      sum(usage + byok_usage_inference) AS spend
               FROM activity GROUP BY model_permaslug)
           SELECT model_permaslug, model,
                  CASE WHEN count(*) OVER (PARTITION BY model) > 1 THEN model_permaslug ELSE model END
                      AS label
           FROM per_model ORDER BY spend DESC, model_permaslug""",
        [],
    )


def tokens_per_day(
    con: duckdb.DuckDBPyConnection, start: date, end: date, models: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per UTC day in [start, end] (zero when idle): date, prompt, completion_only, reasoning.

    The three parts add up to all tokens: completion-only excludes reasoning, which completion includes.
    """
    return _frame(
        con,
        f"""WITH days AS (SELECT CAST(d AS DATE) AS date FROM range(CAST(? AS DATE), CAST(? AS DATE)
                                                          + INTERVAL 1 DAY, INTERVAL 1 DAY) r(d)),
                 tokens AS (
                     SELECT date,
                            sum(prompt_tokens) AS prompt,
                            sum(greatest(completion_tokens - reasoning_tokens, 0)) AS completion_only,
                            sum(reasoning_tokens) AS reasoning
                     FROM activity
                     WHERE date BETWEEN ? AND ? AND {_MODEL_FILTER}
                     GROUP BY date)
            SELECT days.date,
                   CAST(coalesce(prompt, 0) AS BIGINT) AS prompt,
                   CAST(coalesce(completion_only, 0) AS BIGINT) AS completion_only,
                   CAST(coalesce(reasoning, 0) AS BIGINT) AS reasoning
            FROM days LEFT JOIN tokens USING (date) ORDER BY days.date""",  # noqa: S608 -- constant fragment
        [start, end, start, end, *_model_params(models)],
    )


def spend_per_day(
    con: duckdb.DuckDBPyConnection, start: date, end: date, models: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per UTC day in [start, end] (zero when idle): date, usage, byok, spend (USD).

    ``usage`` is what OpenRouter billed to credits, ``byok`` the inference charged to your own provider
    keys, ``spend`` their sum.
    """
    return _frame(
        con,
        f"""WITH days AS (SELECT CAST(d AS DATE) AS date FROM range(CAST(? AS DATE), CAST(? AS DATE)
                                                          + INTERVAL 1 DAY, INTERVAL 1 DAY) r(d)),
                 spend AS (
                     SELECT date, sum(usage) AS usage, sum(byok_usage_inference) AS byok
                     FROM activity
                     WHERE date BETWEEN ? AND ? AND {_MODEL_FILTER}
                     GROUP BY date)
            SELECT days.date,
                   CAST(coalesce(usage, 0) AS DOUBLE) AS usage,
                   CAST(coalesce(byok, 0) AS DOUBLE) AS byok,
                   CAST(coalesce(usage, 0) + coalesce(byok, 0) AS DOUBLE) AS spend
            FROM days LEFT JOIN spend USING (date) ORDER BY days.date""",  # noqa: S608 -- constant fragment
        [start, end, start, end, *_model_params(models)],
    )


def spend_per_model(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    models: Sequence[str] | None = None,
    top_n: int = 8,
) -> pd.DataFrame:
    """The ``top_n`` models by spend in [start, end], the rest summed into one ``other`` row (last).

    Columns: label (as in ``model_options``, or ``other``), model_permaslug (NULL for other), models
    (how many a row stands for), spend, usage, byok (USD), requests, tokens (prompt + completion).
    Models with no spend and no requests in the range are left out.
    """
    frame = _frame(
        con,
        f"""WITH labels AS (
                 SELECT model_permaslug,
                        CASE WHEN count(*) OVER (PARTITION BY model) > 1 THEN model_permaslug ELSE model END
                            AS label
                 FROM (SELECT model_permaslug, arg_max(model, date) AS model
                       FROM activity GROUP BY model_permaslug)),
                 per_model AS (
                     SELECT model_permaslug,
                            sum(usage + byok_usage_inference) AS spend,
                            sum(usage) AS usage,
                            sum(byok_usage_inference) AS byok,
                            sum(requests) AS requests,
                            sum(prompt_tokens + completion_tokens) AS tokens
                     FROM activity
                     WHERE date BETWEEN ? AND ? AND {_MODEL_FILTER}
                     GROUP BY model_permaslug
                     HAVING sum(requests) > 0 OR sum(usage + byok_usage_inference) <> 0),
                 ranked AS (
                     SELECT *, row_number() OVER (ORDER BY spend DESC, model_permaslug) AS rank
                     FROM per_model)
            SELECT CASE WHEN rank <= ? THEN label ELSE ? END AS label,
                   CASE WHEN rank <= ? THEN ranked.model_permaslug END AS model_permaslug,
                   CAST(count(*) AS BIGINT) AS models,
                   CAST(sum(spend) AS DOUBLE) AS spend,
                   CAST(sum(usage) AS DOUBLE) AS usage,
                   CAST(sum(byok) AS DOUBLE) AS byok,
                   CAST(sum(requests) AS BIGINT) AS requests,
                   CAST(sum(tokens) AS BIGINT) AS tokens,
                   min(rank) AS rank
            FROM ranked JOIN labels USING (model_permaslug)
            GROUP BY 1, 2
            ORDER BY min(rank)""",  # noqa: S608 -- constant fragment
        [start, end, *_model_params(models), top_n, OTHER_MODELS, top_n],
    )
    return frame.drop(columns="rank")


@dataclass(frozen=True)
class Kpis:
    """Account-wide headline numbers (USD). ``None`` means unknown, not zero."""

    today: date
    # From the newest /keys fetch made on `today`; None when no fetch happened that day yet.
    today_so_far: float | None
    today_byok_so_far: float | None
    today_as_of: datetime | None
    week_start: date
    week: float  # completed days of this week + today so far
    month_start: date
    month: float  # completed days of this month + today so far
    credits_left: float | None
    total_credits: float | None
    credits_as_of: datetime | None


def kpis(con: duckdb.DuckDBPyConnection, today: date) -> Kpis:
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    today_row = _row(
        con,
        """SELECT fetched_at,
                  CAST(sum(coalesce(usage_daily, 0) + coalesce(byok_usage_daily, 0)) AS DOUBLE),
                  CAST(sum(coalesce(byok_usage_daily, 0)) AS DOUBLE)
           FROM api_key_snapshots
           WHERE fetched_at = (SELECT max(fetched_at) FROM api_key_snapshots
                               WHERE CAST(fetched_at AS DATE) = ?)
           GROUP BY fetched_at""",
        [today],
    )
    # `date < today` guards against double counting should /activity ever start returning today.
    week_row = _row(
        con,
        """SELECT CAST(coalesce(sum(usage + byok_usage_inference), 0) AS DOUBLE)
           FROM activity WHERE date >= ? AND date < ?""",
        [week_start, today],
    )
    month_row = _row(
        con,
        """SELECT CAST(coalesce(sum(usage + byok_usage_inference), 0) AS DOUBLE)
           FROM activity WHERE date >= ? AND date < ?""",
        [month_start, today],
    )
    credits = _row(
        con,
        """SELECT fetched_at, total_credits, total_credits - total_usage FROM credits
           WHERE CAST(fetched_at AS DATE) <= ? ORDER BY fetched_at DESC LIMIT 1""",
        [today],
    )
    so_far = float(today_row[1]) if today_row else None
    week_done = float(week_row[0]) if week_row else 0.0
    month_done = float(month_row[0]) if month_row else 0.0
    return Kpis(
        today=today,
        today_so_far=so_far,
        today_byok_so_far=float(today_row[2]) if today_row else None,
        today_as_of=today_row[0] if today_row else None,
        week_start=week_start,
        week=week_done + (so_far or 0.0),
        month_start=month_start,
        month=month_done + (so_far or 0.0),
        credits_left=float(credits[2]) if credits else None,
        total_credits=float(credits[1]) if credits else None,
        credits_as_of=credits[0] if credits else None,
    )
