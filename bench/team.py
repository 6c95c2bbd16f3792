"""A team on one dashboard: 20 sessions at once on a real Streamlit server (``streamlit run dashboard/app.py`` on
loopback), clicking through every page twice (a second on each page between clicks, as people do) while
``orusage ingest`` writes into the same store and publishes new snapshots (one ingest a minute, as
``orusage ingest --watch 1m`` runs them, the first when the sessions start); then the same with a password set.
The sessions speak Streamlit's own WebSocket protocol (``bench.team_clients``, all in one child process, whose
CPU time is reported); the ingests run in child processes against the fake OpenRouter for as long as the
sessions click.

Figures: p50 and p95 page time (goal p95 < 2 s), errors (goal none), the snapshots published meanwhile, the
clients' own CPU, and the dashboard server's peak RSS.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import generate, proc
from bench.report import Report, Row, met, table

SESSIONS = 20
ROUNDS = 2
P95_GOAL_S = 2.0
INGEST_EVERY_S = 60.0
APP = proc.REPO / "dashboard" / "app.py"
PASSWORD_ENV = "ORUSAGE_DASHBOARD_PASSWORD"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``streamlit run dashboard/app.py`` on a free loopback port, until stopped."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "bench.hwm", str(log.with_suffix(".hwm.json")), "streamlit", "run", str(APP),
            "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(self.port),
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        self._log = open(log, "wb")  # noqa: SIM115 -- closed in stop()
        self._hwm = log.with_suffix(".hwm.json")
        self.proc = subprocess.Popen(
            command, cwd=proc.REPO, env={**os.environ, **proc.QUIET_STREAMLIT, **env}, stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"streamlit did not come up in 90 s; see {log}")
            time.sleep(0.2)

    def stop(self) -> float:
        """Stop it; its peak RSS (MB)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        try:
            return float(json.loads(self._hwm.read_text())["vm_hwm_mb"])
        except (OSError, ValueError, KeyError):
            return float("nan")


class IngestLoop:
    """An ingest (a child process) every ``INGEST_EVERY_S`` from the start, as ``orusage ingest --watch 1m``
    runs them (its shortest interval), until stopped."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.runs: list[proc.Child] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        minute = 20
        while not self._stop.is_set():
            started = time.monotonic()
            with open(self.folder / f"ingest-{minute}.log", "w") as log:
                self.runs.append(proc.run("bench.ingest_child", str(minute), env=self.env, stdout=log))
            minute += 10
            self._stop.wait(max(0.0, INGEST_EVERY_S - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(600)


def _round(report: Report, built: generate.Built, folder: Path, fake: proc.FakeProcess, password: bool) -> None:
    from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
    from queries.store import snapshot_version

    size = generate.label(built.rows)
    db = folder / "orusage.duckdb"
    label = "with a password" if password else "no password"
    env = {"ORUSAGE_DB": str(db), "ORUSAGE_TODAY": generate.TODAY.isoformat()}
    secret = {PASSWORD_ENV: "team bench password"} if password else {}
    ingest_env = {
        "ORUSAGE_DB": str(db),
        "OPENROUTER_BASE_URL": fake.base_url,
        "OPENROUTER_MANAGEMENT_KEY": DEMO_MANAGEMENT_KEY,
        "ORUSAGE_ANALYTICS_RATE": "100000",
        "ORUSAGE_GENERATIONS_RATE": "2000",
        "ORUSAGE_GENERATIONS_CONCURRENCY": "16",
        "ORUSAGE_HTTP_RETRIES": "0",
    }
    server = Server({**env, **secret}, folder / f"streamlit-{'password' if password else 'open'}.log")
    versions: set[str] = set()
    watching = threading.Event()

    def watch() -> None:  # the snapshot versions published while the sessions click
        while not watching.is_set():
            versions.add(snapshot_version(db))
            time.sleep(0.05)

    loop = IngestLoop(ingest_env, folder)
    watcher = threading.Thread(target=watch, daemon=True)
    out = folder / f"clients-{'password' if password else 'open'}.json"
    try:
        print(f"a team on one dashboard ({size}, {label}): {SESSIONS} sessions × {ROUNDS} rounds …", flush=True)
        loop.start()
        watcher.start()
        args = [server.url, str(out), "--sessions", str(SESSIONS), "--rounds", str(ROUNDS)]
        clients = proc.run(
            "bench.team_clients", *args, *(["--password-env", PASSWORD_ENV] if password else []), env=secret
        )
    finally:
        watching.set()
        loop.stop()
        server_rss = server.stop()
    if clients.returncode != 0 or not out.exists():
        report.notes.append(f"{size}: team sessions ({label}) failed (exit {clients.returncode}); see {folder}")
        return
    found: dict[str, Any] = json.loads(out.read_text())
    runs = [r for r in found["runs"] if not r["page"].startswith("(")]
    times = sorted(r["seconds"] for r in runs)
    errors = [r for r in found["runs"] if r["error"]]
    p50 = statistics.median(times) if times else float("nan")
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan")
    ingests = [r for r in loop.runs if r.returncode == 0]
    report.add(
        Row(
            f"a team on one dashboard, {label}: {SESSIONS} sessions at once, every page × {ROUNDS} "
            f"({len(runs)} page runs) while ingests ran ({len(ingests)} ingests, {len(versions) - 1} new snapshots)",
            size,
            f"p50 {p50:.2f} s, p95 {p95:.2f} s, slowest {times[-1] if times else float('nan'):.2f} s; "
            f"{len(errors)} errors; clients' CPU {found['client_cpu_seconds']:.1f} s in "
            f"{found['wall_seconds']:.0f} s; dashboard peak RSS {server_rss:,.0f} MB",
            goal=f"p95 < {P95_GOAL_S:.0f} s, no error",
            met=met(p95 < P95_GOAL_S and not errors and bool(times)),
        )
    )
    for r in errors[:5]:
        report.notes.append(f"{size}: team ({label}) session {r['session']} {r['page']}: {r['error']}")
    per_page: dict[str, list[float]] = {}
    for r in runs:
        per_page.setdefault(r["page"], []).append(r["seconds"])
    rows = []
    for page, seconds in per_page.items():
        seconds.sort()
        rows.append([page, f"{statistics.median(seconds):.2f}", f"{seconds[int(0.95 * (len(seconds) - 1))]:.2f}",
                     f"{seconds[-1]:.2f}"])  # fmt: skip
    heading = f"A team on one dashboard ({size}, {label}): page time per page (s)"
    report.sections.append((heading, table(["page", "p50", "p95", "max"], rows)))


def bench_team(report: Report, built: generate.Built, work: Path) -> None:
    size = generate.label(built.rows)
    folder = work / f"team-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copyfile(built.db, folder / "orusage.duckdb")
    shutil.copyfile(built.snapshot, folder / built.snapshot.name)
    with proc.FakeProcess(latency_s=0.0, now=generate.ANCHOR.isoformat()) as fake:
        for password in (False, True):
            _round(report, built, folder, fake, password)
    shutil.rmtree(folder, ignore_errors=True)
