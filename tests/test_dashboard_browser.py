"""The dashboard in a real browser: ``streamlit run`` on a free port, driven by Debian's Chromium.

Checks what AppTest cannot: every page loads over HTTP at the URL ``st.navigation`` gives it, every chart
is actually drawn (SVG marks), no exception box appears, the menu keeps the filters in the address bar,
a click on a model's bar opens its page, a click on a provider's bar opens its breakdown filtered to it (and
a team's bar on Explore the Teams page filtered to that team), the password gate covers every URL, and every
link of docs/dashboard.md's "Questions, answered by a link" shows the figure the tests' own SQL expects on
the demo account. One server serves all the pages of a store.
Saves a full-page screenshot per page to ``artifacts/screenshots/<page>.png``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from core import fmt
from queries.filters import range_days
from queries.store import snapshot_path
from tests.browser import ROOT, VIEWPORT, chromium, free_port, open_page, require_chromium, screenshot, streamlit_server

pytestmark = pytest.mark.browser

PASSWORD = "open sesame"
# url path -> (title, charts drawn on the demo store with the default filters)
PAGES: dict[str, tuple[str, int]] = {
    "": ("Overview", 3),
    "explore": ("Explore", 1),
    # spend, tokens, waterfall, paid vs list, cache savings, timeline, four parts, cache hit rate
    "models": ("Models", 8),
    # tokens, provider price, latency, per provider and day (6), apps, keys, waterfall
    "model": ("Model detail", 12),
    "providers": ("Providers", 6),
    "apps": ("Apps", 4),  # spend, tokens, per day, app × model (views.breakdown)
    "keys": ("API keys", 3),  # spend, tokens, per day
    "teams": ("Teams", 4),  # spend, tokens, per day, team × model (views.breakdown)
    "workspaces": ("Workspaces", 4),
    "members": ("Members", 4),
    "end-users": ("End users", 4),
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
    _open(page, f"{url}/providers?range=7d&providers=OpenAI&members=Dana+Whitfield", "Providers", 1)
    page.locator('[data-testid="stSidebarNav"] a[href$="/apps"]').click()
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Apps", timeout=30_000)
    page.wait_for_function("() => location.search.includes('range=7d')", timeout=30_000)
    want = {"range": ["7d"], "providers": ["OpenAI"], "members": ["Dana Whitfield"]}
    assert parse_qs(urlparse(page.url).query) == want
    assert urlparse(page.url).path == "/apps"
    # Provider × app × member cannot be answered: the page says so instead of ignoring a filter.
    expect(page.get_by_text("provider × app × member").first).to_be_visible(timeout=30_000)


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


def test_a_click_on_a_provider_bar_opens_its_breakdown(demo_page: tuple[str, Page]) -> None:
    url, page = demo_page
    _open(page, f"{url}/providers?range=7d", "Providers", 6)
    chart = page.locator(CHART).filter(has_text="Spend per provider").first
    chart.locator("svg.marks g.mark-rect.role-mark path").first.click()
    page.wait_for_function("() => location.search.includes('providers=')", timeout=30_000)
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Providers", timeout=30_000)
    query = parse_qs(urlparse(page.url).query)
    assert query["range"] == ["7d"] and len(query["providers"]) == 1
    page.wait_for_selector(FINISHED, state="detached", timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_click_on_a_team_bar_opens_the_teams_page_filtered_to_it(
    side: tuple[BrowserContext, int], demo_account_db: Path, demo_today: date, tmp_path: Path
) -> None:
    context, port = side
    with (
        streamlit_server(demo_account_db, demo_today, tmp_path / "streamlit.log", port) as url,
        open_page(context, url) as page,
    ):
        _open(page, f"{url}/explore?range=last-month&by=team&then=none", "Explore", 1)
        # Vega names each bar in its aria-label (its fields and values): the research team's bar.
        bar = page.locator(f"{CHART} svg.marks g.mark-rect.role-mark path[aria-label*='research']").first
        bar.click()
        page.wait_for_function("() => location.search.includes('teams=')", timeout=30_000)
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Teams", timeout=30_000)
        query = parse_qs(urlparse(page.url).query)
        assert query["range"] == ["last-month"] and query["teams"] == ["research"]
        page.wait_for_selector(FINISHED, state="detached", timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0


# ---- the docs' questions, each answered by a link on the demo account ----------------------------------------

DOCS = ROOT / "docs" / "dashboard.md"
LINK_ROW = re.compile(r"^\| (?P<question>[^|]+) \| (?P<link>http://localhost:8501/\S+) \| (?P<figure>[^|]+) \|$")


def _docs_links() -> list[tuple[str, str, str]]:
    rows = [LINK_ROW.match(line) for line in DOCS.read_text(encoding="utf-8").splitlines()]
    return [(m["question"].strip(), m["link"], m["figure"].strip()) for m in rows if m]


def _per_key(where: str) -> str:
    """Rows of the per-key tables as the routing reads them: activity per key on its days, analytics before."""
    return f"""SELECT usage + byok_usage_inference AS spend FROM activity_by_key
               WHERE date BETWEEN greatest($start, $first) AND $end {where}
               UNION ALL SELECT total_usage FROM analytics_daily WHERE dimensions = 'api_key_hash,model'
               AND date BETWEEN $start AND least($end, $first - 1) {where}"""


def _grouping(name: str, where: str = "") -> str:
    return f"""SELECT total_usage AS spend FROM analytics_daily
               WHERE dimensions = '{name}' AND date BETWEEN $start AND $end {where}"""


def _spend_sql(path: str, query: dict[str, list[str]]) -> str:
    """The rows that answer a linked view, the routing written out for each: what "Spend" sums."""
    one = {k: v[0] for k, v in query.items()}
    if path == "/members":
        member = one.get("members")
        return _grouping("user", f"AND \"user\" = '{member}'" if member else "")
    if path == "/end-users":
        return _grouping("external_user")
    if path == "/workspaces":
        return _grouping("workspace")
    if "teams" in one:  # a team of keys: its keys' spend, as a filter (Explore) and as its line (Teams)
        assert path in ("/explore", "/teams"), path
        return _per_key(f"AND api_key_hash IN (SELECT value FROM cost_centres WHERE team = '{one['teams']}')")
    assert path == "/explore", path
    by, then = one.get("by", "app"), one.get("then", "model")
    if by == "team":  # every team's line and unallocated: the account's spend
        return """SELECT usage + byok_usage_inference AS spend FROM activity
                  WHERE date BETWEEN greatest($start, $first) AND $end
                  UNION ALL SELECT total_usage FROM analytics_daily WHERE dimensions = 'model'
                  AND date BETWEEN $start AND least($end, $first - 1)"""
    pairs = {
        ("member", "model"): "model,user",
        ("member", "app"): "app,user",
        ("end_user", "model"): "model,external_user",
        ("end_user", "app"): "app,external_user",
        ("workspace", "app"): "api_key_hash,app",  # a workspace through its keys
    }
    if (by, then) == ("workspace", "model"):
        return _per_key("")
    return _grouping(pairs[(by, then)])


def _expected(con: duckdb.DuckDBPyConnection, link: str, figure: str, today: date) -> str:
    parsed = urlparse(link)
    query = parse_qs(parsed.query)
    start, end = range_days(query["range"][0], today)
    first = con.execute("SELECT min(first_day) FROM coverage WHERE source = 'activity' AND scope = ''").fetchall()[0][0]
    if figure == "Spend":
        sql = f"SELECT coalesce(sum(spend), 0) FROM ({_spend_sql(parsed.path, query)})"
        bound = {name: value for name, value in (("start", start), ("end", end), ("first", first)) if f"${name}" in sql}
        total = con.execute(sql, bound).fetchall()[0][0]
        return fmt.usd(float(total))
    model, provider = query["model"][0], query["providers"][0]
    if figure == "Latency p50":
        latest = con.execute(
            """SELECT p50_latency FROM analytics_daily WHERE dimensions = 'model,provider' AND model = ?
               AND provider = ? AND date BETWEEN ? AND ? AND p50_latency IS NOT NULL ORDER BY date DESC LIMIT 1""",
            [model, provider, start, end],
        ).fetchall()[0][0]
        return f"{latest:,.0f} ms"
    assert figure == "Uptime (last day)", figure
    uptime = con.execute(
        "SELECT avg(uptime_last_1d) FROM model_endpoints_latest WHERE model_permaslug = ? AND provider_name = ?",
        [model, provider],
    ).fetchall()[0][0]
    return f"{uptime:,.2f} %"


def _metric(page: Page, label: str) -> str:
    found = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$"))
    )
    expect(found.first).to_be_visible(timeout=60_000)
    return found.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_every_question_in_the_docs_is_answered_by_its_link(
    side: tuple[BrowserContext, int], demo_account_db: Path, demo_today: date, tmp_path: Path
) -> None:
    links = _docs_links()
    assert len(links) >= 10, "docs/dashboard.md lists the questions and their links"
    paths = {urlparse(link).path for _, link, _ in links}
    assert {"/members", "/end-users", "/workspaces", "/explore", "/model"} <= paths
    context, port = side
    con = duckdb.connect(str(snapshot_path(demo_account_db)), read_only=True)
    try:
        with (
            streamlit_server(demo_account_db, demo_today, tmp_path / "streamlit.log", port) as url,
            open_page(context, url) as page,
        ):
            for question, link, figure in links:
                page.goto(link.replace("http://localhost:8501", url), wait_until="domcontentloaded")
                page.wait_for_selector('[data-testid="stMain"] h1', timeout=60_000)
                page.wait_for_timeout(300)
                page.wait_for_selector(FINISHED, state="detached", timeout=60_000)
                shown = _metric(page, figure)
                want = _expected(con, link, figure, demo_today)
                assert shown == want, f"{question} ({link}): {figure} {shown} != {want}"
                assert page.locator('[data-testid="stException"]').count() == 0, link
                assert page.locator(CHART).count() >= 1, link
    finally:
        con.close()
