"""Where a budget's period is heading at the current pace: a pure function, no I/O.

Method (docs/budgets-and-alerts.md):

* the **pace** is the mean daily spend of the last 28 completed days;
* **weekday seasonality**: with at least 4 weeks of history, each weekday's share of the pace is its mean
  over the last 4 to 8 whole weeks divided by the mean of all those days (a Tuesday-heavy scope
  expects more on Tuesdays); with 1 to 3 weeks the projection is flat and has no band; under a week
  there is no forecast;
* the **band** comes from same-weekday residuals (each day's spend minus its weekday's mean, so at least
  4 per weekday), scaled to the current pace, added up over the remaining days as independent errors:
  cumulative ± 1.28 σ, an 80 % band; the low edge never drops below what is already spent;
* **today** counts its remaining fraction of a day when today's spend so far is known, a whole day
  when it is not (nothing was fetched today yet);
* a day's projection can be **scaled** (``scale``: 0..1 per day), so that spend on a model is not projected
  past its ``expiration_date``: the models that will be gone that day take their share of the pace with them.

How good it is: ``core.backtest`` replays it over closed weeks and months; docs/budgets-and-alerts.md
publishes the error and how often the 80 % band held.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

Z_80 = 1.2816  # two-sided 80 % band of a normal distribution
PACE_DAYS = 28
MIN_DAYS = 7
SEASONAL_DAYS = 28
MAX_HISTORY_DAYS = 56


@dataclass(frozen=True)
class ForecastDay:
    """Cumulative spend of the period at the end of ``date``: the projection and its band."""

    date: date
    expected: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Forecast:
    days: tuple[ForecastDay, ...]  # today .. the period's last day
    pace: float  # mean daily spend of the recent history
    seasonal: bool  # weekday seasonality (and a band) was used
    history_days: int

    @property
    def total(self) -> float:
        return self.days[-1].expected

    @property
    def low(self) -> float | None:
        return self.days[-1].low

    @property
    def high(self) -> float | None:
        return self.days[-1].high

    def crosses(self, limit: float) -> date | None:
        """The first day whose projected cumulative spend reaches ``limit``."""
        return next((d.date for d in self.days if d.expected >= limit), None)

    def crosses_band(self, limit: float) -> tuple[date | None, date | None]:
        """(earliest, latest) crossing day within the band: by the high edge, by the low edge."""
        early = next((d.date for d in self.days if d.high is not None and d.high >= limit), None)
        late = next((d.date for d in self.days if d.low is not None and d.low >= limit), None)
        return early, late


def recent_history(history: Mapping[date, float], today: date) -> list[tuple[date, float]]:
    """The unbroken run of known days right before ``today``, oldest first, at most 8 weeks."""
    days: list[tuple[date, float]] = []
    day = today - timedelta(days=1)
    while day in history and len(days) < MAX_HISTORY_DAYS:
        days.append((day, history[day]))
        day -= timedelta(days=1)
    return days[::-1]


def weekday_profile(days: list[tuple[date, float]]) -> tuple[dict[int, float], dict[int, float]]:
    """Per weekday (0 = Monday): its share of the mean, and the spread of its residuals (σ, in USD).

    Uses the last whole weeks (4 to 8) of ``days``; each weekday then has at least 4 values."""
    weeks = min(len(days), MAX_HISTORY_DAYS) // 7
    window = days[-weeks * 7 :]
    overall = statistics.fmean(v for _, v in window)
    factors: dict[int, float] = {}
    spreads: dict[int, float] = {}
    for weekday in range(7):
        values = [v for d, v in window if d.weekday() == weekday]
        mean = statistics.fmean(values)
        factors[weekday] = mean / overall if overall > 0 else 1.0
        spreads[weekday] = statistics.stdev(values)  # residuals v - mean have this spread
    return factors, spreads


def level_spread(days: list[tuple[date, float]]) -> float:
    """How far the level of spend may stray from the pace, per day: the spread of the daily mean from one
    whole week to the next (over 4 to 8 weeks). It is shared by every day ahead, so it adds up linearly
    over the days, unlike the day-to-day residuals: what a month's forecast mostly misses is a change of
    level, not a noisy day."""
    weeks = min(len(days), MAX_HISTORY_DAYS) // 7
    window = days[-weeks * 7 :]
    means = [statistics.fmean(v for _, v in window[i * 7 : (i + 1) * 7]) for i in range(weeks)]
    return statistics.stdev(means) if weeks > 1 else 0.0


def project(
    history: Mapping[date, float],
    *,
    today: date,
    end: date,
    spent: float,
    today_known: bool,
    day_fraction: float,
    scale: Callable[[date], float] | None = None,
) -> Forecast | None:
    """Project the period's cumulative spend from today to its last day (``end`` is exclusive).

    ``history``: spend of completed days before today (days absent are unknown); ``spent``: the period's
    spend so far (its completed days, plus today so far when ``today_known``); ``day_fraction``: how much
    of today has passed (0..1); ``scale``: the share of the pace still spent on a day (default 1). None
    when there is less than a week of history.
    """
    days = recent_history(history, today)
    if len(days) < MIN_DAYS or end <= today:
        return None
    pace = statistics.fmean(v for _, v in days[-PACE_DAYS:])
    seasonal = len(days) >= SEASONAL_DAYS
    if seasonal:
        factors, spreads = weekday_profile(days)
        overall = statistics.fmean(v for _, v in days[-(len(days) // 7) * 7 :])
        to_pace = pace / overall if overall > 0 else 1.0
        spreads = {w: s * to_pace for w, s in spreads.items()}
        level = level_spread(days) * to_pace
    else:
        factors, spreads, level = dict.fromkeys(range(7), 1.0), {}, 0.0
    cumulative, variance, weight = spent, 0.0, 0.0
    out: list[ForecastDay] = []
    day = today
    while day < end:
        share = (1.0 - min(max(day_fraction, 0.0), 1.0)) if day == today and today_known else 1.0
        share *= min(max(scale(day), 0.0), 1.0) if scale is not None else 1.0
        cumulative += pace * factors[day.weekday()] * share
        if seasonal:
            variance += (spreads[day.weekday()] * share) ** 2
            weight += factors[day.weekday()] * share
            half = Z_80 * math.sqrt(variance + (weight * level) ** 2)
            out.append(ForecastDay(day, cumulative, max(spent, cumulative - half), cumulative + half))
        else:
            out.append(ForecastDay(day, cumulative, None, None))
        day += timedelta(days=1)
    return Forecast(tuple(out), pace, seasonal, len(days))
