"""The forecast's backtest (``core.backtest``): which periods it replays, its measures on known answers, and
that it is deterministic on the demo account's history (a fixed seed), not what its figures are."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from core.backtest import MIDDLE, MONTH, START, WEEK, backtest, closed_periods, replay, summarize
from fake_openrouter.dataset import Dataset, build
from tests.fake_fixtures import FAKE_NOW


def test_closed_periods_have_eight_weeks_of_history_before_them() -> None:
    first, last = date(2026, 1, 1), date(2026, 4, 15)  # a Thursday … a Wednesday
    weeks = closed_periods(first, last, WEEK)
    assert weeks[0] == ("2026-W10", date(2026, 3, 2), date(2026, 3, 9))  # the first Monday ≥ first + 56 days
    assert weeks[-1] == ("2026-W15", date(2026, 4, 6), date(2026, 4, 13))  # the last whole week
    assert closed_periods(first, last, MONTH) == [("2026-03", date(2026, 3, 1), date(2026, 4, 1))]


def flat(first: date, days: int, value: float) -> dict[date, float]:
    return {first + timedelta(days=i): value for i in range(days)}


def test_a_flat_history_is_forecast_exactly_and_its_band_holds() -> None:
    series = flat(date(2026, 1, 1), 200, 7.0)
    cases = backtest(series, weeks=4, months=2)
    assert {(c.kind, c.point) for c in cases} == {(WEEK, START), (WEEK, MIDDLE), (MONTH, START), (MONTH, MIDDLE)}
    assert len(cases) == 12 and all(c.ape == pytest.approx(0.0) and c.covered for c in cases)
    overall = summarize(cases)[-1]
    assert (overall.cases, overall.mape, overall.coverage) == (12, pytest.approx(0.0), 1.0)


def test_a_case_knows_only_the_days_before_it() -> None:
    series = flat(date(2026, 1, 1), 120, 10.0)
    series.update(flat(date(2026, 4, 6), 7, 30.0))  # a week three times as dear, unforeseeable
    case = replay(series, WEEK, "2026-W15", date(2026, 4, 6), date(2026, 4, 13), START)
    assert case is not None and case.actual == pytest.approx(210.0) and case.expected == pytest.approx(70.0)
    assert case.ape == pytest.approx(2 / 3) and case.covered is False
    middle = replay(series, WEEK, "2026-W15", date(2026, 4, 6), date(2026, 4, 13), MIDDLE)
    assert middle is not None and middle.as_of == date(2026, 4, 9)  # 3 days in: they are spent, 4 to go
    assert middle.expected > 90.0 + 4 * 10.0 - 1e-9


def account_series(ds: Dataset) -> dict[date, float]:
    rows = ds.con.execute(
        "SELECT CAST(created_at AS DATE), sum(usage + byok_usage_inference) FROM generations "
        "WHERE created_at < ? GROUP BY 1",
        [datetime.combine(ds.today, datetime.min.time())],
    ).fetchall()
    return {r[0]: float(r[1]) for r in rows}


def test_the_backtest_on_the_demo_history_is_deterministic(fake_dataset: Dataset) -> None:
    first = summarize(backtest(account_series(fake_dataset)))
    again = summarize(backtest(account_series(build(FAKE_NOW, seed=fake_dataset.seed))))
    assert first == again
    overall = first[-1]
    assert overall.cases >= 2 * 8  # at least 8 closed periods (weeks and months), each forecast twice
    assert overall.mape is not None and math.isfinite(overall.mape)
    assert overall.coverage is not None and 0.0 <= overall.coverage <= 1.0 and overall.banded == overall.cases
