"""Shared browser-test machinery: Debian's Chromium driven by Playwright, Streamlit on a free port."""

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
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1440, "height": 1000}
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


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def streamlit_server(db: Path, today: date | None, log: Path, port: int | None = None) -> Iterator[str]:
    """Serve the app on a free port (or ``port``); stop it with SIGTERM and wait for it.

    Servers run one after another on the same ``port`` share a browser context's cache: Streamlit's
    JavaScript then loads once instead of once per server, which is most of a first page load.
    """
    port = port or free_port()
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
def chromium() -> Iterator[Browser]:
    """One headless Chromium; Playwright's sync API allows only one at a time per thread, so tests that
    need several pages or servers share it."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Browser | BrowserContext, url: str) -> Iterator[Page]:
    page = browser.new_page(viewport=VIEWPORT) if isinstance(browser, Browser) else browser.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)
        yield page
    finally:
        page.close()


@contextmanager
def browser_page(url: str) -> Iterator[Page]:
    with chromium() as browser, open_page(browser, url) as page:
        yield page


def wait_finished(page: Page) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    # The status widget shows while the script runs; wait for it to show up (or not) and then go.
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def screenshot(page: Page, name: str) -> None:
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
