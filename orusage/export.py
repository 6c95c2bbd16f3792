"""`orusage export`: every table of the snapshot as CSV or Parquet files, for finance and for other engines.

Layout under ``--out DIR``:

* Parquet: tables with a UTC ``date`` column (``activity``, ``activity_by_key``, ``analytics_daily``,
  ``reconciliation``, ``budget_forecast``) are partitioned by day, hive style:
  ``DIR/activity/date=2026-11-19/data_0.parquet``, so any engine (pyarrow, Spark, DuckDB, Polars) reads a
  range by listing folders; every other table is one file, ``DIR/models.parquet``;
* CSV: one file per table, ``DIR/activity.csv``, with a header line; text cells starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return get a leading apostrophe (``core.csvsafe``: no spreadsheet runs
  them as formulas), numbers and times are written as they are;
* ``DIR/manifest.json``: what was exported, from which snapshot, the day range and each table's rows.

``--from``/``--to`` (UTC days, inclusive) limit the tables that have a day: by ``date``, or by the UTC day
of their event time (``generations.created_at``; ``fetched_at`` of the ``/keys``, credits and endpoint
snapshots). Reference tables (models, keys, workspaces, runs…) are always exported whole.

Reads the published snapshot only, so it runs safely during an ingest; the SQL is ``queries.export``'s.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.clock import utcnow
from core.errors import ConfigError, StoreError
from queries import export as export_sql
from queries.store import read_snapshot, snapshot_path

FORMATS = ("csv", "parquet")
PARTITION_COLUMN = export_sql.PARTITION_COLUMN


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int
    path: str  # relative to the export folder
    partitioned: bool
    filtered_on: str | None  # the column the day range applied to


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


def export(
    db_path: Path, out: Path, kind: str, first: date | None = None, last: date | None = None, compress: bool = False
) -> list[Exported]:
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
        for table, columns in export_sql.tables(con).items():
            read = export_sql.table_read(table, columns, first, last, kind)
            rows = export_sql.count(con, read)
            partitioned = kind == "parquet" and read.partitioned
            suffix = "csv.gz" if kind == "csv" and compress else kind
            name = table if partitioned else f"{table}.{suffix}"
            if partitioned:
                _clear(out / name)
            if rows or not partitioned:
                export_sql.write(con, read, kind, out / name, compress)
            done.append(Exported(table, rows, name, partitioned, read.filtered_on))
    manifest = {
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "snapshot": str(snapshot_path(db_path.expanduser())),
        "format": kind,
        "compression": ("gzip" if kind == "csv" else "zstd") if compress else None,
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
