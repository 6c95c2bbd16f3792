"""Which analytics queries a run needs: pure, so the rules can be tested without a server.

A day is *final* once it was fetched at least ``SETTLE`` after it ended; final days are never asked
for again, unless a value stored for them cannot be (``redo``: stored before such values were refused).
So a first run backfills the whole reach, a run after a kill resumes where the last one stopped, and a
run when nothing is new asks for nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.limits import NEGATIVE_ALLOWED
from ingest.analytics.catalog import (
    COUNT_METRICS,
    GROUPINGS,
    LONG_METRICS,
    LONG_REACH_DAYS,
    RATE_METRICS,
    SHORT_METRICS,
    SHORT_REACH_DAYS,
    Grouping,
)
from queries.coverage_tracks import contiguous

# What each stored metric column may hold (ingest.values' rules), for finding days to fetch again.
METRIC_KINDS: dict[str, str] = {
    m: "count"
    if m in COUNT_METRICS
    else "measure"
    if m in RATE_METRICS
    else "signed_money"
    if m in NEGATIVE_ALLOWED
    else "money"
    for m in (*LONG_METRICS, *SHORT_METRICS)
}

SETTLE = timedelta(hours=6)


@dataclass(frozen=True)
class Covered:
    """One stored coverage record (a day range fetched at a time)."""

    dimensions: str
    scope: str
    metrics: str
    first_day: date
    last_day: date
    fetched_at: datetime


@dataclass(frozen=True)
class Request:
    grouping: Grouping
    scope: str  # '' account-wide, else the API key hash the query is filtered by
    metrics_set: str  # 'long' or 'short'
    first_day: date
    last_day: date

    @property
    def metrics(self) -> tuple[str, ...]:
        if self.metrics_set == "long" or self.grouping.usage_only:
            return LONG_METRICS
        return SHORT_METRICS if not self.grouping.short_only else (*LONG_METRICS, *SHORT_METRICS)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def final_days(covered: Iterable[Covered]) -> set[date]:
    days: set[date] = set()
    for c in covered:
        day = c.first_day
        while day <= c.last_day:
            if c.fetched_at >= datetime.combine(day + timedelta(days=1), datetime.min.time()) + SETTLE:
                days.add(day)
            day += timedelta(days=1)
    return days


def metric_sets(grouping: Grouping, today: date, reach_days: int) -> list[tuple[str, date]]:
    """(metric set, first day it can reach) for a grouping."""
    short_first = today - timedelta(days=SHORT_REACH_DAYS - 1)
    if grouping.short_only:
        return [("short", short_first)]
    long = ("long", today - timedelta(days=reach_days - 1))
    return [long] if grouping.usage_only else [long, ("short", short_first)]


def plan(
    today: date,
    covered: Iterable[Covered],
    key_hashes: Sequence[str],
    *,
    organization: bool,
    reach_days: int = LONG_REACH_DAYS,
    groupings: Sequence[Grouping] = GROUPINGS,
    redo: Iterable[tuple[str, str, str, date]] = (),
) -> list[Request]:
    """Every query needed to make the store's analytics complete up to yesterday (UTC). ``redo``: (dimensions,
    scope, metric, day) of stored values that cannot be: those days are asked for again."""
    by_target: dict[tuple[str, str, str], list[Covered]] = {}
    for c in covered:
        by_target.setdefault((c.dimensions, c.scope, c.metrics), []).append(c)
    short_only = {g.name for g in groupings if g.short_only}
    again: dict[tuple[str, str, str], set[date]] = {}
    for dimensions, scope, metric, day in redo:
        metrics_set = "short" if dimensions in short_only or metric not in LONG_METRICS else "long"
        again.setdefault((dimensions, scope, metrics_set), set()).add(day)
    yesterday = today - timedelta(days=1)
    requests: list[Request] = []
    for grouping in groupings:
        if grouping.needs_organization and not organization:
            continue
        scopes = list(key_hashes) if grouping.per_key else [""]
        for scope in scopes:
            for metrics_set, first in metric_sets(grouping, today, reach_days):
                target = (grouping.name, scope, metrics_set)
                done = final_days(by_target.get(target, [])) - again.get(target, set())
                wanted = [
                    first + timedelta(days=i)
                    for i in range((yesterday - first).days + 1)
                    if first + timedelta(days=i) not in done
                ]
                for run_first, run_last in contiguous(wanted):
                    requests.append(Request(grouping, scope, metrics_set, run_first, run_last))
    return requests
