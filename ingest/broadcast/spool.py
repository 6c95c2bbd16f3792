"""The receiver's spool: every delivery kept on disk before it is acknowledged, until a merge has stored it.

One file per delivery in ``<db>.broadcast/``, holding only what ``otlp.extract`` kept (never content):
written to a hidden temporary name, fsynced, renamed into place and the folder fsynced, so a file either is
whole or does not exist, and the receiver answers 200 only after that. Names sort in arrival order
(nanoseconds, process, sequence). A merge reads the files, stores them, then deletes them; a crash between
the two only means reading them again, which changes nothing (a generation counts once).

No lock is shared with the store's writer: the receiver keeps answering while ``ingest`` or a merge runs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.broadcast.otlp import Extracted, Record, record_from_json, record_json

FORMAT = 1
SUFFIX = ".json"
BAD = "unreadable"  # files a merge could not read are moved here, never deleted
STALE_TMP_S = 3600.0  # a temporary file this old is a crashed receiver's: removed


def spool_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.broadcast")


@dataclass(frozen=True)
class Spooled:
    """One delivery as the spool keeps it."""

    path: Path
    received_at: datetime  # naive UTC
    spans: int
    without_id: int
    without_time: int
    tags_dropped: int
    records: tuple[Record, ...]


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def _folder(self) -> Path:
        if not self.root.is_dir():
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _fsync_dir(self.root.parent)
        return self.root

    def append(self, extracted: Extracted, received_at: datetime) -> Path:
        """Keep one delivery durably; returns its file. Raises OSError when the disk refuses."""
        folder = self._folder()
        with self._lock:
            seq = next(self._seq)
        name = f"{time.time_ns():020d}-{os.getpid()}-{seq:08d}{SUFFIX}"
        data = {
            "v": FORMAT,
            "received_at": received_at.isoformat(),
            "spans": extracted.spans,
            "without_id": extracted.without_id,
            "without_time": extracted.without_time,
            "tags_dropped": extracted.tags_dropped,
            "records": [record_json(r) for r in extracted.records],
        }
        tmp = folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(data, separators=(",", ":"), default=str).encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            final = folder / name
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(folder)
        return final

    def pending(self, limit: int | None = None) -> list[Path]:
        """The deliveries not merged yet, oldest first."""
        if not self.root.is_dir():
            return []
        found = sorted(p for p in self.root.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))
        return found[:limit] if limit is not None else found

    def backlog(self) -> tuple[int, datetime | None]:
        """How many deliveries wait for a merge, and when the oldest arrived."""
        found = self.pending()
        if not found:
            return 0, None
        nanos = int(found[0].name.split("-", 1)[0])
        return len(found), datetime.fromtimestamp(nanos / 1e9, UTC).replace(tzinfo=None)

    def read(self, path: Path) -> Spooled | None:
        """One delivery, or None when the file is not one (it is then moved aside, for a human to look at)."""
        try:
            data = json.loads(path.read_bytes())
            return Spooled(
                path=path,
                received_at=datetime.fromisoformat(str(data["received_at"])),
                spans=int(data["spans"]),
                without_id=int(data["without_id"]),
                without_time=int(data["without_time"]),
                tags_dropped=int(data.get("tags_dropped", 0)),
                records=tuple(record_from_json(r) for r in data["records"]),
            )
        except FileNotFoundError:
            return None  # merged and removed by another merge meanwhile
        except (OSError, ValueError, KeyError, TypeError):
            self._set_aside(path)
            return None

    def _set_aside(self, path: Path) -> None:
        bad = self.root / BAD
        with contextlib.suppress(OSError):
            bad.mkdir(mode=0o700, exist_ok=True)
            os.replace(path, bad / path.name)

    def remove(self, paths: Iterator[Path] | list[Path]) -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if self.root.is_dir():
            _fsync_dir(self.root)

    def clean_stale(self, now_s: float | None = None) -> None:
        """Remove temporary files a crashed receiver left (never a finished delivery)."""
        if not self.root.is_dir():
            return
        now_s = time.time() if now_s is None else now_s
        for path in self.root.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if now_s - path.stat().st_mtime > STALE_TMP_S:
                    path.unlink()

    def unreadable(self) -> int:
        bad = self.root / BAD
        return sum(1 for _ in bad.iterdir()) if bad.is_dir() else 0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
