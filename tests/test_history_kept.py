"""What the store keeps beyond OpenRouter's own reach: two real ingests over HTTP, clocks pinned 40 days apart,
each against a fake OpenRouter whose present is that clock. OpenRouter serves end users (and every other
per-request figure) for 31 days; the days the first ingest stored are still there after the second, and the
days neither could fetch are gaps on the Data health page, said to be missed for good. Endpoint snapshots
stored by each ingest are the model page's uptime, one point per day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pydantic import SecretStr

from core import fmt
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from queries.store import Writer, snapshot_path
from tests.dashboard_fixtures import chart_data, metrics, open_app, texts, usd
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake

LATER = FAKE_NOW.replace(tzinfo=None)
EARLIER = LATER - timedelta(days=40)
MODEL = "openai/gpt-4.1-2025-04-14"


def _ingest(db: Path, server: FakeServer, clock: datetime) -> None:
    with Writer(db) as writer, OpenRouterClient(server.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client:
        # A month of history is enough here; the pairs and per-generation records are tested elsewhere.
        run_ingest(writer, client, clock=lambda: clock, history_days=31, pairs=False, pacer=Pacer(100_000))


@pytest.fixture(scope="module")
def earlier_dataset() -> Dataset:
    return build(EARLIER)


@pytest.fixture(scope="module")
def twice(fake: FakeServer, earlier_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("twice") / "orusage.duckdb"
    early = start_fake(earlier_dataset)
    try:
        _ingest(db, early, EARLIER)
    finally:
        early.stop()
    _ingest(db, fake, LATER)
    return db


@pytest.fixture
def sql(twice: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(snapshot_path(twice)), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _truth(ds: Dataset, first: date, last: date) -> list[tuple[object, ...]]:
    return ds.con.execute(
        """SELECT CAST(created_at AS DATE), coalesce(nullif(external_user, ''), 'unattributed'), count(*),
                  round(sum(usage + byok_usage_inference), 9)
           FROM generations WHERE CAST(created_at AS DATE) BETWEEN ? AND ? GROUP BY ALL ORDER BY ALL""",
        [first, last],
    ).fetchall()


def _stored(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[tuple[object, ...]]:
    return con.execute(
        """SELECT date, external_user, request_count, round(total_usage, 9) FROM analytics_daily
           WHERE dimensions = 'external_user' AND date BETWEEN ? AND ? ORDER BY ALL""",
        [first, last],
    ).fetchall()


def test_end_users_are_kept_past_openrouters_31_days(
    twice: Path, sql: duckdb.DuckDBPyConnection, earlier_dataset: Dataset, fake_dataset: Dataset
) -> None:
    first_run = (EARLIER.date() - timedelta(days=30), EARLIER.date() - timedelta(days=1))
    second_run = (LATER.date() - timedelta(days=30), LATER.date() - timedelta(days=1))
    kept = _stored(sql, *first_run)
    assert kept, "the first run's end users are still stored"
    assert kept == _truth(earlier_dataset, *first_run)
    assert _stored(sql, *second_run) == _truth(fake_dataset, *second_run)
    # OpenRouter no longer serves the first run's days: only the store has them now.
    assert first_run[1] < LATER.date() - timedelta(days=31)
    # The days in between were served while no ingest ran: nothing is stored for them.
    assert _stored(sql, EARLIER.date(), second_run[0] - timedelta(days=1)) == []


def test_the_days_missed_are_gaps_on_data_health(
    monkeypatch: pytest.MonkeyPatch, twice: Path, sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_app(monkeypatch, twice, LATER.date(), page="health")
    gaps = next(f.value for f in at.dataframe if "reason" in f.value.columns)
    mine = gaps.loc[gaps["track"] == "analytics per end user"]
    assert len(mine) == 1
    row = mine.iloc[0]
    missed = (EARLIER.date(), LATER.date() - timedelta(days=31))
    assert (row["first"], row["last"], int(row["days"])) == (*missed, (missed[1] - missed[0]).days + 1)
    assert row["reason"].startswith("missed: no ingest ran while OpenRouter still served these days")
    # The strip shows both stored runs of days and the missed ones between them.
    strip = chart_data(at, "coverage_strip")
    states = strip.loc[strip["track"] == "analytics per end user"].sort_values("first_day")
    assert [s for s in states["state"] if s != "outside reach"] == ["stored", "missing", "stored"]


def test_the_end_users_page_reads_every_day_stored(
    monkeypatch: pytest.MonkeyPatch, twice: Path, sql: duckdb.DuckDBPyConnection
) -> None:
    start, end = EARLIER.date() - timedelta(days=30), LATER.date() - timedelta(days=1)
    params = {"range": "custom", "from": start.isoformat(), "to": end.isoformat()}
    at = open_app(monkeypatch, twice, LATER.date(), page="end-users", params=params)
    want = sql.execute(
        "SELECT sum(total_usage), sum(request_count) FROM analytics_daily WHERE dimensions = 'external_user' "
        "AND date BETWEEN ? AND ?",
        [start, end],
    ).fetchall()[0]
    shown = metrics(at)
    assert usd(shown["Spend"]) == pytest.approx(want[0], abs=0.005 + 1e-9)
    assert shown["Requests"] == fmt.count(want[1])
    assert "OpenRouter keeps end users for 31 days" in texts(at)


def test_uptime_is_each_days_last_snapshot(
    monkeypatch: pytest.MonkeyPatch, twice: Path, sql: duckdb.DuckDBPyConnection
) -> None:
    start = EARLIER.date() - timedelta(days=5)
    params = {"range": "custom", "from": start.isoformat(), "to": (LATER.date() - timedelta(days=1)).isoformat()}
    at = open_app(monkeypatch, twice, LATER.date(), page="model", params={**params, "model": MODEL})
    uptime = chart_data(at, "detail_uptime_days")
    want = sql.execute(
        """WITH last AS (SELECT max(fetched_at) AS fetched_at FROM model_endpoints WHERE model_permaslug = ?
                         GROUP BY CAST(fetched_at AS DATE))
           SELECT strftime(CAST(e.fetched_at AS DATE), '%Y-%m-%d'), e.provider_name, avg(e.uptime_last_1d)
           FROM model_endpoints e JOIN last USING (fetched_at) WHERE e.model_permaslug = ?
           GROUP BY 1, 2 ORDER BY 1, 2""",
        [MODEL, MODEL],
    ).fetchall()
    days = {d for d, *_ in want}
    assert days == {EARLIER.date().isoformat(), LATER.date().isoformat()}, "one snapshot per ingest day"
    got = sorted(zip(uptime["day"], uptime["provider"], uptime["uptime_1d"], strict=True))
    assert [(d, p) for d, p, _ in got] == [(d, p) for d, p, _ in want]
    assert [u for *_, u in got] == pytest.approx([u for *_, u in want])
    # Older than analytics' 31 days, latency comes from the snapshot too.
    latency = chart_data(at, "detail_latency_days")
    early = latency.loc[latency["day"] == EARLIER.date().isoformat()]
    assert not early.empty and set(early["perf_source"]) == {"endpoint snapshot"}
