"""SIGKILL the ingest and the import at fixed points — some inside a write transaction — then run them again:
the stored tables equal a clean run's, row for row, and readers never see a broken snapshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from core.clock import utcnow
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.server import FakeServer
from fake_openrouter.website_csv import write_website_csv
from ingest.client import OpenRouterClient
from ingest.generations.job import GenerationOptions
from ingest.job import run_ingest
from ingest.pacing import Pacer
from ingest.website_csv.load import import_files
from queries.crashpoints import ENV, POINTS
from queries.store import Writer, snapshot_path
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake
from tests.helpers import fact_tables, query, run_cli, same_rows

# (crashpoint, which pass): the first unit, an activity day, a key's activity, analytics pieces early
# and late, between units, and while the snapshot is being published.
CRASHES = [
    ("writer-opened", 1),
    ("unit-uncommitted", 1),
    ("unit-uncommitted", 6),
    ("unit-uncommitted", 36),
    ("unit-uncommitted", 50),
    ("unit-committed", 3),
    ("unit-committed", 44),
    ("snapshot-copied", 1),
]


@pytest.fixture(scope="module")
def live_fake() -> Iterator[FakeServer]:
    """A fake anchored on the real clock, since the child processes run on it too."""
    server = start_fake(build(utcnow()))
    yield server
    server.stop()


def _env(server: FakeServer, db: Path, **more: str) -> dict[str, str]:
    return {
        "OPENROUTER_BASE_URL": server.base_url,
        "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY,
        "ORUSAGE_DB": str(db),
        "ORUSAGE_ANALYTICS_RATE": "1000",
        "ORUSAGE_GENERATIONS_CAP": "200",
        "ORUSAGE_GENERATIONS_RATE": "1000",
        "ORUSAGE_HISTORY_DAYS": "60",  # the full year is tested elsewhere; crash recovery needs no more
        **more,
    }


@pytest.fixture(scope="module")
def clean(live_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[object, ...]]]:
    db = tmp_path_factory.mktemp("clean") / "orusage.duckdb"
    result = run_cli(["ingest", "--quiet"], _env(live_fake, db))
    assert result.returncode == 0, result.stderr
    return fact_tables(db)


def test_every_crashpoint_is_in_the_list() -> None:
    assert {point for point, _ in CRASHES} | {point for point, _, _ in IMPORT_CRASHES} == set(POINTS)


@pytest.mark.parametrize(("point", "nth"), CRASHES, ids=[f"{p}#{n}" for p, n in CRASHES])
@pytest.mark.slow
@pytest.mark.reliability("crash")
def test_killed_ingest_then_rerun_equals_a_clean_run(
    point: str, nth: int, live_fake: FakeServer, clean: dict[str, list[tuple[object, ...]]], tmp_path: Path
) -> None:
    db = tmp_path / "orusage.duckdb"
    killed = run_cli(["ingest", "--quiet"], _env(live_fake, db, **{ENV: f"{point}#{nth}"}))
    assert killed.returncode == -9, f"the crashpoint was not reached: {killed.returncode} {killed.stderr}"
    snapshot = snapshot_path(db)
    if snapshot.exists():  # a reader sees the previous whole snapshot, never a torn one
        duckdb.connect(str(snapshot), read_only=True).execute("SELECT count(*) FROM activity").fetchone()
    again = run_cli(["ingest", "--quiet"], _env(live_fake, db))
    assert again.returncode == 0, again.stderr
    assert fact_tables(db) == clean
    assert not list(tmp_path.glob(".*.tmp")), "a leftover snapshot copy was not cleaned up"


@pytest.mark.slow
@pytest.mark.reliability("crash")
def test_a_second_writer_is_refused_with_one_line(live_fake: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    live_fake.add_fault("/credits", "delay", times=1, seconds=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(_env(live_fake, db))
    first = subprocess.Popen(
        [sys.executable, "-m", "orusage.cli", "ingest", "--quiet"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not db.with_name(db.name + ".lock").exists() or not db.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        second = run_cli(["ingest", "--quiet"], _env(live_fake, db))
        assert second.returncode == 5
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "another orusage writer" in lines[0], second.stderr
    finally:
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err


# ---- `orusage import` ----------------------------------------------------------------------------------------

# One command, two files, into a store that already holds /generation records: the first file's ids are all
# new, the second's overlap the stored API records, so loading it merges them (replace_rows). The files of
# one command share one transaction (all or none), then the reconciliation runs in its own.
# (crashpoint, which pass, whether the files are committed by then)
IMPORT_CRASHES = [
    ("import-file-loaded", 1, False),  # first file inserted, second not yet read: inside the import's transaction
    ("import-file-loaded", 2, False),  # second file inserted and merged with stored API rows, not committed
    ("unit-committed", 1, True),  # the import committed, its reconciliation not yet run
    ("unit-uncommitted", 2, True),  # inside the reconciliation's transaction
    ("snapshot-copied", 1, True),  # all committed, the snapshot copied but not yet renamed
]
NOW = FAKE_NOW.replace(tzinfo=None)
FIRST_FILE = (datetime(2026, 11, 10), datetime(2026, 11, 15))
SECOND_FILE = (datetime(2026, 11, 15), datetime(2026, 11, 21))  # /generation gave 2026-11-19 onwards
# What an import writes, less the times it happened at; reconciliation differences are float sums.
IMPORTED: dict[str, str] = {
    "generations": "SELECT * EXCLUDE (imported_at) FROM generations ORDER BY id",
    "coverage": "SELECT * EXCLUDE (fetched_at) FROM coverage ORDER BY ALL",
    "app_labels": "SELECT * FROM app_labels ORDER BY ALL",
    "reconciliation": "SELECT * EXCLUDE (checked_at) FROM reconciliation ORDER BY date, model_permaslug, metric",
}


def _imported(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {name: query(db, sql) for name, sql in IMPORTED.items()}


def _same(left: dict[str, list[tuple[Any, ...]]], right: dict[str, list[tuple[Any, ...]]]) -> bool:
    return left.keys() == right.keys() and all(same_rows(left[name], right[name]) for name in left)


@pytest.fixture(scope="module")
def exports(fake_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("exports")
    paths = [folder / "first.csv", folder / "second.csv"]
    for path, (start, end) in zip(paths, (FIRST_FILE, SECOND_FILE), strict=True):
        write_website_csv(fake_dataset, path, start, end)
    return paths


@pytest.fixture(scope="module")
def with_api_rows(fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("api-rows") / "orusage.duckdb"
    with Writer(db) as writer, OpenRouterClient(fake.base_url, SecretStr(MANAGEMENT_KEY), backoff=0.01) as client:
        run_ingest(
            writer,
            client,
            clock=lambda: NOW,
            analytics=False,
            generations=GenerationOptions(days=1, rate=1e4),
            pacer=Pacer(100_000),
        )
    return db


def _import_here(db: Path, paths: list[Path]) -> None:
    """The import's own code path in this process (the killed runs are real `orusage import` processes)."""
    with Writer(db) as writer:
        import_files(writer, paths, clock=utcnow)


@pytest.fixture(scope="module")
def clean_import(
    with_api_rows: Path, exports: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[tuple[Any, ...]]]:
    db = tmp_path_factory.mktemp("clean-import") / "orusage.duckdb"
    shutil.copyfile(with_api_rows, db)
    _import_here(db, exports)
    merged = query(db, "SELECT count(*) FROM generations WHERE source = 'api+export'")[0][0]
    assert merged > 0, "the second file must overlap the stored /generation records"
    return _imported(db)


@pytest.mark.parametrize(("point", "nth", "committed"), IMPORT_CRASHES, ids=[f"{p}#{n}" for p, n, _ in IMPORT_CRASHES])
@pytest.mark.slow
@pytest.mark.reliability("crash")
def test_killed_import_then_rerun_equals_a_clean_import(
    point: str,
    nth: int,
    committed: bool,
    with_api_rows: Path,
    exports: list[Path],
    clean_import: dict[str, list[tuple[Any, ...]]],
    tmp_path: Path,
) -> None:
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(with_api_rows, db)
    shutil.copyfile(snapshot_path(with_api_rows), snapshot_path(db))
    before = _imported(db)
    killed = run_cli(["import", "--db", str(db), *map(str, exports)], {ENV: f"{point}#{nth}"})
    assert killed.returncode == -9, f"the crashpoint was not reached: {killed.returncode} {killed.stderr}"
    # All or none: the files are stored together, or the store is as it was.
    assert _imported(db)["generations"] == (clean_import if committed else before)["generations"]
    snapshot = snapshot_path(db)
    if snapshot.exists():  # a reader sees the previous whole snapshot, never a torn one
        duckdb.connect(str(snapshot), read_only=True).execute("SELECT count(*) FROM generations").fetchone()
    _import_here(db, exports)
    assert _same(_imported(db), clean_import)
    assert not list(tmp_path.glob(".*.tmp")), "a leftover snapshot copy was not cleaned up"
