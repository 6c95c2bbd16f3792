"""Named SQL for importing the website export into ``generations``: DuckDB's own CSV reader, never a row at
a time and never the whole file in memory.

1. ``scan_csv`` (read-only, before any write): reads the whole file for its shape (every row complete,
   every quote closed) and its ids and times, keeping only counts: rows, rows without id or time,
   repeated ids, first and last day, and how many ids the store already holds. Only those two columns
   are converted, so this pass costs a fraction of a full read.
2. ``load_csv`` (inside the caller's transaction): streams the file into the table, converting every
   column to its type: a value of the wrong type or a non-UTF-8 byte raises here, with its line, and the
   transaction is rolled back, so nothing is stored. Ids not stored yet are inserted as they are read;
   ids already stored are merged (the rule in ``queries.generations``), and only the rows the merge
   changes are rewritten, so importing a file again writes nothing.

Timestamps are read as TIMESTAMPTZ in a UTC session: a value without an offset is UTC, one with an offset
is converted; they are stored naive (UTC) like every TIMESTAMP here.

Values that cannot be (``core.limits``: an amount that is not finite, negative or beyond $10 M, a count that
is not a whole number in [0, 2^53), a negative or infinite duration) stop the load with ``ImpossibleValue``
naming the column (the caller finds the line); times outside 2020-01-01..tomorrow show in the scan's first
and last day.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from core.errors import StoreError
from core.limits import MAX_COUNT, MAX_MONEY, NEGATIVE_ALLOWED
from queries.accounts import CURRENT
from queries.generations import (
    ALL_COLUMNS,
    API,
    API_COLUMNS,
    BOTH,
    BROADCAST,
    EXPORT,
    EXPORT_ONLY_COLUMNS,
    ident,
    quoted,
    still_broadcast,
)
from queries.store import read_snapshot


class CsvRejected(Exception):
    """DuckDB's CSV reader refused the file: ``str()`` is its message (with the line, where it gives one)."""


class ImpossibleValue(CsvRejected):
    """A value of ``column`` (the export's name) that cannot be: the caller finds its line."""

    def __init__(self, column: str) -> None:
        super().__init__(f"impossible value in column {column}")
        self.column = column


_IMPOSSIBLE = re.compile(r"orusage-impossible:([a-z_]+)")
MONEY_TARGETS = frozenset(
    {"total_cost", "byok_usage_inference", "cost_web_search", "cost_cache", "cost_file_processing"}
)
MEASURE_TARGETS = frozenset({"generation_time", "time_to_first_token_ms"})
COUNT_TARGETS = frozenset(c for c, t in ALL_COLUMNS.items() if t == "BIGINT")


def _impossible(target: str, expr: str) -> str | None:
    """SQL true when the value of ``expr`` (as read: DOUBLE) cannot be one of ``target``'s; None when any may."""
    if target in MONEY_TARGETS:
        low = -MAX_MONEY if target in NEGATIVE_ALLOWED else 0.0
        return f"NOT (isfinite({expr}) AND {expr} BETWEEN {low!r} AND {MAX_MONEY!r})"
    if target in COUNT_TARGETS:
        return f"NOT (isfinite({expr}) AND {expr} = floor({expr}) AND {expr} BETWEEN 0 AND {float(MAX_COUNT - 1)!r})"
    if target in MEASURE_TARGETS:
        return f"NOT (isfinite({expr}) AND {expr} >= 0)"
    return None


_READ = (
    "read_csv($path, header = true, columns = $columns, auto_detect = false, delim = ',', quote = '\"', "
    "escape = '\"', strict_mode = true, encoding = 'utf-8', null_padding = false)"
)


@contextlib.contextmanager
def utc_session(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Naive timestamps read as UTC for the duration (nested uses keep the outer one)."""
    row = con.execute("SELECT current_setting('TimeZone')").fetchone()
    if row and row[0] == "UTC":
        yield
        return
    con.execute("SET TimeZone = 'UTC'")
    try:
        yield
    finally:
        # After a failed statement the transaction is aborted and refuses even this: the caller's
        # rollback matters more than the setting of a connection about to end its unit of work.
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET TimeZone")


def _source(
    csv_types: Mapping[str, str], mapping: Sequence[tuple[str, str]], dedupe: bool = False, raw: Sequence[str] = ()
) -> str:
    """The file's rows under ``generations`` names and types (``mapping``: generations column ← export column);
    ``raw`` columns of the file follow as text, named ``_raw0``, ``_raw1``…"""
    select = [f"e.{ident(column)} AS _raw{i}" for i, column in enumerate(raw)]
    for target, source in mapping:
        expr = f"e.{ident(source)}"
        if csv_types[source] == "TIMESTAMPTZ":
            # The instant as naive UTC by arithmetic: timezone('UTC', …) gives the same through ICU, at
            # 20× the cost (0.75 s of CPU per 10 M values).
            expr = f"make_timestamp(epoch_us({expr}))"
        cast = f"CAST({expr} AS {ALL_COLUMNS[target]})"
        impossible = _impossible(target, expr) if csv_types[source] == "DOUBLE" else None
        if impossible is not None:  # checked before the cast: 1e30 tokens would fail it without a line
            cast = f"CASE WHEN {impossible} THEN error('orusage-impossible:{source}') ELSE {cast} END"
        select.append(f"{cast} AS {ident(target)}")
    sql = f"SELECT {', '.join(select)} FROM {_READ} e"  # noqa: S608 - identifiers from the column lists
    if dedupe:  # an id twice in one file: keep one row (only then, as it costs a sort)
        sql = f"SELECT * FROM ({sql}) QUALIFY row_number() OVER (PARTITION BY id ORDER BY created_at) = 1"  # noqa: S608
    return sql


@dataclass(frozen=True)
class CsvScan:
    rows: int
    without_id: int
    without_time: int
    repeated_ids: int  # rows whose id (hash) an earlier row of the file has
    first_day: date | None
    last_day: date | None
    stored: int  # ids the store already holds
    with_api: int  # … of which with a /generation answer


@contextlib.contextmanager
def _rejected() -> Iterator[None]:
    try:
        yield
    except duckdb.Error as exc:
        impossible = _IMPOSSIBLE.search(str(exc))
        if impossible:
            raise ImpossibleValue(impossible.group(1)) from None
        raise CsvRejected(str(exc)) from None


def scan_csv(
    con: duckdb.DuckDBPyConnection, path: Path, csv_types: Mapping[str, str], mapping: Sequence[tuple[str, str]]
) -> CsvScan:
    """Read the whole file's shape, ids and times without keeping it. Raises ``CsvRejected`` with DuckDB's
    message (and its line). Repeated ids are counted by hash (much cheaper than the strings): a collision can only make
    the load take the dedupe path for nothing, never keep two rows of one id."""
    keys = [(t, s) for t, s in mapping if t in ("id", "created_at")]
    # Columns the import ignores are never decoded by the load, so bytes that are not UTF-8 there would go
    # unnoticed: counting their values makes DuckDB decode (and check) them. Real exports have none.
    ignored = [c for c in csv_types if c not in {s for _, s in mapping}]
    # One column each, not one sum: a sum of a thousand terms is too deep an expression for DuckDB.
    decoded = "".join(f", count(e._raw{i})" for i in range(len(ignored)))
    with utc_session(con), _rejected():
        row = con.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE e.id IS NULL OR trim(e.id) = ''),
                       count(*) FILTER (WHERE e.created_at IS NULL), count(*) - count(DISTINCT hash(e.id)),
                       min(e.created_at)::DATE, max(e.created_at)::DATE,
                       count(g.id), count(*) FILTER (WHERE g.source IN ('{API}', '{BOTH}')){decoded}
                FROM ({_source(csv_types, keys, raw=ignored)}) e LEFT JOIN generations g ON g.id = e.id""",  # noqa: S608
            {"path": str(path), "columns": dict(csv_types)},
        ).fetchone()
    assert row is not None
    rows, without_id, without_time, repeated = (int(v) for v in row[:4])
    return CsvScan(rows, without_id, without_time, repeated, row[4], row[5], int(row[6]), int(row[7]))


def load_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    csv_types: Mapping[str, str],
    mapping: Sequence[tuple[str, str]],
    *,
    imported_at: datetime,
    dedupe: bool,
    merge: bool,
    new: bool = True,
) -> None:
    """Stream one scanned file into ``generations`` (in the caller's transaction). ``merge``: the scan saw
    ids the store holds (rows of files earlier in the same import are not merged: the first file's row
    stays, as its id is then stored). ``new``: the scan saw ids the store does not hold (else the pass
    that inserts them, a join of the file with every stored id, is skipped)."""
    params = {"path": str(path), "columns": dict(csv_types), "imported_at": imported_at}
    source = _source(csv_types, mapping, dedupe)
    present = {t for t, _ in mapping}
    with utc_session(con), _rejected():
        if merge:
            con.execute(f"CREATE OR REPLACE TEMP TABLE merged_csv AS {_merged(source, present)}", params)
        if new:
            # New ids, as they are read. (Ids just merged are still stored at this point, so they are skipped.)
            con.execute(
                f"""INSERT INTO generations BY NAME
                    SELECT e.*, '{EXPORT}' AS source, CAST($imported_at AS TIMESTAMP) AS imported_at
                    FROM ({source}) e ANTI JOIN generations g ON g.id = e.id""",  # noqa: S608
                params,
            )
        if merge:
            _replace_merged(con, present)


def _merged(source: str, present: set[str]) -> str:
    """The stored rows this file changes, merged: stored values win (API fields above all), the export
    fills what is empty, and its export-only columns take the export's values. Only the columns the file
    has, and the stored row's ``rowid``: the join of the file with every stored row is the costly part of
    a merge (10 M × 10 M rows for a file imported again), and carrying all 60 columns through it doubled
    its cost; ``_replace_merged`` fetches the other columns of the few rows that changed."""
    shared = [c for c in API_COLUMNS if c in present]
    export_only = [c for c in EXPORT_ONLY_COLUMNS if c in present]
    # A stored value Broadcast alone brought gives way to the export's (the export ranks above Broadcast).
    by_broadcast = {c: f"list_contains(g.broadcast_filled, {quoted(c)})" for c in shared}
    parts = [
        f"CASE WHEN {by_broadcast[c]} THEN coalesce(e.{ident(c)}, g.{ident(c)}) "
        f"ELSE coalesce(g.{ident(c)}, e.{ident(c)}) END AS {ident(c)}"
        for c in shared
    ]
    parts += [f"coalesce(e.{ident(c)}, g.{ident(c)}) AS {ident(c)}" for c in export_only]
    changes = [f"(g.{ident(c)} IS NULL AND e.{ident(c)} IS NOT NULL)" for c in shared]
    changes += [
        f"({by_broadcast[c]} AND e.{ident(c)} IS NOT NULL AND e.{ident(c)} IS DISTINCT FROM g.{ident(c)})"
        for c in shared
    ]
    changes += [f"(e.{ident(c)} IS NOT NULL AND e.{ident(c)} IS DISTINCT FROM g.{ident(c)})" for c in export_only]
    changed = " OR ".join([f"g.source IN ('{API}', '{BROADCAST}')", "g.imported_at IS NULL", *changes])
    replaced = {c: f"e.{ident(c)} IS NOT NULL" for c in (*shared, *export_only)}
    return f"""SELECT e.id, g.rowid AS _stored, {", ".join(parts)},
                      CASE WHEN g.source IN ('{API}', '{BOTH}') THEN '{BOTH}' ELSE '{EXPORT}' END AS source,
                      coalesce(g.imported_at, CAST($imported_at AS TIMESTAMP)) AS imported_at,
                      {still_broadcast("g.broadcast_filled", replaced)} AS broadcast_filled
               FROM ({source}) e JOIN generations g ON g.id = e.id
               WHERE {changed}"""  # noqa: S608 - identifiers from the column lists of queries.generations


def _replace_merged(con: duckdb.DuckDBPyConnection, present: set[str]) -> None:
    """Rewrite the stored rows ``merged_csv`` changes: the merged columns from it, the rest as stored."""
    row = con.execute("SELECT count(*) FROM merged_csv").fetchone()
    if row and row[0]:
        kept = [c for c in ALL_COLUMNS if c not in present and c != "id"] + ["fetched_at", "received_at"]
        con.execute(
            f"""CREATE TEMP TABLE merged_rows AS
                SELECT m.* EXCLUDE (_stored), {", ".join(f"g.{ident(c)}" for c in kept)}
                FROM merged_csv m JOIN generations g ON g.rowid = m._stored"""  # noqa: S608
        )
        con.execute("DELETE FROM generations WHERE rowid IN (SELECT _stored FROM merged_csv)")
        con.execute("INSERT INTO generations BY NAME SELECT * FROM merged_rows")
        con.execute("DROP TABLE merged_rows")
    con.execute("DROP TABLE merged_csv")


def generation_count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM generations").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class ImportedFile:
    """A file imported before, found by its fingerprint (``ingest.website_csv.fingerprint``)."""

    path: str
    rows: int
    imported_at: datetime


def imported_before(
    con: duckdb.DuckDBPyConnection, size_bytes: int, head_tail_sha256: str, lines: int, account: str | None = None
) -> ImportedFile | None:
    """The import of this file into ``account`` (default: the connection's current one), if any."""
    row = con.execute(
        f"""SELECT path, rows, imported_at FROM imported_files
           WHERE size_bytes = ? AND head_tail_sha256 = ? AND lines = ? AND account = coalesce(?, {CURRENT})""",  # noqa: S608
        [size_bytes, head_tail_sha256, lines, account],
    ).fetchone()
    return ImportedFile(str(row[0]), int(row[1]), row[2]) if row else None


def record_imported(
    con: duckdb.DuckDBPyConnection,
    size_bytes: int,
    head_tail_sha256: str,
    lines: int,
    *,
    path: Path,
    rows: int,
    imported_at: datetime,
) -> None:
    """Note a file as imported (in the caller's transaction: with its rows, or not at all)."""
    con.execute(
        """INSERT INTO imported_files (size_bytes, head_tail_sha256, lines, path, rows, imported_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET path = excluded.path, rows = excluded.rows, imported_at = excluded.imported_at""",
        [size_bytes, head_tail_sha256, lines, str(path), rows, imported_at],
    )


def snapshot_knows(db_path: Path, fingerprints: Sequence[tuple[int, str, int]], account: str) -> bool:
    """Whether the published snapshot holds these (size, head and tail hash, lines) fingerprints: False when the
    import that noted them was killed before it published (or the snapshot predates the table)."""
    try:
        with read_snapshot(db_path) as con:
            return all(imported_before(con, *fp, account=account) is not None for fp in fingerprints)
    except (StoreError, duckdb.Error):
        return False
