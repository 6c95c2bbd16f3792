"""ISO weeks for the weekly review, and which days of a week (and of the week before) it compares.

Weeks run Monday to Sunday, UTC (docs/definitions.md). ``/activity`` never holds today, so the review of
the current week covers its completed days only and compares them with the *same weekdays* of the week
before: Monday–Thursday against Monday–Thursday, never four days against seven. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W47`` (also ``2026W47``, ``2026-w47``); ``ValueError`` with a readable message otherwise."""
        found = _WEEK.match(text)
        if not found:
            raise ValueError(f"{text!r} is not an ISO week such as 2026-W47")
        year, week = int(found.group(1)), int(found.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Period:
    """UTC days ``first``..``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def shifted(self, days: int) -> Period:
        return Period(self.first + timedelta(days=days), self.last + timedelta(days=days))


@dataclass(frozen=True)
class ReviewPeriods:
    week: IsoWeek
    current: Period  # the week's completed days (all seven unless it is this week)
    previous: Period  # the same weekdays one week earlier
    partial: bool  # the week is still running: only its first days are reviewed

    @property
    def previous_week(self) -> IsoWeek:
        return self.week.shifted(-1)


class NoCompletedDayError(ValueError):
    """The week has not completed a single UTC day yet (it is in the future, or today is its Monday)."""


def last_complete_week(today: date) -> IsoWeek:
    """The newest week whose Sunday is before ``today``: the review's default."""
    return IsoWeek.of(today - timedelta(days=today.weekday() + 1))


def periods(week: IsoWeek, today: date) -> ReviewPeriods:
    """The days to review: all of a past week, or the completed days of the current one."""
    yesterday = today - timedelta(days=1)
    if week.monday > yesterday:
        if week.monday <= today:
            raise NoCompletedDayError(f"{week.label} started today: no UTC day of it has ended yet")
        raise NoCompletedDayError(f"{week.label} has not started yet (today is {today.isoformat()}, UTC)")
    last = min(week.sunday, yesterday)
    current = Period(week.monday, last)
    return ReviewPeriods(week, current, current.shifted(-7), partial=last < week.sunday)


def weeks_between(first_day: date | None, today: date) -> list[IsoWeek]:
    """Every week from the one holding ``first_day`` to the newest with a completed day, newest first."""
    newest = IsoWeek.of(today - timedelta(days=1))
    if first_day is None or first_day > today:
        return [newest]
    found: list[IsoWeek] = []
    week = newest
    oldest = IsoWeek.of(first_day)
    while week >= oldest:
        found.append(week)
        week = week.shifted(-1)
    return found
