"""What the weekly review is computed from: the facts ``queries.review`` reads, placed in the review's
periods, as plain data. Kept apart from the arithmetic so that every module of it can name these types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from queries.reads import DataAsOf
from queries.reads_overview import Outlook
from queries.reads_routing import Route
from queries.review import KINDS, ReviewData, WeekRead
from review.weeks import Period, ReviewPeriods

__all__ = ["KINDS", "ReviewInputs", "WeekFacts", "rows"]


@dataclass(frozen=True)
class WeekFacts:
    """One period's facts (``queries.review.WeekRead``) with its period."""

    period: Period
    by: dict[str, pd.DataFrame]  # kind -> [kind, requests, prompt, completion, reasoning, spend, byok]
    cache: pd.DataFrame  # model, prompt, cached: analytics days only
    cache_days: int  # days whose cached tokens are known (answered from analytics)
    usage_cache: float | None  # Σ usage_cache (negative: what caching saved); None when never reported
    usage_cache_days: int  # days with a usage_cache figure
    daily: pd.DataFrame  # date, spend (days with traffic)
    routes: dict[str, Route]  # kind (and "cache") -> its route

    @classmethod
    def of(cls, read: WeekRead) -> WeekFacts:
        return cls(
            period=Period(read.first, read.last),
            by=read.by,
            cache=read.cache,
            cache_days=read.cache_days,
            usage_cache=read.usage_cache,
            usage_cache_days=read.usage_cache_days,
            daily=read.daily,
            routes=read.routes,
        )

    def stored(self, kind: str = "model") -> int:
        """Days of the period some table covers for ``kind``."""
        return sum((s.last - s.first).days + 1 for s in self.routes[kind].segments)


@dataclass(frozen=True)
class ReviewInputs:
    periods: ReviewPeriods
    today: date
    current: WeekFacts
    previous: WeekFacts
    first_seen: dict[str, dict[str, date]]  # kind -> value -> first day of traffic ever stored
    prices: pd.DataFrame  # models_current: model, id, name, prompt, completion, request, cache_read (USD/token),
    # context_length, output_modalities, expiration_date
    model_labels: dict[str, str]  # permaslug -> label
    key_names: dict[str, str]  # hash -> name
    outlook: Outlook
    budgets: pd.DataFrame  # queries.budgets.budget_overview (empty without a config or an alerts run)
    known_from: date | None  # the first day any source covers
    as_of: DataAsOf

    @classmethod
    def of(cls, periods: ReviewPeriods, today: date, data: ReviewData) -> ReviewInputs:
        return cls(
            periods=periods,
            today=today,
            current=WeekFacts.of(data.current),
            previous=WeekFacts.of(data.previous),
            first_seen=data.first_seen,
            prices=data.prices,
            model_labels=data.model_labels,
            key_names=data.key_names,
            outlook=data.outlook,
            budgets=data.budgets,
            known_from=data.known_from,
            as_of=data.as_of,
        )


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as plain dicts, for loops over a few rows (pandas' row types are not typed)."""
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
