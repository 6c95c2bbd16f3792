"""The weekly review of one ISO week: read through ``queries.review``, assembled by ``review.model``.

The one entry point of the dashboard's Weekly review page and of ``orusage report weekly``, so the two
cannot disagree. It takes the connection it is run with (a page run's reader, the report's snapshot) and
hands it to the data layer: nothing here talks to DuckDB.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from queries import review as review_reads
from review.inputs import ReviewInputs
from review.model import Review, assemble
from review.weeks import IsoWeek, periods

if TYPE_CHECKING:
    import duckdb


def load_inputs(con: duckdb.DuckDBPyConnection, week: IsoWeek, today: date) -> ReviewInputs:
    chosen = periods(week, today)
    current = (chosen.current.first, chosen.current.last)
    previous = (chosen.previous.first, chosen.previous.last)
    return ReviewInputs(chosen, today, review_reads.review_data(con, current, previous, today))


def weekly_review(con: duckdb.DuckDBPyConnection, week: IsoWeek, today: date) -> Review:
    """The review of ``week`` as of ``today`` (UTC). Raises ``review.weeks.NoCompletedDayError`` for a
    week with no completed day."""
    return assemble(load_inputs(con, week, today))
