"""Every dimension the account has, under AppTest on the demo account, against the tests' own SQL: the
Members, End users and Workspaces pages, members and teams as sidebar filters. (Explore's other views,
four-part tokens, the model page: ``test_dashboard_explore``; Explore by team, which reads the Teams page's
allocation: ``test_dashboard_teams``.)

Expected values never come from ``queries``: each is plain SQL on the snapshot, the routing rule written out
by hand for the question at hand.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import fmt
from queries.filters import range_days
from tests.dashboard_fixtures import (
    CENT,
    activity_window,
    analytics_by,
    chart_data,
    charts,
    check_headline,
    every_chart_downloads,
    metrics,
    open_titled,
    preset_days,
    run_app,
    table_with,
    texts,
    usd,
)


def says_unattributed(at: AppTest, want: pd.DataFrame, why: str) -> None:
    """The page names the spend no value holds, its share, and why (``breakdown.Breakdown.muted_note``)."""
    spend = float(want.loc[want["value"] == "unattributed", "spend"].sum())
    assert spend > 0, "the demo account has unattributed spend here"
    share = spend / float(want["spend"].sum())
    assert f"“unattributed”: {fmt.usd(spend)} ({share:.1%} of this period's spend) {why}" in texts(at)


# ---- Members ------------------------------------------------------------------------------------------------


def test_members_page_matches_sql(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "members", range="year")
    every_chart_downloads(at)
    assert {"member_spend", "member_tokens", "member_per_day", "member_model"} <= set(charts(at))
    start, end = range_days("year", demo_today)
    want = analytics_by(snapshot_sql, "user", '"user"', start, end)
    check_headline(at, float(want["spend"].sum()), float(want["requests"].sum()), float(want["tokens"].sum()))
    table = table_with(at, "share")
    emails = dict(
        snapshot_sql.execute(
            "SELECT DISTINCT \"user\", user_email FROM analytics_daily WHERE dimensions = 'user'"
        ).fetchall()
    )
    labels = [f"{m} ({emails[m]})" if emails.get(m) else m for m in want["value"]]
    assert list(table["label"]) == labels, "every member, biggest first, named with their e-mail"
    assert table["spend"].to_list() == pytest.approx(want["spend"].to_list())
    says_unattributed(at, want, "from keys no member made")
    # The member × model matrix is read from analytics by model × member, the whole year.
    matrix = chart_data(at, "member_model")
    by_pair = analytics_by(snapshot_sql, "model,user", '"user"', start, end)
    assert float(matrix["spend"].sum()) == pytest.approx(float(by_pair["spend"].sum()))
    per_day = chart_data(at, "member_per_day")
    assert float(per_day["spend"].sum()) == pytest.approx(float(want["spend"].sum()))


def test_a_member_filter_on_every_page_that_can_take_it(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    top = "SELECT \"user\" FROM analytics_daily WHERE dimensions = 'user' GROUP BY 1 ORDER BY sum(total_usage) DESC"
    member = str(snapshot_sql.execute(top).fetchall()[0][0])
    start, end = range_days("last-month", demo_today)
    at = open_titled(monkeypatch, demo_db, demo_today, "overview", range="last-month", members=member)
    assert at.sidebar.multiselect(key="f_members").value == [member]
    want = analytics_by(snapshot_sql, "user", '"user"', start, end, f"AND \"user\" = '{member}'")
    shown = metrics(at)
    assert usd(shown["Spend"]) == pytest.approx(float(want["spend"].sum()), abs=CENT)
    # By model: analytics by model × member.
    models = chart_data(at, "spend_per_model")
    mine = analytics_by(snapshot_sql, "model,user", "model", start, end, f"AND \"user\" = '{member}'")
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
    at = open_titled(monkeypatch, demo_db, demo_today, "end-users")
    every_chart_downloads(at)
    assert {"end_user_spend", "end_user_tokens", "end_user_per_day", "end_user_model"} <= set(charts(at))
    start, end = preset_days(30, demo_today)
    want = analytics_by(snapshot_sql, "external_user", "external_user", start, end)
    check_headline(at, float(want["spend"].sum()), float(want["requests"].sum()), float(want["tokens"].sum()))
    table = table_with(at, "share")
    assert list(table["label"]) == list(want["value"]) and len(table) == len(want) <= 100
    assert table["spend"].to_list() == pytest.approx(want["spend"].to_list())
    says_unattributed(at, want, "from requests that sent no `user` field")
    bars = chart_data(at, "end_user_spend").drop_duplicates("end_user").sort_values("rank")
    # The top 12 end users, then "unattributed" as a row of its own (queries.parts), then the rest as other.
    named = [v for v in want["value"] if v != "unattributed"]
    unattributed = len(named) < len(want)
    assert list(bars["end_user"][:12]) == named[:12]
    if unattributed:
        assert bars.iloc[12]["end_user"] == "unattributed"
    rest = bars.iloc[13 if unattributed else 12]
    assert rest["label"] == f"other ({len(named) - 12} end users)", "top 12 and the rest as other"
    assert float(bars["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    matrix = chart_data(at, "end_user_model")
    pairs = analytics_by(snapshot_sql, "model,external_user", "external_user", start, end)
    # The top 15 end users and one row for the rest: the cells add up to the pairs' total.
    assert float(matrix["spend"].sum()) == pytest.approx(float(pairs["spend"].sum()))
    assert matrix["end_user"].nunique() == min(len(pairs["value"].unique()), 16)


def test_end_users_beyond_what_was_stored_say_so(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_titled(monkeypatch, demo_db, demo_today, "end-users", range="90d")
    assert "OpenRouter keeps end users for 31 days" in texts(at)
    start, end = preset_days(90, demo_today)
    want = analytics_by(snapshot_sql, "external_user", "external_user", start, end)
    assert usd(metrics(at)["Spend"]) == pytest.approx(float(want["spend"].sum()), abs=CENT)


# ---- Workspaces --------------------------------------------------------------------------------------------


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
    at = open_titled(monkeypatch, demo_db, demo_today, "workspaces", range="90d")
    every_chart_downloads(at)
    assert {"workspace_spend", "workspace_per_day", "workspace_model"} <= set(charts(at))
    start, end = preset_days(90, demo_today)
    want = analytics_by(snapshot_sql, "workspace", "workspace", start, end)
    check_headline(at, float(want["spend"].sum()), float(want["requests"].sum()), float(want["tokens"].sum()))
    table = table_with(at, "share").set_index("workspace")
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
    keys = table_with(at, "workspace", "label", without="share")
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
    at = open_titled(monkeypatch, demo_account_db, demo_today, "overview", range="last-month", teams="research")
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
    at = open_titled(monkeypatch, demo_account_db, demo_today, "apps", range="last-month", teams="support")
    apps = table_with(at, "share")
    assert set(apps["app"]) == {"Acme Support Bot", "Docs Assistant"}
    support = analytics_by(
        account_sql, "model,app", "app", start, end, "AND app IN ('Acme Support Bot', 'Docs Assistant')"
    )
    assert float(apps["spend"].sum()) == pytest.approx(float(support["spend"].sum()))


def test_teams_of_two_kinds_cannot_be_one_filter(
    monkeypatch: pytest.MonkeyPatch, demo_account_db: Path, demo_today: date
) -> None:
    at = open_titled(monkeypatch, demo_account_db, demo_today, "overview", teams=["research", "support"])
    assert "apps and keys" in " ".join(w.value for w in at.warning)
    assert not charts(at)


def test_the_sidebar_sets_members_and_teams_like_the_other_filters(
    monkeypatch: pytest.MonkeyPatch, demo_account_db: Path, demo_today: date, account_sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_titled(monkeypatch, demo_account_db, demo_today, "members", range="7d")
    assert at.sidebar.multiselect(key="f_teams").options == ["contractors", "research", "support"]
    at.sidebar.multiselect(key="f_members").set_value(["Kenji"])
    run_app(at)
    assert dict(at.query_params) == {"range": "7d", "members": "Kenji"}
    start, end = preset_days(7, demo_today)
    want = analytics_by(account_sql, "user", '"user"', start, end, "AND \"user\" = 'Kenji'")
    assert usd(metrics(at)["Spend"]) == pytest.approx(float(want["spend"].sum()), abs=CENT)
    at.sidebar.multiselect(key="f_members").set_value([])
    at.sidebar.multiselect(key="f_teams").set_value(["support"])
    run_app(at)
    assert dict(at.query_params) == {"range": "7d", "teams": "support"}
    # Members × a team of apps: analytics by app × member, the team's apps.
    apps = "AND app IN ('Acme Support Bot', 'Docs Assistant')"
    want = analytics_by(account_sql, "app,user", '"user"', start, end, apps)
    table = table_with(at, "share")
    assert float(table["spend"].sum()) == pytest.approx(float(want["spend"].sum()))
    at.sidebar.button[0].click()  # clear filters
    run_app(at)
    assert dict(at.query_params) == {"range": "30d"}
    assert at.sidebar.multiselect(key="f_teams").value == [] and at.sidebar.multiselect(key="f_members").value == []
