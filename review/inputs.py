"""What the weekly review is computed from: the facts ``queries.review`` reads (``ReviewData``) and the
periods they were read for. Kept apart from the arithmetic so that every module of it can name these types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from queries.review import KINDS, ReviewData, WeekFacts
from review.weeks import ReviewPeriods

__all__ = ["KINDS", "ReviewInputs", "WeekFacts", "rows"]


@dataclass(frozen=True)
class ReviewInputs:
    periods: ReviewPeriods
    today: date
    data: ReviewData

    @property
    def current(self) -> WeekFacts:
        return self.data.current

    @property
    def previous(self) -> WeekFacts:
        return self.data.previous


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as plain dicts, for loops over a few rows (pandas' row types are not typed)."""
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
