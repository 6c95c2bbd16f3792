"""A snapshot published before the billing migration (the dashboard may open one until the next ingest)
reads through today's statements: the prices it lacks are NULL, the pages still answer."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from queries.filters import Filters
from queries.reads_models import endpoint_health, model_info
from queries.store import read_snapshot, snapshot_path
from queries.waterfall import waterfall
from tests.dashboard_fixtures import open_app

ADDED = {
    "models": ("pricing_input_cache_write_1h", "pricing_overrides"),
    "model_endpoints": (
        "pricing_internal_reasoning",
        "pricing_input_cache_write",
        "pricing_input_cache_write_1h",
        "pricing_web_search",
        "pricing_discount",
        "pricing_overrides",
    ),
}


@pytest.fixture(scope="module")
def before_billing(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store whose snapshot is as a writer before the billing migration left it."""
    db = tmp_path_factory.mktemp("before-billing") / "orusage.duckdb"
    old = snapshot_path(db)
    shutil.copy(snapshot_path(demo_db), old)
    con = duckdb.connect(str(old))
    try:
        con.execute("DROP VIEW models_current")
        con.execute("DROP VIEW model_endpoints_latest")
        for table, columns in ADDED.items():
            for column in columns:
                con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        con.execute("CREATE VIEW models_current AS SELECT * FROM models QUALIFY row_number() OVER "
                    "(PARTITION BY canonical_slug ORDER BY valid_from DESC) = 1")  # fmt: skip
        con.execute("CREATE VIEW model_endpoints_latest AS SELECT * FROM model_endpoints "
                    "QUALIFY fetched_at = max(fetched_at) OVER (PARTITION BY model_permaslug)")  # fmt: skip
        con.execute("DELETE FROM schema_migrations WHERE name = 'billing'")
    finally:
        con.close()
    return db


def test_an_older_snapshot_reads_with_null_prices(before_billing: Path, demo_today: date) -> None:
    end = demo_today - timedelta(days=1)
    with read_snapshot(before_billing) as con:
        frame = waterfall(con, Filters(end - timedelta(days=6), end), demo_today)
        info = model_info(con, "openai/gpt-4o-2024-05-13")
        health = endpoint_health(con, "openai/gpt-4o-2024-05-13")
    assert len(frame) > 10 and frame["billed"].sum() > 0
    steps = frame[["list_cost", "cache", "endpoint", "tier", "byok_fee", "fees", "residual", "unpriced"]].sum(axis=1)
    assert steps.to_numpy() == pytest.approx(frame["billed"].to_numpy(), rel=1e-9, abs=1e-9)
    assert info is not None and len(health) and (health["discount"] == 0).all()


def test_the_pages_still_answer(monkeypatch: pytest.MonkeyPatch, before_billing: Path, demo_today: date) -> None:
    for page in ("models", "model", "weekly"):
        open_app(monkeypatch, before_billing, demo_today, page=page)
