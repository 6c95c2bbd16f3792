"""`orusage receive`, `orusage ingest` and readers on one store at once, as three kinds of process would run
in production: the fake bills generations and posts their traces all along; the receiver keeps answering
while the ingest holds the store; its merges wait for the ingest (and the ingest for a merge); readers
never fail; in the end every generation posted is stored exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_openrouter.dataset import build
from fake_openrouter.server import FakeServer
from queries.store import NoSnapshotError, read_snapshot
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake
from tests.helpers import query, run_cli

pytestmark = pytest.mark.slow

TOKEN = "concurrency-token-5f2e"


def _env(fake: FakeServer, db: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    return {
        **base,
        "PYTHONUNBUFFERED": "1",
        "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY,
        "OPENROUTER_BASE_URL": fake.base_url,
        "ORUSAGE_DB": str(db),
        "ORUSAGE_RECEIVE_TOKEN": TOKEN,
        "ORUSAGE_HISTORY_DAYS": "31",
        "ORUSAGE_GENERATIONS_CAP": "200",
        "ORUSAGE_GENERATIONS_RATE": "1000",
    }


@pytest.fixture
def own_fake() -> Iterator[FakeServer]:
    server = start_fake(build(FAKE_NOW))  # billing adds rows: a data set of its own
    yield server
    server.stop()


def test_receive_ingest_and_readers_share_one_store(own_fake: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    env = _env(own_fake, db)
    cwd = tmp_path / "cwd"  # empty: no stray .env is read
    cwd.mkdir()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "orusage.cli", "receive", "--port", "0", "--every", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        line = receiver.stdout.readline() if receiver.stdout else ""
        found = re.search(r"at (http://\S+/v1/traces)", line)
        assert found, f"the receiver did not start: {line!r} {receiver.stderr.read() if receiver.stderr else ''}"
        url = found.group(1)
        assert httpx.get(url.replace("/v1/traces", "/healthz")).status_code == 200
        own_fake.broadcast_to(url, token=TOKEN)

        billed: list[str] = []
        statuses: dict[int, int] = {}
        reads: dict[str, Any] = {"ok": 0, "failed": []}
        stop = threading.Event()

        def bill() -> None:
            while not stop.is_set():
                ids, report = own_fake.bill(2, trace={"project": "concurrency"})
                billed.extend(ids)
                for status, n in report.statuses.items():
                    statuses[status] = statuses.get(status, 0) + n
                time.sleep(0.05)

        def read() -> None:
            while not stop.is_set():
                try:
                    with read_snapshot(db) as con:
                        con.execute("SELECT count(*), count(received_at) FROM generations").fetchall()
                    reads["ok"] += 1
                except NoSnapshotError:
                    pass  # nothing published yet
                except Exception as exc:
                    reads["failed"].append(repr(exc))
                time.sleep(0.02)

        threads = [threading.Thread(target=bill), threading.Thread(target=read)]
        for thread in threads:
            thread.start()
        try:
            ingest = run_cli(["ingest", "--quiet"], env, timeout=240)
        finally:
            time.sleep(1.5)  # a little more traffic after the ingest: the receiver's own merges store it
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert ingest.returncode == 0, ingest.stderr
        assert billed and statuses == {200: len(billed)}
        assert reads["failed"] == [] and reads["ok"] > 0

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with read_snapshot(db) as con:
                stored = con.execute("SELECT count(*) FROM generations WHERE received_at IS NOT NULL").fetchall()[0][0]
            if stored >= len(billed):
                break
            time.sleep(0.5)
    finally:
        receiver.send_signal(signal.SIGTERM)
        out, err = receiver.communicate(timeout=60)
    assert receiver.returncode == 0, err
    assert "Receiver stopped" in out

    rows = query(
        db,
        """SELECT id, count(*) FROM generations WHERE received_at IS NOT NULL GROUP BY id""",
    )
    assert sorted(r[0] for r in rows) == sorted(billed) and all(r[1] == 1 for r in rows)
    assert query(db, "SELECT sum(new_generations), sum(duplicates) FROM broadcast_receipts") == [(len(billed), 0)]
    assert not any(p.suffix == ".json" for p in (tmp_path / "orusage.duckdb.broadcast").iterdir())
    # The ingest ran too, in full: the same generations also got their /generation answer where it listed them.
    assert query(db, "SELECT status FROM ingest_runs") == [("ok",)]
