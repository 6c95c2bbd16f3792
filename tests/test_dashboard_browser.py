"""The dashboard in a real browser: ``streamlit run`` on a free port, driven by Debian's Chromium.

Checks what AppTest cannot: the page loads over HTTP, every chart is actually drawn (SVG marks), and no
exception box appears. Saves a full-page screenshot to ``artifacts/screenshots/`` for people to look at.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import browser_page, require_chromium, screenshot, streamlit_server, wait_finished

pytestmark = pytest.mark.browser

CHARTS = 3  # tokens per day, spend per day, spend per model


def test_overview_draws_every_chart(demo_db: Path, demo_today: date, tmp_path: Path) -> None:
    require_chromium()
    with streamlit_server(demo_db, demo_today, tmp_path / "streamlit.log") as url, browser_page(url) as page:
        wait_finished(page)
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
        screenshot(page, "overview.png")


def test_empty_store_says_what_to_run(empty_db: Path, tmp_path: Path) -> None:
    require_chromium()
    with streamlit_server(empty_db, None, tmp_path / "streamlit.log") as url, browser_page(url) as page:
        wait_finished(page)
        page.get_by_text("No data yet").first.wait_for(timeout=60_000)
        main = page.locator('[data-testid="stMain"]')
        # Code blocks are highlighted (and so filled in) a moment after the page itself: let expect() retry.
        for text in ("orusage ingest", "OPENROUTER_MANAGEMENT_KEY", "orusage demo"):
            expect(main).to_contain_text(text, timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stVegaLiteChart"]').count() == 0
        screenshot(page, "overview-empty.png")
