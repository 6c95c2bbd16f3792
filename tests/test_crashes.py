"""SIGKILL the ingest at fixed points — some inside a write transaction — then run it again: the fact
tables equal a clean run's, row for row, and readers never see a broken snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from fake_openrouter.dataset import build
from fake_openrouter.server import FakeServer
from queries.crashpoints import ENV, POINTS
from queries.store import snapshot_path, utcnow
from tests.fake_fixtures import MANAGEMENT_KEY, start_fake
from tests.helpers import fact_tables, run_cli

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
    assert {point for point, _ in CRASHES} == set(POINTS)


@pytest.mark.parametrize(("point", "nth"), CRASHES, ids=[f"{p}#{n}" for p, n in CRASHES])
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
