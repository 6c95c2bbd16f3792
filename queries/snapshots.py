"""Kept snapshot connections: one read-only connection per snapshot version, shared by a process's page runs.

Opening the snapshot costs more than most of a page's questions (at 10 M generations: ~15 ms to open, ~15 ms
for the first query to load the catalogue, ~5 ms to close, on every cold run). A published snapshot is never
written again (a new one is renamed over it), so a connection to one version stays right for as long as it
is open. So each process keeps one, per snapshot, for the newest version it has seen:

* ``lease(db)`` pins the version a page run reads: the newest published one. If that is the version kept,
  nothing is opened; if it is newer, its connection is opened (under the version's own name, a hard link:
  ``queries.store.version_path``) and the older version is *retired*;
* every run reads through a cursor of its own (``Lease.cursor``): a DuckDB connection must not be used by
  two threads at once, and Streamlit runs each session's script in a thread of its own. All of a run's
  reads go through that one cursor, so a run sees one version from start to end, never a mix;
* a retired version is closed when the last run that leased it ends, and its name is removed; until then
  the file it was keeps its blocks on disk (a second copy of the store's size, for as long as a run lasts).

Where no hard link can be made (a read-only folder, a file system without them), a lease opens a connection
of its own on the snapshot's name and closes it with the run: the behaviour before connections were kept.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.errors import StoreError
from queries import broadcast, compat, rollups
from queries.store import (
    NoSnapshotError,
    default_db_path,
    snapshot_path,
    store_error,
    version_of,
    version_path,
)

NONE = "none"  # the version of a store nothing was published to yet
ATTEMPTS = 6
MAX_STORES = 4  # snapshot files a process keeps a connection to (a dashboard reads one)
# A kept connection keeps the blocks its queries read cached (DuckDB's default would let them grow to 80 % of
# the machine's memory, where a connection per run let them go with the run): bounded, so that the cache
# helps the next run and the dashboard stays well under 1 GiB.
READER_MEMORY_LIMIT = "256MB"


@dataclass(eq=False)
class _Version:
    """One open snapshot version."""

    version: str
    con: duckdb.DuckDBPyConnection
    path: Path  # what it was opened under
    rollups_stored: bool  # and the tables and columns queries.broadcast and queries.compat give an older one
    kept: bool  # False: a connection of the lease's own (no hard link), closed with it
    users: int = 0
    retired: bool = False  # a newer version is kept, or the process let go: close once unused
    superseded: bool = False  # a newer version was published: its name can go too


@dataclass
class Lease:
    """A page run's hold on one snapshot version (``version`` ``"none"``: nothing published yet)."""

    version: str
    db: Path
    _held: _Version | None
    _owner: KeptSnapshots | None
    _cursors: list[duckdb.DuckDBPyConnection] = field(default_factory=list)
    _released: bool = False

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of this run's own to the leased version, closed by ``release``."""
        if self._released:
            raise RuntimeError("the lease was released")
        if self._held is None or self._owner is None:
            raise NoSnapshotError(
                f"no data yet in {self.db}.", "Run `orusage ingest` (or `orusage demo` to try it on demo data)."
            )
        cur = self._owner.cursor(self._held)
        self._cursors.append(cur)
        return cur

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        for cur in self._cursors:
            with contextlib.suppress(duckdb.Error):
                cur.close()
        self._cursors.clear()
        if self._held is not None and self._owner is not None:
            self._owner.release(self._held)


class KeptSnapshots:
    """The process's kept connections, one current version per snapshot file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: OrderedDict[Path, _Version] = OrderedDict()  # least recently leased first
        self._retired: dict[Path, list[_Version]] = {}  # older versions some run still reads
        self.opened = 0  # connections opened so far (tests count them)

    def lease(self, db_path: Path | None = None, attempts: int = ATTEMPTS) -> Lease:
        """Pin the newest published version of ``db_path``'s snapshot for one page run."""
        db = (db_path or default_db_path()).expanduser()
        snap = snapshot_path(db)
        delay = 0.02
        for attempt in range(attempts):
            try:
                st = snap.stat()
            except FileNotFoundError:
                return Lease(NONE, db, None, None)
            version = version_of(st)
            with self._lock:
                held = self._current.get(snap)
                if held is not None and held.version == version:
                    held.users += 1
                    self._current.move_to_end(snap)
                    return Lease(version, db, held, self)
                try:
                    opened = self._open(snap, version)
                except (duckdb.IOException, duckdb.InternalException, FileNotFoundError) as exc:
                    # Published over while being opened (its name is gone), or briefly locked: look again.
                    if attempt == attempts - 1:
                        raise store_error(snap, exc) from None
                    opened = None
                except (duckdb.Error, OSError) as exc:
                    raise store_error(snap, exc) from None
                if opened is not None:
                    if opened.kept:
                        if held is not None:
                            self._retire(snap, held)
                        self._current[snap] = opened
                        self._current.move_to_end(snap)
                        self._forget_beyond(MAX_STORES)
                    opened.users += 1
                    return Lease(version, db, opened, self)
            time.sleep(delay)
            delay *= 2
        raise StoreError(
            f"the snapshot {snap} was replaced again and again while being opened.",
            "Try again in a moment; if it persists, check what keeps writing the store.",
        )

    def _open(self, snap: Path, version: str) -> _Version | None:
        """The connection to ``version``, under its own name when one can be made; None if it was replaced."""
        path = _version_name(snap, version)
        kept = path is not None
        if path is None:
            path = snap  # no hard link possible: a connection for this run alone
        # The snapshot's own name may be open elsewhere in the process with DuckDB's defaults, and DuckDB
        # refuses a second configuration for one path: the limit is for the version's own name only.
        config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": READER_MEMORY_LIMIT} if kept else {}
        con = duckdb.connect(str(path), read_only=True, config=config)
        self.opened += 1
        try:
            if not kept and version_of(snap.stat()) != version:
                con.close()  # replaced between the look and the open: the caller looks again
                return None
            # Also loads the catalogue, once per version rather than once per run.
            stored = rollups.stored(con) and _has_generation_tags(con) and not compat.missing(con)
        except BaseException:
            con.close()
            raise
        return _Version(version, con, path, stored, kept)

    def cursor(self, held: _Version) -> duckdb.DuckDBPyConnection:
        with self._lock:
            cur = held.con.cursor()
        if not held.rollups_stored:  # a snapshot from before a later migration: per connection, as store.py does
            rollups.ensure(cur)
            compat.ensure(cur)
            broadcast.ensure(cur)
        return cur

    def release(self, held: _Version) -> None:
        with self._lock:
            held.users -= 1
            if held.users == 0 and (held.retired or not held.kept):
                self._close(held)

    def _retire(self, snap: Path, held: _Version, *, superseded: bool = True) -> None:
        held.retired = True
        held.superseded = superseded
        if held.users == 0:
            self._close(held)
        else:
            self._retired.setdefault(snap, []).append(held)

    def _close(self, held: _Version) -> None:
        with contextlib.suppress(duckdb.Error):
            held.con.close()
        for snap, older in list(self._retired.items()):
            if held in older:
                older.remove(held)
                if not older:
                    del self._retired[snap]
        if held.kept and held.superseded:
            with contextlib.suppress(OSError):
                held.path.unlink()  # its name only (a newer publish may have removed it already)

    def _forget_beyond(self, keep: int) -> None:
        """A process reading many stores (tests do) keeps connections to the ``keep`` last leased only."""
        while len(self._current) > keep:
            snap, held = self._current.popitem(last=False)
            self._retire(snap, held, superseded=False)

    def close_all(self) -> None:
        """Close every kept version no run holds (tests; a process about to end)."""
        with self._lock:
            for snap, held in list(self._current.items()):
                del self._current[snap]
                self._retire(snap, held, superseded=False)

    def open_versions(self, db_path: Path) -> list[str]:
        """The versions of ``db_path``'s snapshot this process holds open (the kept one and any older one a
        run still reads), sorted."""
        snap = snapshot_path(db_path.expanduser())
        with self._lock:
            held = [*self._retired.get(snap, []), *([self._current[snap]] if snap in self._current else [])]
            return sorted(v.version for v in held)

    def kept_version(self, db_path: Path) -> str | None:
        """The version kept open for ``db_path`` (None: none)."""
        with self._lock:
            held = self._current.get(snapshot_path(db_path.expanduser()))
            return held.version if held is not None else None


def _has_generation_tags(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the snapshot has the table ``queries.broadcast.ensure`` gives an older one (migration 0006)."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'generation_tags' AND NOT temporary"
    ).fetchall()[0]
    return bool(row and row[0])


def _version_name(snap: Path, version: str) -> Path | None:
    """``version``'s own name, made here if the writer did not make it (a store published by an older
    version of this program, or a snapshot touched by hand); None where no hard link can be made."""
    path = version_path(snap, version)
    with contextlib.suppress(FileNotFoundError):
        if version_of(path.stat()) == version:
            return path
    staging = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.link")
    with contextlib.suppress(OSError):
        staging.unlink()  # left by a run of this thread that died halfway
    try:
        os.link(snap, staging)
    except FileNotFoundError:
        raise
    except OSError:
        return None
    try:
        if version_of(staging.stat()) != version:
            raise FileNotFoundError(snap)  # a newer version was published since the look: look again
        os.replace(staging, path)
    finally:
        with contextlib.suppress(OSError):
            staging.unlink()
    return path


KEPT = KeptSnapshots()


def lease(db_path: Path | None = None) -> Lease:
    """A page run's hold on the newest snapshot version, through the process's kept connections."""
    return KEPT.lease(db_path)
