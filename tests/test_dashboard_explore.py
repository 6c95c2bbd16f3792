"""Any two groupings, tokens in four parts and the model page's providers day by day, under AppTest on the
demo account, against the tests' own SQL: the Explore page, the Models page's four-part tokens, cache hit
rate and clamped rows, Model detail per provider and day, a click on a value opening its page, and every
page reopening identically from its link. (The new dimensions' own pages: ``test_dashboard_dimensions``.)

Expected values never come from ``queries``: each is plain SQL on the snapshot, the routing rule written out
by hand for the question at hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from core import fmt
from queries.filters import range_days
from tests.dashboard_fixtures import (
    PAGE_TITLES,
    analytics_by,
    chart_data,
    charts,
    every_chart_downloads,
    metrics,
    open_app,
    open_titled,
    preset_days,
    run_app,
    table_with,
    texts,
)

# ---- Explore --------------------------------------------------------------------------------------------------


def test_explore_defaults_to_app_by_model_and_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "explore")
    every_chart_downloads(at)
    start, end = preset_days(30, demo_today)
    apps = analytics_by(snapshot_sql, "model,app", "app", start, end)
    cells = chart_data(at, "explore")
    assert float(cells["spend"].sum()) == pytest.approx(float(apps["spend"].sum()))
    kept = cells.loc[cells["app"] != "other"].groupby("app")["spend"].sum().sort_values(ascending=False)
    assert list(kept.index) == list(apps["value"][:10])
    assert kept.to_list() == pytest.approx(apps["spend"][:10].to_list())
    models = analytics_by(snapshot_sql, "model,app", "model", start, end)
    assert set(cells["model"]) - {"other"} == set(models["value"][:10])
    assert dict(at.query_params) == {"range": "30d"}, "the defaults keep a plain link"


@pytest.mark.parametrize(
    "by,then,metric,grouping,first,second",
    [
        ("member", "app", "tokens", "app,user", '"user"', "app"),
        ("provider", "end_user", "requests", "provider,external_user", "provider", "external_user"),
        ("app", "provider", "spend", "app,provider", "app", "provider"),
        ("key", "member", "spend", "api_key_hash,user", "api_key_hash", '"user"'),
    ],
)
def test_explore_pairs_match_the_pairs_stored(
    monkeypatch: pytest.MonkeyPatch,
    demo_db: Path,
    demo_today: date,
    snapshot_sql: duckdb.DuckDBPyConnection,
    by: str,
    then: str,
    metric: str,
    grouping: str,
    first: str,
    second: str,
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "explore", by=by, then=then, metric=metric, top="50")
    start, end = preset_days(30, demo_today)
    column = {"spend": "total_usage", "requests": "request_count", "tokens": "tokens_prompt + tokens_completion"}
    want = snapshot_sql.execute(
        f"""SELECT {first}, {second}, sum({column[metric]}) FROM analytics_daily
            WHERE dimensions = ? AND date BETWEEN ? AND ? GROUP BY ALL""",
        [grouping, start, end],
    ).fetchall()
    cells = chart_data(at, "explore")
    got = {(str(a), str(b)): float(v) for a, b, v in zip(cells[by], cells[then], cells[metric], strict=True)}
    assert float(sum(got.values())) == pytest.approx(sum(float(v) for *_, v in want))
    # Every value fits in the top 50: nothing is folded, each pair is its own cell.
    assert got == pytest.approx({(str(a), str(b)): float(v) for a, b, v in want})
    assert at.query_params.get("by", "app") == by and at.query_params["top"] == "50"  # app: the default


def test_explore_per_day_and_the_controls_write_the_link(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "explore", range="7d")
    at.selectbox(key="x_by").set_value("provider")
    run_app(at)
    at.selectbox(key="x_then").set_value("date")
    run_app(at)
    at.get("button_group")[0].set_value("tokens")
    run_app(at)
    assert dict(at.query_params) == {"range": "7d", "by": "provider", "then": "date", "metric": "tokens"}
    start, end = preset_days(7, demo_today)
    want = snapshot_sql.execute(
        """SELECT strftime(date, '%Y-%m-%d'), sum(prompt_tokens + completion_tokens) FROM activity
           WHERE date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""",
        [start, end],
    ).fetchall()
    shown = chart_data(at, "explore").groupby("day")["tokens"].sum()
    assert [(d, int(v)) for d, v in shown.items()] == [(d, int(v)) for d, v in want]
    # The link reopens exactly this view.
    again = open_titled(monkeypatch, demo_db, demo_today, "explore", **dict(at.query_params))
    pd.testing.assert_frame_equal(chart_data(again, "explore"), chart_data(at, "explore"))
    assert metrics(again) == metrics(at)
    # Picking for "group by" what "then by" held: "then by" gives way.
    again.selectbox(key="x_by").set_value("date")
    run_app(again)
    assert again.selectbox(key="x_then").value == "none" and again.query_params["then"] == "none"


def test_explore_says_why_a_pair_cannot_be_shown(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    key = str(snapshot_sql.execute("SELECT hash FROM api_keys ORDER BY usage DESC").fetchall()[0][0])
    at = open_titled(monkeypatch, demo_db, demo_today, "explore", keys=key, by="app", then="model")
    warning = " ".join(w.value for w in at.warning)
    assert "model × app × API key" in warning and "two dimensions at most" in warning
    assert not charts(at)
    at = open_titled(monkeypatch, demo_db, demo_today, "explore", by="sql; --", top="9")
    assert "Ignored from the link" in " ".join(w.value for w in at.warning)
    assert charts(at), "the defaults stand in"


# ---- tokens in four parts, cache hit rate --------------------------------------------------------------------


def test_tokens_in_four_parts_and_the_cache_hit_rate_match_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "models")
    start, end = preset_days(30, demo_today)
    want = snapshot_sql.execute(
        """SELECT strftime(date, '%Y-%m-%d') AS day, sum(tokens_prompt - cached_tokens), sum(cached_tokens),
                  sum(greatest(tokens_completion - reasoning_tokens, 0)), sum(reasoning_tokens),
                  count(*) FILTER (WHERE reasoning_tokens > tokens_completion)
           FROM analytics_daily WHERE dimensions = 'model' AND date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""",
        [start, end],
    ).fetchall()
    parts = chart_data(at, "tokens_four_parts")
    wide = parts.pivot_table(index="day", columns="part", values="tokens", aggfunc="sum")
    labels = ["Prompt (not cached)", "Cached prompt", "Completion (excl. reasoning)", "Reasoning"]
    got = [(d, *(int(wide.loc[d, label]) for label in labels)) for d in wide.index]
    assert got == [tuple([d, *(int(v) for v in rest[:4])]) for d, *rest in want]
    clamped = parts.drop_duplicates("day").set_index("day")["clamped_rows"]
    assert [int(clamped[d]) for d, *_ in want] == [int(rest[4]) for _, *rest in want]
    # The hit rate per day and model: cached ÷ prompt, for the top models by tokens.
    rates = chart_data(at, "cache_hit_rate")
    named = rates.loc[rates["model"] != "other"]
    top = snapshot_sql.execute(
        """SELECT model FROM analytics_daily WHERE dimensions = 'model' AND date BETWEEN ? AND ?
           GROUP BY model ORDER BY sum(tokens_prompt) + sum(tokens_completion) DESC, model LIMIT 6""",
        [start, end],
    ).fetchall()
    assert set(named["model"]) <= {m for (m,) in top}
    for row in named.itertuples():
        cached, prompt = snapshot_sql.execute(
            "SELECT sum(cached_tokens), sum(tokens_prompt) FROM analytics_daily "
            "WHERE dimensions = 'model' AND model = ? AND date = ?",
            [row.model, row.day],
        ).fetchall()[0]
        assert row.hit_rate == pytest.approx(cached / prompt)


def test_rows_with_more_reasoning_than_completion_are_clamped_and_flagged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A store whose analytics report reasoning above completion (as some real providers' rows do)."""
    from queries import writes
    from queries.store import Writer

    today = date(2026, 11, 20)
    days = [today - timedelta(days=i) for i in range(3, 0, -1)]
    rows = []
    for i, day in enumerate(days):
        for model, completion, reasoning in (("a/x", 100, 30), ("b/y", 50, 80 if i == 1 else 10)):
            rows.append({"date": day, "dimensions": "model", "dim_key": model, "model": model, "request_count": 5,
                         "tokens_prompt": 1000, "tokens_completion": completion, "reasoning_tokens": reasoning,
                         "cached_tokens": 400, "total_usage": 0.5})  # fmt: skip
    metrics_written = ("request_count", "tokens_prompt", "tokens_completion", "reasoning_tokens", "cached_tokens",
                       "total_usage")  # fmt: skip
    db = tmp_path / "orusage.duckdb"
    with Writer(db) as writer, writer.transaction() as con:
        writes.upsert_analytics(con, rows, metrics_written, datetime_at(today))
        writes.record_coverage(con, source="analytics", dimensions="model", scope="", metrics="long",
                               first_day=days[0], last_day=days[-1], fetched_at=datetime_at(today),
                               rows_received=len(rows))  # fmt: skip
        run = writes.start_run(con, "ingest", datetime_at(today))
        writes.finish_run(con, run, "ok", datetime_at(today), 1, len(rows))
    at = open_app(monkeypatch, db, today, page="models", params={"range": "7d"})
    parts = chart_data(at, "tokens_four_parts").drop_duplicates("day").set_index("day")
    flagged = days[1].isoformat()
    assert int(parts.loc[flagged, "clamped_rows"]) == 1 and int(parts["clamped_rows"].sum()) == 1
    assert int(parts.loc[flagged, "completion_only"]) == 70 + 0, "b/y's completion-only is 0, not -30"
    assert int(parts.loc[flagged, "prompt_uncached"]) == 2 * 600
    assert "1 stored row reports more reasoning tokens than completion tokens" in texts(at)
    listed = table_with(at, "clamped_rows")
    assert list(listed["label"]) == ["b/y"] and list(listed["reasoning"]) == [80]


def datetime_at(day: date) -> Any:
    from datetime import datetime

    return datetime.combine(day, datetime.min.time()) + timedelta(hours=12)


# ---- the model page: providers day by day --------------------------------------------------------------------


def test_model_page_shows_each_provider_day_by_day(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    model = "openai/gpt-4.1-2025-04-14"
    at = open_titled(monkeypatch, demo_db, demo_today, "model", model=model, range="month")
    every_chart_downloads(at)
    start, end = range_days("month", demo_today)
    latency = chart_data(at, "detail_latency_days")
    want = snapshot_sql.execute(
        """SELECT strftime(date, '%Y-%m-%d'), provider, p50_latency, p90_latency FROM analytics_daily
           WHERE dimensions = 'model,provider' AND model = ? AND date BETWEEN ? AND ? AND p50_latency IS NOT NULL
           ORDER BY 1, 2""",
        [model, start, end],
    ).fetchall()
    assert len(want) > 10
    got = sorted(zip(latency["day"], latency["provider"], latency["p50_latency"], latency["p90_latency"], strict=True))
    assert [(d, p) for d, p, *_ in got] == [(d, p) for d, p, *_ in want]
    assert [v for *_, v, _ in got] == pytest.approx([v for *_, v, _ in want])
    assert set(latency["perf_source"]) == {"analytics"}
    # Uptime and list prices: the snapshot of the day's last ingest (here the one of today).
    uptime = chart_data(at, "detail_uptime_days")
    snap = snapshot_sql.execute(
        """SELECT provider_name, avg(uptime_last_1d), avg(pricing_prompt) * 1e6 FROM model_endpoints
           WHERE model_permaslug = ? AND fetched_at = (SELECT max(fetched_at) FROM model_endpoints) GROUP BY 1""",
        [model],
    ).fetchall()
    shown = dict(zip(uptime["provider"], uptime["uptime_1d"], strict=True))
    assert shown == pytest.approx({p: u for p, u, _ in snap})
    assert set(uptime["day"]) == {demo_today.isoformat()}
    prices = chart_data(at, "detail_input_price_days")
    assert sorted(prices["prompt_per_m"]) == pytest.approx(sorted(p for *_, p in snap))
    created, description = snapshot_sql.execute(
        "SELECT CAST(make_timestamp(created * 1000000) AS DATE), description FROM models_current "
        "WHERE canonical_slug = ?",
        [model],
    ).fetchall()[0]
    said = " ".join(m.value for m in at.markdown)
    assert f"Added to OpenRouter on {created.isoformat()}" in said
    assert description and description in said
    assert "Choose one provider" in texts(at)


def test_one_provider_shows_how_it_moved_this_month(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    model, provider = "openai/gpt-4.1-2025-04-14", "OpenAI"
    at = open_titled(monkeypatch, demo_db, demo_today, "model", model=model, range="month", providers=provider)
    start, end = range_days("month", demo_today)
    days = snapshot_sql.execute(
        """SELECT date, p50_latency FROM analytics_daily WHERE dimensions = 'model,provider' AND model = ?
           AND provider = ? AND date BETWEEN ? AND ? AND p50_latency IS NOT NULL ORDER BY date""",
        [model, provider, start, end],
    ).fetchall()
    shown = {m.label: m for m in at.metric}
    assert shown["Latency p50"].value == f"{days[-1][1]:,.0f} ms"
    assert shown["Latency p50"].delta == f"{days[-1][1] - days[0][1]:+,.0f} ms since {fmt.day(days[0][0])}"
    uptime = snapshot_sql.execute(
        "SELECT avg(uptime_last_1d) FROM model_endpoints_latest WHERE model_permaslug = ? AND provider_name = ?",
        [model, provider],
    ).fetchall()[0][0]
    assert shown["Uptime (last day)"].value == f"{uptime:,.2f} %"
    assert set(chart_data(at, "detail_latency_days")["provider"]) == {provider}


# ---- a click on a value opens its page, filtered ---------------------------------------------------------------


@pytest.mark.parametrize(
    "page,goto,title,params",
    [
        ("providers", ("providers", "providers", "Azure"), "Providers", {"providers": "Azure"}),
        ("explore", ("members", "members", "Kenji"), "Members", {"members": "Kenji"}),
        ("model", ("apps", "apps", "Cline"), "Apps", {"apps": "Cline"}),
        ("workspaces", ("workspaces", "workspace", "Research"), "Workspaces", {"workspace": "Research"}),
    ],
)
def test_a_click_on_a_value_opens_its_breakdown_filtered(
    monkeypatch: pytest.MonkeyPatch,
    demo_db: Path,
    demo_today: date,
    page: str,
    goto: tuple[str, str, str],
    title: str,
    params: dict[str, str],
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, page, range="7d")
    # What a click on a bar or a table row leaves behind (dashboard.ui.link_chart / link_table).
    at.session_state["goto_view"] = goto
    run_app(at)
    assert next(t.value for t in at.title) == title
    assert dict(at.query_params) == {"range": "7d", **params}
    assert not at.exception


def test_an_unknown_value_from_a_click_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "providers", range="7d")
    at.session_state["goto_view"] = ("apps", "apps", "'; DROP TABLE activity; --")
    run_app(at)
    assert next(t.value for t in at.title) == "Providers" and dict(at.query_params) == {"range": "7d"}


def test_breakdown_pages_keep_their_per_day_chart_in_the_link(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "members", per_day="price")
    spec, (data, *_) = charts(at)["member_per_day"]
    assert spec["mark"]["type"] == "line" and at.query_params["per_day"] == "price"
    start, end = preset_days(30, demo_today)
    for row in data.head(20).itertuples():
        spend, tokens = snapshot_sql.execute(
            "SELECT sum(total_usage), sum(tokens_prompt + tokens_completion) FROM analytics_daily "
            "WHERE dimensions = 'user' AND \"user\" = ? AND date = ?",
            [row.member, row.day],
        ).fetchall()[0]
        assert row.paid_per_m == pytest.approx(spend / tokens * 1e6)
    at.get("button_group")[0].set_value("requests")
    run_app(at)
    data = chart_data(at, "member_per_day")
    want = analytics_by(snapshot_sql, "user", '"user"', start, end)
    assert int(data["requests"].sum()) == int(want["requests"].sum())
    assert at.query_params["per_day"] == "requests"


# ---- every page reopens identically from its link -------------------------------------------------------------

REOPEN = {
    "explore": {"by": "member", "then": "date", "metric": "requests", "top": "5"},
    "members": {"per_day": "tokens"},
    "model": {"model": "openai/gpt-4.1-2025-04-14", "providers": "OpenAI"},
    "generations": {"sort": "spend", "rows": "25"},
    "workspaces": {"workspace": "Research", "per_day": "price"},
}


@pytest.mark.parametrize("page", list(PAGE_TITLES))
def test_every_page_reopens_identically_from_its_url(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, page: str
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, page, range="90d", **REOPEN.get(page, {}))
    link = dict(at.query_params)
    assert link["range"] == "90d" and all(link[k] == v for k, v in REOPEN.get(page, {}).items())
    again = open_titled(monkeypatch, demo_db, demo_today, page, **link)
    assert dict(again.query_params) == link
    assert [t.value for t in again.title] == [t.value for t in at.title]
    assert metrics(again) == metrics(at)
    first, second = charts(at), charts(again)
    assert set(first) == set(second)
    for name, (_spec, frames) in first.items():
        for mine, theirs in zip(frames, second[name][1], strict=True):
            pd.testing.assert_frame_equal(mine, theirs)
    for mine, theirs in zip(at.dataframe, again.dataframe, strict=True):
        pd.testing.assert_frame_equal(mine.value, theirs.value)
    assert [w.value for w in again.warning] == [w.value for w in at.warning]
