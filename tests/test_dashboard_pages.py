"""Every page but the Overview under AppTest, on the demo store, against the tests' own SQL.

(The Overview, the shared sidebar, the query string, the gate and the empty store are in
``test_dashboard_apptest.py``.)
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import fmt
from tests.dashboard_fixtures import (
    PAGE_TITLES,
    PRICE_CHANGE_DAYS_AGO,
    PRICE_CHANGED,
    chart_data,
    charts,
    downloads,
    expected_by,
    expected_rows,
    open_app,
    run_app,
    texts,
)

TOP_MODEL = "anthropic/claude-4.5-sonnet-20250929"


def _preset(days: int, today: date) -> tuple[date, date]:
    end = today - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The page's st.dataframe holding ``column``."""
    for frame in at.dataframe:
        value = frame.value
        if column in value.columns:
            return value
    raise AssertionError(f"no table with {column!r}")


def _open(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, page: str, **params: Any) -> AppTest:
    at = open_app(monkeypatch, demo_db, demo_today, page=page, params=params or None)
    assert next(t.value for t in at.title) == PAGE_TITLES[page]
    return at


def _every_chart_downloads(at: AppTest) -> None:
    """Every chart has exact-number tooltips and a CSV download of its own data."""
    found = charts(at)
    assert found, "no chart drawn"
    assert len(downloads(at)) >= len(found), "every chart has a CSV download"
    for name, (spec, _data) in found.items():
        layers = spec.get("layer", [spec])
        tips = [t for layer in layers for t in layer.get("encoding", {}).get("tooltip", [])]
        assert tips, f"{name} has no tooltip"
        numbers = [t for t in tips if t.get("type") == "quantitative"]
        assert numbers and all("format" in t for t in numbers), f"{name}: numbers in tooltips need a format"


# ---- Models ------------------------------------------------------------------------------------------------


def test_models_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "models")
    _every_chart_downloads(at)
    assert {"model_spend", "model_tokens", "actual_vs_list", "cache_savings", "model_timeline"} <= set(charts(at))
    start, end = _preset(30, demo_today)
    want = expected_by(snapshot_sql, "model", start, end).set_index("value")
    table = _table(at, "paid_per_m").set_index(_table(at, "paid_per_m").columns[0])
    # The table shows labels; every model with traffic is there with exactly its spend and requests.
    assert len(table) == len(want)
    assert float(table["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    assert int(table["requests"].sum()) == int(want["requests"].sum())
    bars = chart_data(at, "model_spend")
    named = [m for m in bars["model"] if m != "other"]
    assert named == list(want.index[: len(named)])
    assert float(bars["spend"].sum()) == pytest.approx(float(want["spend"].sum()))  # the rest as "other"
    row = bars.set_index("model").loc[TOP_MODEL]
    assert row["spend"] == pytest.approx(want.loc[TOP_MODEL, "spend"])
    assert row["paid_per_m"] == pytest.approx(want.loc[TOP_MODEL, "spend"] / want.loc[TOP_MODEL, "tokens"] * 1e6)


def test_models_list_price_and_cache_savings_match_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "models")
    start, end = _preset(30, demo_today)
    # One price state per model in the demo store: the list cost is the tokens at that price, reasoning (within
    # completion) at the internal_reasoning price where one is listed.
    list_cost = (
        snapshot_sql.execute(
            f"""SELECT r.model, sum(r.spend) AS spend,
                   sum(r.prompt * m.pricing_prompt
                       + greatest(r.completion - r.reasoning, 0) * m.pricing_completion
                       + least(r.reasoning, r.completion) * coalesce(m.pricing_internal_reasoning, m.pricing_completion)
                       + r.requests * coalesce(m.pricing_request, 0)) AS list_cost
            FROM ({expected_rows(snapshot_sql, start, end)}) r JOIN models m ON m.canonical_slug = r.model
            GROUP BY r.model""",
        )
        .df()
        .set_index("model")
    )
    ratios = chart_data(at, "actual_vs_list").set_index("model")
    for model in ratios.index:
        assert ratios.loc[model, "ratio"] == pytest.approx(
            list_cost.loc[model, "spend"] / list_cost.loc[model, "list_cost"]
        )
    # Cache savings: what OpenRouter billed less, −usage_cache of analytics (grouping "model"), which covers
    # every day of the range; cached tokens from the same rows.
    savings = (
        snapshot_sql.execute(
            """SELECT model, sum(cached_tokens) AS cached, -sum(usage_cache) AS savings FROM analytics_daily
               WHERE dimensions = 'model' AND date BETWEEN ? AND ? GROUP BY model""",
            [start, end],
        )
        .df()
        .set_index("model")
    )
    shown = chart_data(at, "cache_savings").drop_duplicates("model").set_index("model")
    assert len(shown) > 0
    for model in shown.index.drop("other", errors="ignore"):
        assert shown.loc[model, "cache_savings"] == pytest.approx(savings.loc[model, "savings"])
        assert shown.loc[model, "cached"] == savings.loc[model, "cached"]
    assert float(shown["cache_savings"].sum()) == pytest.approx(float(savings["savings"].sum()))
    title = charts(at)["cache_savings"][0]["title"]["text"]
    assert title == f"Cache savings: {fmt.usd(float(savings['savings'].sum()))}"


def test_model_filter_and_app_filter_on_the_models_page(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "models", apps="Cline", range="90d")
    start, end = _preset(90, demo_today)
    want = expected_by(snapshot_sql, "model", start, end, apps=("Cline",)).set_index("value")
    table = _table(at, "paid_per_m")
    assert float(table["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    assert "analytics by model × app" in texts(at)


def test_price_changes_are_marked_on_the_timeline(
    monkeypatch: pytest.MonkeyPatch, synthetic_db: Path, synthetic_today: date
) -> None:
    at = open_app(monkeypatch, synthetic_db, synthetic_today, page="models")
    spec, datasets = charts(at)["model_timeline"]
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "rule"]
    changes = datasets[1]
    assert list(changes["model"]) == [PRICE_CHANGED]
    assert list(changes["day"]) == [(synthetic_today - timedelta(days=PRICE_CHANGE_DAYS_AGO)).isoformat()]
    assert changes["prompt_per_m"].iloc[0] == pytest.approx(1.1) and changes["old_prompt_per_m"].iloc[
        0
    ] == pytest.approx(2.5)
    # The paid-vs-list ratio uses each day's own price: before the change 2.5/10, after 1.1/4.4 per M.
    with duckdb.connect(str(synthetic_db.with_name("orusage.snapshot.duckdb")), read_only=True) as con:
        change_day = synthetic_today - timedelta(days=PRICE_CHANGE_DAYS_AGO)
        start, end = _preset(30, synthetic_today)
        paid, at_list = con.execute(
            """SELECT sum(usage + byok_usage_inference),
                      sum(CASE WHEN date < ? THEN prompt_tokens * 2.5e-6 + completion_tokens * 1e-5
                               ELSE prompt_tokens * 1.1e-6 + completion_tokens * 4.4e-6 END)
               FROM activity WHERE model_permaslug = ? AND date BETWEEN ? AND ?""",
            [change_day, PRICE_CHANGED, start, end],
        ).fetchall()[0]
    ratio = chart_data(at, "actual_vs_list").set_index("model").loc[PRICE_CHANGED, "ratio"]
    assert ratio == pytest.approx(paid / at_list)


# ---- Model detail -------------------------------------------------------------------------------------------


def test_model_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    model = "openai/gpt-4.1-2025-04-14"
    at = _open(monkeypatch, demo_db, demo_today, "model", model=model)
    assert at.query_params["model"] == model
    _every_chart_downloads(at)
    start, end = _preset(30, demo_today)
    tokens = chart_data(at, "detail_tokens")
    want = expected_by(snapshot_sql, "date", start, end, models=(model,))
    assert int(tokens["tokens"].sum()) == int(want["tokens"].sum())
    providers = _table(at, "paid_per_m").set_index("provider")
    by_provider = expected_by(snapshot_sql, "provider", start, end, models=(model,)).set_index("value")
    assert set(providers.index) == set(by_provider.index)
    for name in by_provider.index:
        assert providers.loc[name, "spend"] == pytest.approx(by_provider.loc[name, "spend"])
        assert providers.loc[name, "paid_per_m"] == pytest.approx(
            by_provider.loc[name, "spend"] / by_provider.loc[name, "tokens"] * 1e6
        )
    latency = snapshot_sql.execute(
        """SELECT provider, sum(p50_latency * request_count) / sum(request_count) FROM analytics_daily
           WHERE dimensions = 'model,provider' AND model = ? AND date BETWEEN ? AND ? AND p50_latency IS NOT NULL
           GROUP BY provider""",
        [model, start, end],
    ).fetchall()
    for provider, p50 in latency:
        assert providers.loc[provider, "p50_latency"] == pytest.approx(p50)
    endpoints = _table(at, "uptime_last_1d")
    want_endpoints = snapshot_sql.execute(
        "SELECT provider_name, uptime_last_1d FROM model_endpoints_latest WHERE model_permaslug = ?", [model]
    ).fetchall()
    assert sorted(zip(endpoints["provider_name"], endpoints["uptime_last_1d"], strict=True)) == sorted(want_endpoints)
    apps = chart_data(at, "detail_apps").drop_duplicates("app")
    want_apps = expected_by(snapshot_sql, "app", start, end, models=(model,), apps=())  # no app filter: all apps
    assert float(apps["spend"].sum()) == pytest.approx(float(_app_total(snapshot_sql, model, start, end)))
    assert len(want_apps) > 0
    keys = chart_data(at, "detail_keys").drop_duplicates("key")
    want_keys = snapshot_sql.execute(
        "SELECT sum(usage + byok_usage_inference) FROM activity_by_key "
        "WHERE model_permaslug = ? AND date BETWEEN ? AND ?",
        [model, start, end],
    ).fetchall()[0][0]
    assert float(keys["spend"].sum()) == pytest.approx(want_keys)
    history = _table(at, "completion_per_m")
    price = snapshot_sql.execute(
        "SELECT pricing_completion * 1e6, context_length FROM models WHERE canonical_slug = ?", [model]
    ).fetchall()
    assert list(history["completion_per_m"]) == pytest.approx([p for p, _ in price])
    assert f"{price[0][1]:,}" in " ".join(m.value for m in at.metric) or any(
        "Context length" in m.label for m in at.metric
    )


def _app_total(con: duckdb.DuckDBPyConnection, model: str, start: date, end: date) -> float:
    row = con.execute(
        "SELECT sum(total_usage) FROM analytics_daily WHERE dimensions = 'model,app' AND model = ? "
        "AND date BETWEEN ? AND ?",
        [model, start, end],
    ).fetchall()[0]
    return float(row[0])


def test_model_page_ignores_an_unknown_model_with_a_note(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "model", model="nope/' OR 1=1 --")
    assert "Ignored from the link" in " ".join(w.value for w in at.warning)
    assert at.query_params["model"] != "nope/' OR 1=1 --"
    assert charts(at)


def test_picking_another_model_on_its_page(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "model", model=TOP_MODEL)
    at.selectbox(key="detail_pick").set_value("x-ai/grok-3-mini")
    run_app(at)
    assert at.query_params["model"] == "x-ai/grok-3-mini"
    assert any("x-ai/grok-3-mini" in c.value for c in at.caption)


# ---- Providers ----------------------------------------------------------------------------------------------


def test_providers_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "providers")
    _every_chart_downloads(at)
    assert {"provider_spend", "provider_tokens", "provider_per_day", "model_provider", "provider_latency"} <= set(
        charts(at)
    )
    start, end = _preset(30, demo_today)
    want = expected_by(snapshot_sql, "provider", start, end).set_index("value")
    table = _table(at, "p50_latency").set_index("provider")
    assert set(table.index) == set(want.index)
    for provider in want.index:
        assert table.loc[provider, "spend"] == pytest.approx(want.loc[provider, "spend"])
        assert table.loc[provider, "requests"] == want.loc[provider, "requests"]
    cells = chart_data(at, "model_provider")
    assert float(cells["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    latency = snapshot_sql.execute(
        """SELECT provider, sum(p90_throughput * request_count) / sum(request_count) FROM analytics_daily
           WHERE dimensions = 'model,provider' AND date BETWEEN ? AND ? AND p90_throughput IS NOT NULL
           GROUP BY provider""",
        [start, end],
    ).fetchall()
    for provider, p90 in latency:
        assert table.loc[provider, "p90_throughput"] == pytest.approx(p90)


def test_providers_with_a_year_say_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "providers", range="year", models=TOP_MODEL)
    assert "provider data reaches back 31 days" in texts(at)
    start, end = urlstate_range("year", demo_today)
    # Per provider, only the days provider data exists for: activity's (and analytics' 31), no older.
    want = snapshot_sql.execute(
        "SELECT sum(usage + byok_usage_inference) FROM activity WHERE model_permaslug = ? AND date BETWEEN ? AND ?",
        [TOP_MODEL, start, end],
    ).fetchall()[0][0]
    assert float(_table(at, "p50_latency")["spend"].sum()) == pytest.approx(want)


def urlstate_range(key: str, today: date) -> tuple[date, date]:
    from queries.filters import range_days

    return range_days(key, today)


def test_providers_cannot_be_split_by_app_and_member(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    # Provider × app and app × member are each stored; the three together are not.
    at = _open(monkeypatch, demo_db, demo_today, "providers", apps="Cline", members="Dana Whitfield")
    assert "provider × app × member" in " ".join(w.value for w in at.warning)
    assert not charts(at)


# ---- Apps ----------------------------------------------------------------------------------------------------


def test_apps_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "apps", range="90d")
    _every_chart_downloads(at)
    assert {"app_spend", "app_per_day", "app_model"} <= set(charts(at))
    start, end = _preset(90, demo_today)
    want = (
        snapshot_sql.execute(
            """SELECT app, sum(total_usage) AS spend, sum(request_count) AS requests FROM analytics_daily
           WHERE dimensions = 'model,app' AND date BETWEEN ? AND ? GROUP BY app ORDER BY spend DESC""",
            [start, end],
        )
        .df()
        .set_index("app")
    )
    table = _table(at, "share").set_index("app")
    assert list(table.index) == list(want.index)
    assert table["spend"].to_list() == pytest.approx(want["spend"].to_list())
    assert table["share"].sum() == pytest.approx(1.0)
    unattributed = want.loc["unattributed", "spend"]
    assert f"${unattributed:,.2f}" in texts(at) and "X-Title" in texts(at)
    per_day = chart_data(at, "app_per_day")
    assert float(per_day["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    matrix = chart_data(at, "app_model")
    top_apps = list(want.index[:12])
    assert set(matrix["app"]) == set(top_apps)
    assert float(matrix["spend"].sum()) == pytest.approx(float(want.loc[top_apps, "spend"].sum()))


def test_apps_per_day_in_tokens(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "apps")
    at.get("button_group")[0].set_value("tokens")
    run_app(at)
    assert at.query_params["per_day"] == "tokens", "the link reopens the same chart"
    spec, (data, *_) = charts(at)["app_per_day"]
    assert spec["encoding"]["y"]["field"] == "tokens" and spec["encoding"]["y"]["title"] == "Tokens"
    start, end = _preset(30, demo_today)
    want = snapshot_sql.execute(
        "SELECT sum(tokens_prompt + tokens_completion) FROM analytics_daily "
        "WHERE dimensions = 'model,app' AND date BETWEEN ? AND ?",
        [start, end],
    ).fetchall()[0][0]
    assert int(data["tokens"].sum()) == want


def test_app_key_and_model_together_say_so(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    key = snapshot_sql.execute("SELECT hash FROM api_keys ORDER BY usage DESC").fetchall()[0][0]
    at = _open(monkeypatch, demo_db, demo_today, "apps", keys=key, models=TOP_MODEL)
    assert "model × app × API key" in " ".join(w.value for w in at.warning)
    assert not charts(at) and not downloads(at)


# ---- API keys -----------------------------------------------------------------------------------------------


def test_keys_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "keys")
    _every_chart_downloads(at)
    limits = _table(at, "used_share").set_index("name")
    want = snapshot_sql.execute(
        """SELECT name, "limit", limit_reset, disabled,
                  CASE limit_reset WHEN 'daily' THEN usage_daily WHEN 'weekly' THEN usage_weekly
                       WHEN 'monthly' THEN usage_monthly ELSE usage END
                  + CASE WHEN include_byok_in_limit THEN CASE limit_reset WHEN 'daily' THEN byok_usage_daily
                       WHEN 'weekly' THEN byok_usage_weekly WHEN 'monthly' THEN byok_usage_monthly
                       ELSE byok_usage END ELSE 0 END AS used
           FROM api_keys"""
    ).fetchall()
    assert set(limits.index) == {w[0] for w in want}
    for name, limit, reset, disabled, used in want:
        assert limits.loc[name, "period_usage"] == pytest.approx(used)
        if limit:
            assert limits.loc[name, "used_share"] == pytest.approx(used / limit)
        assert limits.loc[name, "resets"] == (reset or "never")
        assert ("disabled" in limits.loc[name, "state"]) == bool(disabled)
    start, end = _preset(30, demo_today)
    per_key = snapshot_sql.execute(
        """SELECT api_key_hash, sum(usage + byok_usage_inference) AS spend FROM activity_by_key
           WHERE date BETWEEN ? AND ? GROUP BY api_key_hash ORDER BY spend DESC""",
        [start, end],
    ).df()
    bars = chart_data(at, "key_spend").drop_duplicates("key")
    assert list(bars["key"]) == list(per_key["api_key_hash"])
    assert bars["spend"].to_list() == pytest.approx(per_key["spend"].to_list())
    names = dict(snapshot_sql.execute("SELECT hash, name FROM api_keys").fetchall())
    assert list(bars["label"]) == [names[h] for h in per_key["api_key_hash"]]


def test_keys_older_than_activity_come_from_analytics(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "keys", range="year")
    start, end = urlstate_range("year", demo_today)
    want = expected_by(snapshot_sql, "key", start, end)
    bars = chart_data(at, "key_spend").drop_duplicates("key")
    assert float(bars["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    assert "analytics by API key × model" in texts(at) and "activity per API key" in texts(at)


def test_deleted_and_expired_keys_are_marked_and_kept(
    monkeypatch: pytest.MonkeyPatch, synthetic_db: Path, synthetic_today: date
) -> None:
    at = open_app(monkeypatch, synthetic_db, synthetic_today, page="keys")
    limits = _table(at, "used_share").set_index("name")
    assert "deleted" in limits.loc["retired", "state"]
    assert "expired" in limits.loc["temp-contractor", "state"]
    assert limits.loc["temp-contractor", "resets"] == "weekly"
    assert "(deleted)" in " ".join(at.sidebar.multiselect(key="f_keys").options)


# ---- Data health --------------------------------------------------------------------------------------------


def test_health_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "health")
    _every_chart_downloads(at)
    runs = chart_data(at, "coverage_strip")
    stored = runs.loc[runs["state"] == "stored"].groupby("track")["days"].sum()
    want = snapshot_sql.execute(
        """SELECT count(DISTINCT d) FROM coverage,
                  unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS t(d)
           WHERE source = 'analytics' AND dimensions = 'model' AND metrics = 'long'
             AND d BETWEEN ? AND ?""",
        [demo_today - timedelta(days=364), demo_today - timedelta(days=1)],
    ).fetchall()[0][0]
    assert stored["analytics per model"] == want
    activity_days = snapshot_sql.execute("SELECT count(DISTINCT date) FROM activity").fetchall()[0][0]
    assert stored["activity (account)"] == activity_days
    runs = _table(at, "rows_written")
    want_runs = snapshot_sql.execute(
        "SELECT run_id, status, rows_written FROM ingest_runs ORDER BY run_id DESC"
    ).fetchall()
    shown = [(r, s.split()[-1], w) for r, s, w in zip(runs["run_id"], runs["state"], runs["rows_written"], strict=True)]
    assert shown == want_runs
    # The days before the store's first ingest are not gaps (they predate it, as `orusage status` says).
    assert "No gaps" in texts(at) and not any("reason" in f.value.columns for f in at.dataframe)
    assert "filters do not apply" in texts(at)
