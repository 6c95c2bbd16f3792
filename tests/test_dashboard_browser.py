"""The dashboard in a real browser: ``streamlit run`` on a free port, driven by Debian's Chromium.

Checks what AppTest cannot: the page loads over HTTP, every chart is actually drawn (SVG marks), and no
exception box appears. Saves a full-page screenshot to ``artifacts/screenshots/`` for people to look at.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download is unavailable here; Debian's chromium needs these to run headless.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = 3  # tokens per day, spend per day, spend per model


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _streamlit(db: Path, today: date | None, log: Path) -> Iterator[str]:
    """Serve the app on a free port; stop it with SIGTERM (it needs ~2.3 s) and wait for it."""
    port = _free_port()
    env = {**os.environ, "ORUSAGE_DB": str(db), "PYTHONUNBUFFERED": "1"}
    env.pop("ORUSAGE_TODAY", None)
    if today is not None:
        env["ORUSAGE_TODAY"] = today.isoformat()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not come up in 60 s:\n{log.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def _page(url: str) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            yield page
        finally:
            browser.close()


def _wait_finished(page: Page) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    # The status widget shows while the script runs; wait for it to show up (or not) and then go.
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def _screenshot(page: Page, name: str) -> None:
    """Full page: Streamlit scrolls inside its main container, so grow the viewport to fit it first."""
    height = page.evaluate(
        """() => Math.max(document.body.scrollHeight,
                ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
                    .map(el => el.scrollHeight))"""
    )
    page.set_viewport_size({"width": 1440, "height": max(1000, int(height) + 40)})
    page.wait_for_timeout(500)  # let charts re-layout at the new size
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_overview_draws_every_chart(demo_db: Path, demo_today: date, tmp_path: Path) -> None:
    _require_chromium()
    with _streamlit(demo_db, demo_today, tmp_path / "streamlit.log") as url, _page(url) as page:
        _wait_finished(page)
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.first.wait_for(timeout=60_000)
        page.wait_for_function(
            """n => document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks').length >= n""",
            arg=CHARTS,
            timeout=60_000,
        )
        assert charts.count() == CHARTS
        for i in range(CHARTS):
            chart = charts.nth(i)
            # Bars are drawn as paths inside mark groups; an empty chart would have axes only.
            chart.locator("svg.marks").wait_for(timeout=30_000)
            bars = chart.locator("svg.marks .mark-rect path")
            assert bars.count() > 0, f"chart {i} has no bars"
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("All days are UTC").count() >= 1
        assert page.get_by_text("Tokens per day").count() >= 1
        metrics = page.locator('[data-testid="stMetric"]')
        assert metrics.count() == 4
        assert "openrouter-usage" in page.title()
        _screenshot(page, "overview.png")


def test_empty_store_says_what_to_run(empty_db: Path, tmp_path: Path) -> None:
    _require_chromium()
    with _streamlit(empty_db, None, tmp_path / "streamlit.log") as url, _page(url) as page:
        _wait_finished(page)
        page.get_by_text("No data yet").first.wait_for(timeout=60_000)
        main = page.locator('[data-testid="stMain"]')
        # Code blocks are highlighted (and so filled in) a moment after the page itself: let expect() retry.
        for text in ("orusage ingest", "OPENROUTER_MANAGEMENT_KEY", "orusage demo"):
            expect(main).to_contain_text(text, timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stVegaLiteChart"]').count() == 0
        _screenshot(page, "overview-empty.png")
