"""The Teams page under AppTest on the demo account with its teams, against the tests' own SQL: last month's
and this month's chargeback totals, the breakdown's bars, days and table, the filters it can apply and the
one it cannot, and the empty state without teams. Then the one allocation seen from everywhere: Explore
by team, the Teams page and `orusage report chargeback` give every team the same total as the tests' own
SQL; a team filter keeps its line; a click on a team opens this page filtered to it; teams of tags are left
out, said so, and not offered as a filter."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from queries.store import read_snapshot
from tests.dashboard_fixtures import chart_data, charts, downloads, open_app, run_app, texts
from tests.focus_fixtures import PINNED, TEAMS_CONFIG, TODAY, copy_store
from tests.helpers import run_cli
from tests.test_allocation import close, independent_key_spend, independent_spend

LAST_MONTH = (date(2026, 10, 1), date(2026, 10, 31))
THIS_MONTH = (date(2026, 11, 1), date(2026, 11, 19))


def _tables(at: AppTest) -> list[pd.DataFrame]:
    return [frame.value for frame in at.dataframe]


def _totals(at: AppTest, which: int) -> pd.Series:
    """The chargeback table ``which`` (0: last month, 1: this month) as spend per team."""
    totals = [t for t in _tables(at) if "estimated" in t.columns and "requests" not in t.columns]
    assert len(totals) == 2, [list(t.columns) for t in _tables(at)]
    return totals[which].set_index("team")["spend"]


def test_chargeback_totals_match_sql(monkeypatch: pytest.MonkeyPatch, teams_db: Path) -> None:
    at = open_app(monkeypatch, teams_db, TODAY, page="teams", params={"range": "last-month"})
    assert [t.value for t in at.title] == ["Teams"]
    with read_snapshot(teams_db) as con:
        for which, (first, last) in enumerate((LAST_MONTH, THIS_MONTH)):
            shown = _totals(at, which)
            assert abs(float(shown.sum()) - independent_spend(con, first, last)) <= 1e-6
            assert list(shown.index)[-1] == "unallocated"
            research = [
                str(r[0]) for r in con.execute("SELECT value FROM cost_centres WHERE team = 'research'").fetchall()
            ]
            assert close(float(shown["research"]), independent_key_spend(con, research, first, last))
            apps = con.execute(
                """SELECT sum(total_usage) FROM analytics_daily WHERE dimensions = 'model,app'
                   AND app IN ('Acme Support Bot', 'Docs Assistant') AND date BETWEEN ? AND ?""",
                [first, last],
            ).fetchall()[0][0]
            assert close(float(shown["support"]), float(apps))
    said = texts(at)
    assert "orusage report chargeback --month 2026-10" in said and "as they stand today" in said


def test_breakdown_adds_up_and_charts_download(monkeypatch: pytest.MonkeyPatch, teams_db: Path) -> None:
    at = open_app(monkeypatch, teams_db, TODAY, page="teams", params={"range": "last-month"})
    assert {"team_spend", "team_tokens", "team_per_day", "team_model"} <= set(charts(at))
    assert len(downloads(at)) >= len(charts(at))
    table = next(t for t in _tables(at) if "paid_per_m" in t.columns).set_index("team")
    with read_snapshot(teams_db) as con:
        expected = independent_spend(con, *LAST_MONTH)
    assert abs(float(table["spend"].sum()) - expected) <= 1e-6
    assert {"research", "support", "contractors", "unallocated"} == set(table.index)
    per_day = chart_data(at, "team_per_day")
    assert abs(float(per_day["spend"].sum()) - expected) <= 1e-6
    bars = chart_data(at, "team_spend").set_index("team")
    assert bool(bars.loc["unallocated", "is_other"]) and not bool(bars.loc["research", "is_other"])


def test_key_and_workspace_filters_apply_app_filter_cannot(monkeypatch: pytest.MonkeyPatch, teams_db: Path) -> None:
    with read_snapshot(teams_db) as con:
        (notebooks,) = con.execute("SELECT hash FROM api_keys WHERE name = 'notebooks'").fetchall()[0]
        spend = independent_key_spend(con, [str(notebooks)], *LAST_MONTH)
    at = open_app(monkeypatch, teams_db, TODAY, page="teams", params={"range": "last-month", "keys": str(notebooks)})
    table = next(t for t in _tables(at) if "paid_per_m" in t.columns).set_index("team")
    assert list(table.index) == ["research"] and close(float(table.loc["research", "spend"]), spend)
    at = open_app(monkeypatch, teams_db, TODAY, page="teams", params={"range": "last-month", "workspace": "Research"})
    table = next(t for t in _tables(at) if "paid_per_m" in t.columns).set_index("team")
    assert list(table.index) == ["research"]
    at = open_app(monkeypatch, teams_db, TODAY, page="teams", params={"range": "last-month", "apps": "Cline"})
    assert "cannot be shown for these filters" in texts(at) and not [t for t in _tables(at) if "paid_per_m" in t]


def test_no_teams_says_how_to_define_them(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = open_app(monkeypatch, demo_db, TODAY, page="teams", params={"range": "last-month"})
    said = texts(at)
    assert "No teams defined yet" in said and "orusage alerts check" in said
    table = next(t for t in _tables(at) if "paid_per_m" in t.columns)
    assert list(table["team"]) == ["unallocated"]


# ---- one allocation, every surface -------------------------------------------------------------------------

# Each team of the demo by hand, per day × model: the account's spend (activity on the days it covers for the
# account, else analytics by model), the research keys' (activity per key on the days it covers for the key,
# else analytics per key × model), the support apps' (analytics by model × app) out of what no key rule
# claimed, the contractor's keys' (the member rule) what the apps left of them; unallocated is the rest.
_BY_HAND = """
WITH act AS (
    SELECT DISTINCT scope, CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) AS d
    FROM coverage WHERE source = 'activity'),
account AS (
    SELECT date, model_permaslug AS model, sum(usage + byok_usage_inference) AS s FROM activity
    WHERE date BETWEEN $first AND $last AND date IN (SELECT d FROM act WHERE scope = '') GROUP BY ALL
    UNION ALL
    SELECT date, model, sum(total_usage) FROM analytics_daily
    WHERE dimensions = 'model' AND date BETWEEN $first AND $last AND date NOT IN (SELECT d FROM act WHERE scope = '')
    GROUP BY ALL),
keyed AS (
    SELECT date, model_permaslug AS model, api_key_hash AS key, usage + byok_usage_inference AS s
    FROM activity_by_key a WHERE date BETWEEN $first AND $last
      AND EXISTS (SELECT 1 FROM act WHERE act.scope = a.api_key_hash AND act.d = a.date)
    UNION ALL
    SELECT date, model, api_key_hash, total_usage FROM analytics_daily a
    WHERE dimensions = 'api_key_hash,model' AND date BETWEEN $first AND $last
      AND NOT EXISTS (SELECT 1 FROM act WHERE act.scope = a.api_key_hash AND act.d = a.date)),
research AS (SELECT date, model, sum(s) AS s FROM keyed
             WHERE key IN (SELECT value FROM cost_centres WHERE team = 'research') GROUP BY ALL),
contractor AS (SELECT date, model, sum(s) AS s FROM keyed WHERE key IN (
                   SELECT k.hash FROM api_keys k JOIN organization_members m ON m.id = k.creator_user_id
                   WHERE m.email = 'kenji.contractor@example.net') GROUP BY ALL),
apps AS (SELECT date, model, sum(total_usage) AS s FROM analytics_daily
         WHERE dimensions = 'model,app' AND app IN ('Acme Support Bot', 'Docs Assistant')
           AND date BETWEEN $first AND $last GROUP BY ALL),
cells AS (
    SELECT a.s AS account, coalesce(r.s, 0) AS research, coalesce(c.s, 0) AS contractor, coalesce(p.s, 0) AS app,
           a.s - coalesce(r.s, 0) AS pool
    FROM account a LEFT JOIN research r USING (date, model) LEFT JOIN contractor c USING (date, model)
         LEFT JOIN apps p USING (date, model))
SELECT sum(account), sum(research), sum(CASE WHEN pool > 0 THEN least(app, pool) ELSE 0 END),
       sum(contractor * CASE WHEN pool > 0 THEN 1 - least(app, pool) / pool ELSE 1 END)
FROM cells"""


def teams_by_hand(con: duckdb.DuckDBPyConnection, first: date, last: date) -> dict[str, float]:
    account, research, support, contractors = con.execute(_BY_HAND, {"first": first, "last": last}).fetchall()[0]
    return {
        "research": float(research),
        "support": float(support),
        "contractors": float(contractors),
        "unallocated": float(account) - float(research) - float(support) - float(contractors),
    }


def _explore_teams(monkeypatch: pytest.MonkeyPatch, db: Path, params: dict[str, str]) -> pd.Series:
    at = open_app(monkeypatch, db, TODAY, page="explore", params={"by": "team", "then": "none", **params})
    cells = chart_data(at, "explore")
    return cells.groupby("team")["spend"].sum()


def _teams_table(monkeypatch: pytest.MonkeyPatch, db: Path, params: dict[str, str | list[str]]) -> pd.Series:
    at = open_app(monkeypatch, db, TODAY, page="teams", params=params)
    return next(t for t in _tables(at) if "paid_per_m" in t.columns).set_index("team")["spend"]


def _chargeback(db: Path, month: str, env: dict[str, str] = PINNED) -> dict[str, Any]:
    result = run_cli(["report", "chargeback", "--db", str(db), "--month", month, "--format", "json"], env=env)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize(
    ("month", "preset", "days"), [("2026-10", "last-month", LAST_MONTH), ("2026-11", "month", THIS_MONTH)]
)
def test_explore_by_team_the_teams_page_and_chargeback_give_each_team_the_same_total(
    monkeypatch: pytest.MonkeyPatch, teams_db: Path, month: str, preset: str, days: tuple[date, date]
) -> None:
    with read_snapshot(teams_db) as con:
        want = teams_by_hand(con, *days)
        assert close(sum(want.values()), independent_spend(con, *days))
    explore = _explore_teams(monkeypatch, teams_db, {"range": preset})
    page = _teams_table(monkeypatch, teams_db, {"range": preset})
    report = {t["line"]["name"]: t["line"]["spend"] for t in _chargeback(teams_db, month)["teams"]}
    assert set(explore.index) == set(page.index) == set(report) == set(want), (explore, page, report)
    for team, spend in want.items():
        for where, shown in (("explore", explore), ("teams page", page), ("chargeback", report)):
            assert close(float(shown[team]), spend), (where, team, float(shown[team]), spend)


def test_explore_splits_teams_by_what_the_allocation_holds_and_says_why_not_otherwise(
    monkeypatch: pytest.MonkeyPatch, teams_db: Path
) -> None:
    with read_snapshot(teams_db) as con:
        want = teams_by_hand(con, *LAST_MONTH)
        research = [str(r[0]) for r in con.execute("SELECT value FROM cost_centres WHERE team = 'research'").fetchall()]
        (workspace,) = con.execute(
            """SELECT DISTINCT w.name FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
               WHERE list_contains(?, k.hash)""",
            [research],
        ).fetchall()[0]
    for then in ("model", "key", "workspace", "date"):
        at = open_app(
            monkeypatch, teams_db, TODAY, page="explore", params={"range": "last-month", "by": "team", "then": then}
        )
        # The table holds the top values of each grouping and "other" for the rest: every dollar.
        cells = next(t for t in _tables(at) if "team_label" in t.columns)
        shown = cells.groupby("team_label")["spend"].sum()
        for team, spend in want.items():
            assert close(float(shown[team]), spend), (then, team)
        if then == "workspace":
            assert set(cells.loc[cells["team_label"] == "research", "workspace_label"]) == {workspace}
    for then, word in (("app", "app"), ("member", "member"), ("end_user", "end user")):
        at = open_app(
            monkeypatch, teams_db, TODAY, page="explore", params={"range": "last-month", "by": then, "then": "team"}
        )
        said = " ".join(w.value for w in at.warning)
        assert f"Team × {word}:" in said and "per day × model × API key" in said, said
        assert not charts(at)
    # A filter the allocation cannot apply (apps) says so too; a team filter keeps that team's line.
    at = open_app(
        monkeypatch, teams_db, TODAY, page="explore", params={"range": "last-month", "by": "team", "apps": "Cline"}
    )
    assert "cannot be shown for these filters" in texts(at) and not charts(at)
    shown = _explore_teams(monkeypatch, teams_db, {"range": "last-month", "teams": ["research", "support"]})
    assert set(shown.index) == {"research", "support"}
    assert close(float(shown["support"]), want["support"]) and close(float(shown["research"]), want["research"])


def test_a_team_filter_on_the_teams_page_keeps_that_teams_line(monkeypatch: pytest.MonkeyPatch, teams_db: Path) -> None:
    with read_snapshot(teams_db) as con:
        want = teams_by_hand(con, *LAST_MONTH)
    for chosen in (["support"], ["contractors"], ["research", "support"]):
        at = open_app(monkeypatch, teams_db, TODAY, page="teams", params={"range": "last-month", "teams": chosen})
        table = next(t for t in _tables(at) if "paid_per_m" in t.columns).set_index("team")["spend"]
        assert sorted(table.index) == sorted(chosen), (chosen, table)
        for team in chosen:
            assert close(float(table[team]), want[team]), team
        per_day = chart_data(at, "team_per_day")
        assert close(float(per_day["spend"].sum()), sum(want[t] for t in chosen))
        assert "cannot be shown" not in texts(at)  # teams of two kinds are two lines here, not one filter


def test_a_click_on_a_team_opens_the_teams_page_filtered_to_it(monkeypatch: pytest.MonkeyPatch, teams_db: Path) -> None:
    with read_snapshot(teams_db) as con:
        want = teams_by_hand(con, *LAST_MONTH)
    for page in ("explore", "teams"):
        params: dict[str, str | list[str]] = {"range": "last-month"}
        if page == "explore":
            params |= {"by": "team", "then": "none"}
        at = open_app(monkeypatch, teams_db, TODAY, page=page, params=params)
        # The bars carry the team: a click picks it (charts.base.pick), which dashboard.ui turns into this.
        spec = charts(at)["explore" if page == "explore" else "team_spend"][0]
        picks = [
            p for layer in [spec, *spec.get("layer", [])] for p in layer.get("params", []) if p.get("name") == "pick"
        ]
        assert [p["select"]["fields"] for p in picks] == [["team"]], picks
        at.session_state["goto_view"] = ("teams", "teams", "support")
        run_app(at)
        assert next(t.value for t in at.title) == "Teams"
        assert dict(at.query_params) == {"range": "last-month", "teams": "support"}
        table = next(t for t in _tables(at) if "paid_per_m" in t.columns).set_index("team")["spend"]
        assert list(table.index) == ["support"] and close(float(table["support"]), want["support"])
    # "unallocated" is no team to filter by: a click on it opens nothing.
    at.session_state["goto_view"] = ("teams", "teams", "unallocated")
    run_app(at)
    assert dict(at.query_params) == {"range": "last-month", "teams": "support"}


@pytest.fixture(scope="module")
def tags_db(teams_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's teams and a team of tags, stored by a real `orusage alerts check`."""
    folder = tmp_path_factory.mktemp("tags")
    db = copy_store(teams_db, folder)
    config = folder / "alerts.toml"
    config.write_text(TEAMS_CONFIG + '\n[teams.alpha]\ntags = ["project=alpha"]\n', encoding="utf-8")
    result = run_cli(["alerts", "check", "--db", str(db), "--config", str(config), "--quiet"], env=PINNED)
    assert result.returncode == 0, result.stderr
    return db


def test_teams_of_tags_are_left_out_said_once_and_not_a_filter(monkeypatch: pytest.MonkeyPatch, tags_db: Path) -> None:
    with read_snapshot(tags_db) as con:
        assert (
            con.execute("SELECT count(*) FROM cost_centres WHERE team = 'alpha' AND kind = 'tag'").fetchall()[0][0] == 1
        )
        want = teams_by_hand(con, *LAST_MONTH)
    at = open_app(monkeypatch, tags_db, TODAY, page="teams", params={"range": "last-month", "teams": "alpha"})
    said = texts(at)
    assert said.count("Teams of tags (alpha) are not in the allocation") == 1
    assert "alpha" not in at.sidebar.multiselect(key="f_teams").options
    assert dict(at.query_params) == {"range": "last-month"}, "a link's team of tags is dropped (with a note)"
    table = next(t for t in _tables(at) if "paid_per_m" in t.columns).set_index("team")["spend"]
    assert set(table.index) == set(want)
    for team, spend in want.items():
        assert close(float(table[team]), spend), team
    report = _chargeback(tags_db, "2026-10")
    assert "alpha" not in {t["line"]["name"] for t in report["teams"]}
    assert sum("Teams of tags (alpha)" in note for note in report["notes"]) == 1
