"""Stores for the dashboard tests (a pytest plugin, listed in ``tests/conftest.py``).

``demo_db`` is a real DuckDB store with a published snapshot, written through ``queries.store.Writer`` and
``queries.writes`` exactly as the ingest writes it. Its numbers are synthetic and may be replaced by a real
ingest from the fake OpenRouter server: tests must compute what they expect with their own SQL on the
snapshot (see ``snapshot_sql``), never hard-code these numbers.

"Today" for the tests is the UTC day of the newest ``/keys`` fetch in the data (``demo_today``); tests
pin the app to it with ``ORUSAGE_TODAY``, so a run crossing UTC midnight sees the same day throughout.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from queries import writes
from queries.store import Writer, snapshot_path, utcnow
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY

# (display slug, permaslug, provider/endpoint pairs, share of completion that is reasoning, BYOK share)
_MODELS: list[tuple[str, str, list[tuple[str, str]], float, float]] = [
    ("openai/gpt-4o", "openai/gpt-4o-2024-08-06", [("OpenAI", "ep-gpt4o-oai"), ("Azure", "ep-gpt4o-az")], 0, 0),
    ("openai/gpt-4o", "openai/gpt-4o-2024-11-20", [("OpenAI", "ep-gpt4o-1120")], 0, 0),
    ("anthropic/claude-sonnet-4", "anthropic/claude-4-sonnet-20250522", [("Anthropic", "ep-sonnet")], 0.3, 0),
    ("google/gemini-2.5-flash", "google/gemini-2.5-flash", [("Google", "ep-gflash")], 0.5, 0),
    ("deepseek/deepseek-r1", "deepseek/deepseek-r1", [("DeepInfra", "ep-r1-di"), ("Together", "ep-r1-tg")], 0.8, 1.0),
    ("meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct", [("Groq", "ep-llama")], 0, 0),
    ("openai/o4-mini", "openai/o4-mini-2025-04-16", [("OpenAI", "ep-o4mini")], 0.6, 0),
]
_KEYS = [("sk-or-v1-aaa", "production"), ("sk-or-v1-bbb", "staging"), ("sk-or-v1-ccc", "notebooks")]
_DAYS = 60


def _key_hash(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _activity(day: date, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for slug, permaslug, endpoints, reasoning_share, byok_share in _MODELS:
        for provider, endpoint in endpoints:
            if rng.random() < 0.15:  # idle days exist
                continue
            requests = rng.randint(5, 400)
            prompt = requests * rng.randint(300, 3000)
            completion = requests * rng.randint(50, 900)
            reasoning = int(completion * reasoning_share * rng.uniform(0.5, 1.0))
            cost = round((prompt * 2.5e-6 + completion * 1e-5) * rng.uniform(0.2, 1.2), 6)
            byok = round(cost * byok_share, 6)
            rows.append(
                {
                    "date": day,
                    "model": slug,
                    "model_permaslug": permaslug,
                    "endpoint_id": endpoint,
                    "provider_name": provider,
                    "requests": requests,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "reasoning_tokens": reasoning,
                    "usage": round(cost - byok, 6),
                    "byok_usage_inference": byok,
                }
            )
    return rows


def _keys(rng: random.Random, created: datetime) -> list[dict[str, Any]]:
    keys = []
    for label, name in _KEYS:
        daily = round(rng.uniform(0.2, 3.0), 4)
        byok_daily = round(rng.uniform(0, 0.5), 4) if name == "production" else 0.0
        keys.append(
            {
                "hash": _key_hash(label),
                "name": name,
                "label": f"{label}...{name[:3]}",
                "disabled": False,
                "limit": None,
                "limit_remaining": None,
                "limit_reset": None,
                "include_byok_in_limit": False,
                "usage": round(daily * 40, 4),
                "usage_daily": daily,
                "usage_weekly": round(daily * 5, 4),
                "usage_monthly": round(daily * 20, 4),
                "byok_usage": round(byok_daily * 40, 4),
                "byok_usage_daily": byok_daily,
                "byok_usage_weekly": round(byok_daily * 5, 4),
                "byok_usage_monthly": round(byok_daily * 20, 4),
                "created_at": created,
                "updated_at": created,
                "expires_at": None,
                "creator_user_id": "user_1",
                "workspace_id": "ws_default",
            }
        )
    return keys


def write_demo_store(db_path: Path, now: datetime | None = None, seed: int = 7) -> Path:
    """Write ~60 UTC days of activity ending yesterday, 3 keys, credits, models and run log."""
    now = now or utcnow()
    today = now.date()
    rng = random.Random(seed)
    yesterday_noon = datetime.combine(today - timedelta(days=1), datetime.min.time()) + timedelta(hours=12)
    with Writer(db_path) as writer:
        with writer.transaction() as con:
            failed = writes.start_run(con, "ingest", yesterday_noon - timedelta(minutes=5))
            writes.finish_run(con, failed, "failed", yesterday_noon, 1, 10, "OpenRouter returned 503")
        run_id = writes.start_run(writer.con, "ingest", now - timedelta(minutes=2))
        total_rows = 0
        for offset in range(_DAYS, 0, -1):
            day = today - timedelta(days=offset)
            rows = _activity(day, rng)
            with writer.transaction() as con:
                total_rows += writes.replace_activity_day(con, day, rows, now)
                # Split the day's rows across the keys so per-key views have data too.
                for i, (label, _name) in enumerate(_KEYS):
                    mine = [r for j, r in enumerate(rows) if j % len(_KEYS) == i]
                    writes.replace_activity_for_key(con, _key_hash(label), [day], mine, now)
        with writer.transaction() as con:
            writes.upsert_workspaces(
                con, [{"id": "ws_default", "name": "Default", "slug": "default"}], now - timedelta(days=1)
            )
            # Two /keys fetches: only the one of the newest fetch may count as "today so far".
            writes.upsert_api_keys(con, _keys(rng, now - timedelta(days=90)), yesterday_noon, complete=True)
            writes.upsert_api_keys(con, _keys(rng, now - timedelta(days=90)), now, complete=True)
            writes.insert_credits(con, yesterday_noon, 100.0, 61.25)
            writes.insert_credits(con, now, 150.0, 63.5)
            models = [
                {
                    "canonical_slug": permaslug,
                    "id": slug,
                    "name": slug.split("/")[1],
                    "created": 1_700_000_000,
                    "context_length": 128_000,
                    "pricing_prompt": 2.5e-6,
                    "pricing_completion": 1e-5,
                    "output_modalities": "text",
                }
                for slug, permaslug, *_ in _MODELS
            ]
            writes.upsert_models(con, models, now)
            writes.finish_run(con, run_id, "ok", now, _DAYS, total_rows)
    return db_path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, fake: FakeServer) -> Path:
    """Path of a store (``ORUSAGE_DB``) holding the demo account, ingested by the real ingest over HTTP
    from the fake OpenRouter, clock pinned at the fake's ``now``."""
    db = tmp_path_factory.mktemp("demo") / "orusage.duckdb"
    clock = FAKE_NOW.replace(tzinfo=None)
    with (
        Writer(db) as writer,
        OpenRouterClient(fake.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client,
    ):
        run_ingest(writer, client, clock=lambda: clock)
    return db


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-made store with edge cases the demo account lacks (two permaslugs sharing a slug, a
    failed run before the last good one, an idle day)."""
    return write_demo_store(tmp_path_factory.mktemp("synthetic") / "orusage.duckdb")


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a store where nothing has been ingested: no database, no snapshot."""
    return tmp_path_factory.mktemp("empty") / "orusage.duckdb"


@pytest.fixture
def snapshot_sql(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``demo_db``'s snapshot, for the tests' own expected values."""
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_today(demo_db: Path) -> date:
    """The UTC day of the newest /keys fetch in ``demo_db``: the "today" tests pin the app to."""
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    try:
        row = con.execute("SELECT CAST(max(fetched_at) AS DATE) FROM api_key_snapshots").fetchone()
    finally:
        con.close()
    assert row is not None and row[0] is not None, "demo_db has no /keys fetch"
    day: date = row[0]
    return day
