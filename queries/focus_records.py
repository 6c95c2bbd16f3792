"""The record of the days FOCUS exports sent to each folder (``focus_exports``, migration 0006): read by the
next ``--since-last`` run and by ``orusage status``, written by ``orusage export`` through the writer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

COLUMNS = (
    "folder", "file_type", "day", "file", "file_sha256", "fingerprint", "rows", "billed_usd", "byok_usd",
    "exported_at",
)  # fmt: skip


@dataclass(frozen=True)
class SentDay:
    folder: str
    file_type: str
    day: date
    file: str
    file_sha256: str
    fingerprint: str
    rows: int
    billed_usd: float
    byok_usd: float
    exported_at: datetime


def has_records(con: duckdb.DuckDBPyConnection) -> bool:
    """False on a snapshot written before migration 0006."""
    found = con.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'focus_exports' AND database_name = current_database()"
    ).fetchall()
    return bool(found[0][0])


def sent_days(con: duckdb.DuckDBPyConnection, folder: str | None = None, file_type: str | None = None) -> list[SentDay]:
    """Every day sent (to ``folder`` as ``file_type`` when given), by folder, type and day."""
    if not has_records(con):
        return []
    rows = con.sql(
        f"""SELECT {", ".join(COLUMNS)} FROM focus_exports
            WHERE (?::VARCHAR IS NULL OR folder = ?) AND (?::VARCHAR IS NULL OR file_type = ?)
            ORDER BY folder, file_type, day""",  # noqa: S608 -- column names from COLUMNS
        params=[folder, folder, file_type, file_type],
    ).fetchall()
    return [SentDay(*row) for row in rows]


def record(con: duckdb.DuckDBPyConnection, days: Sequence[SentDay]) -> None:
    """Record days as sent (a day sent again to the same folder and type replaces its record)."""
    for day in days:
        con.execute("DELETE FROM focus_exports WHERE folder = ? AND file_type = ? AND day = ?",
                    [day.folder, day.file_type, day.day])  # fmt: skip
    if days:
        marks = ", ".join("?" for _ in COLUMNS)
        con.executemany(
            f"INSERT INTO focus_exports ({', '.join(COLUMNS)}) VALUES ({marks})",  # noqa: S608 -- constants
            [[getattr(d, c) for c in COLUMNS] for d in days],
        )
