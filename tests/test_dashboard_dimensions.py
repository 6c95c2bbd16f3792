"""Every dimension the account has, under AppTest on the demo account, against the tests' own SQL: the
Members, End users and Workspaces pages, members and teams as sidebar filters, the Explore page (any two
groupings, teams allocated once), tokens in four parts and the cache hit rate, the model page's providers
day by day, and a click on a value opening its page.

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
from streamlit.testing.v1 import AppTest

from core import fmt
from queries.filters import range_days
from tests.dashboard_fixtures import (
    PAGE_TITLES,
    activity_window,
    chart_data,
    charts,
    downloads,
    metrics,
    open_app,
    run_app,
    texts,
    usd,
)

CENT = 0.005 + 1e-9


def _preset(days: int, today: date) -> tuple[date, date]:
    end = today - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def _open(monkeypatch: pytest.MonkeyPatch, db: Path, today: date, page: str, **params: Any) -> AppTest:
    at = open_app(monkeypatch, db, today, page=page, params=params or None)
    assert next(t.value for t in at.title) == PAGE_TITLES[page]
    return at


def _table(at: AppTest, column: str, *also: str, without: str | None = None) -> pd.DataFrame:
    """The page's table holding ``column`` (and ``also``), not ``without``."""
    for frame in at.dataframe:
        columns = set(frame.value.columns)
        if {column, *also} <= columns and (without is None or without not in columns):
            return frame.value
    raise AssertionError(f"no table with {column!r}")


def _grouped(
    con: duckdb.DuckDBPyConnection, grouping: str, value: str, start: date, end: date, where: str = ""
) -> pd.DataFrame:
    """Spend, requests and tokens per ``value`` (an SQL expression) of one stored analytics grouping."""
    frame: pd.DataFrame = con.execute(
        f"""SELECT {value} AS value, sum(total_usage) AS spend, sum(request_count) AS requests,
                   sum(tokens_prompt + tokens_completion) AS tokens
            FROM analytics_daily WHERE dimensions = ? AND date BETWEEN ? AND ? {where}
            GROUP BY ALL ORDER BY spend DESC, value""",
        [grouping, start, end],
    ).df()
    return frame


def _headline(at: AppTest, spend: float, requests: float, tokens: float) -> None:
    shown = metrics(at)
    assert usd(shown["Spend"]) == pytest.approx(spend, abs=CENT)
    assert shown["Requests"] == fmt.count(requests)
    assert shown["Tokens"] == fmt.tokens(tokens)
    assert shown["Paid / M tokens"] == fmt.per_million(spend / tokens * 1e6)


def _every_chart_downloads(at: AppTest) -> None:
    found = charts(at)
    assert found and len(downloads(at)) >= len(found)
    for name, (spec, _data) in found.items():
        tips = [t for layer in spec.get("layer", [spec]) for t in layer.get("encoding", {}).get("tooltip", [])]
        numbers = [t for t in tips if t.get("type") == "quantitative"]
        assert numbers and all("format" in t for t in numbers), name


# ---- Members ------------------------------------------------------------------------------------------------


def test_members_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "members", range="year")
    _every_chart_downloads(at)
    assert {"member_spend", "member_tokens", "member_per_day", "member_model"} <= set(charts(at))
    start, end = range_days("year", demo_today)
    want = _grouped(snapshot_sql, "user", '"user"', start, end)
    _headline(at, float(want["spend"].sum()), float(want["requests"].sum()), float(want["tokens"].sum()))
    table = _table(at, "share")
    emails = dict(
        snapshot_sql.execute(
            "SELECT DISTINCT \"user\", user_email FROM analytics_daily WHERE dimensions = 'user'"
        ).fetchall()
    )
    labels = [f"{m} ({emails[m]})" if emails.get(m) else m for m in want["value"]]
    assert list(table["label"]) == labels, "every member, biggest first, named with their e-mail"
    assert table["spend"].to_list() == pytest.approx(want["spend"].to_list())
    # The member × model matrix is read from analytics by model × member, the whole year.
    matrix = chart_data(at, "member_model")
    by_pair = _grouped(snapshot_sql, "model,user", '"user"', start, end)
    assert float(matrix["spend"].sum()) == pytest.approx(float(by_pair["spend"].sum()))
    per_day = chart_data(at, "member_per_day")
    assert float(per_day["spend"].sum()) == pytest.approx(float(want["spend"].sum()))


def test_a_member_filter_on_every_page_that_can_take_it(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    top = "SELECT \"user\" FROM analytics_daily WHERE dimensions = 'user' GROUP BY 1 ORDER BY sum(total_usage) DESC"
    member = str(snapshot_sql.execute(top).fetchall()[0][0])
    start, end = range_days("last-month", demo_today)
    at = _open(monkeypatch, demo_db, demo_today, "overview", range="last-month", members=member)
    assert at.sidebar.multiselect(key="f_members").value == [member]
    want = _grouped(snapshot_sql, "user", '"user"', start, end, f"AND \"user\" = '{member}'")
    shown = metrics(at)
    assert usd(shown["Spend"]) == pytest.approx(float(want["spend"].sum()), abs=CENT)
    # By model: analytics by model × member.
    models = chart_data(at, "spend_per_model")
    mine = _grouped(snapshot_sql, "model,user", "model", start, end, f"AND \"user\" = '{member}'")
    assert float(models["spend"].sum()) == pytest.approx(float(mine["spend"].sum()))
    assert dict(at.query_params) == {"range": "last-month", "members": member}
    # Generation records name no member: the page says so rather than ignoring the filter.
    at.switch_page("nav/generations.py")
    run_app(at)
    assert "name no organization member" in texts(at)


# ---- End users ------------------------------------------------------------------------------------------------


def test_end_users_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "end-users")
    _every_chart_downloads(at)
    assert {"end_user_spend", "end_user_tokens", "end_user_per_day", "end_user_model"} <= set(charts(at))
    start, end = _preset(30, demo_today)
    want = _grouped(snapshot_sql, "external_user", "external_user", start, end)
    _headline(at, float(want["spend"].sum()), float(want["requests"].sum()), float(want["tokens"].sum()))
    table = _table(at, "share")
    assert list(table["label"]) == list(want["value"]) and len(table) == len(want) <= 100
    assert table["spend"].to_list() == pytest.approx(want["spend"].to_list())
    bars = chart_data(at, "end_user_spend").drop_duplicates("end_user").sort_values("rank")
    assert list(bars["end_user"][:12]) == list(want["value"][:12])
    assert bars.iloc[12]["label"] == f"other ({len(want) - 12} end users)", "top 12 and the rest as other"
    assert float(bars["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    matrix = chart_data(at, "end_user_model")
    pairs = _grouped(snapshot_sql, "model,external_user", "external_user", start, end)
    top15 = list(want["value"][:15])
    assert float(matrix["spend"].sum()) == pytest.approx(float(pairs.loc[pairs["value"].isin(top15), "spend"].sum()))


def test_end_users_beyond_what_was_stored_say_so(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "end-users", range="90d")
    assert "OpenRouter keeps end users for 31 days" in texts(at)
    start, end = _preset(90, demo_today)
    want = _grouped(snapshot_sql, "external_user", "external_user", start, end)
    assert usd(metrics(at)["Spend"]) == pytest.approx(float(want["spend"].sum()), abs=CENT)


# ---- Workspaces --------------------------------------------------------------------------------------------


def _key_workspaces(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute("SELECT k.hash, w.name FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id").fetchall()
    return {str(h): str(w) for h, w in rows}


def _through_keys(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """Spend per (workspace, key, model), each key's rows given its workspace: activity per key on its days,
    analytics per key and model before."""
    first, _last = activity_window(con)
    frame: pd.DataFrame = con.execute(
        """WITH kw AS (SELECT k.hash, w.name AS workspace FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id),
                r AS (SELECT api_key_hash AS key, model_permaslug AS model, usage + byok_usage_inference AS spend
                      FROM activity_by_key WHERE date BETWEEN greatest(?, ?) AND ?
                      UNION ALL SELECT api_key_hash, model, total_usage FROM analytics_daily
                      WHERE dimensions = 'api_key_hash,model' AND date BETWEEN ? AND least(?, ? - 1))
           SELECT kw.workspace, r.key, r.model, sum(r.spend) AS spend FROM r JOIN kw ON kw.hash = r.key GROUP BY ALL""",
        [start, first, end, start, end, first],
    ).df()
    return frame


def test_workspaces_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "workspaces", range="90d")
    _every_chart_downloads(at)
    assert {"workspace_spend", "workspace_per_day", "workspace_model"} <= set(charts(at))
    start, end = _preset(90, demo_today)
    want = _grouped(snapshot_sql, "workspace", "workspace", start, end)
    _headline(at, float(want["spend"].sum()), float(want["requests"].sum()), float(want["tokens"].sum()))
    table = _table(at, "share").set_index("workspace")
    assert list(table.index) == list(want["value"])
    assert table["spend"].to_list() == pytest.approx(want["spend"].to_list())
    # Split by model, and into keys, a workspace goes through its keys, for the whole range.
    keyed = _through_keys(snapshot_sql, start, end)
    matrix = chart_data(at, "workspace_model")
    assert float(matrix["spend"].sum()) == pytest.approx(float(keyed["spend"].sum()))
    per_workspace = keyed.groupby("workspace")["spend"].sum()
    for workspace, spend in per_workspace.items():
        assert float(matrix.loc[matrix["workspace"] == workspace, "spend"].sum()) == pytest.approx(spend)
        # Every key with traffic is known: through its keys, a workspace has all of its traffic.
        assert spend == pytest.approx(float(want.set_index("value").loc[workspace, "spend"]))
    keys = _table(at, "workspace", "label", without="share")
    assert float(keys["spend"].sum()) == pytest.approx(float(keyed["spend"].sum()))
    names = dict(snapshot_sql.execute("SELECT hash, name FROM api_keys").fetchall())
    assert set(keys["label"]) == {names[k] for k in keyed["key"].unique()}


# ---- teams (the demo account's, as its alerts check stored them) -----------------------------------------------


def _team_keys(con: duckdb.DuckDBPyConnection, team: str) -> list[str]:
    return [str(r[0]) for r in con.execute("SELECT value FROM cost_centres WHERE team = ?", [team]).fetchall()]


def test_a_team_filter_becomes_its_keys_or_its_apps(
    monkeypatch: pytest.MonkeyPatch, demo_account_db: Path, demo_today: date, account_sql: duckdb.DuckDBPyConnection
) -> None:
    start, end = range_days("last-month", demo_today)
    at = _open(monkeypatch, demo_account_db, demo_today, "overview", range="last-month", teams="research")
    assert at.sidebar.multiselect(key="f_teams").value == ["research"]
    keys = _team_keys(account_sql, "research")
    assert len(keys) == 3  # the keys named in the config, and the Research workspace's
    first, _last = activity_window(account_sql)
    quoted = ", ".join(f"'{k}'" for k in keys)
    spend = account_sql.execute(
        f"""SELECT (SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity_by_key
                    WHERE api_key_hash IN ({quoted}) AND date BETWEEN greatest(?, ?) AND ?)
                 + (SELECT coalesce(sum(total_usage), 0) FROM analytics_daily
                    WHERE dimensions = 'api_key_hash,model' AND api_key_hash IN ({quoted})
                      AND date BETWEEN ? AND least(?, ? - 1))""",
        [start, first, end, start, end, first],
    ).fetchall()[0][0]
    assert usd(metrics(at)["Spend"]) == pytest.approx(spend, abs=CENT)
    assert "team research" in " ".join(c.value for c in at.caption)
    # A team of apps filters by its apps.
    at = _open(monkeypatch, demo_account_db, demo_today, "apps", range="last-month", teams="support")
    apps = _table(at, "share")
    assert set(apps["app"]) == {"Acme Support Bot", "Docs Assistant"}
    support = _grouped(account_sql, "model,app", "app", start, end, "AND app IN ('Acme Support Bot', 'Docs Assistant')")
    assert float(apps["spend"].sum()) == pytest.approx(float(support["spend"].sum()))


def test_teams_of_two_kinds_cannot_be_one_filter(
    monkeypatch: pytest.MonkeyPatch, demo_account_db: Path, demo_today: date
) -> None:
    at = _open(monkeypatch, demo_account_db, demo_today, "overview", teams=["research", "support"])
    assert "apps and keys" in " ".join(w.value for w in at.warning)
    assert not charts(at)


def test_explore_by_team_gives_each_request_to_one_team(
    monkeypatch: pytest.MonkeyPatch, demo_account_db: Path, demo_today: date, account_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_account_db, demo_today, "explore", range="last-month", by="team", then="app")
    start, end = range_days("last-month", demo_today)
    keys = ", ".join(f"'{k}'" for k in _team_keys(account_sql, "research"))
    want = account_sql.execute(
        f"""SELECT CASE WHEN api_key_hash IN ({keys}) THEN 'research'
                        WHEN app IN ('Acme Support Bot', 'Docs Assistant') THEN 'support'
                        ELSE 'unallocated' END AS team, sum(total_usage)
            FROM analytics_daily WHERE dimensions = 'api_key_hash,app' AND date BETWEEN ? AND ?
            GROUP BY 1 ORDER BY 1""",
        [start, end],
    ).fetchall()
    cells = chart_data(at, "explore")
    shown = cells.groupby("team")["spend"].sum()
    assert sorted(shown.index) == [t for t, _ in want]
    for team, spend in want:
        assert float(shown[team]) == pytest.approx(spend)
    assert "Each request goes to one team" in texts(at)
    _headline(
        at,
        float(cells["spend"].sum()),
        float(cells["requests"].sum()),
        float(cells["tokens"].sum()),
    )


# ---- Explore --------------------------------------------------------------------------------------------------


def test_explore_defaults_to_app_by_model_and_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "explore")
    _every_chart_downloads(at)
    start, end = _preset(30, demo_today)
    apps = _grouped(snapshot_sql, "model,app", "app", start, end)
    cells = chart_data(at, "explore")
    assert float(cells["spend"].sum()) == pytest.approx(float(apps["spend"].sum()))
    kept = cells.loc[cells["app"] != "other"].groupby("app")["spend"].sum().sort_values(ascending=False)
    assert list(kept.index) == list(apps["value"][:10])
    assert kept.to_list() == pytest.approx(apps["spend"][:10].to_list())
    models = _grouped(snapshot_sql, "model,app", "model", start, end)
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
    at = _open(monkeypatch, demo_db, demo_today, "explore", by=by, then=then, metric=metric, top="50")
    start, end = _preset(30, demo_today)
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
    at = _open(monkeypatch, demo_db, demo_today, "explore", range="7d")
    at.selectbox(key="x_by").set_value("provider")
    run_app(at)
    at.selectbox(key="x_then").set_value("date")
    run_app(at)
    at.get("button_group")[0].set_value("tokens")
    run_app(at)
    assert dict(at.query_params) == {"range": "7d", "by": "provider", "then": "date", "metric": "tokens"}
    start, end = _preset(7, demo_today)
    want = snapshot_sql.execute(
        """SELECT strftime(date, '%Y-%m-%d'), sum(prompt_tokens + completion_tokens) FROM activity
           WHERE date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""",
        [start, end],
    ).fetchall()
    shown = chart_data(at, "explore").groupby("day")["tokens"].sum()
    assert [(d, int(v)) for d, v in shown.items()] == [(d, int(v)) for d, v in want]
    # The link reopens exactly this view.
    again = _open(monkeypatch, demo_db, demo_today, "explore", **dict(at.query_params))
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
    at = _open(monkeypatch, demo_db, demo_today, "explore", keys=key, by="app", then="model")
    warning = " ".join(w.value for w in at.warning)
    assert "model × app × API key" in warning and "two dimensions at most" in warning
    assert not charts(at)
    at = _open(monkeypatch, demo_db, demo_today, "explore", by="sql; --", top="9")
    assert "Ignored from the link" in " ".join(w.value for w in at.warning)
    assert charts(at), "the defaults stand in"


# ---- tokens in four parts, cache hit rate --------------------------------------------------------------------


def test_tokens_in_four_parts_and_the_cache_hit_rate_match_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "models")
    start, end = _preset(30, demo_today)
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
    listed = _table(at, "clamped_rows")
    assert list(listed["label"]) == ["b/y"] and list(listed["reasoning"]) == [80]


def datetime_at(day: date) -> Any:
    from datetime import datetime

    return datetime.combine(day, datetime.min.time()) + timedelta(hours=12)


# ---- the model page: providers day by day --------------------------------------------------------------------


def test_model_page_shows_each_provider_day_by_day(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    model = "openai/gpt-4.1-2025-04-14"
    at = _open(monkeypatch, demo_db, demo_today, "model", model=model, range="month")
    _every_chart_downloads(at)
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
    at = _open(monkeypatch, demo_db, demo_today, "model", model=model, range="month", providers=provider)
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
    at = _open(monkeypatch, demo_db, demo_today, page, range="7d")
    # What a click on a bar or a table row leaves behind (dashboard.ui.link_chart / link_table).
    at.session_state["goto_view"] = goto
    run_app(at)
    assert next(t.value for t in at.title) == title
    assert dict(at.query_params) == {"range": "7d", **params}
    assert not at.exception


def test_an_unknown_value_from_a_click_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "providers", range="7d")
    at.session_state["goto_view"] = ("apps", "apps", "'; DROP TABLE activity; --")
    run_app(at)
    assert next(t.value for t in at.title) == "Providers" and dict(at.query_params) == {"range": "7d"}


def test_breakdown_pages_keep_their_per_day_chart_in_the_link(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_db, demo_today, "members", per_day="price")
    spec, (data, *_) = charts(at)["member_per_day"]
    assert spec["mark"]["type"] == "line" and at.query_params["per_day"] == "price"
    start, end = _preset(30, demo_today)
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
    want = _grouped(snapshot_sql, "user", '"user"', start, end)
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
    at = _open(monkeypatch, demo_db, demo_today, page, range="90d", **REOPEN.get(page, {}))
    link = dict(at.query_params)
    assert link["range"] == "90d" and all(link[k] == v for k, v in REOPEN.get(page, {}).items())
    again = _open(monkeypatch, demo_db, demo_today, page, **link)
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


def test_the_sidebar_sets_members_and_teams_like_the_other_filters(
    monkeypatch: pytest.MonkeyPatch, demo_account_db: Path, demo_today: date, account_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _open(monkeypatch, demo_account_db, demo_today, "members", range="7d")
    assert at.sidebar.multiselect(key="f_teams").options == ["research", "support"]
    at.sidebar.multiselect(key="f_members").set_value(["Kenji"])
    run_app(at)
    assert dict(at.query_params) == {"range": "7d", "members": "Kenji"}
    start, end = _preset(7, demo_today)
    want = _grouped(account_sql, "user", '"user"', start, end, "AND \"user\" = 'Kenji'")
    assert usd(metrics(at)["Spend"]) == pytest.approx(float(want["spend"].sum()), abs=CENT)
    at.sidebar.multiselect(key="f_members").set_value([])
    at.sidebar.multiselect(key="f_teams").set_value(["support"])
    run_app(at)
    assert dict(at.query_params) == {"range": "7d", "teams": "support"}
    # Members × a team of apps: analytics by app × member, the team's apps.
    apps = "AND app IN ('Acme Support Bot', 'Docs Assistant')"
    want = _grouped(account_sql, "app,user", '"user"', start, end, apps)
    table = _table(at, "share")
    assert float(table["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    at.sidebar.button[0].click()  # clear filters
    run_app(at)
    assert dict(at.query_params) == {"range": "30d"}
    assert at.sidebar.multiselect(key="f_teams").value == [] and at.sidebar.multiselect(key="f_members").value == []
