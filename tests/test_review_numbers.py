"""The weekly review's numbers against the tests' own SQL on the demo store (the real ingest from the fake
OpenRouter): totals and the decomposition, top movers per model, app, key and provider, efficiency, the
month's outlook and the what-if re-pricing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from queries.store import read_snapshot
from review.load import weekly_review
from review.model import Review
from review.movers import MIN_RELATIVE_USD
from review.weeks import IsoWeek, last_complete_week
from review.whatif import MIN_SAVING
from tests.dashboard_fixtures import (
    activity_window,
    expected_by,
    expected_month_forecast,
    expected_totals,
    sql,
    sql_one,
)

WEEK = IsoWeek(2026, 46)


@pytest.fixture(scope="module")
def review(demo_db: Path, demo_today: date) -> Iterator[Review]:
    assert last_complete_week(demo_today) == WEEK, "the demo store is pinned so that 2026-W46 is the last full week"
    with read_snapshot(demo_db) as con:
        yield weekly_review(con, WEEK, demo_today)


def _spend(con: duckdb.DuckDBPyConnection, sql_text: str, first: date, last: date) -> dict[str, float]:
    return {str(k): float(v) for k, v in sql(con, sql_text, [first, last])}


# Each kind from the table that holds it, written out by hand. The demo weeks lie inside activity's window.
KIND_SQL = {
    "app": "SELECT app, sum(total_usage) FROM analytics_daily WHERE dimensions = 'model,app' "
    "AND date BETWEEN ? AND ? GROUP BY app",
    "key": "SELECT api_key_hash, sum(usage + byok_usage_inference) FROM activity_by_key "
    "WHERE date BETWEEN ? AND ? GROUP BY api_key_hash",
    "provider": "SELECT provider_name, sum(usage + byok_usage_inference) FROM activity "
    "WHERE date BETWEEN ? AND ? GROUP BY provider_name",
    "model": "SELECT model_permaslug, sum(usage + byok_usage_inference) FROM activity "
    "WHERE date BETWEEN ? AND ? GROUP BY model_permaslug",
}


def test_the_weeks_lie_in_the_activity_window(snapshot_sql: duckdb.DuckDBPyConnection, review: Review) -> None:
    first, last = activity_window(snapshot_sql)
    assert first <= review.previous_first and review.last <= last
    assert (review.first, review.last) == (date(2026, 11, 9), date(2026, 11, 15))
    assert (review.previous_first, review.previous_last) == (date(2026, 11, 2), date(2026, 11, 8))
    assert review.status == "ok" and review.comparable and not review.partial and not review.notes


def test_totals_and_the_decomposition(snapshot_sql: duckdb.DuckDBPyConnection, review: Review) -> None:
    now = expected_totals(snapshot_sql, review.first, review.last)
    before = expected_totals(snapshot_sql, review.previous_first, review.previous_last)
    t = review.totals
    assert t.spend == pytest.approx(now["spend"]) and t.spend_prev == pytest.approx(before["spend"])
    assert t.requests == now["requests"] and t.tokens == now["tokens"] and t.tokens_prev == before["tokens"]
    c = review.change
    assert c is not None
    assert c.total == pytest.approx(round(now["spend"] - before["spend"], 2))
    assert round(c.volume + c.mix + c.price, 2) == pytest.approx(c.total)  # parts add up to the cent
    per_model = expected_by(snapshot_sql, "model", review.first, review.last).set_index("value")
    frame = review.by_model.set_index("model")
    assert set(frame.index) >= set(per_model.index)
    for model, row in per_model.iterrows():
        assert frame.loc[model, "spend"] == pytest.approx(row["spend"])
        assert frame.loc[model, "tokens"] == row["tokens"]
        parts = frame.loc[model, ["volume", "mix", "price"]].sum()
        assert parts == pytest.approx(frame.loc[model, "change"], abs=1e-9)
    # Total tokens fell and every model's volume part has the sign of that fall.
    volume_sign = 1 if now["tokens"] > before["tokens"] else -1
    assert all(v * volume_sign >= 0 for v in frame["volume"])


@pytest.mark.parametrize("kind", ["model", "app", "key", "provider"])
def test_movers_match_independent_sql(snapshot_sql: duckdb.DuckDBPyConnection, review: Review, kind: str) -> None:
    now = _spend(snapshot_sql, KIND_SQL[kind], review.first, review.last)
    before = _spend(snapshot_sql, KIND_SQL[kind], review.previous_first, review.previous_last)
    values = set(now) | set(before)
    change = {v: now.get(v, 0.0) - before.get(v, 0.0) for v in values}
    m = review.movers[kind]
    assert m.comparable
    table = m.table.set_index("value")
    assert set(table.index) == values
    for v in values:
        assert table.loc[v, "change"] == pytest.approx(change[v], abs=1e-9)
    ups = sorted((v for v in values if change[v] > 0), key=lambda v: (-change[v], v))[:5]
    downs = sorted((v for v in values if change[v] < 0), key=lambda v: (change[v], v))[:5]
    assert list(m.increases["value"]) == ups
    assert list(m.decreases["value"]) == downs
    eligible = {
        v: change[v] / before[v]
        for v in values
        if before.get(v, 0) > 0 and max(now.get(v, 0.0), before[v]) >= MIN_RELATIVE_USD and change[v] != 0
    }
    top = sorted(eligible, key=lambda v: (-abs(eligible[v]), v))[:5]
    assert list(m.relative["value"]) == top
    assert m.relative["change_pct"].tolist() == pytest.approx([eligible[v] for v in top])
    assert list(m.appeared["value"]) == sorted(set(now) - set(before), key=lambda v: (-now[v], v))
    assert set(m.silent["value"]) == set(before) - set(now)


def test_key_movers_carry_key_names(snapshot_sql: duckdb.DuckDBPyConnection, review: Review) -> None:
    names = dict(sql(snapshot_sql, "SELECT hash, name FROM api_keys"))
    for value, label in zip(review.movers["key"].table["value"], review.movers["key"].table["label"], strict=True):
        assert label == names.get(value, value[:10])


def test_new_and_silent_across_the_history(
    snapshot_sql: duckdb.DuckDBPyConnection, demo_db: Path, demo_today: date
) -> None:
    """A week where models appear: those never seen before are "new", the others "back"."""
    week = IsoWeek(2025, 48)
    with read_snapshot(demo_db) as snap:
        r = weekly_review(snap, week, demo_today)
    appeared = set(r.movers["model"].appeared["value"])
    models = "SELECT DISTINCT model FROM analytics_daily WHERE dimensions = 'model' AND date BETWEEN ? AND ?"
    now = {row[0] for row in sql(snapshot_sql, models, [week.monday, week.sunday])}
    before = {row[0] for row in sql(snapshot_sql, models, [week.monday - timedelta(7), week.sunday - timedelta(7)])}
    assert appeared == now - before and appeared, "the demo's history has models starting that week"
    first = "SELECT min(date) FROM analytics_daily WHERE dimensions = 'model' AND model = ?"
    for value, status in zip(r.movers["model"].appeared["value"], r.movers["model"].appeared["status"], strict=True):
        assert status == ("new" if sql_one(snapshot_sql, first, [value]) >= week.monday else "back")
    assert set(r.movers["model"].silent["value"]) == before - now


def test_efficiency_matches_independent_sql(snapshot_sql: duckdb.DuckDBPyConnection, review: Review) -> None:
    def week_sql(first: date, last: date) -> dict[str, Any]:
        act = sql(
            snapshot_sql,
            """SELECT sum(usage + byok_usage_inference), sum(prompt_tokens + completion_tokens),
                      sum(reasoning_tokens), sum(completion_tokens), sum(requests)
               FROM activity WHERE date BETWEEN ? AND ?""",
            [first, last],
        )[0]
        an = sql(
            snapshot_sql,
            """SELECT sum(cached_tokens), sum(tokens_prompt), sum(usage_cache) FROM analytics_daily
               WHERE dimensions = 'model' AND date BETWEEN ? AND ?""",
            [first, last],
        )[0]
        # Reasoning within completion at the internal_reasoning price (one /models state in the demo store).
        reasoning_cost = sql_one(
            snapshot_sql,
            """SELECT sum((a.completion_tokens - greatest(a.completion_tokens - a.reasoning_tokens, 0))
                          * coalesce(m.pricing_internal_reasoning, m.pricing_completion))
               FROM activity a JOIN models_current m ON m.canonical_slug = a.model_permaslug
               WHERE a.date BETWEEN ? AND ?""",
            [first, last],
        )
        return {
            "price_per_m": act[0] / act[1] * 1e6,
            "reasoning_share": act[2] / act[3],
            "reasoning_cost": reasoning_cost,
            "cache_hit_rate": an[0] / an[1],
            "cache_savings": -an[2],
            "cost_per_request": act[0] / act[4],
        }

    now = week_sql(review.first, review.last)
    before = week_sql(review.previous_first, review.previous_last)
    for e in review.efficiency:
        assert e.current == pytest.approx(now[e.key]), e.key
        assert e.previous == pytest.approx(before[e.key]), e.key
        assert e.change == pytest.approx(now[e.key] - before[e.key]), e.key
    saved = next(e for e in review.efficiency if e.key == "cache_savings")
    assert saved.current is not None and saved.current > 0, "caching saved money in the demo week"


def test_month_outlook(snapshot_sql: duckdb.DuckDBPyConnection, review: Review, demo_today: date) -> None:
    b = review.budget
    month_start = demo_today.replace(day=1)
    yesterday = demo_today - timedelta(days=1)
    done = expected_totals(snapshot_sql, month_start, yesterday)["spend"]
    last7 = expected_totals(snapshot_sql, demo_today - timedelta(days=7), yesterday)["spend"] / 7
    assert b.month == f"{demo_today:%Y-%m}" and b.month_done == pytest.approx(done)
    assert b.spend_per_day == pytest.approx(last7)
    assert b.days_remaining == 30 - demo_today.day + 1  # November has 30 days
    # The month-end forecast is the budgets' (core.forecast.project), fed from the tests' own SQL.
    forecast = expected_month_forecast(snapshot_sql, demo_today)
    assert forecast is not None and forecast.seasonal
    assert b.projection == pytest.approx(forecast.total, rel=1e-9)
    assert (b.projection_low, b.projection_high) == pytest.approx((forecast.low, forecast.high), rel=1e-9)
    assert b.projection_low < b.projection < b.projection_high


# The re-pricing written out in SQL: volumes per model (cached from analytics), list prices from models_current.
_WHAT_IF = """
WITH vol AS (
    SELECT model_permaslug AS model, sum(requests) AS requests, sum(prompt_tokens) AS prompt,
           sum(completion_tokens) AS completion, sum(usage + byok_usage_inference) AS spend
    FROM activity WHERE date BETWEEN $1 AND $2 GROUP BY 1),
cache AS (SELECT model, sum(cached_tokens) AS cached FROM analytics_daily
          WHERE dimensions = 'model' AND date BETWEEN $1 AND $2 GROUP BY 1),
v AS (SELECT vol.*, least(coalesce(cache.cached, 0), prompt) AS cached FROM vol LEFT JOIN cache USING (model)),
top AS (SELECT * FROM v ORDER BY spend DESC, model LIMIT 3),
priced AS (
    SELECT top.model, top.spend, m.canonical_slug AS alt, m.id AS alt_id, own.id AS own_id,
           m.context_length AS alt_ctx, own.context_length AS own_ctx, m.output_modalities AS alt_out,
           (top.prompt - top.cached) * own.pricing_prompt + top.cached * coalesce(own.pricing_input_cache_read,
               own.pricing_prompt) + top.completion * own.pricing_completion
               + top.requests * coalesce(own.pricing_request, 0) AS list_cost,
           (top.prompt - top.cached) * m.pricing_prompt + top.cached * coalesce(m.pricing_input_cache_read,
               m.pricing_prompt) + top.completion * m.pricing_completion
               + top.requests * coalesce(m.pricing_request, 0) AS alt_cost
    FROM top JOIN models_current own ON own.canonical_slug = top.model CROSS JOIN models_current m)
SELECT model, alt, list_cost, alt_cost FROM priced
WHERE alt <> model AND alt_id <> own_id AND list_contains(string_split(alt_out, ','), 'text')
  AND alt_ctx >= own_ctx AND alt_cost <= list_cost * (1 - $3)
QUALIFY row_number() OVER (PARTITION BY model ORDER BY alt_cost DESC, alt) <= 3
ORDER BY spend DESC, model, alt_cost DESC, alt
"""


def test_what_if_matches_independent_sql(snapshot_sql: duckdb.DuckDBPyConnection, review: Review) -> None:
    expected = snapshot_sql.execute(_WHAT_IF, [review.first, review.last, MIN_SAVING]).df()
    got = review.what_if.suggestions
    assert not got.empty
    assert list(got["model"]) == list(expected["model"]) and list(got["alternative"]) == list(expected["alt"])
    assert got["list_cost"].tolist() == pytest.approx(expected["list_cost"].tolist())
    assert got["alternative_cost"].tolist() == pytest.approx(expected["alt_cost"].tolist())
    assert got["saving"].tolist() == pytest.approx((got["list_cost"] - got["alternative_cost"]).tolist())
    assert (got["saving_share"] >= MIN_SAVING - 1e-12).all()


def test_reprice_the_whole_week_at_one_model(snapshot_sql: duckdb.DuckDBPyConnection, review: Review) -> None:
    from review.whatif import reprice

    target = "openai/gpt-4o-mini-2024-07-18"
    result = reprice(review.what_if.volume, review.prices, target)
    assert result is not None
    price = snapshot_sql.execute(
        "SELECT pricing_prompt, pricing_completion, pricing_input_cache_read FROM models_current "
        "WHERE canonical_slug = ?",
        [target],
    ).fetchall()[0]
    v = review.what_if.volume
    priced = v.loc[~v["model"].isin(result.unpriced)]
    expected = float(
        (
            (priced["prompt"] - priced["cached"]) * price[0]
            + priced["cached"] * price[2]
            + priced["completion"] * price[1]
        ).sum()
    )
    assert result.target_cost == pytest.approx(expected)
    assert result.target_cost < result.actual_list_cost


def test_volumes_are_the_weeks_tokens(snapshot_sql: duckdb.DuckDBPyConnection, review: Review) -> None:
    per_model = expected_by(snapshot_sql, "model", review.first, review.last)
    volume = review.what_if.volume.set_index("model")
    assert pd.Series(volume["prompt"]).sum() == per_model["prompt"].sum()
    assert pd.Series(volume["completion"]).sum() == per_model["completion"].sum()
    assert (volume["cached"] <= volume["prompt"]).all()
