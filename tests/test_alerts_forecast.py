"""The forecast on synthetic weekly-seasonal series: the projection, its crossing day and its band."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import pytest

from core.forecast import Z_80, project
from orusage.alerts.config import Budget
from orusage.alerts.findings import Finding, Recovery
from orusage.alerts.periods import MONTH, current_period
from orusage.alerts.rules import KEYS_TODAY, BudgetFacts, forecast_outcome

MONDAY = date(2026, 11, 23)
MONTH_END = date(2026, 12, 1)


def weekly(today: date, weeks: int, weekday: float = 10.0, weekend: float = 2.0) -> dict[date, float]:
    """Weekdays cost ``weekday``, Saturdays and Sundays ``weekend``, for ``weeks`` weeks before today."""
    days = [today - timedelta(days=i) for i in range(1, weeks * 7 + 1)]
    return {d: weekend if d.weekday() >= 5 else weekday for d in days}


def test_weekly_seasonality_gives_the_exact_projection_and_crossing_day() -> None:
    fc = project(weekly(MONDAY, 8), today=MONDAY, end=MONTH_END, spent=100.0, today_known=True, day_fraction=0.0)
    assert fc is not None and fc.seasonal and fc.history_days == 56
    # Mon 23 … Fri 27 add 10 each, Sat 28 and Sun 29 add 2, Mon 30 adds 10.
    assert [round(d.expected, 9) for d in fc.days] == [110, 120, 130, 140, 150, 152, 154, 164]
    assert fc.pace == pytest.approx((5 * 10 + 2 * 2) / 7)
    assert fc.crosses(145) == date(2026, 11, 27)
    assert fc.crosses(153) == date(2026, 11, 29)
    assert fc.crosses(165) is None
    # No residuals at all: the band has no width, so it crosses on the same day.
    assert fc.low == fc.high == pytest.approx(164) and fc.crosses_band(145) == (date(2026, 11, 27),) * 2


def test_a_heavy_weekday_is_expected_on_that_weekday() -> None:
    history = weekly(MONDAY, 4, weekday=4.0, weekend=4.0)
    history.update({d: 25.0 for d in history if d.weekday() == 1})  # Tuesdays
    fc = project(history, today=MONDAY, end=MONDAY + timedelta(days=7), spent=0.0, today_known=False, day_fraction=0)
    assert fc is not None
    steps = [b.expected - a.expected for a, b in zip(fc.days, fc.days[1:], strict=False)]
    assert steps[0] == pytest.approx(25.0) and steps[1] == pytest.approx(4.0)  # Tuesday, then Wednesday


def test_band_comes_from_same_weekday_residuals_and_the_spread_of_the_weekly_level() -> None:
    history = weekly(MONDAY, 8)
    for d in history:  # each weekday alternates ±1 around its mean from one week to the next
        if d.weekday() < 5:
            history[d] += 1.0 if ((MONDAY - d).days // 7) % 2 else -1.0
    fc = project(history, today=MONDAY, end=MONTH_END, spent=0.0, today_known=False, day_fraction=0.0)
    assert fc is not None and fc.seasonal
    sigma = math.sqrt(8 / 7)  # sample spread of 8 values alternating 9 and 11
    weekdays = sum(1 for d in fc.days if d.date.weekday() < 5)  # weekends have no residual
    # A Monday-to-Sunday week holds a Monday of one sign and Tuesday to Friday of the other: its daily mean
    # alternates 54/7 ± 3/7, a sample spread of 3/7 × √(8/7) shared by every day ahead, weighted by each
    # day's share of the pace (weekdays 10, weekends 2, against a mean of 54/7).
    level = 3 / 7 * math.sqrt(8 / 7)
    weight = (weekdays * 10 + (len(fc.days) - weekdays) * 2) / (54 / 7)
    half = Z_80 * math.sqrt(weekdays * sigma**2 + (weight * level) ** 2)
    assert fc.total == pytest.approx(5 * 10 + 2 * 2 + 10)
    assert fc.high - fc.total == pytest.approx(half)  # type: ignore[operator]
    assert fc.total - fc.low == pytest.approx(half)  # type: ignore[operator]
    early, late = fc.crosses_band(55)
    assert early is not None and late is not None and early <= fc.crosses(55) <= late  # type: ignore[operator]


def test_today_counts_its_remaining_share_only_when_today_is_known() -> None:
    history = weekly(MONDAY, 4)
    half = project(history, today=MONDAY, end=MONDAY + timedelta(days=1), spent=7.0, today_known=True, day_fraction=0.5)
    unknown = project(history, today=MONDAY, end=MONDAY + timedelta(days=1), spent=7.0, today_known=False,
                      day_fraction=0.5)  # fmt: skip
    assert half is not None and unknown is not None
    assert half.total == pytest.approx(7.0 + 5.0) and unknown.total == pytest.approx(7.0 + 10.0)


def test_a_scale_stops_a_share_of_the_pace_from_a_day_on() -> None:
    """E.g. a model that expires mid-period: its share of the pace is not projected past that day."""
    history = weekly(MONDAY, 8, weekday=10.0, weekend=10.0)
    gone = MONDAY + timedelta(days=3)
    fc = project(history, today=MONDAY, end=MONDAY + timedelta(days=7), spent=0.0, today_known=False,
                 day_fraction=0.0, scale=lambda day: 0.25 if day >= gone else 1.0)  # fmt: skip
    assert fc is not None
    assert [round(b.expected - a.expected, 9) for a, b in zip(fc.days, fc.days[1:], strict=False)] == [
        10.0, 10.0, 2.5, 2.5, 2.5, 2.5,
    ]  # fmt: skip


def test_short_history_is_flat_without_a_band_and_a_gap_ends_it() -> None:
    ten = {MONDAY - timedelta(days=i): float(i) for i in range(1, 11)}
    fc = project(ten, today=MONDAY, end=MONDAY + timedelta(days=3), spent=0.0, today_known=False, day_fraction=0)
    assert fc is not None and not fc.seasonal and fc.low is None and fc.pace == pytest.approx(5.5)
    assert fc.total == pytest.approx(16.5)
    six = {MONDAY - timedelta(days=i): 1.0 for i in range(1, 7)}
    assert project(six, today=MONDAY, end=MONTH_END, spent=0, today_known=False, day_fraction=0) is None
    gapped = weekly(MONDAY, 8)
    del gapped[MONDAY - timedelta(days=3)]  # only the 2 days after the gap count as recent history
    assert project(gapped, today=MONDAY, end=MONTH_END, spent=0, today_known=False, day_fraction=0) is None


def facts(spent: float, limit: float) -> BudgetFacts:
    b = Budget(name="main", scope="account", entries=(("account", ""),), period=MONTH, limit_usd=limit)
    return BudgetFacts(b, current_period(MONTH, MONDAY), spent, None, None, KEYS_TODAY, weekly(MONDAY, 8))


def test_forecast_alert_fires_clears_with_hysteresis_and_steps_aside_once_crossed() -> None:
    fc = project(weekly(MONDAY, 8), today=MONDAY, end=MONTH_END, spent=100.0, today_known=False, day_fraction=0)
    fired = forecast_outcome(facts(100.0, 150.0), fc)
    assert isinstance(fired, Finding) and fired.key.period == "2026-11" and fired.key.threshold == 100
    assert "at this pace the budget is crossed on 2026-11-27" in fired.message
    assert "$164.00 projected by the end of 2026-11-30" in fired.message
    assert forecast_outcome(facts(100.0, 170.0), fc) is None  # 164 < 170 but above 90 % of it: no change
    cleared = forecast_outcome(facts(100.0, 200.0), fc)
    assert isinstance(cleared, Recovery) and "the forecast has cleared" in cleared.message
    assert forecast_outcome(facts(151.0, 150.0), fc) is None  # already crossed: the threshold alert says so
    off = replace(facts(100.0, 150.0), budget=replace(facts(100.0, 150.0).budget, forecast=False))
    assert forecast_outcome(off, fc) is None
