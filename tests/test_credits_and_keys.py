"""Credits and keys on hand-made stores with known answers: top-ups inferred from the credits bought, the
runway with its band, and key hygiene (near a limit or projected to reach it, expiring, unused, no limit)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from orusage.alerts.config import AccountRules
from orusage.alerts.findings import KEY_LIMIT, KEY_NO_LIMIT, AlertKey, Finding, Recovery
from orusage.alerts.key_rules import key_outcomes
from queries import credits, key_hygiene, writes
from queries.store import Writer, read_snapshot
from tests.fake_fixtures import MANAGEMENT_KEY
from tests.helpers import query

NOW = datetime(2026, 11, 20, 12, 0)  # a Friday, noon: half of today has passed
TODAY = NOW.date()


def day(n: int) -> date:
    return TODAY - timedelta(days=n)


def activity_row(d: date, usage: float) -> dict[str, Any]:
    return {"date": d, "model": "acme/a", "model_permaslug": "acme/a-1", "endpoint_id": "ep", "provider_name": "Acme",
            "requests": 10, "prompt_tokens": 1, "completion_tokens": 1, "reasoning_tokens": 0, "usage": usage,
            "byok_usage_inference": 0.0}  # fmt: skip


def key(hash_: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"hash": hash_, "name": name, "label": f"sk-or-v1-{name}", "disabled": False, "usage": 1.0,
            "created_at": NOW - timedelta(days=2), **fields}  # fmt: skip


NEAR, RUNAWAY, EXPIRING, IDLE, NEVER, OPEN = (c * 64 for c in "123456")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("credits-keys") / "orusage.duckdb"
    with Writer(db) as writer, writer.transaction() as con:
        for n in range(1, 57):  # eight weeks at $5 a day, $10 of it by RUNAWAY and $1 by OPEN … per key below
            writes.replace_activity_day(con, day(n), [activity_row(day(n), 5.0)], NOW)
        writes.record_coverage(con, source="activity", dimensions="", scope="", metrics="", first_day=day(56),
                               last_day=day(1), fetched_at=NOW, rows_received=56)  # fmt: skip
        for hash_, usage in ((RUNAWAY, 10.0), (OPEN, 1.0)):
            rows = [activity_row(day(n), usage) for n in range(1, 57)]
            writes.replace_activity_for_key(con, hash_, [day(n) for n in range(1, 57)], rows, NOW)
            writes.record_coverage(con, source="activity", dimensions="", scope=hash_, metrics="", first_day=day(56),
                                   last_day=day(1), fetched_at=NOW, rows_received=56)  # fmt: skip
        keys = [
            key(NEAR, "near", limit=10.0, limit_reset="daily", usage_daily=8.5),
            key(RUNAWAY, "runaway", limit=100.0, limit_reset="monthly", usage_monthly=60.0, usage_daily=5.0,
                created_at=NOW - timedelta(days=200)),
            key(EXPIRING, "expiring", limit=50.0, limit_reset="weekly", expires_at=NOW + timedelta(days=5)),
            key(IDLE, "idle", limit=5.0, created_at=NOW - timedelta(days=300), last_used_at=NOW - timedelta(days=40)),
            key(NEVER, "never", limit=5.0, created_at=NOW - timedelta(days=60)),
            key(OPEN, "open", created_at=NOW - timedelta(days=200), usage_daily=0.5),
        ]  # fmt: skip
        writes.upsert_api_keys(con, keys, NOW, True)
        for at, total, used in ((30, 100.0, 10.0), (20, 100.0, 60.0), (10, 150.0, 110.0), (0, 150.0, 120.0)):
            writes.insert_credits(con, NOW - timedelta(days=at), total, used)
    return db


def test_top_ups_are_rises_of_the_credits_bought(store: Path) -> None:
    with read_snapshot(store) as con:
        ups = credits.top_ups(con)
    assert ups == [credits.TopUp(NOW - timedelta(days=10), NOW - timedelta(days=20), 50.0, 150.0)]


def test_the_runway_runs_the_projected_burn_down_to_the_credits_left(store: Path) -> None:
    # $30 left at noon; at $5 a day the other half of today costs $2.50, then 2.5 + 5 × 5 = 27.5 by the end
    # of the fifth day, and the last $2.50 by noon of the sixth: exactly 6 days.
    with read_snapshot(store) as con:
        runway = credits.runway(con, NOW)
    assert runway is not None
    assert (runway.left_usd, runway.total_credits, runway.pace_per_day) == (30.0, 150.0, 5.0)
    assert runway.days == pytest.approx(6.0) and runway.out_on == TODAY + timedelta(days=6)
    assert runway.low_days == pytest.approx(6.0) and runway.high_days == pytest.approx(6.0)  # a flat history
    assert runway.text() == "about 6 days"


def test_key_hygiene_says_what_needs_a_look(store: Path) -> None:
    with read_snapshot(store) as con:
        facts = key_hygiene.key_facts(con, NOW)
    found = {(i.name, i.kind): i for i in key_hygiene.issues(facts, NOW)}
    assert sorted(found) == [
        ("expiring", "expiring"), ("idle", "unused"), ("near", "near_limit"), ("never", "unused"),
        ("open", "no_limit"), ("runaway", "near_limit"),
    ]  # fmt: skip
    near = found[("near", "near_limit")]
    assert near.text.startswith("key 'near' is at 85% of its $10.00 daily limit ($8.50 used")
    assert "the limit resets in 12 h 0 min" in near.text
    # $60 used of $100 a month; $10 a day: 65 tonight, 75, 85, 95, and $100 by noon on the 24th.
    runaway = found[("runaway", "near_limit")]
    assert "is at 60% of its $100.00 monthly limit" in runaway.text
    assert "projected to reach it around 2026-11-24 12:00 UTC" in runaway.text and runaway.when == date(2026, 11, 24)
    assert runaway.period == "monthly:2026-11-01"
    assert found[("expiring", "expiring")].when == TODAY + timedelta(days=5)
    assert "expires 2026-11-25 12:00 UTC (in 5 d 0 h)" in found[("expiring", "expiring")].text
    assert "unused for 40 days (last used 2026-10-11)" in found[("idle", "unused")].text
    assert "unused for 60 days (never used since it was created 2026-09-21)" in found[("never", "unused")].text
    # $1 on each of the 30 completed days before today, and $0.50 today so far.
    assert "has no spending limit and spent $30.50 in the last 30 days" in found[("open", "no_limit")].text
    assert key_hygiene.issues(facts, NOW, limit_percent=0, expiry_days=0, unused_days=0, no_limit=False) == []


def test_key_hygiene_as_alerts_and_a_recovery_once_a_key_is_no_longer_near_its_limit(store: Path) -> None:
    with read_snapshot(store) as con:
        facts = key_hygiene.key_facts(con, NOW)
    issues = key_hygiene.issues(facts, NOW)
    names = {f.hash: f.name for f in facts}
    last_month = AlertKey("", KEY_LIMIT, RUNAWAY, "monthly:2026-10-01", 80.0)
    out = key_outcomes(issues, AccountRules(), [last_month], names)
    findings = {o.key: o for o in out if isinstance(o, Finding)}
    runaway = findings[AlertKey("", KEY_LIMIT, RUNAWAY, "monthly:2026-11-01", 80.0)]
    assert runaway.title == "API key 'runaway' is near its limit"
    assert AlertKey("", KEY_NO_LIMIT, OPEN, "", 0.0) in findings
    (recovered,) = [o for o in out if isinstance(o, Recovery)]
    assert recovered.key == last_month and recovered.title == "API key 'runaway' is no longer near its limit"


@pytest.mark.slow
def test_last_used_at_is_stored_when_keys_send_it(
    fake_quirks: FakeServer, fake_quirks_dataset: Dataset, tmp_path: Path
) -> None:
    """OpenRouter's /keys now sends last_used_at (the fake's quirks mode, like the real API): it is kept."""
    db = tmp_path / "orusage.duckdb"
    at = fake_quirks_dataset.now.replace(tzinfo=None)
    with Writer(db) as writer, OpenRouterClient(fake_quirks.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as c:
        run_ingest(writer, c, clock=lambda: at, analytics=False, pacer=Pacer(100_000))
    expected = {
        str(h): ts.replace(microsecond=ts.microsecond // 1000 * 1000)
        for h, ts in fake_quirks_dataset.con.execute(
            "SELECT api_key_hash, max(created_at) FROM generations GROUP BY 1"
        ).fetchall()
    }
    stored = dict(query(db, "SELECT hash, last_used_at FROM api_keys"))
    # Every key listed with traffic has its last use; keys without any traffic have none.
    assert {h: ts for h, ts in stored.items() if ts is not None} == {h: expected[h] for h in stored if h in expected}
