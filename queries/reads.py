"""Named reads, part one: how pages open the snapshot, and the store-wide facts every page needs (the last
ingest, the filters' options, the headline KPIs). The rest are by subject in ``reads_*.py``:
``reads_routing`` (which table answers which filters and days), ``reads_facts`` (routed usage numbers),
``reads_overview``, ``reads_models``, ``reads_keys``, ``reads_health``.

Each function takes a read-only DuckDB connection plus typed parameters and returns a pandas DataFrame or
a small dataclass. Parameters are always bound (`?`), never formatted into the SQL text: a filter is a
bound ``VARCHAR[]``, so nothing a user types can change a statement.

Definitions shared with docs/definitions.md:

* spend = ``usage + byok_usage_inference`` (OpenRouter's ``total_usage``); BYOK is also reported apart;
* completion-only tokens = ``max(completion - reasoning, 0)``: reasoning is part of completion;
* days are UTC; ``/activity`` never holds today, so today's spend comes from the newest ``/keys`` fetch
  of that day (``usage_daily + byok_usage_daily``), "so far";
* this week (Monday..Sunday) / this month = completed days from ``activity`` + today so far.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import duckdb
import pandas as pd

from queries.store import NoSnapshotError, default_db_path, read_snapshot, snapshot_version

__all__ = [
    "DataAsOf",
    "DateBounds",
    "Kpis",
    "NoSnapshotError",
    "PageReader",
    "app_options",
    "catalog_models",
    "data_as_of",
    "date_bounds",
    "default_db_path",
    "key_options",
    "kpis",
    "member_options",
    "model_options",
    "provider_options",
    "snapshot_version",
    "teams",
    "with_snapshot",
    "workspace_options",
]


P = ParamSpec("P")
T = TypeVar("T")


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
        """SELECT finished_at, status, command, message,
                  (SELECT max(finished_at) FROM ingest_runs WHERE status = 'ok')
           FROM ingest_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, run_id DESC LIMIT 1""",
    )
    if newest is None:
        return DataAsOf(None, None, None, None, None)
    return DataAsOf(newest[0], newest[1], newest[2], newest[3], newest[4])


@dataclass(frozen=True)
class DateBounds:
    """First and last UTC day in ``activity`` (``None`` when it is empty)."""

    first: date | None
    last: date | None


# The filters' options and bounds come from ``rollup_values`` (``queries.rollups``), which the writer keeps
# per dimension and source: a few hundred rows, where the facts they sum are millions.


def date_bounds(con: duckdb.DuckDBPyConnection) -> DateBounds:
    row = _row(
        con, "SELECT min(first_day), max(last_day) FROM rollup_values WHERE kind = 'model' AND source = 'activity'"
    )
    return DateBounds(row[0], row[1]) if row else DateBounds(None, None)


def model_options(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model with stored traffic (activity or analytics): ``model_permaslug``, ``model`` (display
    slug), ``label``, ``name``. Biggest spenders first.

    The display slug is the ``/models`` id when known, else the activity's slug, else the permaslug. The
    label is that slug unless two permaslugs share it (versions of one model), then the permaslug, so a
    label always names exactly one permaslug.
    """
    return _frame(
        con,
        """WITH v AS (SELECT source, value, spend, display FROM rollup_values WHERE kind = 'model'),
                act AS (SELECT value AS model_permaslug, display AS model, spend FROM v WHERE source = 'activity'),
                an AS (SELECT value AS model_permaslug, spend FROM v WHERE source = 'analytics:model'),
                seen AS (SELECT DISTINCT value AS model_permaslug FROM v),
                cur AS (SELECT canonical_slug, id, name FROM models_current),
                named AS (
                    SELECT seen.model_permaslug,
                           coalesce(cur.id, act.model, seen.model_permaslug) AS model,
                           coalesce(cur.name, cur.id, act.model, seen.model_permaslug) AS name,
                           -- The year of analytics when stored, else the 30 days of activity: for order only.
                           coalesce(an.spend, act.spend, 0) AS spend
                    FROM seen LEFT JOIN act USING (model_permaslug) LEFT JOIN an USING (model_permaslug)
                         LEFT JOIN cur ON cur.canonical_slug = seen.model_permaslug)
           SELECT model_permaslug, model,
                  CASE WHEN count(*) OVER (PARTITION BY model) > 1 THEN model_permaslug ELSE model END AS label,
                  name
           FROM named ORDER BY spend DESC, model_permaslug""",
        [],
    )


def catalog_models(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Every permaslug the store knows (traffic or ``/models``): what a model page may be opened for."""
    rows = con.sql(
        "SELECT canonical_slug FROM models UNION SELECT value FROM rollup_values WHERE kind = 'model' ORDER BY 1"
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def provider_options(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Provider names seen in activity or analytics, biggest spenders first."""
    rows = con.sql(
        "SELECT value FROM rollup_values WHERE kind = 'provider' GROUP BY value ORDER BY sum(spend) DESC, value"
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def app_options(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """App names (or origins) in analytics, biggest spenders first; ``unattributed`` included."""
    rows = con.sql("SELECT value FROM rollup_values WHERE kind = 'app' ORDER BY spend DESC, value").fetchall()
    return tuple(str(r[0]) for r in rows)


def workspace_options(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Workspace names as analytics reports them (its rows carry names, not ids), then known ones."""
    rows = con.sql(
        """SELECT workspace FROM (
               SELECT value AS workspace, spend FROM rollup_values WHERE kind = 'workspace'
               UNION ALL SELECT name, 0 FROM workspaces)
           GROUP BY workspace ORDER BY sum(spend) DESC, workspace"""
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def member_options(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Organization members with stored traffic, biggest spenders first: ``member`` (as analytics name them:
    full name, else e-mail; traffic of keys made at the organization level is ``unattributed``) and
    ``email`` (None when analytics gave none)."""
    return _frame(
        con,
        "SELECT value AS member, display AS email FROM rollup_values WHERE kind = 'member' ORDER BY spend DESC, value",
        [],
    )


def teams(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The teams as the last ``orusage alerts check`` resolved them (``cost_centres``): name -> (kind, values),
    kind ``key`` (hashes; a team's workspaces are resolved to their keys), ``app`` or ``member`` (as written in
    the config: a name or an e-mail). Empty before any alerts run."""
    made = _row(con, "SELECT count(*) FROM schema_migrations WHERE name = 'alerts'")
    if not made or not made[0]:
        return {}
    rows = con.sql(
        "SELECT team, any_value(kind), list(value ORDER BY value) FROM cost_centres GROUP BY team ORDER BY team"
    ).fetchall()
    return {str(team): (str(kind), tuple(str(v) for v in values)) for team, kind, values in rows}


def key_options(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every API key hash with stored traffic or listed by ``/keys`` (deleted ones kept).

    Columns: ``hash``, ``name`` (as last seen; the hash's first 10 characters for a key never listed),
    ``label``, ``workspace`` (name), ``disabled``, ``expires_at``, ``deleted_at``, ``spend`` (for order).
    """
    return _frame(
        con,
        """WITH traffic AS (SELECT value AS hash, spend FROM rollup_values WHERE kind = 'key'),
                hashes AS (SELECT hash FROM traffic UNION SELECT hash FROM api_keys),
                spent AS (SELECT hash, max(spend) AS spend FROM traffic GROUP BY hash)
           SELECT hashes.hash,
                  coalesce(k.name, left(hashes.hash, 10)) AS name,
                  coalesce(k.label, '') AS label,
                  w.name AS workspace,
                  coalesce(k.disabled, false) AS disabled,
                  k.expires_at, k.deleted_at,
                  CAST(coalesce(spent.spend, 0) AS DOUBLE) AS spend
           FROM hashes LEFT JOIN api_keys k USING (hash) LEFT JOIN spent USING (hash)
                LEFT JOIN workspaces w ON w.id = k.workspace_id
           ORDER BY spend DESC, name, hashes.hash""",
        [],
    )


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
