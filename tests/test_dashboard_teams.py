"""The Teams page under AppTest on the demo account with its teams, against the tests' own SQL: last month's
and this month's chargeback totals, the breakdown's bars, days and table, the filters it can apply and the
one it cannot, and the empty state without teams."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from queries.store import read_snapshot
from tests.dashboard_fixtures import chart_data, charts, downloads, open_app, texts
from tests.focus_fixtures import TODAY
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
