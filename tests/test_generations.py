"""Per-generation records over real HTTP against the fake: listing (split while truncated), fetching (the
early 404, the rate, the cap, no refetch), every field stored, identities learned. Clock pinned."""

from __future__ import annotations

import bisect
import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.generations import plan
from ingest.generations.fetch import rate_pacer
from ingest.generations.job import GenerationOptions, GenerationsResult, run_generations
from ingest.generations.listing import Lister
from ingest.job import run_ingest
from ingest.pacing import Pacer
from ingest.progress import QuietReporter
from queries.store import Writer
from tests.fake_fixtures import MANAGEMENT_KEY, FakeClock, start_clocked_fake, start_fake
from tests.helpers import query, same_rows

NOW = datetime(2026, 11, 20, 15, 30)
START = datetime(2026, 11, 18)  # the default window: two completed days and today so far
FAST = GenerationOptions(rate=10_000, fresh_backoff=0.01)


def client(server: FakeServer, sleep: Any = None) -> OpenRouterClient:
    return OpenRouterClient(
        server.base_url, SecretStr(MANAGEMENT_KEY), retries=2, backoff=0.01, sleep=sleep or (lambda s: None)
    )


def generations(db: Path, server: FakeServer, options: GenerationOptions = FAST, **kw: Any) -> GenerationsResult:
    with Writer(db) as writer, client(server, kw.get("sleep")) as c:
        return run_generations(
            writer, c, options, clock=lambda: NOW, reporter=QuietReporter(), analytics_pacer=Pacer(10_000), **kw
        )


def truth(ds: Dataset, sql: str, start: datetime = START, end: datetime = NOW) -> list[tuple[Any, ...]]:
    return ds.con.execute(sql.format(where="created_at >= ? AND created_at < ?"), [start, end]).fetchall()


@pytest.fixture(scope="module")
def server(fake_dataset: Dataset) -> Iterator[FakeServer]:
    fake = start_fake(fake_dataset)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def prepared(server: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with keys, models and activity (what the step finds when run_ingest calls it)."""
    db = tmp_path_factory.mktemp("prepared") / "orusage.duckdb"
    with Writer(db) as writer, client(server) as c:
        run_ingest(writer, c, clock=lambda: NOW, analytics=False, pacer=Pacer(100_000))
    return db


def copy_of(prepared: Path, tmp_path: Path) -> Path:
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(prepared, db)
    return db


@pytest.fixture(scope="module")
def fetched(server: FakeServer, prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The step run once through run_ingest, as `orusage ingest` runs it; (db, /generation calls made)."""
    db = copy_of(prepared, tmp_path_factory.mktemp("fetched"))
    before = server.request_count("/generation")
    with Writer(db) as writer, client(server) as c:
        result = run_ingest(writer, c, clock=lambda: NOW, analytics=False, generations=FAST, pacer=Pacer(100_000))
    assert result.generations is not None and result.generations.fetched > 500
    return db, server.request_count("/generation") - before


# --- listing ------------------------------------------------------------------------------------------------


def test_listing_splits_truncated_windows_until_everything_is_listed(server: FakeServer, fake_dataset: Dataset) -> None:
    with client(server) as c:
        listing = Lister(c, Pacer(10_000), page_limit=100).list(START, NOW)
    expected = {r[0] for r in truth(fake_dataset, "SELECT id FROM generations WHERE {where}")}
    assert set(listing.ids) == expected and len(expected) > 800
    assert listing.queries > 2 * (len(expected) // 100)  # two groupings, each split into pieces under 100 rows
    assert not listing.incomplete_days and not listing.warnings
    hours = truth(
        fake_dataset, "SELECT id, date_trunc('hour', created_at), app_name, api_key_name FROM generations WHERE {where}"
    )
    assert {(i, h, a, k) for i, h, a, k in hours} == {
        (g.id, g.hour, g.app_label, g.key_label) for g in listing.ids.values()
    }


def test_the_widest_listing_stays_within_the_api_limits(server: FakeServer, fake_dataset: Dataset) -> None:
    start, end = plan.window(NOW, 30)  # 30 completed days and today: the 31 days the dimension reaches
    server.clear_requests()
    with client(server) as c:
        listing = Lister(c, Pacer(10_000), page_limit=2_500).list(start, end)
    assert len(listing.ids) == len(truth(fake_dataset, "SELECT id FROM generations WHERE {where}", start, end))
    assert {r.status for r in server.requests if r.endpoint == "/analytics/query"} == {200}  # reach, ≤ 10,000


def test_window_and_plan_rules() -> None:
    assert plan.window(NOW, 2) == (START, NOW)
    assert plan.complete_days(START, NOW) == [date(2026, 11, 18), date(2026, 11, 19)]
    assert plan.complete_days(datetime(2026, 11, 18, 0, 1), NOW) == [date(2026, 11, 19)]
    with pytest.raises(ValueError):
        plan.window(NOW, 31)
    hour = datetime(2026, 11, 19, 10)
    listed = [plan.Listed(f"gen-{i}", hour + timedelta(hours=i % 3)) for i in range(10)]
    todo, left = plan.to_fetch(listed, {"gen-0"}, cap=4)
    assert [g.id for g in todo] == ["gen-3", "gen-6", "gen-9", "gen-1"] and left == 5  # oldest first
    runs = plan.covered_runs(listed, {g.id for g in listed}, [date(2026, 11, 18), date(2026, 11, 19)])
    assert runs == [(date(2026, 11, 18), date(2026, 11, 19))]
    assert plan.covered_runs(listed, set(), [date(2026, 11, 18), date(2026, 11, 19)]) == [
        (date(2026, 11, 18), date(2026, 11, 18))
    ]
    names = {"prod": ["a"], "shared": ["b", "c"]}
    assert plan.resolve_key("prod", names) == "a" and plan.resolve_key("shared", names) is None
    assert plan.ambiguous_labels([plan.Listed("g", hour, key_label="shared")], names) == {"shared"}


# --- fetching -----------------------------------------------------------------------------------------------


API_FIELDS = (
    "id, created_at, model, model_permaslug, provider_name, endpoint_id, api_key_hash, workspace_id, app_id, "
    "coalesce(origin, '') AS origin, http_referer, external_user, api_type, tokens_prompt, tokens_completion, "
    "native_tokens_prompt, native_tokens_completion, native_tokens_reasoning, native_tokens_cached, usage, "
    "total_cost, byok_usage_inference, upstream_inference_cost, cache_discount, is_byok, latency, generation_time, "
    "finish_reason, native_finish_reason, streamed, cancelled"
)


def test_every_field_of_every_generation_equals_the_fakes(fetched: tuple[Path, int], fake_dataset: Dataset) -> None:
    db, calls = fetched
    stored = query(db, f"SELECT {API_FIELDS} FROM generations ORDER BY id")
    expected = truth(fake_dataset, f"SELECT {API_FIELDS} FROM generations WHERE {{where}} ORDER BY id")
    assert len(stored) == calls == len(expected)
    assert same_rows(stored, expected)
    extras = query(
        db,
        """SELECT count(*) FILTER (WHERE source <> 'api'), count(*) FILTER (WHERE provider_responses IS NULL),
                  count(*) FILTER (WHERE request_id IS NULL OR user_agent IS NULL OR data_region IS NULL),
                  count(*) FILTER (WHERE fetched_at IS NULL OR imported_at IS NOT NULL)
           FROM generations""",
    )
    assert extras == [(0, 0, 0, 0)]


def test_totals_per_day_and_model_equal_the_fakes_own(fetched: tuple[Path, int], fake_dataset: Dataset) -> None:
    totals = """SELECT CAST(created_at AS DATE), model_permaslug, count(*), sum(usage), sum(byok_usage_inference),
                       sum(native_tokens_prompt), sum(native_tokens_completion), sum(native_tokens_reasoning),
                       sum(cache_discount)
                FROM generations {where} GROUP BY ALL ORDER BY ALL"""
    assert same_rows(
        query(fetched[0], totals.format(where="")), truth(fake_dataset, totals.format(where="WHERE {where}"))
    )


def test_whole_days_are_recorded_as_covered(fetched: tuple[Path, int]) -> None:
    rows = query(fetched[0], "SELECT scope, first_day, last_day FROM coverage WHERE source = 'generations'")
    assert rows == [("api", date(2026, 11, 18), date(2026, 11, 19))]  # today is not whole


def test_a_second_run_fetches_nothing(fetched: tuple[Path, int], server: FakeServer, tmp_path: Path) -> None:
    db = copy_of(fetched[0], tmp_path)
    before = server.request_count("/generation")
    result = generations(db, server)
    assert server.request_count("/generation") == before and result.fetched == result.new == 0
    assert result.listed == query(db, "SELECT count(*) FROM generations")[0][0]


def test_keys_and_apps_are_learned(fetched: tuple[Path, int], fake_dataset: Dataset) -> None:
    db = fetched[0]
    assert query(db, "SELECT count(*) FROM generations WHERE api_key_hash IS NULL") == [(0,)]
    labels = query(db, "SELECT app_id, label FROM app_labels ORDER BY app_id")
    expected = truth(
        fake_dataset,
        "SELECT DISTINCT app_id, app_name FROM generations WHERE {where} AND app_id IS NOT NULL ORDER BY 1",
    )
    assert labels == expected
    by_app = query(db, "SELECT app, sum(requests) FROM generation_spend_by_app_daily GROUP BY ALL ORDER BY ALL")
    assert by_app == truth(
        fake_dataset,
        "SELECT coalesce(app_name, 'unattributed'), count(*) FROM generations WHERE {where} GROUP BY ALL ORDER BY ALL",
    )


def test_a_shared_key_name_is_told_apart_by_per_key_queries(
    server: FakeServer, prepared: Path, tmp_path: Path, fake_dataset: Dataset
) -> None:
    db = copy_of(prepared, tmp_path)
    with Writer(db) as writer:  # a second key named like a real one: its name no longer identifies it
        writer.con.execute(
            """INSERT INTO api_keys (hash, name, label, disabled, first_seen_at, last_seen_at)
               SELECT repeat('f', 64), name, 'sk-or-v1-fff...fff', false, now(), now() FROM api_keys
               WHERE name = 'staging'"""
        )
    result = generations(db, server)
    assert any("could not be resolved" in w for w in result.warnings)  # the invented key: no traffic
    stored = query(db, "SELECT id, api_key_hash FROM generations ORDER BY id")
    assert stored == truth(fake_dataset, "SELECT id, api_key_hash FROM generations WHERE {where} ORDER BY id")


def test_the_cap_fetches_the_oldest_and_leaves_the_rest(server: FakeServer, prepared: Path, tmp_path: Path) -> None:
    db = copy_of(prepared, tmp_path)
    first = generations(db, server, GenerationOptions(rate=10_000, cap=100))
    assert first.fetched == 100 and first.left_for_next_run == first.listed - 100 and first.covered == []
    oldest = query(db, "SELECT max(created_at) FROM generations")[0][0]
    assert oldest < datetime(2026, 11, 18, 12)  # the 100 oldest of the window
    second = generations(db, server, GenerationOptions(rate=10_000, cap=100_000))
    assert second.fetched == first.listed - 100 and second.covered == [(date(2026, 11, 18), date(2026, 11, 19))]


def test_a_fresh_generation_is_retried_until_it_is_visible(
    fake_dataset: Dataset, prepared: Path, tmp_path: Path
) -> None:
    clock = FakeClock()
    server = start_clocked_fake(fake_dataset, clock, analytics_rate_per_minute=None)
    db = copy_of(prepared, tmp_path)
    try:
        fresh = truth(fake_dataset, "SELECT id FROM generations WHERE {where} ORDER BY created_at LIMIT 1")[0][0]
        server.make_fresh([fresh], seconds=5)
        options = GenerationOptions(concurrency=1, cap=4, fresh_backoff=1.0)
        result = generations(
            db, server, options, sleep=clock.advance, fetch_pacer=rate_pacer(1000, clock=clock, sleep=clock.advance)
        )
        statuses = [r.status for r in server.requests if r.endpoint == "/generation"]
    finally:
        server.stop()
    # The fresh id (the oldest, asked first): 404 at +0, +1, +3 s, then 200 at +7 s, past its 5 s.
    assert statuses == [404, 404, 404, 200, 200, 200, 200]
    assert result.fetched == 4 and result.not_visible_yet == 0 and clock.now - 1000.0 >= 7.0
    assert query(db, "SELECT count(*) FROM generations WHERE id = ?", [fresh]) == [(1,)]


def test_a_generation_still_missing_after_the_retries_is_left_for_later(
    fake_dataset: Dataset, prepared: Path, tmp_path: Path
) -> None:
    clock = FakeClock()
    server = start_clocked_fake(fake_dataset, clock, analytics_rate_per_minute=None)
    db = copy_of(prepared, tmp_path)
    try:
        gone = truth(fake_dataset, "SELECT id FROM generations WHERE {where} ORDER BY created_at LIMIT 1")[0][0]
        server.make_fresh([gone], seconds=3600)
        options = GenerationOptions(concurrency=1, cap=3, fresh_backoff=1.0, fresh_retries=2)
        result = generations(
            db, server, options, sleep=clock.advance, fetch_pacer=rate_pacer(1000, clock=clock, sleep=clock.advance)
        )
    finally:
        server.stop()
    assert result.fetched == 2 and result.not_visible_yet == 1 and result.warnings
    assert query(db, "SELECT count(*) FROM generations WHERE id = ?", [gone]) == [(0,)]


class RecordingPacer(Pacer):
    """The pacer ``rate_pacer`` makes, on an injected clock, noting when it let each request go."""

    def __init__(self, rate: float, clock: FakeClock) -> None:
        made = rate_pacer(rate, clock=clock, sleep=clock.advance)
        super().__init__(made.per_window, made.window_s, burst=made.burst, clock=clock, sleep=clock.advance)
        self.clock = clock
        self.granted: list[float] = []

    def wait(self) -> None:
        super().wait()
        self.granted.append(self.clock())


def most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, start + 1.0 - 1e-9) - i for i, start in enumerate(ordered))


def test_the_request_rate_is_respected_on_an_injected_clock(server: FakeServer, prepared: Path, tmp_path: Path) -> None:
    clock = FakeClock()
    pacer = RecordingPacer(20.0, clock)
    result = generations(
        copy_of(prepared, tmp_path),
        server,
        GenerationOptions(rate=20.0, concurrency=4, cap=60),
        fetch_pacer=pacer,
    )
    times = sorted(pacer.granted)
    assert result.fetched == 60 and len(times) == 60
    assert most_in_one_second(times) <= 20
    assert pacer.burst == 2 and times[-1] - times[0] >= (60 - 2) / 20.0 - 1e-6


def test_the_pacer_makes_up_for_a_stall_but_never_exceeds_the_rate_in_a_second() -> None:
    """A caller that is sometimes late (a slow answer, a sleep that overshot) still gets the rate, where
    evenly spaced requests lose each late slot for good; no second ever holds more than the rate."""

    def run(pacer_of: Callable[[FakeClock], Pacer]) -> list[float]:
        clock = FakeClock()
        pacer = pacer_of(clock)
        times: list[float] = []
        for i in range(1_000):
            pacer.wait()
            times.append(clock())
            if i % 10 == 9:
                clock.advance(0.05)  # late by half of the tokens in hand
        return times

    paced = run(lambda clock: rate_pacer(100, clock=clock, sleep=clock.advance))
    even = run(lambda clock: Pacer(1, 0.01, clock=clock, sleep=clock.advance))
    assert most_in_one_second(paced) <= 100
    assert paced[-1] - paced[0] <= 10.0  # 1,000 requests at 100 a second, the stalls made up
    assert even[-1] - even[0] >= 13.9  # the same stalls, never made up: 40 % slower
    burst = rate_pacer(100, clock=FakeClock(), sleep=lambda s: None)
    assert (burst.per_window, burst.window_s, burst.burst) == (100, 1.0, 10)
