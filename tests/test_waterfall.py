"""The effective-price waterfall (queries.waterfall) on the demo store, ingested over HTTP from the fake,
whose every bill is known: the steps add up to what was billed; where per-generation records hold the days,
the residual is nothing (below $0.000001 per model-week); where only daily facts do, the residual is exactly
the effects those facts cannot show (overrides and service tiers, per request), computed here from the
fake's own bills; and a store whose bills no source explains shows its residual, never hides it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from fake_openrouter.catalog import ENDPOINT_TERMS
from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from queries.filters import Filters
from queries.store import snapshot_path
from queries.waterfall import STEPS, waterfall
from tests.dashboard_fixtures import chart_data, ingest_demo, open_app, sql_one
from tests.fake_fixtures import FAKE_NOW

pytestmark = pytest.mark.slow  # a store of its own, with 11 days of per-generation records (~3 min)

TODAY = FAKE_NOW.date()
GENERATION_DAYS = 11  # the last complete ISO week and this one: every record of their days is stored
EXPLAINED_FIRST = TODAY - timedelta(days=GENERATION_DAYS)  # the first day the records hold whole


@pytest.fixture(scope="module")
def explained_db(tmp_path_factory: pytest.TempPathFactory, fake: FakeServer) -> Path:
    """The demo account with the per-generation records of its last 11 days (the session's demo store has 2)."""
    return ingest_demo(tmp_path_factory.mktemp("explained") / "orusage.duckdb", fake, GENERATION_DAYS)


@pytest.fixture
def snapshot_sql(explained_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(snapshot_path(explained_db)), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _adds_up(frame: pd.DataFrame) -> None:
    for row in frame.to_dict("records"):
        total = sum(float(row[s]) for s in STEPS) + float(row["unpriced"])
        assert total == pytest.approx(float(row["billed"]), rel=1e-9, abs=1e-9), row


def test_residual_is_nothing_where_records_hold_the_days(snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    monday = EXPLAINED_FIRST + timedelta(days=(7 - EXPLAINED_FIRST.weekday()) % 7)
    frame = waterfall(snapshot_sql, Filters(monday, TODAY - timedelta(days=1)), TODAY)
    assert len(frame) >= 40 and set(frame["week"]) == {"2026-W46", "2026-W47"}
    _adds_up(frame)
    assert (frame["generation_days"] == frame["days"]).all()
    assert float(frame["residual"].abs().max()) < 1e-6
    # Every step is at work on the fake: a bill that list prices do not explain.
    assert (frame["cache"] < 0).any() and (frame["cache"] > 0).any()  # cache writes cost more for some
    assert (frame["endpoint"] < 0).any() and (frame["endpoint"] > 0).any()  # discounts, long-context prices
    assert (frame["tier"] < 0).any() and (frame["tier"] > 0).any()  # flex and priority
    assert (frame["byok_fee"] > 0).any() and (frame["fees"] > 0).any()
    # The same billed total as the routed facts (the tests' own SQL).
    billed = sql_one(
        snapshot_sql,
        "SELECT sum(usage + byok_usage_inference) FROM activity WHERE date BETWEEN ? AND ?",
        [monday, TODAY - timedelta(days=1)],
    )
    assert float(frame["billed"].sum()) == pytest.approx(billed, rel=1e-9)


def _unseen_effects(dataset: Dataset, first: date, last: date) -> pd.DataFrame:
    """Per model and ISO week, what daily facts cannot show, from the fake's own bills: each request's
    endpoint cost against its list cost, less what the endpoint's discount alone explains (the waterfall's
    per-provider estimate), plus its service tier's effect."""
    discounts = pd.DataFrame(
        [(m, p, t.discount) for (m, p), t in ENDPOINT_TERMS.items()], columns=["model", "provider_name", "discount"]
    )
    cur = dataset.cursor()
    cur.register("discounts", discounts)
    frame: pd.DataFrame = cur.execute(
        """SELECT g.model_permaslug AS model, strftime(g.created_at, '%G-W%V') AS week,
                  sum(b.endpoint_cost - b.list_cost + coalesce(d.discount, 0) * b.list_cost
                      + g.upstream_inference_cost - (b.endpoint_cost - g.cache_discount)) AS unseen
           FROM generations g JOIN generation_bills b USING (id)
           LEFT JOIN discounts d ON d.model = g.model AND d.provider_name = g.provider_name
           WHERE CAST(g.created_at AS DATE) BETWEEN ? AND ? GROUP BY ALL""",
        [first, last],
    ).df()
    cur.close()
    return frame


def test_residual_is_what_daily_facts_cannot_show(
    snapshot_sql: duckdb.DuckDBPyConnection, fake_dataset: Dataset
) -> None:
    """Days /activity covers but no record holds: the endpoint step is estimated per provider from endpoint
    prices, so the residual is the overrides (long prompts, off-peak hours) and the tiers, to the request."""
    first = TODAY - timedelta(days=25)
    first += timedelta(days=(7 - first.weekday()) % 7)  # a Monday inside /activity's window
    last = EXPLAINED_FIRST - timedelta(days=1)
    frame = waterfall(snapshot_sql, Filters(first, last), TODAY)
    _adds_up(frame)
    assert (frame["generation_days"] == 0).all() and (frame["endpoint_days"] == frame["days"]).all()
    want = _unseen_effects(fake_dataset, first, last).set_index(["model", "week"])["unseen"]
    got = frame.set_index(["model", "week"])["residual"]
    assert set(got.index) == set(want.index)
    for key, residual in got.items():
        assert residual == pytest.approx(want[key], abs=1e-6), key
    assert float(got.abs().max()) > 0.01, "overrides and tiers leave a visible residual"


def test_a_body_that_does_not_explain_itself(
    monkeypatch: pytest.MonkeyPatch, synthetic_db: Path, synthetic_today: date
) -> None:
    """A hand-made store: costs no price list explains and no source itemises. The residual carries it,
    as a step of its own on the page, and the steps still add up to the billed spend."""
    con = duckdb.connect(str(snapshot_path(synthetic_db)), read_only=True)
    try:
        end = synthetic_today - timedelta(days=1)
        frame = waterfall(con, Filters(end - timedelta(days=13), end), synthetic_today, ("model",))
    finally:
        con.close()
    _adds_up(frame)
    assert float(frame["residual"].abs().min()) > 0.01
    at = open_app(monkeypatch, synthetic_db, synthetic_today, page="models", params={"range": "7d"})
    steps = chart_data(at, "model_waterfall")
    residual = steps.loc[steps["step"] == "Residual", "amount"]
    assert len(residual) == 1 and abs(float(residual.iloc[0])) > 0.01
    body = steps.loc[steps["step"] != "Billed", "amount"].sum()
    billed = float(steps.loc[steps["step"] == "Billed", "amount"].iloc[0])
    assert body == pytest.approx(billed, rel=1e-9)


def test_bills_that_list_prices_do_not_explain(snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    """On the demo store, at least a fifth of the per-generation records cost more than 2 % off what their
    tokens cost at list prices (every token class at its /models price)."""
    off, n = snapshot_sql.execute(
        """WITH g AS (
               SELECT g.usage + coalesce(g.byok_usage_inference, 0) AS billed,
                      g.native_tokens_prompt * m.pricing_prompt
                      + greatest(g.native_tokens_completion - g.native_tokens_reasoning, 0) * m.pricing_completion
                      + least(g.native_tokens_reasoning, g.native_tokens_completion)
                        * coalesce(m.pricing_internal_reasoning, m.pricing_completion)
                      + coalesce(m.pricing_request, 0) AS list
               FROM generations g JOIN models_current m ON m.canonical_slug = g.model_permaslug)
           SELECT count(*) FILTER (WHERE abs(billed - list) > 0.02 * list), count(*) FROM g WHERE list > 0"""
    ).fetchall()[0]
    assert n > 1000 and off / n >= 0.2, (off, n)


def test_effective_prices_per_model_and_provider(monkeypatch: pytest.MonkeyPatch, explained_db: Path) -> None:
    """The Models table: at least five models whose price paid per million tokens is off their list price
    per million. Model detail: each provider's input and output $/M paid beside its listed ones; an endpoint
    with a 10 % discount and no caching is paid 90 % of its listed input and output prices."""
    at = open_app(monkeypatch, explained_db, TODAY, page="models")
    table = next(f.value for f in at.dataframe if {"list_per_m", "paid_per_m"} <= set(f.value.columns))
    off = table.dropna(subset=["list_per_m"])
    off = off.loc[(off["paid_per_m"] - off["list_per_m"]).abs() > 0.01 * off["list_per_m"]]
    assert len(off) >= 5
    llama = "meta-llama/llama-3.3-70b-instruct"
    at = open_app(monkeypatch, explained_db, TODAY, page="model", params={"model": llama, "range": "7d"})
    per = next(f.value for f in at.dataframe if "input_per_m" in f.value.columns).set_index("provider")
    assert {"DeepInfra", "Together", "Groq"} <= set(per.index)
    deepinfra, together = per.loc["DeepInfra"], per.loc["Together"]
    assert deepinfra["discount"] == pytest.approx(0.1) and together["discount"] == 0
    assert deepinfra["input_per_m"] == pytest.approx(0.9 * deepinfra["list_input_per_m"], rel=1e-6)
    assert deepinfra["output_per_m"] == pytest.approx(0.9 * deepinfra["list_output_per_m"], rel=1e-6)
    assert together["input_per_m"] == pytest.approx(together["list_input_per_m"], rel=1e-6)


def test_the_store_keeps_what_explains_a_bill(snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    """The prices the ingest stores (migration 'billing'): 1-hour cache writes and overrides per model, and
    per endpoint its discount, cache-write, reasoning and web-search prices and its own overrides."""
    sonnet = snapshot_sql.execute(
        "SELECT pricing_input_cache_write, pricing_input_cache_write_1h, pricing_overrides, pricing_web_search "
        "FROM models_current WHERE canonical_slug = 'anthropic/claude-4.5-sonnet-20250929'"
    ).fetchall()[0]
    assert sonnet[:2] == pytest.approx((3.75e-6, 6e-6))
    (long_context,) = json.loads(sonnet[2])
    assert long_context == pytest.approx(
        {
            "min_prompt_tokens": 200000.0,
            "prompt": 6e-6,
            "completion": 22.5e-6,
            "input_cache_read": 0.6e-6,
            "input_cache_write": 7.5e-6,
            "input_cache_write_1h": 12e-6,
        }
    )
    assert sonnet[3] == pytest.approx(0.01)
    endpoints = dict(
        snapshot_sql.execute(
            """SELECT provider_name, pricing_discount FROM model_endpoints_latest
               WHERE model_permaslug = 'meta-llama/llama-3.3-70b-instruct'"""
        ).fetchall()
    )
    assert endpoints["DeepInfra"] == pytest.approx(0.1) and endpoints["Together"] is None
    window = snapshot_sql.execute(
        """SELECT pricing_overrides FROM model_endpoints_latest
           WHERE model_permaslug = 'deepseek/deepseek-v3.2-20251201' AND provider_name = 'DeepSeek'"""
    ).fetchall()[0][0]
    (entry,) = json.loads(window)
    assert (entry["utc_start"], entry["utc_end"]) == (1630, 30) and entry["prompt"] == pytest.approx(0.135e-6)
