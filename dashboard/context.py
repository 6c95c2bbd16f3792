"""What a page run hands to the page it shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dashboard.data import Meta
from dashboard.filters import Filters
from queries.reads import PageReader


@dataclass(frozen=True)
class PageContext:
    reader: PageReader  # this run's lazy connection: never store it beyond the run
    db: str  # cache key part, with `version`
    version: str
    today: date  # UTC
    meta: Meta
    filters: Filters
