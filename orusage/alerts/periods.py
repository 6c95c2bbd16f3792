"""Budget periods in UTC, as OpenRouter resets key limits: a day, a week Monday to Sunday, a month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core import fmt

DAY = "day"
WEEK = "week"
MONTH = "month"
TOTAL = "total"  # a key limit that never resets
PERIODS = (DAY, WEEK, MONTH)

# OpenRouter's limit_reset values → budget periods (None: the limit never resets).
RESET_PERIODS = {"daily": DAY, "weekly": WEEK, "monthly": MONTH}


@dataclass(frozen=True)
class Period:
    """The period that contains a day. ``end`` is exclusive; both are None for ``total``."""

    kind: str
    start: date | None
    end: date | None
    label: str  # '2026-11-20', '2026-W47', '2026-11', 'total': part of every alert's identity

    def resets_in(self, now: datetime) -> timedelta | None:
        if self.end is None:
            return None
        return datetime(self.end.year, self.end.month, self.end.day) - now


def current_period(kind: str, today: date) -> Period:
    if kind == DAY:
        return Period(DAY, today, today + timedelta(days=1), today.isoformat())
    if kind == WEEK:
        start = today - timedelta(days=today.weekday())
        year, week, _ = start.isocalendar()
        return Period(WEEK, start, start + timedelta(days=7), f"{year}-W{week:02d}")
    if kind == MONTH:
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return Period(MONTH, start, end, f"{start:%Y-%m}")
    if kind == TOTAL:
        return Period(TOTAL, None, None, TOTAL)
    raise ValueError(f"unknown period {kind!r}")


def describe(delta: timedelta | None) -> str:
    """'5 d 16 h', '3 h 10 min', '12 min' (``core.fmt.duration``)."""
    return fmt.duration(delta)
