"""Weeks at the edges give honest output, never errors: a week with no data, the current (partial) week, the
first week of the store's history; plus the ISO week arithmetic and the movers' rules on small frames."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from queries.store import read_snapshot
from review.as_json import to_json
from review.load import weekly_review
from review.model import NO_DATA, OK
from review.movers import BACK, NEW, SILENT, compare, movers
from review.weeks import IsoWeek, NoCompletedDayError, Period, last_complete_week, periods, weeks_between
from tests.dashboard_fixtures import expected_totals, sql_one

# ---- ISO weeks ---------------------------------------------------------------------------------------------


def test_iso_weeks() -> None:
    assert IsoWeek.parse("2026-W47") == IsoWeek.parse("2026w47") == IsoWeek(2026, 47)
    assert IsoWeek(2026, 47).monday == date(2026, 11, 16) and IsoWeek(2026, 47).sunday == date(2026, 11, 22)
    assert IsoWeek.of(date(2027, 1, 1)) == IsoWeek(2026, 53)  # a Friday in the last ISO week of 2026
    assert IsoWeek(2026, 1).shifted(-1) == IsoWeek(2025, 52) and IsoWeek(2026, 5).label == "2026-W05"
    for bad in ("2026-47", "W47", "2025-W53", "2026-W00", ""):
        with pytest.raises(ValueError):
            IsoWeek.parse(bad)


def test_periods() -> None:
    friday = date(2026, 11, 20)
    assert last_complete_week(friday) == IsoWeek(2026, 46)
    assert last_complete_week(date(2026, 11, 16)) == IsoWeek(2026, 46)  # a Monday: last week just ended
    full = periods(IsoWeek(2026, 46), friday)
    assert full.current == Period(date(2026, 11, 9), date(2026, 11, 15)) and not full.partial
    assert full.previous == Period(date(2026, 11, 2), date(2026, 11, 8))
    running = periods(IsoWeek(2026, 47), friday)
    assert running.partial and running.current == Period(date(2026, 11, 16), date(2026, 11, 19))
    assert running.previous == Period(date(2026, 11, 9), date(2026, 11, 12))  # the same weekdays
    with pytest.raises(NoCompletedDayError, match="started today"):
        periods(IsoWeek(2026, 47), date(2026, 11, 16))
    with pytest.raises(NoCompletedDayError, match="not started"):
        periods(IsoWeek(2026, 48), friday)
    weeks = weeks_between(date(2026, 10, 28), friday)
    assert weeks[0] == IsoWeek(2026, 47) and weeks[-1] == IsoWeek(2026, 44) and len(weeks) == 4
    assert weeks_between(None, friday) == [IsoWeek(2026, 47)]


# ---- movers on small frames ---------------------------------------------------------------------------------


def _frame(kind: str, rows: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            kind: list(rows),
            "requests": [10] * len(rows),
            "prompt": [100] * len(rows),
            "completion": [10] * len(rows),
            "spend": list(rows.values()),
        }
    )


def test_movers_rules() -> None:
    week = Period(date(2026, 11, 9), date(2026, 11, 15))
    before = _frame("app", {"steady": 10.0, "tiny": 0.01, "gone": 3.0, "halved": 4.0})
    now = _frame("app", {"steady": 10.0, "tiny": 0.05, "fresh": 2.0, "returning": 1.5, "halved": 2.0})
    seen = {"fresh": date(2026, 11, 10), "returning": date(2026, 6, 1)}
    table = compare(now, before, "app", week, seen, {"steady": "Steady app"})
    m = movers(table, "app", comparable=True)
    by = table.set_index("value")
    assert by.loc["fresh", "status"] == NEW and by.loc["returning", "status"] == BACK
    assert by.loc["gone", "status"] == SILENT and by.loc["steady", "status"] == ""
    assert by.loc["steady", "label"] == "Steady app"
    assert pd.isna(by.loc["tiny", "change_pct"]), "under $1 both weeks: no percentage"
    assert pd.isna(by.loc["fresh", "change_pct"]), "nothing the week before: no percentage"
    assert by.loc["halved", "change_pct"] == pytest.approx(-0.5)
    assert list(m.increases["value"]) == ["fresh", "returning", "tiny"]
    assert list(m.decreases["value"]) == ["gone", "halved"]
    assert list(m.relative["value"]) == ["gone", "halved"]  # −100 %, −50 %; steady did not change
    assert list(m.appeared["value"]) == ["fresh", "returning"] and list(m.silent["value"]) == ["gone"]
    assert movers(table, "app", comparable=False).increases.empty


# ---- the edge weeks on the demo store -------------------------------------------------------------------------


def test_a_week_with_no_data(demo_db: Path, demo_today: date) -> None:
    with read_snapshot(demo_db) as con:
        r = weekly_review(con, IsoWeek(2025, 40), demo_today)
    assert r.status == NO_DATA and not r.comparable and r.change is None
    assert r.totals.spend is None and r.by_model.empty
    assert any("history starts on 2025-11-21" in n for n in r.notes), r.notes
    assert all(e.current is None for e in r.efficiency)
    doc = to_json(r)
    assert doc["status"] == "no_data" and doc["totals"]["spend"] is None
    assert all(day["spend"] is None for day in doc["daily"])


def test_a_stale_store_says_to_ingest(demo_db: Path, demo_today: date) -> None:
    """Months after the last ingest, the default week has nothing stored: say so, and what to do."""
    later = demo_today + timedelta(days=120)
    with read_snapshot(demo_db) as con:
        r = weekly_review(con, last_complete_week(later), later)
    assert r.status == NO_DATA
    assert any("orusage ingest" in n for n in r.notes), r.notes


def test_the_current_week_is_partial(demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    week = IsoWeek.of(demo_today)
    with read_snapshot(demo_db) as con:
        r = weekly_review(con, week, demo_today)
    yesterday = demo_today - timedelta(days=1)
    assert r.partial and r.first == week.monday and r.last == yesterday
    assert r.previous_last == yesterday - timedelta(days=7)
    assert r.status == OK and r.comparable and r.change is not None
    assert r.notes and "still running" in r.notes[0]
    now = expected_totals(snapshot_sql, r.first, r.last)["spend"]
    before = expected_totals(snapshot_sql, r.previous_first, r.previous_last)["spend"]
    assert r.totals.spend == pytest.approx(now) and r.totals.spend_prev == pytest.approx(before)
    assert len(r.daily) == (r.last - r.first).days + 1


def test_the_first_week_of_the_history(
    demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    first_day = sql_one(snapshot_sql, "SELECT min(date) FROM analytics_daily WHERE dimensions = 'model'")
    week = IsoWeek.of(first_day)
    with read_snapshot(demo_db) as con:
        r = weekly_review(con, week, demo_today)
    assert r.status == OK and not r.comparable and r.change is None and r.by_model.empty
    assert r.totals.spend == pytest.approx(expected_totals(snapshot_sql, week.monday, week.sunday)["spend"])
    assert r.totals.spend_prev is None
    text = " ".join(r.notes)
    assert "nothing to compare with" in text and f"history starts on {first_day}" in text
    if first_day > week.monday:  # the history starts mid-week: the missing days are named
        assert f"{(week.sunday - first_day).days + 1} of 7 days stored" in text
    assert all(not m.comparable for m in r.movers.values())
    assert all(e.previous is None for e in r.efficiency) and r.efficiency[0].current is not None
    assert not r.what_if.suggestions.empty, "the what-if needs no previous week"
    # The next week compares with a week that is only partly stored, and says so.
    with read_snapshot(demo_db) as con:
        after = weekly_review(con, week.shifted(1), demo_today)
    if first_day > week.monday:
        assert any("are stored: changes against it are overstated" in n for n in after.notes), after.notes
