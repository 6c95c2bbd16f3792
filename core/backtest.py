"""How good the forecast is: ``core.forecast.project`` replayed over closed weeks and months of a daily
spend series, as if each had been forecast at its start and again at its middle, with only the days before
known. Pure: the series in, the cases and their summary out.

* **MAPE**: the mean of |forecast total − actual total| ÷ actual total over the cases;
* **band coverage**: how often the actual total fell within the forecast's 80 % band (seasonal forecasts
  only: a band exists with 4 weeks of history).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from core.forecast import MAX_HISTORY_DAYS, project

WEEK = "week"
MONTH = "month"
START = "start"
MIDDLE = "middle"


@dataclass(frozen=True)
class Case:
    kind: str  # week | month
    label: str  # '2026-W45', '2026-10'
    point: str  # start | middle: when the forecast was made
    as_of: date  # the day it was made at the start of (nothing of that day known)
    actual: float
    expected: float
    low: float | None
    high: float | None

    @property
    def ape(self) -> float:
        return abs(self.expected - self.actual) / self.actual

    @property
    def covered(self) -> bool | None:
        if self.low is None or self.high is None:
            return None
        return self.low <= self.actual <= self.high


@dataclass(frozen=True)
class Summary:
    kind: str  # week | month | all
    point: str  # start | middle | all
    cases: int
    mape: float | None
    coverage: float | None  # share of the cases with a band whose band held
    banded: int


def closed_periods(first: date, last: date, kind: str) -> list[tuple[str, date, date]]:
    """Every whole week (Monday to Sunday) or month within ``first..last``, whose start has the forecast's
    full history (8 weeks) before it inside the range: (label, start, end exclusive)."""
    out = []
    earliest = first + timedelta(days=MAX_HISTORY_DAYS)
    if kind == WEEK:
        start = earliest + timedelta(days=(7 - earliest.weekday()) % 7)
        while start + timedelta(days=7) <= last + timedelta(days=1):
            year, week, _ = start.isocalendar()
            out.append((f"{year}-W{week:02d}", start, start + timedelta(days=7)))
            start += timedelta(days=7)
    else:
        start = earliest if earliest.day == 1 else (earliest.replace(day=1) + timedelta(days=32)).replace(day=1)
        while True:
            end = (start + timedelta(days=32)).replace(day=1)
            if end > last + timedelta(days=1):
                break
            out.append((f"{start:%Y-%m}", start, end))
            start = end
    return out


def replay(series: Mapping[date, float], kind: str, label: str, start: date, end: date, point: str) -> Case | None:
    """One case: the period forecast at its start or its middle from the days before only."""
    as_of = start if point == START else start + timedelta(days=(end - start).days // 2)
    history = {d: v for d, v in series.items() if d < as_of}
    spent = sum(series.get(start + timedelta(days=i), 0.0) for i in range((as_of - start).days))
    forecast = project(history, today=as_of, end=end, spent=spent, today_known=False, day_fraction=0.0)
    actual = sum(series.get(start + timedelta(days=i), 0.0) for i in range((end - start).days))
    if forecast is None or actual <= 0:
        return None
    return Case(kind, label, point, as_of, actual, forecast.total, forecast.low, forecast.high)


def backtest(series: Mapping[date, float], *, weeks: int = 12, months: int = 8) -> list[Case]:
    """The last ``weeks`` closed weeks and ``months`` closed months of ``series`` (every day from its first
    to its last must be known), each forecast at its start and at its middle."""
    if not series:
        return []
    first, last = min(series), max(series)
    cases: list[Case] = []
    for kind, count in ((WEEK, weeks), (MONTH, months)):
        for label, start, end in closed_periods(first, last, kind)[-count:]:
            for point in (START, MIDDLE):
                case = replay(series, kind, label, start, end, point)
                if case is not None:
                    cases.append(case)
    return cases


def summarize(cases: Sequence[Case]) -> list[Summary]:
    """Per kind and point, then overall."""
    groups: list[tuple[str, str, list[Case]]] = []
    for kind in (WEEK, MONTH):
        for point in (START, MIDDLE):
            groups.append((kind, point, [c for c in cases if c.kind == kind and c.point == point]))
    groups.append(("all", "all", list(cases)))
    out = []
    for kind, point, group in groups:
        banded = [c.covered for c in group if c.covered is not None]
        out.append(
            Summary(
                kind,
                point,
                len(group),
                statistics.fmean(c.ape for c in group) if group else None,
                sum(banded) / len(banded) if banded else None,
                len(banded),
            )
        )
    return out
