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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import duckdb
import pandas as pd

from core.errors import StoreError
from queries import credits, integrity, snapshots
from queries.accounts import CHOSEN, keys_today
from queries.reads_facts import SPANS_SQL, spans_by_source
from queries.reads_routing import Span
from queries.snapshots import lease as lease_snapshot
from queries.store import NoSnapshotError, default_db_path, read_snapshot, snapshot_version

__all__ = [
    "DataAsOf",
    "DateBounds",
    "Kpis",
    "NoSnapshotError",
    "PageReader",
    "SidebarOptions",
    "app_options",
    "catalog_models",
    "data_as_of",
    "date_bounds",
    "default_db_path",
    "key_options",
    "kpis",
    "lease_snapshot",
    "member_options",
    "model_options",
    "provider_options",
    "sidebar_options",
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
    """One page run's reads: all of them from one snapshot version, through one cursor of the process's kept
    connection to it (``queries.snapshots``), made only if some read actually runs.

    ``pin()`` fixes the version at the start of the run (for cache keys); ``run`` reads it, even if a newer
    snapshot is published meanwhile, so a run never mixes two. Pages cache their reads, so most runs never
    make a cursor. Never keep a reader beyond the run that created it.
    """

    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = (db_path or default_db_path()).expanduser()
        self._lease: snapshots.Lease | None = None
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
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def pin(self) -> str:
        """The snapshot version this run reads (``"none"`` when nothing was published yet). Raises
        ``StoreError`` when the snapshot cannot be opened."""
        if not self._open:
            raise RuntimeError("PageReader used outside its `with` block")
        if self._lease is None:
            self._lease = lease_snapshot(self.db_path)
        return self._lease.version

    @property
    def opened(self) -> bool:
        """Whether this run read the database (tests use it to check caching)."""
        return self._con is not None

    def run(self, fn: Callable[Concatenate[duckdb.DuckDBPyConnection, P], T], *args: P.args,
            **kwargs: P.kwargs) -> T:  # fmt: skip
        if self._con is None:
            self.pin()
            assert self._lease is not None
            self._con = self._lease.cursor()
        try:
            return fn(self._con, *args, **kwargs)
        except duckdb.Error as exc:
            if integrity.is_damage(exc):  # as queries.store.read_snapshot says it
                raise StoreError(
                    f"the snapshot of {self.db_path} is damaged.",
                    "Run `orusage ingest` to publish a new one (and `orusage doctor` to check the database).",
                ) from None
            raise


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


# Each store-wide read is one statement, named once: the functions below run one each; ``sidebar_options``
# runs them all in one (the sidebar needs every one on a page's first run after an ingest), its parts as
# lists, so no part pays a round trip or a conversion to pandas of its own. ``n`` orders each part's rows.
_DATA_AS_OF = """SELECT finished_at, status, command, message,
                        (SELECT max(finished_at) FROM ingest_runs WHERE status = 'ok') AS last_ok_at
                 FROM ingest_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, run_id DESC LIMIT 1"""

# The filters' options and bounds come from ``rollup_values`` (``queries.rollups``), which the writer keeps
# per dimension and source: a few hundred rows, where the facts they sum are millions.
_DATE_BOUNDS = """SELECT min(first_day) AS first, max(last_day) AS last FROM rollup_values
                  WHERE kind = 'model' AND source = 'activity'"""
_MODEL_OPTIONS = """
    WITH v AS (SELECT source, value, spend, display FROM rollup_values WHERE kind = 'model'),
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
           name, row_number() OVER (ORDER BY spend DESC, model_permaslug) AS n
    FROM named"""
_CATALOG = """SELECT value, row_number() OVER (ORDER BY value) AS n FROM (
                  SELECT canonical_slug AS value FROM models
                  UNION SELECT value FROM rollup_values WHERE kind = 'model')"""
_PROVIDERS = """SELECT value, row_number() OVER (ORDER BY sum(spend) DESC, value) AS n FROM rollup_values
                WHERE kind = 'provider' GROUP BY value"""
_APPS = """SELECT value, row_number() OVER (ORDER BY spend DESC, value) AS n FROM rollup_values WHERE kind = 'app'"""
_WORKSPACES = """SELECT value, row_number() OVER (ORDER BY sum(spend) DESC, value) AS n FROM (
                     SELECT value, spend FROM rollup_values WHERE kind = 'workspace'
                     UNION ALL SELECT name, 0 FROM workspaces)
                 GROUP BY value"""
_MEMBERS = """SELECT value, display AS email, row_number() OVER (ORDER BY spend DESC, value) AS n
              FROM rollup_values WHERE kind = 'member'"""
_KEY_OPTIONS = """
    WITH traffic AS (SELECT value AS hash, spend FROM rollup_values WHERE kind = 'key'),
         hashes AS (SELECT hash FROM traffic UNION SELECT hash FROM api_keys),
         spent AS (SELECT hash, max(spend) AS spend FROM traffic GROUP BY hash)
    SELECT hashes.hash,
           coalesce(k.name, left(hashes.hash, 10)) AS name,
           coalesce(k.label, '') AS label,
           w.name AS workspace,
           coalesce(k.disabled, false) AS disabled,
           k.expires_at, k.deleted_at,
           CAST(coalesce(spent.spend, 0) AS DOUBLE) AS spend,
           row_number() OVER (ORDER BY coalesce(spent.spend, 0) DESC, coalesce(k.name, left(hashes.hash, 10)),
                                       hashes.hash) AS n
    FROM hashes LEFT JOIN api_keys k USING (hash) LEFT JOIN spent USING (hash)
         LEFT JOIN workspaces w ON w.id = k.workspace_id AND w.account = k.account"""
_MODEL_COLUMNS = ("model_permaslug", "model", "label", "name")
_KEY_COLUMNS = ("hash", "name", "label", "workspace", "disabled", "expires_at", "deleted_at", "spend")


def _values(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[str, ...]:
    return tuple(str(r[0]) for r in con.sql(f"SELECT value FROM ({sql}) ORDER BY n").fetchall())  # noqa: S608


def data_as_of(con: duckdb.DuckDBPyConnection) -> DataAsOf:
    newest = _row(con, _DATA_AS_OF)
    if newest is None:
        return DataAsOf(None, None, None, None, None)
    return DataAsOf(newest[0], newest[1], newest[2], newest[3], newest[4])


@dataclass(frozen=True)
class DateBounds:
    """First and last UTC day in ``activity`` (``None`` when it is empty)."""

    first: date | None
    last: date | None


def date_bounds(con: duckdb.DuckDBPyConnection) -> DateBounds:
    row = _row(con, _DATE_BOUNDS)
    return DateBounds(row[0], row[1]) if row else DateBounds(None, None)


def model_options(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model with stored traffic (activity or analytics): ``model_permaslug``, ``model`` (display
    slug), ``label``, ``name``. Biggest spenders first.

    The display slug is the ``/models`` id when known, else the activity's slug, else the permaslug. The
    label is that slug unless two permaslugs share it (versions of one model), then the permaslug, so a
    label always names exactly one permaslug.
    """
    return _frame(con, f"SELECT {', '.join(_MODEL_COLUMNS)} FROM ({_MODEL_OPTIONS}) ORDER BY n", [])  # noqa: S608


def catalog_models(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Every permaslug the store knows (traffic or ``/models``): what a model page may be opened for."""
    return _values(con, _CATALOG)


def provider_options(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Provider names seen in activity or analytics, biggest spenders first."""
    return _values(con, _PROVIDERS)


def app_options(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """App names (or origins) in analytics, biggest spenders first; ``unattributed`` included."""
    return _values(con, _APPS)


def workspace_options(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Workspace names as analytics reports them (its rows carry names, not ids), then known ones."""
    return _values(con, _WORKSPACES)


def member_options(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Organization members with stored traffic, biggest spenders first: ``member`` (as analytics name them:
    full name, else e-mail; traffic of keys made at the organization level is ``unattributed``) and
    ``email`` (None when analytics gave none)."""
    return _frame(con, f"SELECT value AS member, email FROM ({_MEMBERS}) ORDER BY n", [])  # noqa: S608


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
    return _frame(con, f"SELECT {', '.join(_KEY_COLUMNS)} FROM ({_KEY_OPTIONS}) ORDER BY n", [])  # noqa: S608


@dataclass(frozen=True)
class SidebarOptions:
    """Everything the sidebar and the routing need, read in one statement (``sidebar_options``): the same
    answers as the functions above, as plain rows (``models``: dicts of ``model_options``' columns,
    ``keys``: of ``key_options``')."""

    as_of: DataAsOf
    bounds: DateBounds
    models: tuple[dict[str, Any], ...]
    catalog: tuple[str, ...]
    providers: tuple[str, ...]
    apps: tuple[str, ...]
    workspaces: tuple[str, ...]
    keys: tuple[dict[str, Any], ...]
    spans: dict[tuple[str, str], tuple[Span, ...]]
    members: tuple[tuple[str, str | None], ...]  # (member, e-mail), as ``member_options``


# ``sidebar_options``' one statement: every part's rows on the same columns (part, n, four texts, a flag,
# two times, two days, a number), so they can be one UNION ALL: a third of the CPU of nine statements, where
# one statement of nine scalar subqueries costs twice as much (DuckDB plans the nine as one join).
_V, _B, _T, _D, _X = "NULL::VARCHAR", "NULL::BOOLEAN", "NULL::TIMESTAMP", "NULL::DATE", "NULL::DOUBLE"
_SIDEBAR = " UNION ALL ".join(
    (
        f"SELECT 'as_of' AS part, 1 AS n, status AS s1, command AS s2, message AS s3, {_V} AS s4, {_B} AS flag, "  # noqa: S608
        f"finished_at AS ts1, last_ok_at AS ts2, {_D} AS day1, {_D} AS day2, {_X} AS num FROM ({_DATA_AS_OF})",
        f"SELECT 'bounds', 1, {_V}, {_V}, {_V}, {_V}, {_B}, {_T}, {_T}, first, last, {_X} FROM ({_DATE_BOUNDS})",  # noqa: S608
        f"SELECT 'models', n, model_permaslug, model, label, name, {_B}, {_T}, {_T}, {_D}, {_D}, {_X} "  # noqa: S608
        f"FROM ({_MODEL_OPTIONS})",
        *(
            f"SELECT '{part}', n, value, {_V}, {_V}, {_V}, {_B}, {_T}, {_T}, {_D}, {_D}, {_X} FROM ({sql})"  # noqa: S608
            for part, sql in (
                ("catalog", _CATALOG),
                ("providers", _PROVIDERS),
                ("apps", _APPS),
                ("workspaces", _WORKSPACES),
            )
        ),
        f"SELECT 'keys', n, hash, name, label, workspace, disabled, expires_at, deleted_at, {_D}, {_D}, spend "  # noqa: S608
        f"FROM ({_KEY_OPTIONS})",
        f"SELECT 'members', n, value, email, {_V}, {_V}, {_B}, {_T}, {_T}, {_D}, {_D}, {_X} FROM ({_MEMBERS})",  # noqa: S608
        f"SELECT 'spans', row_number() OVER (ORDER BY first_day), source, metrics, {_V}, {_V}, {_B}, {_T}, {_T}, "  # noqa: S608
        f"first_day, last_day, {_X} FROM ({SPANS_SQL})",
    )
)


def _as_of(row: tuple[Any, ...]) -> DataAsOf:
    status, command, message, _, _, finished_at, last_ok_at = row[:7]
    return DataAsOf(finished_at, status, command, message, last_ok_at)


def sidebar_options(con: duckdb.DuckDBPyConnection) -> SidebarOptions:
    """``data_as_of``, ``date_bounds``, the options, the catalogue and ``source_spans``, in one statement."""
    parts: dict[str, list[tuple[Any, ...]]] = {}
    for row in con.execute(f"{_SIDEBAR} ORDER BY part, n").fetchall():
        parts.setdefault(row[0], []).append(row[2:])

    def values(part: str) -> tuple[str, ...]:
        return tuple(str(r[0]) for r in parts.get(part, []))

    newest = parts.get("as_of")
    bounds = parts.get("bounds")
    return SidebarOptions(
        as_of=_as_of(newest[0]) if newest else DataAsOf(None, None, None, None, None),
        bounds=DateBounds(bounds[0][7], bounds[0][8]) if bounds else DateBounds(None, None),
        models=tuple(dict(zip(_MODEL_COLUMNS, r[:4], strict=True)) for r in parts.get("models", [])),
        catalog=values("catalog"),
        providers=values("providers"),
        apps=values("apps"),
        workspaces=values("workspaces"),
        keys=tuple(dict(zip(_KEY_COLUMNS, (*r[:7], r[9]), strict=True)) for r in parts.get("keys", [])),
        spans=spans_by_source((r[0], r[1], r[7], r[8]) for r in parts.get("spans", [])),
        members=tuple((str(r[0]), None if r[1] is None else str(r[1])) for r in parts.get("members", [])),
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


def kpis(con: duckdb.DuckDBPyConnection, today: date, accounts: Sequence[str] = ()) -> Kpis:
    """The headline numbers of ``accounts`` (every account when empty)."""
    chosen = list(accounts)
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    keys = keys_today(con, today, accounts)
    # `date < today` guards against double counting should /activity ever start returning today.
    spent = f"""SELECT CAST(coalesce(sum(usage + byok_usage_inference), 0) AS DOUBLE)
                FROM activity WHERE date >= ? AND date < ? AND {CHOSEN}"""  # noqa: S608 -- constants
    week_row = _row(con, spent, [week_start, today, chosen])
    month_row = _row(con, spent, [month_start, today, chosen])
    newest = credits.latest(con, today, accounts)
    so_far = keys.usage + keys.byok if keys else None
    week_done = float(week_row[0]) if week_row else 0.0
    month_done = float(month_row[0]) if month_row else 0.0
    return Kpis(
        today=today,
        today_so_far=so_far,
        today_byok_so_far=keys.byok if keys else None,
        today_as_of=keys.as_of if keys else None,
        week_start=week_start,
        week=week_done + (so_far or 0.0),
        month_start=month_start,
        month=month_done + (so_far or 0.0),
        credits_left=newest[1] - newest[2] if newest else None,
        total_credits=newest[1] if newest else None,
        credits_as_of=newest[0] if newest else None,
    )
