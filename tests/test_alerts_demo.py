"""The alerts on the demo account, end to end: the fake OpenRouter, the real ingest over HTTP (clock pinned),
the real `alerts check`. Every budget of the demo's own config fires (a day budget on a model scope
included: today comes from the hourly analytics); a period that ended over its limit is reported once when
its last day is final; a 3× spike injected into a model is reported, with the app that drove it, at the first
ingest after its day is final. Expected figures come from SQL on the fake's own generations."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.settings import load_settings
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.scenarios import apps_of, inject_spike, model_day_spend
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from orusage.alerts.runner import run_check
from orusage.demo import DEMO_CONFIG
from queries.store import Writer, snapshot_path
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake
from tests.helpers import query

pytestmark = pytest.mark.slow  # a real ingest of a month from the fake per test (about 20 s each)

NOW = FAKE_NOW.replace(tzinfo=None)  # 2026-11-20 15:30, a Friday
TODAY = NOW.date()
NEXT_MORNING = datetime.combine(TODAY + timedelta(days=1), datetime.min.time()) + timedelta(hours=7)
QUIET = (
    "[alerts]\nstale_hours = 0\ncredits_days = 0\nprice_change_days = 0\nexpiry_days = 0\nkey_no_limit = false\n"
    "key_unused_days = 0\nkey_limit_percent = 0\n"
)


def ingest(server: FakeServer, db: Path, at: datetime) -> None:
    with Writer(db) as writer, OpenRouterClient(server.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client:
        run_ingest(writer, client, clock=lambda: at, history_days=31, pacer=Pacer(100_000))


@pytest.fixture(scope="module")
def demo_fake(fake_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(fake_dataset, validate=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo_store(demo_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("alerts-demo") / "orusage.duckdb"
    ingest(demo_fake, db, NOW)
    return db


@pytest.fixture
def store(demo_store: Path, tmp_path: Path) -> Path:
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(demo_store, db)
    shutil.copyfile(snapshot_path(demo_store), snapshot_path(db))
    return db


def check(db: Path, config: Path, at: datetime, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`orusage alerts check` at ``at``; the messages it printed (stdout channel)."""
    monkeypatch.setenv("ORUSAGE_NOW", at.isoformat())
    printed: list[str] = []
    run_check(load_settings(orusage_db=db, orusage_config=config), printed.append)
    return printed


def spend(ds: Dataset, where: str, first: datetime, end: datetime) -> float:
    """Spend (usage + BYOK inference) of the fake's generations in [first, end) matching ``where``."""
    sql = f"""SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM generations g
              WHERE created_at >= ? AND created_at < ? AND ({where})"""
    row = ds.con.execute(sql, [first, end]).fetchone()
    assert row is not None
    return float(row[0])


ANTHROPIC = "model_permaslug LIKE 'anthropic/%'"
SUPPORT = "app_name IN ('Acme Support Bot', 'Docs Assistant')"


def test_every_budget_of_the_demo_config_can_fire(
    store: Path, fake_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "demo.toml"
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    printed = check(store, config, NOW, monkeypatch)
    raised = {row[0] for row in query(store, "SELECT DISTINCT budget FROM alerts WHERE status <> 'suppressed'")}
    assert {"account", "research", "claude", "support"} <= raised, printed
    midnight = datetime.combine(TODAY, datetime.min.time())
    claude = spend(fake_dataset, ANTHROPIC, midnight, NOW)
    month = datetime.combine(TODAY.replace(day=1), datetime.min.time())
    support = spend(fake_dataset, SUPPORT, month, NOW)
    status = dict(query(store, "SELECT budget, spend_usd FROM budget_status"))
    assert status["claude"] == pytest.approx(claude, abs=1e-6) and claude >= 2.0  # today so far, by the hour
    assert status["support"] == pytest.approx(support, abs=1e-6)  # its completed days and today so far
    message = next(p for p in printed if "Budget 'claude' reached 100%" in p)
    assert f"${claude:,.2f} of $2.00" in message
    assert "from hourly analytics, as of 15:30 UTC (provisional: analytics settle within 6 h)" in message


def test_a_day_budget_that_ended_over_its_limit_is_reported_once_its_last_day_is_final(
    store: Path, fake_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    midnight = datetime.combine(TODAY, datetime.min.time())
    by_now = spend(fake_dataset, ANTHROPIC, midnight, NOW)
    whole = spend(build(NEXT_MORNING), ANTHROPIC, midnight, midnight + timedelta(days=1))
    limit = round((by_now + whole) / 2, 2)  # not crossed at 15:30, crossed by the day's end
    config = tmp_path / "claude.toml"
    config.write_text(
        f'{QUIET}\n[anomalies]\nenabled = false\n\n[[budget]]\nname = "claude"\nscope = ["model:anthropic/*"]\n'
        f'period = "day"\nlimit_usd = {limit}\nthresholds = [100]\nforecast = false\nspike = false\n\n'
        "[delivery.stdout]\n",
        encoding="utf-8",
    )
    assert check(store, config, NOW, monkeypatch) == []  # 15:30: under the limit; the day is seen as current
    with FakeServer(build(NEXT_MORNING)) as morning:  # the next morning, the same account a day on
        ingest(morning, store, NEXT_MORNING)
    printed = check(store, config, NEXT_MORNING, monkeypatch)
    assert [p.splitlines()[0] for p in printed] == [
        f"[raised] Budget 'claude' ended {TODAY} at ${whole:,.2f} of ${limit:,.2f}"
    ]
    assert f"over by ${whole - limit:,.2f}" in printed[0]
    assert check(store, config, NEXT_MORNING + timedelta(hours=1), monkeypatch) == []  # once
    assert query(store, "SELECT period_label, round(final_usd, 6) FROM budget_periods WHERE closed_at IS NOT NULL") == [
        (str(TODAY), round(whole, 6))
    ]


def busiest_watched_model(ds: Dataset, day: date) -> str:
    rows = ds.con.execute(
        "SELECT model_permaslug FROM generations WHERE created_at < ? GROUP BY 1 ORDER BY sum(usage) DESC",
        [datetime.combine(day, datetime.min.time())],
    ).fetchall()
    return next(str(r[0]) for r in rows if all(model_day_spend(ds, str(r[0]), day - timedelta(weeks=k)) > 0
                                                 for k in range(1, 5)))  # fmt: skip


def test_a_spike_is_reported_with_its_driver_at_the_first_ingest_after_its_day_is_final(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = build(NEXT_MORNING)
    model = busiest_watched_model(ds, TODAY)
    app = apps_of(ds, model, TODAY)[1]  # not its busiest app: the driver must be found, not guessed
    spike = inject_spike(ds, TODAY, model, factor=3.0, min_usd=5.0, seed=3, app=app)
    assert spike.after >= max(3 * spike.usual, 5.0)
    db = tmp_path / "orusage.duckdb"
    with FakeServer(ds) as fake:
        ingest(fake, db, NEXT_MORNING)
    config = tmp_path / "anomalies.toml"
    config.write_text(f'{QUIET}\n[anomalies]\ndimensions = ["model"]\n\n[delivery.stdout]\n', encoding="utf-8")
    printed = check(db, config, NEXT_MORNING, monkeypatch)
    found = [p for p in printed if f"Model {model} " in p.splitlines()[0]]
    assert found, printed
    named = f"app {app!r}" if app else "requests without an app"
    assert f"its usual {TODAY:%A}, mostly from {named}" in found[0].splitlines()[0]
    assert f"spent ${spike.after:,.2f} on {TODAY:%A} {TODAY}" in found[0]


def test_the_ingest_keeps_the_last_48_hours_by_hour_replaced_at_each_run(
    store: Path, demo_fake: FakeServer, fake_dataset: Dataset
) -> None:
    """Today and yesterday per hour, for the model, provider, app and member groupings, as the fake's own
    generations add up; a later run replaces the table whole (provisional: nothing older is kept)."""
    grouped = query(
        store, "SELECT dimensions, round(sum(total_usage), 6), min(hour), max(hour) FROM analytics_hourly GROUP BY 1"
    )
    yesterday = datetime.combine(TODAY - timedelta(days=1), datetime.min.time())
    expected = round(spend(fake_dataset, "true", yesterday, NOW), 6)
    assert sorted(grouped) == sorted(
        (g, expected, yesterday, NOW.replace(minute=0)) for g in ("model", "model,app", "model,provider", "user")
    )
    per_hour = query(
        store,
        "SELECT hour, round(sum(total_usage), 6) FROM analytics_hourly WHERE dimensions = 'model' "
        "GROUP BY 1 ORDER BY 1",
    )
    for hour, total in per_hour[-3:]:
        assert total == round(spend(fake_dataset, "true", hour, hour + timedelta(hours=1)), 6)
    later = NOW + timedelta(minutes=40)
    ingest(demo_fake, store, later)
    assert query(store, "SELECT DISTINCT fetched_at FROM analytics_hourly_fetches") == [(later,)]
    again = query(store, "SELECT dimensions, round(sum(total_usage), 6) FROM analytics_hourly GROUP BY 1")
    assert sorted(again) == sorted((g, expected) for g in ("model", "model,app", "model,provider", "user"))
