"""What the weekly review is computed from: the facts ``queries.review`` reads, as plain data.

Kept apart from the reads and from the arithmetic so that both can name these types without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from queries.reads import DataAsOf
from queries.reads_overview import Outlook
from queries.reads_routing import Route
from queries.review_weeks import Period, ReviewPeriods

# The four things the review ranks, each read from the table that holds it (``queries.review``).
KINDS: tuple[str, ...] = ("model", "app", "key", "provider")


@dataclass(frozen=True)
class WeekFacts:
    """One period's facts. Frames hold one row per value with traffic; ``routes`` say which days each
    question could be answered for (gaps are days no table covers)."""

    period: Period
    by: dict[str, pd.DataFrame]  # kind -> [kind, requests, prompt, completion, reasoning, spend, byok]
    cache: pd.DataFrame  # model, prompt, cached: analytics days only
    cache_days: int  # days whose cached tokens are known (answered from analytics)
    usage_cache: float | None  # Σ usage_cache (negative: what caching saved); None when never reported
    usage_cache_days: int  # days with a usage_cache figure
    daily: pd.DataFrame  # date, spend (days with traffic)
    routes: dict[str, Route]  # kind (and "cache") -> its route

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


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as plain dicts, for loops over a few rows (pandas' row types are not typed)."""
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
