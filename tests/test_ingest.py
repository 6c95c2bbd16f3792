"""Ingest over real HTTP against the fake OpenRouter, into real DuckDB files, clock pinned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.errors import AuthError, UnavailableError
from ingest.job import run_ingest
from ingest.pacing import Pacer
from queries.store import Writer, read_snapshot
from tests.fake_fixtures import MANAGEMENT_KEY, start_fake
from tests.helpers import fact_tables, query, same_rows

CLOCK = datetime(2026, 11, 20, 15, 30)


def client(server: FakeServer, key: str = MANAGEMENT_KEY, retries: int = 3, timeout: float = 5.0) -> OpenRouterClient:
    return OpenRouterClient(server.base_url, SecretStr(key), retries=retries, backoff=0.01, timeout=timeout)


def ingest(db: Path, server: FakeServer, **kw: object) -> None:
    """Activity, keys, credits and models; the analytics backfill has its own tests."""
    with Writer(db) as writer, client(server, **kw) as c:  # type: ignore[arg-type]
        run_ingest(writer, c, clock=lambda: CLOCK, analytics=False, pacer=Pacer(100_000))


def fake_truth(ds: Dataset, group: str, where: str = "TRUE") -> list[tuple[object, ...]]:
    """The fake's own totals over its 30-day /activity window."""
    return ds.con.execute(
        f"""SELECT CAST(created_at AS DATE) AS d, {group}, count(*), sum(native_tokens_prompt),
                   sum(native_tokens_completion), sum(native_tokens_reasoning),
                   sum(usage), sum(byok_usage_inference)
            FROM generations
            WHERE CAST(created_at AS DATE) BETWEEN CAST(? AS DATE) - 30 AND CAST(? AS DATE) - 1 AND {where}
            GROUP BY ALL ORDER BY ALL""",
        [ds.today, ds.today],
    ).fetchall()


STORE_TOTALS = """SELECT date, {group}, sum(requests), sum(prompt_tokens), sum(completion_tokens),
                         sum(reasoning_tokens), sum(usage), sum(byok_usage_inference)
                  FROM {table} GROUP BY ALL ORDER BY ALL"""


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, fake: FakeServer) -> Path:
    db = tmp_path_factory.mktemp("ingest") / "orusage.duckdb"
    ingest(db, fake)
    return db


def test_store_totals_per_day_and_model_equal_the_fakes_own(ingested: Path, fake_dataset: Dataset) -> None:
    stored = query(ingested, STORE_TOTALS.format(group="model_permaslug", table="activity"))
    assert same_rows(stored, fake_truth(fake_dataset, "model_permaslug"))
    assert len({row[0] for row in stored}) == 30  # thirty completed days, never today
    assert max(row[0] for row in stored) < fake_dataset.today


def test_store_totals_per_day_and_key_equal_the_fakes_own(ingested: Path, fake_dataset: Dataset) -> None:
    stored = query(ingested, STORE_TOTALS.format(group="api_key_hash", table="activity_by_key"))
    assert same_rows(stored, fake_truth(fake_dataset, "api_key_hash"))


def test_keys_workspaces_credits_and_models_are_stored(ingested: Path, fake_dataset: Dataset) -> None:
    keys = dict(query(ingested, "SELECT hash, disabled FROM api_keys"))
    truth = fake_dataset.con.execute("SELECT DISTINCT api_key_hash FROM generations").fetchall()
    assert {h for (h,) in truth} <= set(keys)
    assert any(keys.values()), "the disabled key is ingested too"
    workspaces = query(ingested, "SELECT count(DISTINCT id) FROM workspaces")[0][0]
    assert workspaces >= 2
    assert {w for (w,) in query(ingested, "SELECT DISTINCT workspace_id FROM api_keys")} <= {
        w for (w,) in query(ingested, "SELECT id FROM workspaces")
    }
    total_usage = query(ingested, "SELECT total_usage FROM credits")[0][0]
    assert total_usage == pytest.approx(fake_dataset.con.execute("SELECT sum(usage) FROM generations").fetchone()[0])
    models = query(ingested, "SELECT count(*), count(*) FILTER (output_modalities NOT LIKE '%text%') FROM models")[0]
    assert models[0] == len(fake_dataset.models) and models[1] >= 1  # output_modalities=all
    assert (
        query(
            ingested, "SELECT count(*) FROM activity WHERE model_permaslug NOT IN (SELECT canonical_slug FROM models)"
        )[0][0]
        == 0
    )  # permaslugs join
    assert query(ingested, "SELECT status FROM ingest_runs") == [("ok",)]


def test_spend_today_so_far_comes_from_the_keys_daily_usage(ingested: Path, fake_dataset: Dataset) -> None:
    today = fake_dataset.con.execute(
        "SELECT sum(usage), sum(byok_usage_inference) FROM generations WHERE CAST(created_at AS DATE) = ?",
        [fake_dataset.today],
    ).fetchone()
    stored = query(ingested, "SELECT sum(usage_daily), sum(byok_usage_daily) FROM api_key_snapshots")[0]
    assert stored == pytest.approx(today)


def test_a_second_ingest_changes_nothing(ingested: Path, fake: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "twice.duckdb"
    ingest(db, fake)
    once = fact_tables(db)
    ingest(db, fake)
    assert fact_tables(db) == once
    assert fact_tables(db) == fact_tables(ingested)
    assert query(db, "SELECT count(*) FROM models") == [(len(once["models"]),)]  # no new price states


def test_quirks_mode_round_trip(fake_quirks: FakeServer, fake_quirks_dataset: Dataset, tmp_path: Path) -> None:
    db = tmp_path / "quirks.duckdb"
    ingest(db, fake_quirks)
    stored = query(db, STORE_TOTALS.format(group="model_permaslug", table="activity"))
    assert same_rows(stored, fake_truth(fake_quirks_dataset, "model_permaslug"))
    above = query(db, "SELECT count(*) FROM activity WHERE reasoning_tokens > completion_tokens")[0][0]
    assert above > 0, "quirks mode has rows with reasoning above completion"
    assert query(db, "SELECT min(completion_only_tokens) FROM daily_tokens")[0][0] >= 0
    assert query(db, "SELECT count(*) FROM models")[0][0] == len(fake_quirks_dataset.models)


@pytest.mark.reliability("fault")
def test_killing_the_fake_midway_then_rerunning_completes(
    fake_dataset: Dataset, ingested: Path, tmp_path: Path
) -> None:
    db = tmp_path / "killed.duckdb"
    server = start_fake(fake_dataset)
    seen = 0

    def stop_after_some_key_activity(method: str, path: str, *rest: object) -> None:
        nonlocal seen
        if path.endswith("/activity"):
            seen += 1
            if seen == 3:  # the account-wide call and two keys are done
                threading.Thread(target=server.stop).start()

    server.on_response = stop_after_some_key_activity
    with pytest.raises(UnavailableError, match="run again"):
        ingest(db, server, retries=1)
    partial = fact_tables(db)
    assert partial["activity"] and len(partial["activity_by_key"]) < len(fact_tables(ingested)["activity_by_key"])
    assert query(db, "SELECT status FROM ingest_runs") == [("failed",)]

    with start_fake(fake_dataset) as again:
        ingest(db, again)
    assert fact_tables(db) == fact_tables(ingested)


@pytest.fixture
def fault_fake(fake_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(fake_dataset)
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("status", {"code": 429, "retry_after": 0}),
        ("status", {"code": 429}),
        ("status", {"code": 500}),
        ("status", {"code": 502}),
        ("status", {"code": 408}),
        ("status", {"code": 503, "retry_after": 0}),
        ("status", {"code": 524}),
        ("status", {"code": 529}),
        ("delay", {"seconds": 2}),  # longer than the client's read timeout in the test: a read timeout
        ("malformed_json", {}),
        ("truncated", {}),
        ("html", {}),
        ("reset", {}),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else "-".join(f"{k}{w}" for k, w in v.items()),
)
@pytest.mark.reliability("fault")
def test_a_transient_fault_is_retried_to_success(
    kind: str, params: dict[str, object], fault_fake: FakeServer, ingested: Path, tmp_path: Path
) -> None:
    db = tmp_path / "retry.duckdb"
    fault_fake.add_fault("/activity", kind, times=2, **params)
    ingest(db, fault_fake, timeout=1.0 if kind == "delay" else 5.0)
    assert fact_tables(db) == fact_tables(ingested)


def test_a_wrong_key_fails_with_one_line_and_keeps_the_data(
    fault_fake: FakeServer, ingested: Path, tmp_path: Path
) -> None:
    db = tmp_path / "auth.duckdb"
    ingest(db, fault_fake)
    before = fact_tables(db)
    with pytest.raises(AuthError) as info:
        ingest(db, fault_fake, key="sk-or-v1-wrong")
    assert "OPENROUTER_MANAGEMENT_KEY" in str(info.value) and "\n" not in str(info.value)
    assert "sk-or-v1-wrong" not in str(info.value)
    assert fact_tables(db) == before


@pytest.mark.reliability("fault")
def test_persistent_500_gives_up_and_keeps_completed_units(fault_fake: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "down.duckdb"
    fault_fake.add_fault("/activity", "status", times=100, code=500)
    with pytest.raises(UnavailableError) as info:
        ingest(db, fault_fake, retries=2)
    assert "500" in str(info.value) and "\n" not in str(info.value)
    stored = fact_tables(db)
    assert stored["api_keys"] and stored["models"] and not stored["activity"]
    with read_snapshot(db) as con:  # the completed units are published for readers too
        assert con.execute("SELECT status FROM ingest_runs").fetchall() == [("failed",)]
