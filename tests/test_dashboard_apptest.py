"""The Overview page and what every page shares (sidebar filters, query string, password gate, caching,
empty and broken stores) under Streamlit's AppTest, checked against the tests' own SQL on the snapshot.

Expected values never come from ``queries`` (that is what is under test): each test computes them with
plain SQL (``tests/dashboard_fixtures.py``: ``expected_totals`` writes the routing rule out by hand).
"Today" is pinned to the data's newest /keys fetch day with ``ORUSAGE_TODAY``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core import fmt
from core.clock import alerts_now
from queries import credits, reads, snapshots
from queries.filters import range_days
from queries.store import snapshot_path
from tests.dashboard_fixtures import (
    APP,
    PAGE_FILES,
    PAGE_TITLES,
    activity_window,
    chart_data,
    charts,
    downloads,
    expected_by,
    expected_month_forecast,
    expected_totals,
    metrics,
    open_app,
    run_app,
    sql_one,
    texts,
    usd,
)

CENT = 0.005 + 1e-9  # the page rounds dollars to cents
TOKEN_PARTS = {"Prompt": "prompt", "Completion (excl. reasoning)": "completion_only", "Reasoning": "reasoning"}
OUTLOOK = {"Credits left", "Days of credit left", "Spend today so far", "This month so far", "Month-end forecast"}
PERIOD = {"Spend", "Requests", "Tokens", "Cost per 1k requests", "Cache savings"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> AppTest:
    return open_app(monkeypatch, demo_db, demo_today)


def _preset(days: int, today: date) -> tuple[date, date]:
    end = today - timedelta(days=1)  # ranges are completed UTC days
    return end - timedelta(days=days - 1), end


def _top_key(con: duckdb.DuckDBPyConnection, n: int = 0) -> str:
    return str(con.execute("SELECT hash FROM api_keys ORDER BY usage DESC, hash").fetchall()[n][0])


def _set(at: AppTest, **widgets: Any) -> AppTest:
    """Set sidebar widgets by filter name (range, custom, models, providers, apps, keys, workspace)."""
    for name, value in widgets.items():
        key = f"f_{name}"
        if name == "range" or name == "workspace":
            at.sidebar.selectbox(key=key).set_value(value)
        elif name == "custom":
            at.sidebar.date_input(key=key).set_value(value)
        else:
            at.sidebar.multiselect(key=key).set_value(value)
        run_app(at)
    return at


def _check_period(at: AppTest, con: duckdb.DuckDBPyConnection, start: date, end: date, **filters: Any) -> None:
    """The period KPIs show exactly what the tests' own SQL says for these days and filters."""
    want = expected_totals(con, start, end, **filters)
    shown = metrics(at)
    assert usd(shown["Spend"]) == pytest.approx(want["spend"], abs=CENT)
    assert shown["Requests"] == f"{want['requests']:,.0f}"
    assert shown["Tokens"] == fmt.tokens(want["tokens"])
    if want["requests"]:
        assert usd(shown["Cost per 1k requests"]) == pytest.approx(want["spend"] / want["requests"] * 1000, abs=CENT)


def _chart_tokens(frame: pd.DataFrame) -> pd.DataFrame:
    wide = frame.pivot_table(index="day", columns="part", values="tokens", aggfunc="sum").rename(columns=TOKEN_PARTS)
    return wide[list(TOKEN_PARTS.values())].astype("int64").sort_index()


# ---- the Overview on demo data -------------------------------------------------------------------------------


def test_overview_renders(app: AppTest) -> None:
    assert [t.value for t in app.title] == ["Overview"]
    assert set(metrics(app)) == OUTLOOK | PERIOD
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "All days are UTC" in captions and "Data as of" in captions
    assert app.sidebar.selectbox(key="f_range").value == "30d"
    for key in ("f_models", "f_providers", "f_apps", "f_keys"):
        assert app.sidebar.multiselect(key=key).value == []
    assert set(charts(app)) == {"tokens_per_day", "spend_per_day", "spend_per_model"}
    assert len(downloads(app)) == 3, "every chart has its CSV download"
    assert app.query_params == {"range": "30d"}


def test_outlook_matches_sql(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date) -> None:
    today = demo_today
    shown = metrics(app)
    credits_left = sql_one(snapshot_sql, "SELECT total_credits - total_usage FROM credits ORDER BY fetched_at DESC")
    assert usd(shown["Credits left"]) == pytest.approx(credits_left, abs=CENT)
    # One definition: the KPI is the runway of the Credits panel and of the credits alert (queries.credits,
    # tested against known answers in test_credits_keys), counted from the page's moment.
    now = alerts_now()  # the page's moment: now, or the data's time when it shows another day
    moment = now if now.date() == today else reads.data_as_of(snapshot_sql).finished_at or now
    runway = credits.runway(snapshot_sql, moment)
    assert runway is not None and runway.days is not None
    assert shown["Days of credit left"] == f"{runway.days:,.0f} days"
    panel = " ".join(m.value for m in app.markdown)
    assert f"Runway: {runway.text()}" in panel
    so_far = sql_one(
        snapshot_sql,
        "SELECT sum(coalesce(usage_daily, 0) + coalesce(byok_usage_daily, 0)) FROM api_key_snapshots "
        "WHERE fetched_at = (SELECT max(fetched_at) FROM api_key_snapshots)",
    )
    assert usd(shown["Spend today so far"]) == pytest.approx(so_far, abs=CENT)
    month_start = today.replace(day=1)
    done = sql_one(
        snapshot_sql,
        "SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity WHERE date >= ? AND date < ?",
        [month_start, today],
    )
    assert usd(shown["This month so far"]) == pytest.approx(done + so_far, abs=CENT)
    forecast = expected_month_forecast(snapshot_sql, today)
    assert forecast is not None and forecast.low is not None and forecast.high is not None
    assert usd(shown["Month-end forecast"]) == pytest.approx(forecast.total, abs=CENT)
    assert any(f"80% band {fmt.usd(forecast.low)} – {fmt.usd(forecast.high)}" in c.value for c in app.caption)


def test_default_range_matches_sql(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date) -> None:
    start, end = _preset(30, demo_today)
    _check_period(app, snapshot_sql, start, end)
    tokens = _chart_tokens(chart_data(app, "tokens_per_day"))
    want = (
        snapshot_sql.execute(
            """SELECT strftime(date, '%Y-%m-%d') AS day, sum(prompt_tokens) AS prompt,
                  sum(greatest(completion_tokens - reasoning_tokens, 0)) AS completion_only,
                  sum(reasoning_tokens) AS reasoning
           FROM activity WHERE date BETWEEN ? AND ? GROUP BY date ORDER BY date""",
            [start, end],
        )
        .df()
        .set_index("day")
    )
    pd.testing.assert_frame_equal(tokens, want.astype("int64"), check_names=False)
    # One bar slot per UTC day of the range, idle days included.
    spec = charts(app)["tokens_per_day"][0]
    assert len(spec["encoding"]["x"]["scale"]["domain"]) == 30


def test_spend_charts_match_sql(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date) -> None:
    start, end = _preset(30, demo_today)
    per_model = expected_by(snapshot_sql, "model", start, end)
    bars = chart_data(app, "spend_per_model").drop_duplicates("model").sort_values("rank")
    assert list(bars["model"][:10]) == list(per_model["value"][:10])
    assert bars["spend"][:10].to_list() == pytest.approx(per_model["spend"][:10].to_list())
    assert float(bars["spend"].sum()) == pytest.approx(float(per_model["spend"].sum()))
    per_day = chart_data(app, "spend_per_day")
    by_day = per_day.groupby("day")["spend"].sum()
    want_day = expected_by(snapshot_sql, "date", start, end)
    assert by_day.to_list() == pytest.approx(want_day.sort_values("value")["spend"].to_list())
    top6 = set(per_model["value"][:6])
    assert set(per_day["model"]) - {"other"} == top6, "stacked by the period's top models, the rest as other"


def test_tokens_chart_is_stacked_in_a_fixed_order_with_exact_tooltips(app: AppTest) -> None:
    spec, (data, *_) = charts(app)["tokens_per_day"]
    enc = spec["encoding"]
    assert spec["mark"]["type"] == "bar" and enc["y"]["stack"] == "zero"
    assert enc["color"]["scale"]["domain"] == list(TOKEN_PARTS)
    assert enc["order"]["field"] == "part_order"
    tooltip = {t["field"]: t for t in enc["tooltip"]}
    assert all(tooltip[f]["format"] == "," for f in ("prompt", "completion_only", "reasoning", "total"))
    assert "UTC" in enc["x"]["title"]
    by_day = data.groupby("day").agg(tokens=("tokens", "sum"), total=("total", "first"))
    assert (by_day["tokens"] == by_day["total"]).all(), "the parts add up: nothing counted twice"


def test_every_chart_has_a_tooltip(app: AppTest) -> None:
    for name, (spec, _data) in charts(app).items():
        layers = spec.get("layer", [spec])
        assert any(layer.get("encoding", {}).get("tooltip") for layer in layers), name


# ---- filters change the numbers as they should ----------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["model", "provider", "app", "key", "key+model", "workspace", "app+model"],
)
def test_filters_change_the_numbers(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date, case: str
) -> None:
    start, end = _preset(30, demo_today)
    before = metrics(app)
    models = ("anthropic/claude-4.5-sonnet-20250929", "openai/gpt-5.1-20251113")
    filters: dict[str, Any] = {
        "model": {"models": models},
        "provider": {"providers": ("OpenAI", "Google")},
        "app": {"apps": ("Cline", "unattributed")},
        "key": {"keys": (_top_key(snapshot_sql, 1),)},
        "key+model": {"keys": (_top_key(snapshot_sql, 0),), "models": models[:1]},
        "workspace": {"workspace": "Research"},
        "app+model": {"apps": ("Acme Support Bot",), "models": models},
    }[case]
    _set(app, **{k: list(v) if isinstance(v, tuple) else v for k, v in filters.items()})
    _check_period(app, snapshot_sql, start, end, **filters)
    after = metrics(app)
    assert usd(after["Spend"]) < usd(before["Spend"])
    assert {k: after[k] for k in OUTLOOK} == {k: before[k] for k in OUTLOOK}, "the outlook is account-wide"
    tokens = chart_data(app, "tokens_per_day")
    want = expected_totals(snapshot_sql, start, end, **filters)
    assert int(tokens["tokens"].sum()) == pytest.approx(want["tokens"], abs=0), (
        "prompt + completion-only + reasoning = prompt + completion"
    )


@pytest.mark.parametrize("preset", ["7d", "90d", "month", "last-month", "year"])
def test_presets_change_the_range(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date, preset: str
) -> None:
    _set(app, range=preset)
    start, end = range_days(preset, demo_today)
    _check_period(app, snapshot_sql, start, end)
    spec = charts(app)["tokens_per_day"][0]
    assert spec["encoding"]["x"]["scale"]["domain"][0] == start.isoformat()
    assert spec["encoding"]["x"]["scale"]["domain"][-1] == end.isoformat()
    assert app.query_params["range"] == preset


def test_previous_period_change_matches_sql(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date
) -> None:
    _set(app, range="7d")
    start, end = _preset(7, demo_today)
    now = expected_totals(snapshot_sql, start, end)
    before = expected_totals(snapshot_sql, start - timedelta(days=7), start - timedelta(days=1))
    deltas = {m.label: m.delta for m in app.metric}
    assert deltas["Spend"] == f"{(now['spend'] - before['spend']) / before['spend']:+.1%} vs previous"
    assert deltas["Requests"] == f"{(now['requests'] - before['requests']) / before['requests']:+.1%} vs previous"


def test_custom_range_spanning_activity_and_analytics(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    first, _last = activity_window(snapshot_sql)
    start, end = first - timedelta(days=20), first + timedelta(days=5)
    _set(app, range="custom", custom=(start, end))
    _check_period(app, snapshot_sql, start, end)
    assert app.query_params["from"] == start.isoformat() and app.query_params["to"] == end.isoformat()
    assert "analytics by model" in texts(app) and "activity (" in texts(app)


def test_an_unanswerable_combination_says_so(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    _set(app, apps=["Cline"], keys=[_top_key(snapshot_sql)], models=["openai/gpt-5.1-20251113"])
    warnings = " ".join(w.value for w in app.warning)
    assert "model × app × API key" in warnings and "Clear one" in warnings
    assert not charts(app) and not downloads(app)
    assert set(metrics(app)) == OUTLOOK, "no period figures that would silently ignore a filter"


def test_workspace_with_a_breakdown_by_model_goes_through_its_keys(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date
) -> None:
    _set(app, workspace="Research")
    assert set(charts(app)) == {"tokens_per_day", "spend_per_model", "spend_per_day"}
    assert not app.warning
    # Per model, the workspace's keys: activity per key on its days, analytics per key and model before.
    start, end = _preset(30, demo_today)
    first, _last = activity_window(snapshot_sql)
    keys = "SELECT k.hash FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE w.name = 'Research'"
    want = snapshot_sql.execute(
        f"""SELECT model, sum(spend) FROM (
                SELECT model_permaslug AS model, usage + byok_usage_inference AS spend FROM activity_by_key
                WHERE api_key_hash IN ({keys}) AND date BETWEEN greatest(?, ?) AND ?
                UNION ALL SELECT model, total_usage FROM analytics_daily
                WHERE dimensions = 'api_key_hash,model' AND api_key_hash IN ({keys}) AND date BETWEEN ? AND ? - 1)
            GROUP BY model""",
        [start, first, end, start, first],
    ).fetchall()
    bars = chart_data(app, "spend_per_model").drop_duplicates("model")
    assert float(bars["spend"].sum()) == pytest.approx(sum(v for _, v in want))


def test_provider_beyond_31_days_says_so(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date
) -> None:
    _set(app, range="90d", providers=["OpenAI"])
    assert "provider data reaches back 31 days" in " ".join(i.value for i in app.info)
    start, end = _preset(90, demo_today)
    _check_period(app, snapshot_sql, start, end, providers=("OpenAI",))
    assert {m.label: m.delta for m in app.metric}["Spend"] in (None, ""), "no comparison with an unstored period"


def test_a_range_without_activity_says_so(app: AppTest, demo_today: date) -> None:
    _set(app, range="custom", custom=(demo_today - timedelta(days=3000), demo_today - timedelta(days=2990)))
    assert not charts(app)
    assert "not stored" in texts(app) or "No usage" in texts(app)


# ---- the query string ----------------------------------------------------------------------------------------


def test_query_string_round_trip(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    key = _top_key(snapshot_sql)
    at = open_app(monkeypatch, demo_db, demo_today)
    start, end = demo_today - timedelta(days=12), demo_today - timedelta(days=3)
    _set(at, range="custom", custom=(start, end), models=["openai/gpt-5.1-20251113"], keys=[key])
    params = dict(at.query_params)
    assert params == {
        "range": "custom",
        "from": start.isoformat(),
        "to": end.isoformat(),
        "models": "openai/gpt-5.1-20251113",
        "keys": key,
    }
    shown = metrics(at)
    again = open_app(monkeypatch, demo_db, demo_today, params=params)
    assert again.sidebar.selectbox(key="f_range").value == "custom"
    assert tuple(again.sidebar.date_input(key="f_custom").value) == (start, end)
    assert again.sidebar.multiselect(key="f_models").value == ["openai/gpt-5.1-20251113"]
    assert again.sidebar.multiselect(key="f_keys").value == [key]
    assert metrics(again) == shown
    assert dict(again.query_params) == params
    _check_period(again, snapshot_sql, start, end, models=("openai/gpt-5.1-20251113",), keys=(key,))


def test_several_values_and_every_filter_in_the_url(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    params: dict[str, str | list[str]] = {"range": "7d", "models": ["x-ai/grok-3-mini", "openai/gpt-5-2025-08-07"]}
    at = open_app(monkeypatch, demo_db, demo_today, params={**params, "providers": ["xAI", "OpenAI"]})
    assert at.sidebar.multiselect(key="f_providers").value == ["xAI", "OpenAI"]
    _check_period(
        at,
        snapshot_sql,
        *_preset(7, demo_today),
        models=("x-ai/grok-3-mini", "openai/gpt-5-2025-08-07"),
        providers=("xAI", "OpenAI"),
    )
    assert at.query_params["models"] == ["x-ai/grok-3-mini", "openai/gpt-5-2025-08-07"]


@pytest.mark.parametrize(
    "params",
    [
        {"models": "x') OR TRUE OR ('", "range": "30d"},
        {"providers": "OpenAI' --", "apps": "'; DROP TABLE activity; --"},
        {"keys": "' UNION SELECT hash FROM api_keys --", "workspace": 'Research" OR 1=1'},
        {"range": "custom", "from": "2026-13-45", "to": "yesterday"},
        {"range": "1; DROP TABLE models", "sort": "spend DESC; --", "from": "2026-10-01"},
        {"models": ["unknown/model", "ünïcödé\u202e"], "keys": "0" * 64},
    ],
    ids=["sql-in-model", "sql-in-provider-app", "sql-in-key-workspace", "bad-dates", "bad-range-unknown", "unknown"],
)
def test_hostile_query_strings_are_ignored_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
    demo_db: Path,
    demo_today: date,
    snapshot_sql: duckdb.DuckDBPyConnection,
    params: dict[str, str | list[str]],
) -> None:
    at = open_app(monkeypatch, demo_db, demo_today, params=params)
    notes = " ".join(w.value for w in at.sidebar.warning)
    assert "Ignored from the link" in notes
    _check_period(at, snapshot_sql, *_preset(30, demo_today))  # exactly the unfiltered numbers
    assert dict(at.query_params) == {"range": "30d"}, "the address bar no longer holds them"
    # The note is gone on the next run; the numbers stay.
    before = metrics(at)
    run_app(at)
    assert not at.sidebar.warning and metrics(at) == before


def test_filters_survive_page_switches(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    at = open_app(monkeypatch, demo_db, demo_today, params={"range": "7d", "providers": "OpenAI"})
    for page in ("models", "providers", "health", "overview"):
        at.switch_page(PAGE_FILES[page])
        at.query_params.clear()  # what a click on the menu does to the address bar
        run_app(at)
        assert next(t.value for t in at.title) == PAGE_TITLES[page]
        assert dict(at.query_params) == {"range": "7d", "providers": "OpenAI"}
        assert at.sidebar.multiselect(key="f_providers").value == ["OpenAI"]


def test_clear_filters(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    at = open_app(monkeypatch, demo_db, demo_today, params={"range": "7d", "apps": "Cline"})
    at.sidebar.button[0].click()
    run_app(at)
    assert dict(at.query_params) == {"range": "30d"}
    assert at.sidebar.multiselect(key="f_apps").value == []


def test_a_click_on_a_model_opens_its_page_with_the_filters(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    at = open_app(monkeypatch, demo_db, demo_today, params={"range": "7d"})
    # What a click on a bar or a table row leaves behind (see dashboard.ui.model_chart / model_table).
    at.session_state["goto_model"] = "openai/gpt-5-2025-08-07"
    run_app(at)
    assert next(t.value for t in at.title) == "Model detail"
    assert dict(at.query_params) == {"range": "7d", "model": "openai/gpt-5-2025-08-07"}
    assert at.selectbox(key="detail_pick").value == "openai/gpt-5-2025-08-07"


# ---- password gate ------------------------------------------------------------------------------------------


def _gated(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, page: str = "overview") -> AppTest:
    monkeypatch.setenv("ORUSAGE_DASHBOARD_PASSWORD", PASSWORD)
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", demo_today.isoformat())
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["range"] = "7d"
    run_app(at)
    if page != "overview":
        at.switch_page(PAGE_FILES[page])
        run_app(at)
    return at


def _only_the_gate(at: AppTest) -> None:
    assert [t.value for t in at.title] == ["Password required"]
    assert len(at.text_input) == 1 and at.text_input[0].label == "Password"
    assert not at.metric and not at.get("vega_lite_chart") and not downloads(at)
    assert not at.dataframe and not at.sidebar.multiselect and not at.sidebar.selectbox


@pytest.mark.parametrize("page", list(PAGE_FILES))
def test_the_gate_hides_every_page(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, page: str) -> None:
    _only_the_gate(_gated(monkeypatch, demo_db, demo_today, page))


def _counting(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Path | None], list[int]]:
    """Every snapshot lease a page run takes (its db) and every cursor a run reads through (the id of its
    run's lease: a run takes one lease)."""
    leased: list[Path | None] = []
    cursors: list[int] = []
    alive: list[snapshots.Lease] = []  # so that no two leases share an id
    real_lease, real_cursor = reads.lease_snapshot, snapshots.Lease.cursor

    def lease(db_path: Path | None = None) -> snapshots.Lease:
        leased.append(db_path)
        alive.append(real_lease(db_path))
        return alive[-1]

    def cursor(self: snapshots.Lease) -> duckdb.DuckDBPyConnection:
        cursors.append(id(self))
        return real_cursor(self)

    monkeypatch.setattr(reads, "lease_snapshot", lease)
    monkeypatch.setattr(snapshots.Lease, "cursor", cursor)
    return leased, cursors


def test_the_gate_runs_before_any_query(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    leased, cursors = _counting(monkeypatch)
    st.cache_data.clear()
    _gated(monkeypatch, demo_db, demo_today)
    assert leased == [] and cursors == [], "behind the gate, nothing touches the store"


def test_a_wrong_password_is_refused_and_the_right_one_lets_in(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    at = _gated(monkeypatch, demo_db, demo_today)
    at.text_input[0].input("correct horse battery stapl")
    at.button[0].click()
    run_app(at)
    _only_the_gate(at)
    assert [e.value for e in at.error] == ["Wrong password."]
    at.text_input[0].input(PASSWORD)
    at.button[0].click()
    run_app(at)
    assert [t.value for t in at.title] == ["Overview"]
    assert set(metrics(at)) == OUTLOOK | PERIOD and len(downloads(at)) == 3
    assert at.query_params["range"] == "7d", "the link's filters apply once in"
    run_app(at)
    assert [t.value for t in at.title] == ["Overview"], "remembered for the session"


# ---- caching, no data, broken data ---------------------------------------------------------------------------


def test_one_cursor_per_run_one_kept_connection_and_none_when_cached(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    leased, cursors = _counting(monkeypatch)
    st.cache_data.clear()
    opened_before = snapshots.KEPT.opened
    for page in PAGE_FILES:
        leased.clear()
        cursors.clear()
        at = open_app(monkeypatch, demo_db, demo_today, page=page)
        assert leased and len(cursors) == len(set(cursors)) <= len(leased), "all of a run's reads share one cursor"
        cursors.clear()
        run_app(at)
        assert cursors == [], f"{page}: an unchanged snapshot is served from the cache"
    # One snapshot version, so at most one connection was opened for all those runs (none if an earlier
    # test of this process had opened it already).
    assert snapshots.KEPT.opened - opened_before <= 1


@pytest.mark.parametrize("page", list(PAGE_FILES))
def test_empty_store_says_what_to_run(monkeypatch: pytest.MonkeyPatch, empty_db: Path, page: str) -> None:
    at = open_app(monkeypatch, empty_db, None, page=page)
    assert [t.value for t in at.title] == ["No data yet"]
    text = " ".join([m.value for m in at.markdown] + [c.value for c in at.code])
    assert "orusage ingest" in text and "OPENROUTER_MANAGEMENT_KEY" in text and "orusage demo" in text
    assert not at.get("vega_lite_chart") and not at.metric and not at.error and not downloads(at)
    assert "All days are UTC" in " ".join(c.value for c in at.sidebar.caption)


def test_damaged_store_shows_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    snapshot_path(db).write_bytes(b"this is not a duckdb file" * 100)
    at = open_app(monkeypatch, db, None)
    assert len(at.error) == 1
    message = at.error[0].value
    assert str(db.parent) in message and "\n" not in message and "Traceback" not in message
    assert not at.get("vega_lite_chart")


def test_bad_pinned_today_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", "yesterday")
    at = run_app(AppTest.from_file(str(APP), default_timeout=30))
    assert len(at.error) == 1 and "ORUSAGE_TODAY" in at.error[0].value


def test_today_without_a_key_fetch_is_unknown_not_zero(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    at = open_app(monkeypatch, demo_db, demo_today + timedelta(days=1))
    assert metrics(at)["Spend today so far"] == "—"
    assert any("no key fetch yet today" in c.value for c in at.caption)


def test_synthetic_store_without_analytics_or_coverage(
    monkeypatch: pytest.MonkeyPatch, synthetic_db: Path, synthetic_today: date
) -> None:
    """A store written before coverage records existed: activity's own days stand in, older days say so."""
    at = open_app(monkeypatch, synthetic_db, synthetic_today, params={"range": "90d"})
    assert set(charts(at)) == {"tokens_per_day", "spend_per_day", "spend_per_model"}
    assert "not stored" in texts(at)
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "failed" not in warnings  # the last run was ok; the failed one came before
    with duckdb.connect(str(snapshot_path(synthetic_db)), read_only=True) as con:
        first = con.execute("SELECT min(date) FROM activity").fetchall()[0][0]
        spend = con.execute(
            "SELECT sum(usage + byok_usage_inference) FROM activity WHERE date >= ? AND date < ?",
            [first, synthetic_today],
        ).fetchall()[0][0]
    assert usd(metrics(at)["Spend"]) == pytest.approx(spend, abs=CENT)


def test_models_sharing_a_slug_get_distinct_labels(synthetic_db: Path) -> None:
    from queries.store import read_snapshot

    with read_snapshot(synthetic_db) as con:
        options = reads.model_options(con)
    shared = options[options["model"] == "openai/gpt-4o"]
    assert len(shared) == 2
    assert set(shared["label"]) == {"openai/gpt-4o-2024-08-06", "openai/gpt-4o-2024-11-20"}
    assert options["label"].is_unique


def test_this_month_on_its_first_day_has_no_completed_day(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = open_app(monkeypatch, demo_db, date(2026, 11, 1), params={"range": "month"})
    assert "No completed UTC day in this range yet" in texts(at)
    assert not charts(at)
    assert set(metrics(at)) >= OUTLOOK
    for page in ("models", "providers", "apps", "keys", "model"):
        at.switch_page(PAGE_FILES[page])
        run_app(at)
        assert "No completed UTC day" in texts(at), page
