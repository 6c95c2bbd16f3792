"""One writer, many readers: the dashboard keeps reading while an ingest writes in another process,
and neither blocks or breaks the other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from fake_openrouter.server import FakeServer
from queries import reads
from queries.store import read_snapshot
from tests.fake_fixtures import MANAGEMENT_KEY
from tests.helpers import REPO


def test_dashboard_reads_while_ingest_writes_in_another_process(
    fresh_fake: FakeServer, tmp_path: Path, monkeypatch: object
) -> None:
    db = tmp_path / "orusage.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(
        OPENROUTER_BASE_URL=fresh_fake.base_url,
        OPENROUTER_MANAGEMENT_KEY=MANAGEMENT_KEY,
        ORUSAGE_DB=str(db),
        ORUSAGE_GENERATIONS_CAP="200",
        ORUSAGE_GENERATIONS_RATE="1000",
    )
    command = [sys.executable, "-m", "orusage.cli", "ingest", "--quiet"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    with read_snapshot(db) as con:
        expected_spend = con.execute("SELECT sum(spend) FROM daily_spend_by_model").fetchone()

    # Slow the second ingest down so the readers below really overlap with its writes.
    fresh_fake.add_fault("/activity", "delay", times=10, seconds=0.3)
    started = time.monotonic()
    writer = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads_done = 0
    page_runs = 0
    os.environ["ORUSAGE_DB"] = str(db)
    try:
        while writer.poll() is None:
            with read_snapshot(db) as con:
                # Every snapshot is whole: its spend is the total of a finished ingest, never part of one.
                assert con.sql("SELECT sum(spend) FROM daily_spend_by_model").fetchall() == [expected_spend]
                reads.kpis(con, reads.today_utc())
            reads_done += 1
            if page_runs < 3:
                at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=30).run()
                assert not at.exception, at.exception
                page_runs += 1
    finally:
        os.environ.pop("ORUSAGE_DB", None)
        _out, err = writer.communicate(timeout=120)
    elapsed = time.monotonic() - started
    assert writer.returncode == 0, err
    assert reads_done > 5 and page_runs >= 1
    assert elapsed < 30, f"the ingest took {elapsed:.1f}s with readers around: was it blocked?"
