"""Kept snapshot connections (``queries.snapshots``): one per snapshot version, replaced when a new snapshot is
published, closed once no run uses the old one, and never a page run that reads two versions.

Every step is ordered by the test itself (a publish between two reads of one run, a second run leased while
the first still holds the old version), so nothing depends on timing.
"""

from __future__ import annotations

import os
import threading
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from queries import reads, snapshots, writes
from queries.snapshots import KeptSnapshots
from queries.store import Writer, snapshot_path, snapshot_version, version_path

NOW = datetime(2026, 11, 20, 15, 30)
DAY = date(2026, 11, 19)


def _publish(db: Path, requests: int) -> str:
    """A new snapshot whose only activity row has ``requests`` requests; its version."""
    row = {
        "date": DAY,
        "model": "openai/gpt-4o",
        "model_permaslug": "openai/gpt-4o-2024-05-13",
        "endpoint_id": "ep-1",
        "provider_name": "OpenAI",
        "requests": requests,
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "reasoning_tokens": 0,
        "usage": 0.25,
        "byok_usage_inference": 0.0,
    }
    with Writer(db) as w, w.transaction() as con:
        writes.replace_activity_day(con, DAY, [row], NOW)
    return snapshot_version(db)


def _requests(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.sql("SELECT sum(requests) FROM activity").fetchall()
    return int(rows[0][0])


def _names(db: Path) -> list[str]:
    snap = snapshot_path(db)
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(f".{snap.name}.v"))


def test_one_connection_per_version_replaced_when_a_new_snapshot_appears(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    kept = KeptSnapshots()
    first = _publish(db, 1)
    assert _names(db) == [version_path(snapshot_path(db), first).name], "the writer names the version it publishes"

    for _ in range(3):  # three page runs, one connection
        lease = kept.lease(db)
        assert lease.version == first and _requests(lease.cursor()) == 1
        lease.release()
    assert kept.opened == 1 and kept.kept_version(db) == first

    second = _publish(db, 2)
    assert second != first
    assert _names(db) == [version_path(snapshot_path(db), second).name], "older versions' names are dropped"
    lease = kept.lease(db)
    assert lease.version == second and _requests(lease.cursor()) == 2
    lease.release()
    assert kept.opened == 2 and kept.kept_version(db) == second
    assert kept.open_versions(db) == [second], "the old version was closed: no run used it"


def test_the_old_version_stays_open_while_a_run_uses_it_then_closes(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    kept = KeptSnapshots()
    first = _publish(db, 1)
    old_run = kept.lease(db)
    old_cursor = old_run.cursor()
    second = _publish(db, 2)
    new_run = kept.lease(db)
    assert kept.open_versions(db) == sorted([first, second])
    # The old run still reads its version, though its name is gone and a newer one is kept.
    assert not version_path(snapshot_path(db), first).exists()
    assert _requests(old_cursor) == 1 and _requests(old_run.cursor()) == 1
    assert _requests(new_run.cursor()) == 2
    old_run.release()
    assert kept.open_versions(db) == [second], "closed when its last run ended"
    with pytest.raises(duckdb.ConnectionException):
        old_cursor.sql("SELECT 1")
    new_run.release()
    assert kept.open_versions(db) == [second], "the newest version stays open for the next run"


def test_no_page_run_reads_two_snapshots(tmp_path: Path) -> None:
    """A run pinned before a publish reads its version to the end; the cache key (the pinned version) and
    the answers always belong to the same snapshot."""
    db = tmp_path / "s.duckdb"
    first = _publish(db, 1)
    with reads.PageReader(db) as reader:
        assert reader.pin() == first
        assert reader.run(_requests) == 1
        second = _publish(db, 2)
        assert reader.run(_requests) == 1, "a publish in the middle of a run does not reach it"
        assert reader.pin() == first
    with reads.PageReader(db) as reader:
        assert reader.pin() == second and reader.run(_requests) == 2
    # Pinned before a publish, read after it: still the pinned version.
    with reads.PageReader(db) as reader:
        pinned = reader.pin()
        _publish(db, 3)
        assert reader.run(_requests) == 2 and pinned == second


def test_concurrent_runs_each_read_their_own_version(tmp_path: Path) -> None:
    """Two sessions' runs in threads, interleaved by barriers: the one that began before the publish reads
    the old version throughout, the one after it the new one, at the same time."""
    db = tmp_path / "s.duckdb"
    kept = KeptSnapshots()
    _publish(db, 1)
    leased, published, done = threading.Barrier(2), threading.Barrier(3), threading.Barrier(3)
    seen: dict[str, list[int]] = {"old": [], "new": []}

    def old_session() -> None:
        lease = kept.lease(db)
        cur = lease.cursor()
        seen["old"].append(_requests(cur))
        leased.wait()
        published.wait()
        for _ in range(20):
            seen["old"].append(_requests(cur))
        done.wait()
        lease.release()

    def new_session() -> None:
        published.wait()
        lease = kept.lease(db)
        cur = lease.cursor()
        for _ in range(20):
            seen["new"].append(_requests(cur))
        done.wait()
        lease.release()

    threads = [threading.Thread(target=old_session), threading.Thread(target=new_session)]
    for t in threads:
        t.start()
    leased.wait()
    _publish(db, 2)
    published.wait()
    done.wait()
    for t in threads:
        t.join(30)
    assert seen == {"old": [1] * 21, "new": [2] * 20}
    assert len(kept.open_versions(db)) == 1


def test_a_snapshot_without_its_own_name_gets_one_from_the_reader(tmp_path: Path) -> None:
    """A snapshot published by an older writer (or touched by hand) has no versioned name: the reader makes
    the hard link itself, and a new mtime is a new version."""
    db = tmp_path / "s.duckdb"
    kept = KeptSnapshots()
    _publish(db, 1)
    snap = snapshot_path(db)
    for name in _names(db):
        (tmp_path / name).unlink()
    lease = kept.lease(db)
    assert _requests(lease.cursor()) == 1
    assert _names(db) == [version_path(snap, lease.version).name]
    lease.release()
    later = snap.stat().st_mtime_ns + 1_000_000
    os.utime(snap, ns=(later, later))
    touched = kept.lease(db)
    assert touched.version == snapshot_version(db) != lease.version
    assert _requests(touched.cursor()) == 1
    touched.release()
    assert kept.opened == 2 and kept.open_versions(db) == [touched.version]
    assert _names(db) == [version_path(snap, touched.version).name], "the superseded name is removed"


def test_without_hard_links_each_run_opens_and_closes_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.duckdb"
    kept = KeptSnapshots()
    _publish(db, 1)
    for name in _names(db):
        (tmp_path / name).unlink()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError("read-only folder")

    monkeypatch.setattr(snapshots.os, "link", refuse)
    for expected_opened in (1, 2):
        lease = kept.lease(db)
        assert _requests(lease.cursor()) == 1
        lease.release()
        assert kept.opened == expected_opened and kept.open_versions(db) == []


def test_no_snapshot_yet_is_the_empty_state(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with reads.PageReader(db) as reader:
        assert reader.pin() == "none"
        with pytest.raises(reads.NoSnapshotError, match="orusage ingest"):
            reader.run(_requests)


def test_a_process_keeps_connections_to_a_few_stores_only(tmp_path: Path) -> None:
    """Tests (and tools) read many stores from one process: connections to the least recently read are let go."""
    kept = KeptSnapshots()
    dbs = [tmp_path / f"s{i}.duckdb" for i in range(snapshots.MAX_STORES + 2)]
    busy = None
    for i, db in enumerate(dbs):
        _publish(db, i + 1)
        lease = kept.lease(db)
        assert _requests(lease.cursor()) == i + 1
        if i == 0:
            busy = lease  # still read while the others come: closed only once released
        else:
            lease.release()
    assert [kept.kept_version(db) is not None for db in dbs] == [False, False] + [True] * snapshots.MAX_STORES
    assert busy is not None and _requests(busy.cursor()) == 1 and kept.open_versions(dbs[0])
    busy.release()
    assert kept.open_versions(dbs[0]) == [] and kept.open_versions(dbs[1]) == []
