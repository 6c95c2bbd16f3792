"""The store on real DuckDB files: migrations, one writer, snapshots, clear errors."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from core.errors import StoreError, StoreLockedError
from queries import writes
from queries.migrations import available
from queries.store import NoSnapshotError, Writer, read_snapshot, snapshot_path, snapshot_version

NOW = datetime(2026, 11, 20, 15, 30)
ROW = {
    "date": date(2026, 11, 19),
    "model": "openai/gpt-4o",
    "model_permaslug": "openai/gpt-4o-2024-05-13",
    "endpoint_id": "ep-1",
    "provider_name": "OpenAI",
    "requests": 3,
    "prompt_tokens": 100,
    "completion_tokens": 50,
    "reasoning_tokens": 20,
    "usage": 0.25,
    "byok_usage_inference": 0.5,
}


def test_migrations_are_numbered_recorded_and_applied_once(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Writer(db):
        pass
    with Writer(db):
        pass
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT version, name, duckdb_version FROM schema_migrations ORDER BY version").fetchall()
    con.close()
    assert [r[0] for r in rows] == [m.version for m in available()]
    assert all(r[2] == duckdb.__version__ for r in rows)


def test_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Writer(db):
        pass
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_migrations VALUES (999, 'future', now()::TIMESTAMP, 'x')")
    con.close()
    with pytest.raises(StoreError, match="newer openrouter-usage"), Writer(db):
        pass


def test_unit_replacement_is_idempotent_and_views_never_double_count(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    for _ in range(2):
        with Writer(db) as w, w.transaction() as con:
            writes.replace_activity_day(con, ROW["date"], [ROW, {**ROW, "endpoint_id": "ep-2"}], NOW)
            writes.replace_activity_for_key(con, "h" * 64, [ROW["date"]], [ROW], NOW)
    with read_snapshot(db) as con:
        assert con.execute("SELECT count(*) FROM activity").fetchone() == (2,)
        spend = con.execute("SELECT requests, spend FROM daily_spend_by_model").fetchall()
        assert spend == [(6, pytest.approx(1.5))]
        tokens = con.execute(
            "SELECT prompt_tokens, completion_only_tokens, reasoning_tokens FROM daily_tokens"
        ).fetchall()
        assert tokens == [(200, 60, 40)]  # completion-only = 50 − 20 per row: reasoning counted once


def test_reasoning_above_completion_never_goes_negative(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Writer(db) as w, w.transaction() as con:
        writes.replace_activity_day(con, ROW["date"], [{**ROW, "completion_tokens": 10, "reasoning_tokens": 30}], NOW)
    with read_snapshot(db) as con:
        assert con.execute("SELECT completion_only_tokens, reasoning_tokens FROM daily_tokens").fetchone() == (0, 30)


def test_failed_unit_leaves_nothing_behind(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Writer(db) as w:
        with w.transaction() as con:
            writes.replace_activity_day(con, ROW["date"], [ROW], NOW)
        with pytest.raises(RuntimeError), w.transaction() as con:
            writes.replace_activity_day(con, ROW["date"], [{**ROW, "requests": 99}], NOW)
            raise RuntimeError("killed halfway")
    with read_snapshot(db) as con:
        assert con.execute("SELECT requests FROM activity").fetchall() == [(3,)]


def _hold_writer(db: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    with Writer(Path(db)):
        ready.set()
        release.wait(30)


def test_second_writer_is_refused_while_readers_keep_reading(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Writer(db) as w, w.transaction() as con:
        writes.replace_activity_day(con, ROW["date"], [ROW], NOW)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_writer, args=(str(db), ready, release))
    holder.start()
    try:
        # Wait for the holder however long a loaded machine takes to start it, but not for one that died.
        while not ready.wait(0.5):
            assert holder.is_alive(), f"the writer holder exited with {holder.exitcode} before taking the lock"
        with pytest.raises(StoreLockedError, match=r"another orusage writer \(pid \d+\)"), Writer(db):
            pass
        with read_snapshot(db) as con:  # the snapshot stays readable while a writer holds the file
            assert con.execute("SELECT count(*) FROM activity").fetchone() == (1,)
    finally:
        release.set()
        holder.join(30)
    with Writer(db):  # the lock is released when the holder ends
        pass


def test_snapshot_is_published_atomically_and_versioned(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with pytest.raises(NoSnapshotError, match="orusage ingest"), read_snapshot(db):
        pass
    assert snapshot_version(db) == "none"
    with Writer(db) as w, w.transaction() as con:
        writes.replace_activity_day(con, ROW["date"], [ROW], NOW)
    first = snapshot_version(db)
    with Writer(db) as w, w.transaction() as con:
        writes.replace_activity_day(con, ROW["date"], [ROW, {**ROW, "endpoint_id": "ep-9"}], NOW)
    assert snapshot_version(db) != first
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with read_snapshot(db) as con:
        assert con.execute("SELECT count(*) FROM activity").fetchone() == (2,)


def test_a_file_that_is_not_duckdb_gets_one_clear_line_and_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    db.write_bytes(b"this is not a database\n" * 100)
    with pytest.raises(StoreError) as info, Writer(db):
        pass
    assert "\n" not in str(info.value)
    assert str(db) in str(info.value)
    assert db.read_bytes() == b"this is not a database\n" * 100
    assert not snapshot_path(db).exists()


def test_an_unwritable_folder_gets_one_clear_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere; the fault suite covers this as an unprivileged user")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(StoreError, match="permission denied"), Writer(folder / "s.duckdb"):
        pass
