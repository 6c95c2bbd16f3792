"""`orusage demo` as a new user runs it: fake OpenRouter → real ingest over HTTP → dashboard, in a real
browser. No key, no network."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser import browser_page, free_port, require_chromium, screenshot, wait_finished
from tests.helpers import query

pytestmark = pytest.mark.browser


def test_demo_serves_a_drawn_dashboard_within_two_minutes(tmp_path: Path) -> None:
    require_chromium()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    log = tmp_path / "demo.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orusage.cli", "demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            assert proc.poll() is None, f"demo exited with {proc.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() - started < 120, f"demo not serving after 2 minutes:\n{log.read_text()}"
            time.sleep(0.3)
        text = log.read_text()
        assert "ingest ok" in text and "Demo data ready" in text
        db = tmp_path / "data" / "openrouter-usage" / "demo.duckdb"
        assert query(db, "SELECT count(DISTINCT date) FROM activity")[0][0] == 30
        # The demo's budgets were checked by the real `alerts check` and are what the Budgets page shows.
        assert "alerts ok: 4 budgets checked" in text
        budgets = dict(query(db, "SELECT budget, spend_usd FROM budget_status"))
        assert set(budgets) == {"account", "claude", "research", "support"} and budgets["account"] > 0
        # The live feed: the fake posted yesterday's and today's traces (two lost), which the ingest merged.
        posted = int(text.split("Broadcast: the fake posted ", 1)[1].split(" ", 1)[0])
        assert query(db, "SELECT count(received_at) FROM generations") == [(posted,)]
        with browser_page(url) as page:
            wait_finished(page)
            page.wait_for_function(
                """() => document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks').length >= 3""",
                timeout=60_000,
            )
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            for i in range(charts.count()):
                assert charts.nth(i).locator("svg.marks .mark-rect path").count() > 0
            assert page.locator('[data-testid="stException"]').count() == 0
            screenshot(page, "demo-overview.png")
            page.goto(f"{url}/budgets")
            wait_finished(page)
            page.get_by_text("research: $", exact=False).first.wait_for(timeout=30_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            screenshot(page, "demo-budgets.png")
            page.goto(f"{url}/health")
            wait_finished(page)
            page.get_by_text("missing traces on 1 day(s)", exact=False).first.wait_for(timeout=30_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            screenshot(page, "demo-health.png")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
