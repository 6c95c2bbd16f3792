"""Is the database file damaged? DuckDB checks each block's checksum as it reads it, so reading every
block of every table finds blocks overwritten or rotted on disk; ``verify`` does that (a hash of every
column forces each block to be read and decompressed). ``is_damage`` tells an error from reading a damaged
file from any other DuckDB error (a bug is not damage, and must not be reported as such).

A full read costs about a second per two million generation rows, so the writer pays it only when the file
may have changed since a writer last closed it cleanly (``StoreStamp``): the first open of a file, a
file copied or restored in place, a run that crashed, or someone else's hand."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

_DAMAGE = ("corrupt", "checksum", "not a valid duckdb", "invalidated", "magic bytes", "database file is damaged")


def is_damage(exc: BaseException) -> bool:
    """True for the errors DuckDB raises on a damaged file (or once it has met one)."""
    if isinstance(exc, duckdb.FatalException):
        return True
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and any(marker in text for marker in _DAMAGE)


def verify(con: duckdb.DuckDBPyConnection) -> int:
    """Read every block of every table of the database (raises duckdb.Error where one is damaged);
    returns how many tables were read."""
    tables = con.execute(
        """SELECT schema_name, table_name FROM duckdb_tables()
           WHERE database_name = current_database() AND NOT temporary ORDER BY ALL"""
    ).fetchall()
    for schema, table in tables:
        columns = [
            r[0]
            for r in con.execute(
                """SELECT column_name FROM duckdb_columns()
                   WHERE database_name = current_database() AND schema_name = ? AND table_name = ?""",
                [schema, table],
            ).fetchall()
        ]
        hashes = "".join(f", bit_xor(hash({_quote(c)}))" for c in columns)
        sql = f"SELECT count(*){hashes} FROM {_quote(schema)}.{_quote(table)}"  # noqa: S608 - catalogue names, quoted
        con.execute(sql).fetchall()
    return len(tables)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class StoreStamp:
    """What the file looked like when a writer last closed it cleanly. The change time (``ctime``) cannot
    be set by anyone: a file with the same stamp has not been written since."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> StoreStamp:
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def stamp_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.verified")


def unchanged_since_verified(db_path: Path) -> bool:
    try:
        recorded = StoreStamp(**json.loads(stamp_path(db_path).read_text("utf-8")))
        return recorded == StoreStamp.of(db_path)
    except (OSError, ValueError, TypeError):
        return False


def record_verified(db_path: Path) -> None:
    """Remember the file as it is now (after a clean close): the next writer need not read it all again."""
    target = stamp_path(db_path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(asdict(StoreStamp.of(db_path))), "utf-8")
        os.replace(tmp, target)
    except OSError:
        forget_verified(db_path)  # only a cost: the next writer reads the file whole


def forget_verified(db_path: Path) -> None:
    with contextlib.suppress(OSError):
        stamp_path(db_path).unlink(missing_ok=True)
