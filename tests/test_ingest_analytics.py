"""A year of history through analytics, over real HTTP against the fake, clock pinned."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.errors import OrusageError
from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from ingest.analytics import loader as loader_module
from ingest.analytics.catalog import GROUPINGS
from ingest.analytics.hourly import HOURLY_GROUPINGS
from ingest.analytics.loader import AnalyticsLoader, Piece
from ingest.analytics.plan import Request
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from queries.store import Writer
from tests.fake_fixtures import MANAGEMENT_KEY, start_fake
from tests.helpers import fact_tables, query, same_rows

CLOCK = datetime(2026, 11, 20, 15, 30)
TODAY = CLOCK.date()
FIRST = TODAY - timedelta(days=364)


class VirtualClock:
    """Seconds that pass only when someone sleeps: pacing and the fake's rate limit share it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def client(server: FakeServer, clock: VirtualClock | None = None) -> OpenRouterClient:
    sleep = clock.sleep if clock else (lambda s: None)
    return OpenRouterClient(server.base_url, SecretStr(MANAGEMENT_KEY), retries=3, backoff=0.01, sleep=sleep)


def ingest(db: Path, server: FakeServer, clock: VirtualClock | None = None, rate: int = 10_000) -> None:
    pacer = Pacer(rate, clock=clock, sleep=clock.sleep) if clock else Pacer(rate)
    with Writer(db) as writer, client(server, clock) as c:
        run_ingest(writer, c, clock=lambda: CLOCK, pacer=pacer)


@pytest.fixture(scope="module")
def analytics_fake(fake_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(fake_dataset)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def backfill(analytics_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, frozenset[int]]:
    """The store, and the statuses of the backfill's analytics queries, read when it ran: other tests of the
    module inject faults into the same server and clear its log, in any order (found by a random-order run,
    seed 3347227295)."""
    db = tmp_path_factory.mktemp("analytics") / "orusage.duckdb"
    analytics_fake.clear_requests()
    ingest(db, analytics_fake)
    return db, frozenset(r.status for r in analytics_fake.requests if r.endpoint == "/analytics/query")


@pytest.fixture(scope="module")
def backfilled(backfill: tuple[Path, frozenset[int]]) -> Path:
    return backfill[0]


def truth(ds: Dataset, group_sql: str, first: date = FIRST) -> list[tuple[object, ...]]:
    return ds.con.execute(
        f"""SELECT CAST(created_at AS DATE) AS d, {group_sql} AS g, count(*),
                   sum(usage + byok_usage_inference), sum(native_tokens_prompt)
            FROM generations WHERE CAST(created_at AS DATE) BETWEEN ? AND ?
            GROUP BY ALL ORDER BY ALL""",
        [first, TODAY - timedelta(days=1)],
    ).fetchall()


def stored(db: Path, dimensions: str, column: str) -> list[tuple[object, ...]]:
    return query(
        db,
        f"""SELECT date, {column}, sum(request_count), sum(total_usage), sum(tokens_prompt)
            FROM analytics_daily WHERE dimensions = ? GROUP BY ALL ORDER BY ALL""",
        [dimensions],
    )


def test_a_year_per_model_equals_the_fakes_own(backfilled: Path, fake_dataset: Dataset) -> None:
    rows = stored(backfilled, "model", "model")
    assert same_rows(rows, truth(fake_dataset, "model_permaslug"))
    assert min(r[0] for r in rows) == FIRST and max(r[0] for r in rows) == TODAY - timedelta(days=1)


def test_per_app_with_an_unattributed_bucket(backfilled: Path, fake_dataset: Dataset) -> None:
    app_label = "coalesce(nullif(app_name, ''), 'unattributed')"
    assert same_rows(stored(backfilled, "model,app", "app"), truth(fake_dataset, app_label))
    assert query(backfilled, "SELECT count(*) FROM analytics_daily WHERE app = 'unattributed'")[0][0] > 0


def test_per_key_rows_carry_hashes_and_equal_the_fakes_own(backfilled: Path, fake_dataset: Dataset) -> None:
    assert same_rows(stored(backfilled, "api_key_hash,model", "api_key_hash"), truth(fake_dataset, "api_key_hash"))


def test_per_workspace_and_provider(backfilled: Path, fake_dataset: Dataset) -> None:
    per_workspace = stored(backfilled, "workspace", "workspace")
    assert len({r[1] for r in per_workspace}) >= 2
    assert sum(r[2] for r in per_workspace) == sum(r[2] for r in truth(fake_dataset, "workspace_id"))
    short_first = TODAY - timedelta(days=30)
    providers = stored(backfilled, "model,provider", "provider")
    assert min(r[0] for r in providers) == short_first  # the 31-day reach, never beyond
    assert same_rows(providers, truth(fake_dataset, "provider_name", short_first))


SHORT_FIRST = TODAY - timedelta(days=30)
APP = "coalesce(nullif(app_name, ''), 'unattributed')"
USER = "coalesce(nullif(user_name, ''), 'unattributed')"
END_USER = "coalesce(nullif(external_user, ''), 'unattributed')"


@pytest.mark.parametrize(
    "dimensions,stored_sql,truth_sql,first",
    [
        ("app,provider", "app || '|' || provider", f"{APP} || '|' || provider_name", SHORT_FIRST),
        ("model,user", "model || '|' || \"user\"", f"model_permaslug || '|' || {USER}", FIRST),
        ("app,user", "app || '|' || \"user\"", f"{APP} || '|' || {USER}", FIRST),
        ("provider,user", "provider || '|' || \"user\"", f"provider_name || '|' || {USER}", SHORT_FIRST),
        ("model,external_user", "model || '|' || external_user", f"model_permaslug || '|' || {END_USER}", SHORT_FIRST),
        ("app,external_user", "app || '|' || external_user", f"{APP} || '|' || {END_USER}", SHORT_FIRST),
        ("provider,external_user", "provider || '|' || external_user", f"provider_name || '|' || {END_USER}",
         SHORT_FIRST),
        ("user,external_user", "\"user\" || '|' || external_user", f"{USER} || '|' || {END_USER}", SHORT_FIRST),
        ("api_key_hash,app", "api_key_hash || '|' || app", f"api_key_hash || '|' || {APP}", FIRST),
        ("api_key_hash,user", "api_key_hash || '|' || \"user\"", f"api_key_hash || '|' || {USER}", FIRST),
        ("api_key_hash,external_user", "api_key_hash || '|' || external_user", f"api_key_hash || '|' || {END_USER}",
         SHORT_FIRST),
    ],
)  # fmt: skip
def test_two_dimension_pairs_equal_the_fakes_own(
    backfilled: Path, fake_dataset: Dataset, dimensions: str, stored_sql: str, truth_sql: str, first: date
) -> None:
    """The pairs ``ingest.analytics.pairs`` keeps: every day of their reach (a year, or 31 days when a
    dimension is per request), per key filtered by its hash, members and apps by their labels."""
    rows = stored(backfilled, dimensions, stored_sql)
    want = fake_dataset.con.execute(
        f"""SELECT CAST(created_at AS DATE) AS d, {truth_sql} AS g, count(*), sum(usage + byok_usage_inference),
                   sum(native_tokens_prompt)
            FROM analytics_generations WHERE CAST(created_at AS DATE) BETWEEN ? AND ?
            GROUP BY ALL ORDER BY ALL""",
        [first, TODAY - timedelta(days=1)],
    ).fetchall()
    assert same_rows(rows, want)
    assert min(r[0] for r in rows) == first


def test_analytics_agree_with_activity_where_both_cover(backfilled: Path) -> None:
    both = query(
        backfilled,
        """SELECT a.date, a.model_permaslug, a.requests, a.spend, n.request_count, n.spend
           FROM daily_spend_by_model a JOIN analytics_spend_by_model n
             ON n.date = a.date AND n.model = a.model_permaslug""",
    )
    assert len(both) > 100
    for _, _, requests, spend, n_requests, n_spend in both:
        assert requests == n_requests and spend == pytest.approx(n_spend)


def test_short_metrics_reach_31_days(backfilled: Path) -> None:
    rows = query(
        backfilled,
        """SELECT min(date) FILTER (p50_latency IS NOT NULL), count(*) FILTER (date < ? AND p50_latency IS NOT NULL)
           FROM analytics_daily WHERE dimensions = 'model'""",
        [TODAY - timedelta(days=30)],
    )
    assert rows == [(TODAY - timedelta(days=30), 0)]


def test_truncated_answers_were_split_and_no_request_broke_a_limit(backfill: tuple[Path, frozenset[int]]) -> None:
    db, statuses = backfill
    pieces = query(db, "SELECT count(*) FROM coverage WHERE dimensions = 'model,app' AND metrics = 'long'")
    assert pieces[0][0] > 1  # a year of model × app does not fit in 10,000 rows
    assert statuses == {200}  # never 400 (≤ 2 dimensions, 31-day reach) nor 429


def test_nothing_new_means_only_the_hourly_queries(backfilled: Path, analytics_fake: FakeServer) -> None:
    """Every daily figure is final: no daily query; only today's and yesterday's hours, one query per grouping
    (model, provider, app, member), which every run asks for (today for every scope)."""
    before = fact_tables(backfilled)
    analytics_fake.clear_requests()
    ingest(backfilled, analytics_fake)
    assert analytics_fake.request_count("/analytics/query") == len(HOURLY_GROUPINGS)
    assert fact_tables(backfilled) == before


@pytest.mark.slow
def test_quirks_mode_gives_the_same_numbers(backfilled: Path, fake_quirks: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "quirks.duckdb"
    ingest(db, fake_quirks)
    for dimensions, column in (("model", "model"), ("model,app", "app"), ("workspace", "workspace")):
        assert same_rows(stored(db, dimensions, column), stored(backfilled, dimensions, column))
    types = query(db, "SELECT typeof(request_count), typeof(total_usage) FROM analytics_daily LIMIT 1")
    assert types == [("BIGINT", "DOUBLE")]


@pytest.mark.slow
def test_pacing_keeps_under_the_limit_on_the_fakes_clock(fake_dataset: Dataset, tmp_path: Path) -> None:
    clock = VirtualClock()
    # The real limit is 64 a minute and a backfill here needs about 90 queries: scale both down so the
    # run needs several minutes of (virtual) time.
    server = FakeServer(fake_dataset, clock=clock, analytics_rate_per_minute=16).start()
    try:
        ingest(tmp_path / "paced.duckdb", server, clock=clock, rate=15)
        analytics = [r for r in server.requests if r.endpoint == "/analytics/query"]
    finally:
        server.stop()
    assert len(analytics) > 2 * 16 and {r.status for r in analytics} == {200}  # minutes' worth, never a 429
    assert clock.now - 1000.0 >= 60.0 * (len(analytics) // 15 - 1)


def test_an_unknown_key_hash_is_a_warning_not_a_crash(analytics_fake: FakeServer) -> None:
    per_key = next(g for g in GROUPINGS if g.per_key)
    request = Request(per_key, "0" * 64, "long", TODAY - timedelta(days=3), TODAY - timedelta(days=1))
    with client(analytics_fake) as c:
        pieces = list(AnalyticsLoader(c, Pacer(1000), TODAY).fetch(request))
    assert len(pieces) == 1 and pieces[0].rows == [] and pieces[0].warnings


def _per_day(pieces: list[Piece]) -> dict[date, int]:
    found: dict[date, int] = {}
    for piece in pieces:
        for row in piece.rows:
            found[row["date"]] = found.get(row["date"], 0) + int(row["request_count"])
    return found


def _truth_per_day(ds: Dataset) -> dict[date, int]:
    rows = ds.con.execute(
        """SELECT CAST(created_at AS DATE), count(*) FROM generations
           WHERE CAST(created_at AS DATE) BETWEEN ? AND ? GROUP BY 1""",
        [FIRST, TODAY - timedelta(days=1)],
    ).fetchall()
    return {d: int(n) for d, n in rows}


def _model_app_year(analytics_fake: FakeServer) -> tuple[list[Piece], int]:
    grouping = next(g for g in GROUPINGS if g.name == "model,app")
    request = Request(grouping, "", "long", FIRST, TODAY - timedelta(days=1))
    analytics_fake.clear_requests()
    with client(analytics_fake) as c:
        pieces = list(AnalyticsLoader(c, Pacer(100_000), TODAY).fetch(request))
    return pieces, analytics_fake.request_count("/analytics/query")


def test_a_truncated_answer_is_kept_and_the_next_query_starts_where_it_stopped(
    analytics_fake: FakeServer, fake_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers cut at 400 rows: each keeps its whole days (newest first) and the next query asks again from the
    day it stopped in, so every day arrives in full and whole, and no answer is thrown away."""
    monkeypatch.setattr(loader_module, "MAX_ROWS", 400)
    pieces, queries = _model_app_year(analytics_fake)
    spans = sorted((p.first_day, p.last_day) for p in pieces)
    assert spans[0][0] == FIRST and spans[-1][1] == TODAY - timedelta(days=1)
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in itertools.pairwise(spans)), "no gap, no overlap"
    assert _per_day(pieces) == _truth_per_day(fake_dataset)
    rows = sum(len(p.rows) for p in pieces)
    widest_day = max(Counter(r["date"] for p in pieces for r in p.rows).values())
    assert queries == len(pieces) and queries <= rows // (400 - widest_day) + 1, "every answer was used"


def test_answers_in_another_order_are_halved_as_before(
    analytics_fake: FakeServer, fake_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the API ignore the order asked for, a truncated answer's days cannot be trusted whole: the range
    is halved until each half fits, and every day still arrives in full."""
    monkeypatch.setattr(loader_module, "MAX_ROWS", 400)
    real = loader_module.query_body

    def unordered(request: Request, first_day: date, last_day: date) -> dict[str, object]:
        return {**real(request, first_day, last_day), "order_by": {"field": "request_count", "direction": "desc"}}

    monkeypatch.setattr(loader_module, "query_body", unordered)
    pieces, queries = _model_app_year(analytics_fake)
    assert _per_day(pieces) == _truth_per_day(fake_dataset)
    assert queries > len(pieces), "the truncated answers were asked again in halves"


def test_a_failed_query_fetched_ahead_fails_the_run_and_nothing_more_is_asked(
    analytics_fake: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "failed.duckdb"
    analytics_fake.clear_requests()
    analytics_fake.add_fault("/analytics/query", "status", times=1, code=500)
    with (
        pytest.raises(OrusageError) as failed,
        Writer(db) as writer,
        OpenRouterClient(analytics_fake.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as c,
    ):
        run_ingest(writer, c, clock=lambda: CLOCK, pacer=Pacer(100_000))
    assert failed.value.exit_code == 4
    assert analytics_fake.request_count("/analytics/query") == 1, "the fetching thread stopped at the failure"
    assert query(db, "SELECT status FROM ingest_runs") == [("failed",)]
