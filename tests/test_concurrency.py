"""One writer, many readers: dashboard sessions in other processes keep reading every page while an ingest
writes, and neither blocks or breaks the other.

SESSIONS processes (``tests/dashboard_session.py``) each click through every page of the menu, without
pausing, for at least SECONDS seconds, while an ingest rewrites the store in yet another process. The
store's first ingest ran with one day's generations hidden from /activity, the second one sees them: every
number the Overview shows must be the first snapshot's or the second's, never a mix, and the pages must
have shown both (so they really read across the publish). Another process reads the snapshot's totals
straight from DuckDB in a loop, as `orusage status` does: each must be one finished ingest's.

"Never blocked" is measured against a control: the same ingest, started at the same moment on a copy of the
store that nobody reads, with its own fake server. Both share the machine's load, so only a wait caused by
the readers could set them apart. The sessions run at nice 10: four sessions clicking without pause would
otherwise take most of a 2-core machine's CPU from both ingests alike, which is not blocking but would
make this test slow.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from queries.store import read_snapshot, snapshot_path
from tests import reliability
from tests.dashboard_session import TOTAL_SPEND
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake
from tests.helpers import REPO

SESSIONS = 4  # dashboard sessions, one process each
SECONDS = 10.0  # each session reads for at least this long (and one full round of the pages after the ingest)
HIDDEN_DAY = "2026-11-15"  # inside the Overview's 30 days before FAKE_NOW
SLOWER = 1.5  # the read store's ingest may take at most this × the control's (+ SLACK): both run at once
SLACK = 2.0


def _env(server: FakeServer, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(
        OPENROUTER_BASE_URL=server.base_url,
        OPENROUTER_MANAGEMENT_KEY=MANAGEMENT_KEY,
        ORUSAGE_DB=str(db),
        ORUSAGE_HISTORY_DAYS="31",
        ORUSAGE_ANALYTICS_RATE="100000",
        ORUSAGE_GENERATIONS_CAP="200",
        ORUSAGE_GENERATIONS_RATE="1000",
    )
    return env


def _ingest(server: FakeServer, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orusage.cli", "ingest", "--quiet"],
        env=_env(server, db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture
def two_fakes(fake_dataset: Dataset) -> Iterator[tuple[FakeServer, FakeServer]]:
    read, control = start_fake(fake_dataset), start_fake(fake_dataset)
    yield read, control
    read.stop()
    control.stop()


def _start_sessions(db: Path, signals: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(ORUSAGE_DB=str(db), ORUSAGE_TODAY=FAKE_NOW.date().isoformat())  # no keys: readers need none
    command = ["nice", "-n", "10", sys.executable, "-m", "tests.dashboard_session", "--sessions", str(SESSIONS)]
    command += ["--seconds", str(SECONDS), "--signals", str(signals)]
    # Streamlit logs to stderr: a file, since a full pipe nobody reads would stop the sessions.
    with open(signals / "sessions.log", "w", encoding="utf-8") as log:
        # A group of its own: the sessions are forked children, and a failed test must stop them all.
        return subprocess.Popen(
            command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )


def _stop(sessions: subprocess.Popen[str]) -> None:
    """Kill the launcher and its forked sessions, unless it ended by itself (then it waited for them)."""
    if sessions.poll() is None or sessions.returncode < 0:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sessions.pid, signal.SIGKILL)
    sessions.wait()


def _log(signals: Path) -> str:
    return (signals / "sessions.log").read_text(encoding="utf-8", errors="replace")[-3000:]


def _collect(sessions: subprocess.Popen[str], signals: Path, kind: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Every session's ``<kind>-<i>.json``, waiting for them (or for the sessions to have failed)."""
    deadline = time.monotonic() + timeout
    paths = [signals / f"{kind}-{i}.json" for i in range(SESSIONS)]
    while not all(p.exists() for p in paths):
        if sessions.poll() is not None or time.monotonic() > deadline:
            _stop(sessions)
            raise AssertionError(f"the sessions ended before writing their {kind} files: {_log(signals)}")
        time.sleep(0.05)
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


@pytest.mark.slow
@pytest.mark.reliability("concurrency")
def test_dashboard_sessions_in_other_processes_read_every_page_while_ingest_writes(
    two_fakes: tuple[FakeServer, FakeServer], fake_dataset: Dataset, tmp_path: Path
) -> None:
    read_fake, control_fake = two_fakes
    db, control_db = tmp_path / "read" / "orusage.duckdb", tmp_path / "control" / "orusage.duckdb"
    signals = tmp_path / "signals"
    for folder in (db.parent, control_db.parent, signals):
        folder.mkdir()
    hidden = [
        row[0]
        for row in fake_dataset.con.execute(
            "SELECT id FROM generations WHERE CAST(created_at AS DATE) = CAST(? AS DATE)", [HIDDEN_DAY]
        ).fetchall()
    ]
    sessions = _start_sessions(db, signals)  # they start up (imports) while the first ingest runs
    try:
        read_fake.hide_from_activity(hidden)
        code, _out, err = _finish(_ingest(read_fake, db))
        assert code == 0, err
        read_fake.hide_from_activity([])
        shutil.copyfile(db, control_db)
        shutil.copyfile(snapshot_path(db), snapshot_path(control_db))
        with read_snapshot(db) as con:
            total_before = _total(con)
        (signals / "stored").touch()
        firsts = _collect(sessions, signals, "ready")

        # Slow both ingests the same way, so that the readers overlap many of the writes.
        for fake in two_fakes:
            fake.add_fault("/activity", "delay", times=10, seconds=0.3)
        (signals / "go").touch()
        started = time.monotonic()
        writers = {"read": _ingest(read_fake, db), "control": _ingest(control_fake, control_db)}
        ended: dict[str, float] = {}
        while len(ended) < len(writers):
            for name, proc in writers.items():
                if name not in ended and proc.poll() is not None:
                    ended[name] = time.monotonic()
            time.sleep(0.02)
        for name, proc in writers.items():
            code, _out, err = _finish(proc)
            assert code == 0 and not err.strip(), f"the {name} ingest: exit {code}: {err}"
        (signals / "done").touch()
        reports = _collect(sessions, signals, "report")
        direct = json.loads((signals / "report-snapshot.json").read_text(encoding="utf-8"))
        assert sessions.wait(timeout=60) == 0 and "Traceback" not in _log(signals), _log(signals)
    finally:
        _stop(sessions)

    # Every snapshot read straight from DuckDB was whole: the totals of one finished ingest or the other's
    # (and both were read: before the publish and after it).
    with read_snapshot(db) as con:
        total_after = _total(con)
    assert total_before != total_after, total_before
    assert set(direct["totals"]) == {total_before, total_after}, (direct["totals"], total_before, total_after)

    # The pages: the same numbers in every session before the ingest (its first run) and after it (its last
    # round); the day hidden from /activity at first is in the Overview's range, so exactly its requests
    # appear; and nothing else was ever shown.
    assert all("whole" in first for first in firsts), firsts
    before = {tuple(first["whole"]) for first in firsts}
    after = {tuple(report["last"]) for report in reports}
    assert len(before) == 1 and len(after) == 1, (before, after)
    (spend_1, requests_1), (spend_2, requests_2) = old, new = before.pop(), after.pop()
    assert _count(requests_2) - _count(requests_1) == len(hidden) and spend_1 != spend_2, (old, new)
    for report in reports:
        assert report["errors"] == [], report["errors"]
        shown = {tuple(pair) for pair in report["whole"]}
        assert shown <= {old, new}, f"a page showed numbers of no finished ingest: {shown - {old, new}}"
        assert report["seconds"] >= SECONDS and report["page_runs"] >= 2 * report["pages"], report
    assert any(tuple(pair) == old for report in reports for pair in report["whole"])
    during = sum(started <= t <= ended["read"] for report in reports for t in report["finished"])
    assert during >= SESSIONS, f"only {during} page runs while the ingest wrote"

    # Never blocked: no slower than the same ingest, at the same moment, on a store nobody reads.
    took, alone = ended["read"] - started, ended["control"] - started
    assert took <= SLOWER * alone + SLACK, f"the ingest was held up by its readers: {took:.1f} s vs {alone:.1f} s"
    page_runs = sum(report["page_runs"] for report in reports)
    reliability.tried(
        "concurrency",
        f"{SESSIONS} dashboard sessions, each its own process, {SECONDS:.0f} s or more: {page_runs} page runs "
        f"over all {reports[0]['pages']} pages ({during} while the ingest wrote), {direct['reads']} snapshot "
        f"reads; the ingest took {took:.1f} s, the same ingest on an unread copy {alone:.1f} s",
    )


def _total(con: duckdb.DuckDBPyConnection) -> str:
    """The snapshot's totals as the snapshot reader reports them."""
    return json.dumps(con.execute(TOTAL_SPEND).fetchone(), default=str)


def _count(text: str) -> int:
    return int(text.replace(",", ""))
