"""The dashboard in a real browser: ``streamlit run`` on a free port, driven by Debian's Chromium.

Checks what AppTest cannot: every page loads over HTTP at the URL ``st.navigation`` gives it, every chart
is actually drawn (SVG marks), no exception box appears, the menu keeps the filters in the address bar,
a click on a model's bar opens its page, and the password gate covers every URL. One server serves all
the pages of a store. Saves a full-page screenshot per page to ``artifacts/screenshots/<page>.png``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import VIEWPORT, chromium, free_port, open_page, require_chromium, screenshot, streamlit_server

pytestmark = pytest.mark.browser

PASSWORD = "open sesame"
# url path -> (title, charts drawn on the demo store with the default filters)
PAGES: dict[str, tuple[str, int]] = {
    "": ("Overview", 3),
    "models": ("Models", 6),  # spend, tokens, waterfall, paid vs list, cache savings, timeline
    "model": ("Model detail", 6),  # tokens, provider price, latency, apps, keys, waterfall
    "providers": ("Providers", 6),
    "apps": ("Apps", 4),  # spend, tokens, per day, app × model (views.breakdown)
    "keys": ("API keys", 3),  # spend, tokens, per day
    "generations": ("Generations", 0),
    "weekly": ("Weekly review", 6),  # bridge, model parts, daily, movers, waterfall, what-if
    "budgets": ("Budgets", 0),
    "health": ("Data health", 1),
}
CHART = '[data-testid="stVegaLiteChart"]'
MARKS = "svg.marks g.role-mark > *"  # drawn marks; axes, legends and titles have other roles
FINISHED = '[data-testid="stStatusWidget"]'  # shown while the script runs


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with chromium() as shared:
        yield shared


@pytest.fixture(scope="module")
def side(browser: Browser) -> Iterator[tuple[BrowserContext, int]]:
    """For the servers other than the demo one: one browser context and one port, used in turn."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context, free_port()
    context.close()


@pytest.fixture(scope="module")
def demo_page(
    browser: Browser, demo_db: Path, demo_today: date, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Page]]:
    """One server for every page of the demo store, one browser tab going from page to page."""
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with streamlit_server(demo_db, demo_today, log) as url, open_page(browser, url) as page:
        yield url, page


DRAWN = """([sel, n]) => [...document.querySelectorAll(sel)].filter(c => c.querySelector('svg.marks')).length >= n"""


def _open(page: Page, url: str, title: str, charts: int) -> None:
    """Open a URL and wait until the page's title is there, its charts drawn and its script finished."""
    page.goto(url, wait_until="domcontentloaded")
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(title, timeout=60_000)
    if charts:
        page.wait_for_function(DRAWN, arg=[CHART, charts], timeout=60_000)
    page.wait_for_selector(FINISHED, state="detached", timeout=60_000)


@pytest.mark.parametrize("path", list(PAGES), ids=[p or "overview" for p in PAGES])
def test_every_page_draws_every_chart(demo_page: tuple[str, Page], path: str) -> None:
    url, page = demo_page
    title, expected = PAGES[path]
    _open(page, f"{url}/{path}", title, expected)
    charts = page.locator(CHART)
    assert charts.count() == expected
    for i in range(expected):
        assert charts.nth(i).locator(MARKS).count() > 0, f"{title}: chart {i} has no marks"
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("All days are UTC").count() >= 1
    assert page.locator('[data-testid="stDownloadButton"]').count() >= expected
    assert "range=30d" in page.url, "the address bar holds the filters"
    screenshot(page, f"{path or 'overview'}.png")
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_generations_table_pages_on_the_server_and_a_row_opens_its_details(demo_page: tuple[str, Page]) -> None:
    url, page = demo_page
    _open(page, f"{url}/generations?sort=spend&rows=25", "Generations", 0)
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible(timeout=30_000)
    expect(page.get_by_text("generations match").first).to_be_visible()
    assert parse_qs(urlparse(page.url).query) == {"range": ["30d"], "sort": ["spend"], "rows": ["25"]}
    # The grid is a canvas: click the first data row's selection cell (left edge, below the header row).
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
    expect(page.locator('[data-testid="stMain"] h4').filter(has_text="gen-").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Who and where").first).to_be_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "generations-detail.png")


def test_the_menu_keeps_the_filters(demo_page: tuple[str, Page]) -> None:
    url, page = demo_page
    _open(page, f"{url}/providers?range=7d&providers=OpenAI", "Providers", 1)
    page.locator('[data-testid="stSidebarNav"] a[href$="/apps"]').click()
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Apps", timeout=30_000)
    page.wait_for_function("() => location.search.includes('range=7d')", timeout=30_000)
    assert parse_qs(urlparse(page.url).query) == {"range": ["7d"], "providers": ["OpenAI"]}
    assert urlparse(page.url).path == "/apps"
    # Provider × app cannot be answered: the page says so instead of ignoring the filter.
    expect(page.get_by_text("provider × app").first).to_be_visible(timeout=30_000)


def test_a_click_on_a_model_bar_opens_its_page(demo_page: tuple[str, Page]) -> None:
    url, page = demo_page
    _open(page, f"{url}/?range=7d", "Overview", 3)
    chart = page.locator(CHART).filter(has_text="Spend per model").first
    bar = chart.locator("svg.marks g.mark-rect.role-mark path").first
    bar.click()
    page.wait_for_function("() => location.pathname.endsWith('/model')", timeout=30_000)
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Model detail", timeout=30_000)
    query = parse_qs(urlparse(page.url).query)
    assert query["range"] == ["7d"] and query["model"][0]


def test_empty_store_says_what_to_run(side: tuple[BrowserContext, int], empty_db: Path, tmp_path: Path) -> None:
    context, port = side
    with streamlit_server(empty_db, None, tmp_path / "streamlit.log", port) as url, open_page(context, url) as page:
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("No data yet", timeout=60_000)
        main = page.locator('[data-testid="stMain"]')
        # Code blocks are highlighted (and so filled in) a moment after the page itself: let expect() retry.
        for text in ("orusage ingest", "OPENROUTER_MANAGEMENT_KEY", "orusage demo"):
            expect(main).to_contain_text(text, timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator(CHART).count() == 0
        screenshot(page, "overview-empty.png")


def test_the_password_gate_covers_every_page(
    side: tuple[BrowserContext, int], demo_db: Path, demo_today: date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, port = side
    monkeypatch.setitem(os.environ, "ORUSAGE_DASHBOARD_PASSWORD", PASSWORD)
    with (
        streamlit_server(demo_db, demo_today, tmp_path / "streamlit.log", port) as url,
        open_page(context, f"{url}/?range=7d") as page,
    ):
        for path in PAGES:
            page.goto(f"{url}/{path}?range=7d", wait_until="domcontentloaded")
            expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Password required", timeout=60_000)
            page.wait_for_selector(FINISHED, state="detached", timeout=60_000)
            assert page.locator(CHART).count() == 0
            assert page.locator('[data-testid="stMetric"]').count() == 0
            assert page.locator('[data-testid="stDownloadButton"]').count() == 0
            assert page.locator('[data-testid="stSidebarNav"]').count() == 0
            assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "password-gate.png")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Open the dashboard").click()
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Data health", timeout=60_000)
        page.wait_for_selector(f"{CHART} svg.marks", timeout=60_000)
        assert "range=7d" in page.url
