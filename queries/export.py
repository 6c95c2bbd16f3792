"""Named SQL for ``orusage export``: the snapshot's tables, each read within a day range and written as
CSV or Parquet by DuckDB itself. In CSV, text cells a spreadsheet would run as formulas are neutralised
(``core.csvsafe``); Parquet keeps every value as it is stored.

Table and column names come from the snapshot's own catalogue (quoted); the day bounds are bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from core.csvsafe import sql_neutralise
from core.errors import StoreError
from queries import rollups

PARTITION_COLUMN = "date"
# Tables of timestamped events without a `date` column: the timestamp whose UTC day --from/--to filter on.
EVENT_TIME = {
    "generations": "created_at",
    "api_key_snapshots": "fetched_at",
    "credits": "fetched_at",
    "model_endpoints": "fetched_at",
}


class Column(NamedTuple):
    name: str
    type: str  # DuckDB's type name: VARCHAR, DOUBLE, DATE, …


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[Column]]:
    """Every base table of the snapshot and its columns, in order. Views and rollups are derived from the
    tables: not exported."""
    rows = con.sql(
        """SELECT table_name, column_name, data_type FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = 'main'
             AND table_name IN (SELECT table_name FROM duckdb_tables()
                                WHERE database_name = current_database() AND schema_name = 'main')
           ORDER BY table_name, column_index"""
    ).fetchall()
    found: dict[str, list[Column]] = {}
    for table, column, kind in rows:
        if str(table) not in rollups.TABLES:  # the writer's pre-aggregations: derived, like the views
            found.setdefault(str(table), []).append(Column(str(column), str(kind)))
    return found


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class TableRead:
    """One table's statement within the day range, its parameters, and the column the range applied to."""

    table: str
    sql: str
    params: list[Any]
    filtered_on: str | None
    partitioned: bool  # has a ``date`` column: Parquet writes it in day folders


def _select_list(columns: list[Column], kind: str) -> str:
    """``*`` for Parquet; for CSV every column, text ones neutralised (numbers and times stay typed)."""
    if kind != "csv" or not any(c.type == "VARCHAR" for c in columns):
        return "*"
    return ", ".join(
        f"{sql_neutralise(_quote(c.name))} AS {_quote(c.name)}" if c.type == "VARCHAR" else _quote(c.name)
        for c in columns
    )


def table_read(
    table: str, columns: list[Column], first: date | None, last: date | None, kind: str = "parquet"
) -> TableRead:
    base = f"SELECT {_select_list(columns, kind)} FROM {_quote(table)}"  # noqa: S608 -- catalogue names, quoted
    partitioned = PARTITION_COLUMN in [c.name for c in columns]
    day_column = PARTITION_COLUMN if partitioned else EVENT_TIME.get(table)
    if day_column is None or (first is None and last is None):
        return TableRead(table, base, [], None, partitioned)
    day = _quote(day_column) if day_column == PARTITION_COLUMN else f"CAST({_quote(day_column)} AS DATE)"
    return TableRead(
        table,
        f"{base} WHERE (?::DATE IS NULL OR {day} >= ?::DATE) AND (?::DATE IS NULL OR {day} <= ?::DATE)",
        [first, first, last, last],
        day_column,
        partitioned,
    )


def count(con: duckdb.DuckDBPyConnection, read: TableRead) -> int:
    return int(con.sql(f"SELECT count(*) FROM ({read.sql})", params=read.params).fetchall()[0][0])  # noqa: S608


def write(con: duckdb.DuckDBPyConnection, read: TableRead, kind: str, target: Path, compress: bool = False) -> None:
    """Write the table's rows to ``target``: Parquet day folders (tables with a day), one Parquet or CSV file;
    ``compress``: gzip for CSV, zstd for Parquet (DuckDB's default is snappy)."""
    con.execute("SET enable_progress_bar = false")  # DuckDB draws one on a terminal; the CLI says what it did
    relation = con.sql(read.sql, params=read.params)
    try:
        codec = "zstd" if compress else "snappy"
        if kind == "parquet" and read.partitioned:
            relation.write_parquet(str(target), partition_by=[PARTITION_COLUMN], compression=codec)
        elif kind == "parquet":
            relation.write_parquet(str(target), compression=codec)
        else:
            relation.write_csv(str(target), header=True, compression="gzip" if compress else "none")
    except (duckdb.IOException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"cannot write {target}: {first}", "Check the folder's permissions and free space.") from None
