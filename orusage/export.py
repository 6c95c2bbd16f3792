"""`orusage export`: every table of the snapshot as CSV or Parquet files, for finance and for other engines.

Layout under ``--out DIR``:

* Parquet: tables with a UTC ``date`` column (``activity``, ``activity_by_key``, ``analytics_daily``,
  ``reconciliation``, ``budget_forecast``) are partitioned by day, hive style:
  ``DIR/activity/date=2026-11-19/data_0.parquet``, so any engine (pyarrow, Spark, DuckDB, Polars) reads a
  range by listing folders; every other table is one file, ``DIR/models.parquet``;
* CSV: one file per table, ``DIR/activity.csv``, with a header line;
* ``DIR/manifest.json``: what was exported, from which snapshot, the day range and each table's rows.

``--from``/``--to`` (UTC days, inclusive) limit the tables that have a day: by ``date``, or by the UTC day
of their event time (``generations.created_at``; ``fetched_at`` of the ``/keys``, credits and endpoint
snapshots). Reference tables (models, keys, workspaces, runs…) are always exported whole.

Reads the published snapshot only, so it runs safely during an ingest. Table names come from the
snapshot's own catalogue; the day bounds are bound parameters.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from queries import rollups
from queries.errors import ConfigError, StoreError
from queries.store import read_snapshot, snapshot_path, utcnow

FORMATS = ("csv", "parquet")
PARTITION_COLUMN = "date"
# Tables of timestamped events without a `date` column: the timestamp whose UTC day --from/--to filter on.
EVENT_TIME = {
    "generations": "created_at",
    "api_key_snapshots": "fetched_at",
    "credits": "fetched_at",
    "model_endpoints": "fetched_at",
}


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int
    path: str  # relative to the export folder
    partitioned: bool
    filtered_on: str | None  # the column the day range applied to


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every base table of the snapshot and its columns, in order. Views and rollups are derived from the
    tables: not exported."""
    rows = con.sql(
        """SELECT table_name, column_name FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = 'main'
             AND table_name IN (SELECT table_name FROM duckdb_tables()
                                WHERE database_name = current_database() AND schema_name = 'main')
           ORDER BY table_name, column_index"""
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        if str(table) not in rollups.TABLES:  # the writer's pre-aggregations: derived, like the views
            found.setdefault(str(table), []).append(str(column))
    return found


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _selection(
    table: str, columns: list[str], first: date | None, last: date | None
) -> tuple[str, list[Any], str | None]:
    """The statement reading one table (within the day range where it has a day), its parameters, and
    the column the range applied to."""
    base = f"SELECT * FROM {_quote(table)}"  # noqa: S608 -- a table name from the catalogue, quoted
    day_column = PARTITION_COLUMN if PARTITION_COLUMN in columns else EVENT_TIME.get(table)
    if day_column is None or (first is None and last is None):
        return base, [], None
    day = _quote(day_column) if day_column == PARTITION_COLUMN else f"CAST({_quote(day_column)} AS DATE)"
    return (
        f"{base} WHERE (?::DATE IS NULL OR {day} >= ?::DATE) AND (?::DATE IS NULL OR {day} <= ?::DATE)",
        [first, first, last, last],
        day_column,
    )


def _clear(target: Path) -> None:
    """Make ``target`` an empty folder. An earlier export's day folders are replaced whole (never mixed with
    this one's); anything else there is left alone and refused."""
    if target.exists():
        strangers = [p.name for p in target.iterdir() if not (p.is_dir() and p.name.startswith(f"{PARTITION_COLUMN}="))]
        if strangers:
            raise ConfigError(
                f"{target} exists and holds {strangers[0]!r}, which is not an export's day folder.",
                "Export into an empty folder (or one an earlier export wrote).",
            )
        shutil.rmtree(target)
    target.mkdir()


def _write(relation: duckdb.DuckDBPyRelation, kind: str, target: Path, partitioned: bool) -> None:
    try:
        if partitioned:
            relation.write_parquet(str(target), partition_by=[PARTITION_COLUMN])
        elif kind == "parquet":
            relation.write_parquet(str(target))
        else:
            relation.write_csv(str(target), header=True)
    except (duckdb.IOException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"cannot write {target}: {first}", "Check the folder's permissions and free space.") from None


def export(db_path: Path, out: Path, kind: str, first: date | None = None, last: date | None = None) -> list[Exported]:
    """Write every table to ``out``; returns what was written (also in ``out/manifest.json``)."""
    if kind not in FORMATS:
        raise ConfigError(f"--format {kind!r} is not one of {', '.join(FORMATS)}.")
    if first is not None and last is not None and first > last:
        raise ConfigError(f"--from {first} is after --to {last}.", "Swap them.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {out}: {exc.strerror}.", "Pick a writable folder for --out.") from None
    done: list[Exported] = []
    with read_snapshot(db_path) as con:
        con.execute("SET enable_progress_bar = false")  # DuckDB draws one on a terminal; the CLI says what it did
        for table, columns in _tables(con).items():
            sql, params, filtered = _selection(table, columns, first, last)
            relation = con.sql(sql, params=params)
            rows = int(con.sql(f"SELECT count(*) FROM ({sql})", params=params).fetchall()[0][0])  # noqa: S608
            partitioned = kind == "parquet" and PARTITION_COLUMN in columns
            name = table if partitioned else f"{table}.{kind}"
            if partitioned:
                _clear(out / name)
            if rows or not partitioned:
                _write(relation, kind, out / name, partitioned)
            done.append(Exported(table, rows, name, partitioned, filtered))
    manifest = {
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "snapshot": str(snapshot_path(db_path.expanduser())),
        "format": kind,
        "from": first.isoformat() if first else None,
        "to": last.isoformat() if last else None,
        "days": "UTC, inclusive",
        "tables": {
            e.table: {
                "rows": e.rows,
                "path": e.path,
                "partitioned_by": PARTITION_COLUMN if e.partitioned else None,
                "range_on": e.filtered_on,
            }
            for e in done
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return done
