"""The live feed in a real browser: a generation the fake bills and posts through Broadcast appears on an
already open Generations page within 60 s, with nothing but the real path in between (`orusage receive`
in its own process, its spool and merge, the published snapshot, the page's timed re-read)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from fake_openrouter.dataset import build
from fake_openrouter.server import FakeServer
from queries.store import snapshot_path
from tests.browser import browser_page, require_chromium, screenshot, streamlit_server, wait_finished
from tests.fake_fixtures import FAKE_NOW, start_fake

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token-9d1c"
WITHIN_S = 60


@pytest.fixture
def own_fake() -> Iterator[FakeServer]:
    server = start_fake(build(FAKE_NOW))  # billing adds rows: a data set of its own
    yield server
    server.stop()


@pytest.fixture
def receiving(synthetic_db: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the synthetic store and `orusage receive` on it (its URL), merging every 2 s."""
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(synthetic_db, db)
    shutil.copyfile(snapshot_path(synthetic_db), snapshot_path(db))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update({"ORUSAGE_DB": str(db), "ORUSAGE_RECEIVE_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"})
    cwd = tmp_path / "cwd"  # empty: no stray .env is read
    cwd.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orusage.cli", "receive", "--port", "0", "--every", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        found = re.search(r"at (http://\S+/v1/traces)", line)
        assert found, f"the receiver did not start: {line!r}"
        yield db, found.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


def test_a_billed_generation_appears_on_the_open_generations_page(
    own_fake: FakeServer, receiving: tuple[Path, str], synthetic_today: date, tmp_path: Path
) -> None:
    require_chromium()
    db, url = receiving
    own_fake.broadcast_to(url, token=TOKEN)
    with (
        streamlit_server(db, synthetic_today, tmp_path / "streamlit.log") as app,
        browser_page(f"{app}/generations") as page,
    ):
        wait_finished(page)
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Generations", timeout=60_000)
        assert page.get_by_text("Live feed").count() == 0  # nothing received yet: no panel at all

        (gen_id,), report = own_fake.bill(1, trace={"project": "browser-live"})
        billed = time.monotonic()
        assert report.statuses == {200: 1}
        # Playwright polls the page until the text shows up: no sleep tuned to luck.
        expect(page.get_by_text(gen_id).first).to_be_visible(timeout=WITHIN_S * 1000)
        took = time.monotonic() - billed
        expect(page.get_by_text("Live feed").first).to_be_visible()
        expect(page.get_by_text("project=browser-live").first).to_be_visible()
        assert page.locator('[data-testid="stException"]').count() == 0
        assert took < WITHIN_S
        screenshot(page, "generations-live-feed.png")
