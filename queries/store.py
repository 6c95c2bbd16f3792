"""Where the data lives and how it is opened: one writer, many readers.

DuckDB lets a file be open by one read-write process or by many read-only ones, never both. So:

* a writer (ingest, import, alerts) takes an OS lock on ``<db>.lock`` (released by the kernel if the
  process dies), opens the database read-write, writes in short transactions, and on close publishes a
  read-only snapshot: the file is copied to a temporary name and renamed over ``<db>.snapshot.duckdb``,
  which is atomic, so a reader sees the old snapshot or the new one, never half of one;
* readers (dashboard, status, reports) open only the snapshot, read-only, for one page run at a time.

Neither side ever waits for the other.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import duckdb

from core import settings
from core.errors import StoreError, StoreLockedError
from core.settings import DB_ENV
from queries import compat, rollups
from queries.crashpoints import crashpoint
from queries.migrations import migrate

# DuckDB's default is 80 % of the machine's memory, which a writer takes when it can: importing a 10 M-row
# export peaked at 4.5 GB, most of it hash tables and cached blocks. Under a limit, joins, aggregates and
# sorts spill to ``<db>.tmp`` instead and fewer blocks stay cached; the same import peaks under 0.8 GB.
WRITER_MEMORY_LIMIT = "512MB"


def default_db_path() -> Path:
    """``$ORUSAGE_DB``, else ``$XDG_DATA_HOME/openrouter-usage/orusage.duckdb`` (``core.settings``)."""
    return settings.current().orusage_db


def snapshot_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.stem}.snapshot.duckdb")


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.lock")


def _store_error(db_path: Path, exc: BaseException) -> StoreError:
    text = str(exc)
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return StoreError(
            f"cannot write {db_path}: permission denied.",
            f"Make its folder writable or set {DB_ENV} to a writable path.",
        )
    if "Could not set lock" in text or "Conflicting lock" in text:
        return StoreLockedError(
            f"the database {db_path} is in use by another program.",
            "Close it (e.g. a duckdb shell) or wait for it to finish, then run again.",
        )
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG)) or (
        "No space left" in text or "File too large" in text
    ):
        return StoreError(
            f"cannot write {db_path}: the disk is full or the file size limit was reached.",
            "Free some space (or raise the limit) and run again; what was stored before is intact.",
        )
    if "not a valid DuckDB" in text or "Corrupt" in text or "corrupt" in text or "magic" in text:
        return StoreError(
            f"{db_path} is not a DuckDB database this version can read, or it is damaged.",
            f"Set {DB_ENV} to another path, or move the file away to start afresh.",
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return StoreError(f"cannot use the database {db_path}: {first_line}", f"Check {DB_ENV}.")


class Writer:
    """The one read-write session on the database. Use as a context manager.

    ``changed()`` marks that something was written; on a clean exit the snapshot is then published.
    """

    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = (db_path or default_db_path()).expanduser()
        self._lock_file: IO[str] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._changed = False

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("Writer used outside its context")
        return self._con

    def __enter__(self) -> Writer:
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(lock_path(self.db_path), "a+", encoding="utf-8")
        except OSError as exc:
            raise _store_error(self.db_path, exc) from None
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "unknown"
            self._release_lock()
            raise StoreLockedError(
                f"another orusage writer (pid {holder}) is using {self.db_path}.",
                "Wait for it to finish; runs never interleave.",
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()
        try:
            self._con = duckdb.connect(str(self.db_path))
            self._con.execute(f"SET memory_limit = '{WRITER_MEMORY_LIMIT}'")
            if migrate(self._con):
                self._changed = True
            crashpoint("writer-opened")
        except StoreError:
            self._abandon()
            raise
        except (duckdb.Error, OSError) as exc:
            self._abandon()
            raise _store_error(self.db_path, exc) from None
        return self

    def changed(self) -> None:
        self._changed = True

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One unit of work: all of it is stored, or none of it."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            crashpoint("unit-uncommitted")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except (duckdb.Error, OSError) as exc:
            raise _store_error(self.db_path, exc) from None
        self._changed = True
        crashpoint("unit-committed")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self._con is not None:
                try:
                    self._con.execute("CHECKPOINT")
                    self._con.close()
                except (duckdb.Error, OSError) as error:
                    raise _store_error(self.db_path, error) from None
                finally:
                    self._con = None
            # Publish even after a failed run: its completed units and its run-log entry are committed.
            if self._changed or not snapshot_path(self.db_path).exists():
                publish_snapshot(self.db_path)
        finally:
            self._release_lock()

    def _abandon(self) -> None:
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.close()
            self._con = None
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


def publish_snapshot(db_path: Path) -> Path:
    """Copy the closed, checkpointed database beside itself and rename it over the snapshot."""
    target = snapshot_path(db_path)
    # A writer killed while publishing leaves its copy behind; only the lock holder publishes, so any
    # such copy is garbage.
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(db_path, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        crashpoint("snapshot-copied")
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _store_error(target, exc) from None
    return target


class NoSnapshotError(StoreError):
    """Nothing has been ingested yet."""


def snapshot_version(db_path: Path | None = None) -> str:
    """Changes whenever a new snapshot is published: the key for readers' caches."""
    snap = snapshot_path((db_path or default_db_path()).expanduser())
    try:
        st = snap.stat()
    except FileNotFoundError:
        return "none"
    return f"{st.st_mtime_ns}-{st.st_size}-{st.st_ino}"


@contextlib.contextmanager
def read_snapshot(db_path: Path | None = None, attempts: int = 6) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the latest snapshot, closed on exit. Never hold it across page runs."""
    db = (db_path or default_db_path()).expanduser()
    snap = snapshot_path(db)
    delay = 0.02
    for attempt in range(attempts):
        if not snap.exists():
            raise NoSnapshotError(
                f"no data yet in {db}.", "Run `orusage ingest` (or `orusage demo` to try it on demo data)."
            )
        try:
            con = duckdb.connect(str(snap), read_only=True)
            break
        except (duckdb.IOException, duckdb.InternalException) as exc:
            if attempt == attempts - 1:
                raise _store_error(snap, exc) from None
            time.sleep(delay)
            delay *= 2
        except duckdb.Error as exc:
            raise _store_error(snap, exc) from None
    try:
        # The one place a snapshot is opened: an old one (before migration 0005) gets its rollups here, and
        # the columns of later migrations it predates (as NULL).
        rollups.ensure(con)
        compat.ensure(con)
        yield con
    finally:
        con.close()
