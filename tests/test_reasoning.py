"""Reasoning priced and never counted twice: a stored row reporting more reasoning than completion tokens
(real Gemini rows do) is flagged on Data health, its reasoning counted within its completion in the token
charts (the parts still equal the token total) and in what reasoning costs at list prices."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from queries import writes
from queries.store import Writer, snapshot_path
from tests.dashboard_fixtures import chart_data, open_app, write_demo_store

QUIRKY = "google/gemini-2.5-flash"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, date]:
    db = write_demo_store(tmp_path_factory.mktemp("reasoning") / "orusage.duckdb")
    con = duckdb.connect(str(snapshot_path(db)), read_only=True)
    try:
        today = con.execute("SELECT CAST(max(fetched_at) AS DATE) FROM api_key_snapshots").fetchall()[0][0]
        day = today - timedelta(days=1)
        rows = con.execute("SELECT * EXCLUDE (ingested_at) FROM activity WHERE date = ?", [day]).df()
    finally:
        con.close()
    quirky = {
        "date": day,
        "model": QUIRKY,
        "model_permaslug": QUIRKY,
        "endpoint_id": "ep-gflash-ai-studio",
        "provider_name": "Google AI Studio",
        "requests": 3,
        "prompt_tokens": 1000,
        "completion_tokens": 300,  # without its reasoning, as such rows report it
        "reasoning_tokens": 900,
        "usage": 0.0025,
        "byok_usage_inference": 0.0,
    }
    kept = [{**r, "date": day} for r in rows.to_dict("records")]
    with Writer(db) as writer, writer.transaction() as tx:
        writes.replace_activity_day(tx, day, [*kept, quirky], datetime.combine(today, datetime.min.time()))
    return db, today


def test_flagged_on_data_health(monkeypatch: pytest.MonkeyPatch, store: tuple[Path, date]) -> None:
    db, today = store
    at = open_app(monkeypatch, db, today, page="health")
    flagged = next(f.value for f in at.dataframe if "excess" in f.value.columns)
    row = flagged.loc[(flagged["source"] == "activity") & (flagged["model"] == QUIRKY)].iloc[0]
    assert (int(row["rows"]), int(row["excess"])) == (1, 600)
    assert any("more reasoning tokens than completion" in w.value for w in at.warning)


def test_the_parts_still_equal_the_token_total(monkeypatch: pytest.MonkeyPatch, store: tuple[Path, date]) -> None:
    db, today = store
    day = today - timedelta(days=1)
    con = duckdb.connect(str(snapshot_path(db)), read_only=True)
    try:
        prompt, completion, price = con.execute(
            """SELECT sum(prompt_tokens), sum(completion_tokens),
                      (SELECT coalesce(pricing_internal_reasoning, pricing_completion) FROM models_current
                       WHERE canonical_slug = ?)
               FROM activity WHERE date = ?""",
            [QUIRKY, day],
        ).fetchall()[0]
        within = con.execute(
            "SELECT sum(least(reasoning_tokens, completion_tokens)) FROM activity WHERE model_permaslug = ? "
            "AND date BETWEEN ? AND ?",
            [QUIRKY, today - timedelta(days=7), day],
        ).fetchall()[0][0]
    finally:
        con.close()
    at = open_app(monkeypatch, db, today, page="overview", params={"range": "7d"})
    parts = chart_data(at, "tokens_per_day")
    shown = parts.loc[parts["day"] == day.isoformat(), "tokens"].sum()
    assert int(shown) == int(prompt + completion)
    models = open_app(monkeypatch, db, today, page="models", params={"range": "7d"})
    table = next(f.value for f in models.dataframe if "reasoning_cost" in f.value.columns)
    cost = float(table.loc[table["label"].str.contains("gemini-2.5-flash"), "reasoning_cost"].iloc[0])
    assert price is not None and cost == pytest.approx(within * price, rel=1e-9)
