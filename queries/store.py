"""Where the data lives and how it is opened: one writer, many readers.

DuckDB lets a file be open by one read-write process or by many read-only ones, never both. So:

* a writer (ingest, import, alerts) takes an OS lock on ``<db>.lock`` (released by the kernel if the
  process dies), opens the database read-write, writes in short transactions, and on close publishes a
  read-only snapshot: the file is copied to a temporary name and renamed over ``<db>.snapshot.duckdb``,
  which is atomic, so a reader sees the old snapshot or the new one, never half of one;
* readers (dashboard, status, reports) open only the snapshot, read-only. A command opens it for one use
  (``read_snapshot``); the dashboard keeps one connection per snapshot *version* across page runs
  (``queries.snapshots``), which is safe because a published file is never written again, only replaced.

DuckDB caches database instances by path within a process, so a connection kept open on the snapshot's
own name would hand out the old version after a new one was renamed over it. Each version is therefore
also reachable under a name of its own, a hard link made at publish (``version_path``): kept connections
are opened there. The links of older versions are removed at the next publish; a reader still holding one
keeps reading it (the file's blocks stay on disk until its last connection closes).

Neither side ever waits for the other.

A damaged file (blocks overwritten or rotted on disk) is refused with exit 5 and left exactly as it was:
before the writer writes anything, a file that may have changed since a writer last closed it cleanly is
read whole (``queries.integrity``), read-only; damage met later in a session ends it without a checkpoint
and without publishing a snapshot. Readers report a damaged snapshot the same way.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb

from core import settings
from core.errors import StoreError, StoreLockedError
from core.settings import DB_ENV
from queries import broadcast, compat, integrity, rollups
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


def store_error(db_path: Path, exc: BaseException) -> StoreError:
    """The one-line ``StoreError`` for an exception met opening or writing ``db_path``."""
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
    if integrity.is_damage(exc) or "magic" in text:
        return StoreError(
            f"{db_path} is not a DuckDB database this version can read, or it is damaged; it was left as it is.",
            f"Restore it from a backup (the snapshot beside it may be intact), set {DB_ENV} to another path, "
            "or move the file away to start afresh.",
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return StoreError(f"cannot use the database {db_path}: {first_line}", f"Check {DB_ENV}.")


MERGE = "merge"  # the Broadcast receiver's merge: a short session other writers wait for
MERGE_PATIENCE_S = 120.0


class Writer:
    """The one read-write session on the database. Use as a context manager.

    ``changed()`` marks that something was written; on a clean exit the snapshot is then published.
    ``role`` is written into the lock file beside the pid. A writer that finds the lock held by a merge
    (``MERGE``: seconds, not minutes) waits for it up to ``patience_s``; any other holder is refused at once,
    unless ``wait_s`` says to wait for it too (the alerts' short sessions do).
    """

    def __init__(
        self,
        db_path: Path | None = None,
        *,
        role: str = "writer",
        patience_s: float = MERGE_PATIENCE_S,
        wait_s: float = 0.0,
    ) -> None:
        """``wait_s``: how long to wait for any other writer to finish (0: only a merge is waited for)."""
        self.db_path = (db_path or default_db_path()).expanduser()
        self.role = role
        self.patience_s = patience_s
        self.wait_s = wait_s
        self._lock_file: IO[str] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._changed = False
        self._damaged = False

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
            raise store_error(self.db_path, exc) from None
        self._take_lock(self._lock_file)
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(f"{os.getpid()} {self.role}")
        self._lock_file.flush()
        try:
            self._verify_if_changed()
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
            raise store_error(self.db_path, exc) from None
        return self

    def _take_lock(self, lock: IO[str]) -> None:
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                lock.seek(0)
                pid, _, role = (lock.read().strip() or "unknown").partition(" ")
                waited = time.monotonic() - started
                if waited < self.wait_s or (role == MERGE and waited < self.patience_s):
                    time.sleep(0.05)
                    continue
                self._release_lock()
                holder = "the Broadcast receiver's merge" if role == MERGE else "another orusage writer"
                raise StoreLockedError(
                    f"{holder} (pid {pid}) is using {self.db_path}.",
                    "Wait for it to finish; runs never interleave.",
                ) from None

    def _verify_if_changed(self) -> None:
        """Read the whole file, read-only, unless it is as a writer last left it (nothing is written to a
        damaged file, not even a run-log entry)."""
        if not self.db_path.exists() or integrity.unchanged_since_verified(self.db_path):
            return
        con = duckdb.connect(str(self.db_path), read_only=True)
        try:
            integrity.verify(con)
        finally:
            con.close()

    def changed(self) -> None:
        self._changed = True

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One unit of work: all of it is stored, or none of it. None once the file was found damaged."""
        if self._damaged:
            raise StoreError(f"{self.db_path} is damaged: nothing more is written to it.", "See the error above.")
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            crashpoint("unit-uncommitted")
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            if integrity.is_damage(exc):
                self._damaged = True
                raise store_error(self.db_path, exc) from None
            raise
        try:
            con.execute("COMMIT")
        except (duckdb.Error, OSError) as exc:
            self._damaged = self._damaged or integrity.is_damage(exc)
            raise store_error(self.db_path, exc) from None
        self._changed = True
        crashpoint("unit-committed")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._damaged or (isinstance(exc, BaseException) and integrity.is_damage(exc)):
            self._close_damaged()
            if isinstance(exc, duckdb.Error):
                raise store_error(self.db_path, exc) from None
            return
        try:
            if self._con is not None:
                try:
                    self._con.execute("CHECKPOINT")
                    self._con.close()
                except (duckdb.Error, OSError) as error:
                    raise store_error(self.db_path, error) from None
                finally:
                    self._con = None
            integrity.record_verified(self.db_path)
            # Publish even after a failed run: its completed units and its run-log entry are committed.
            if self._changed or not snapshot_path(self.db_path).exists():
                publish_snapshot(self.db_path)
        finally:
            self._release_lock()

    def _close_damaged(self) -> None:
        """End a session that met damage: no checkpoint, no snapshot, and the next writer reads it all."""
        integrity.forget_verified(self.db_path)
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.execute("PRAGMA disable_checkpoint_on_shutdown")
        self._abandon()

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
    """Copy the closed, checkpointed database beside itself, give the copy its version's own name (a hard
    link, for kept readers) and rename it over the snapshot; then drop the older versions' names."""
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
        # A rename keeps the inode, size and mtime: the copy's version is the published file's.
        linked = version_path(target, version_of(tmp.stat()))
        with contextlib.suppress(OSError):  # no hard links here: readers fall back to a connection per use
            os.link(tmp, linked)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise store_error(target, exc) from None
    drop_old_versions(target, keep=linked)
    return target


def version_of(st: os.stat_result) -> str:
    """A snapshot file's version: changes whenever a new file is published (or the file is touched)."""
    return f"{st.st_mtime_ns}-{st.st_size}-{st.st_ino}"


def version_path(snapshot: Path, version: str) -> Path:
    """The name one version of the snapshot is also reachable under (a hard link beside it)."""
    return snapshot.with_name(f".{snapshot.name}.v{version}")


def drop_old_versions(snapshot: Path, keep: Path | None = None) -> None:
    """Remove the versions' names but ``keep``'s: their files go once no reader holds them open."""
    for old in snapshot.parent.glob(f".{snapshot.name}.v*"):
        if old != keep:
            with contextlib.suppress(OSError):
                old.unlink()


class NoSnapshotError(StoreError):
    """Nothing has been ingested yet."""


def snapshot_version(db_path: Path | None = None) -> str:
    """Changes whenever a new snapshot is published: the key for readers' caches."""
    snap = snapshot_path((db_path or default_db_path()).expanduser())
    try:
        st = snap.stat()
    except FileNotFoundError:
        return "none"
    return version_of(st)


@contextlib.contextmanager
def read_snapshot(db_path: Path | None = None, attempts: int = 6) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the latest snapshot, closed on exit: for a command's one use. (The dashboard
    keeps its connections through ``queries.snapshots``, opened under each version's own name.)"""
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
                raise store_error(snap, exc) from None
            time.sleep(delay)
            delay *= 2
        except duckdb.Error as exc:
            raise store_error(snap, exc) from None
    try:
        # The one place a snapshot is opened: an old one (before migration 0005) gets its rollups here, and
        # the columns of later migrations it predates (as NULL).
        rollups.ensure(con)
        compat.ensure(con)
        broadcast.ensure(con)
        yield con
    except duckdb.Error as exc:
        if integrity.is_damage(exc):
            raise StoreError(
                f"the snapshot {snap} is damaged.",
                "Run `orusage ingest` to publish a new one (and `orusage doctor` to check the database).",
            ) from None
        raise
    finally:
        con.close()


@dataclass(frozen=True)
class FileCheck:
    tables: int  # tables read whole
    schema_version: int  # the newest migration recorded in the file (0: none)


def verify_file(path: Path) -> FileCheck:
    """Read a database file whole, read-only (``queries.integrity``), or raise StoreError (exit 5) naming
    the file when it is damaged or not a database. Only while no writer holds it."""
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = integrity.verify(con)
            row = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations' AND NOT temporary"
            ).fetchone()
            version = con.execute("SELECT max(version) FROM schema_migrations").fetchone() if row and row[0] else None
            return FileCheck(tables, int(version[0]) if version and version[0] is not None else 0)
        finally:
            con.close()
    except (duckdb.Error, OSError) as exc:
        raise store_error(path, exc) from None
