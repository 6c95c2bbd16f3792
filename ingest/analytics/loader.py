"""Asking the analytics API within its limits: paced under the rate limit, and a time range split in
two whenever the answer says it was truncated, until every piece fits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ingest.analytics.plan import Request
from ingest.analytics.transform import RowError, row_day, to_store_rows
from ingest.client import OpenRouterClient
from ingest.errors import BadResponseError
from ingest.pacing import Pacer

log = logging.getLogger("orusage.ingest")

MAX_ROWS = 10_000  # the API's ceiling for `limit`


@dataclass
class Piece:
    """A day range answered in full (or, for a single day over the ceiling, as much as the API gives)."""

    request: Request
    first_day: date
    last_day: date
    rows: list[dict[str, Any]]
    received: int
    warnings: list[str] = field(default_factory=list)


def query_body(request: Request, first_day: date, last_day: date) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metrics": list(request.metrics),
        "dimensions": list(request.grouping.api_dimensions),
        "granularity": "day",
        "time_range": {
            "start": f"{first_day.isoformat()}T00:00:00Z",
            "end": f"{(last_day + timedelta(days=1)).isoformat()}T00:00:00Z",
        },
        "limit": MAX_ROWS,
    }
    if request.scope:
        body["filters"] = [{"field": "api_key_id", "operator": "eq", "value": request.scope}]
    return body


class AnalyticsLoader:
    """``today``: the run's UTC day (a row dated after tomorrow is refused)."""

    def __init__(self, client: OpenRouterClient, pacer: Pacer, today: date) -> None:
        self.client = client
        self.pacer = pacer
        self.today = today
        self.queries = 0

    def fetch(self, request: Request) -> Iterator[Piece]:
        """The pieces answering ``request``, oldest first, each ready to be stored as one unit."""
        yield from self._fetch(request, request.first_day, request.last_day)

    def _fetch(self, request: Request, first_day: date, last_day: date) -> Iterator[Piece]:
        self.pacer.wait()
        self.queries += 1
        result = self.client.analytics_query(query_body(request, first_day, last_day))
        warnings = list(result.warnings)
        if result.metadata.truncated and first_day < last_day:
            middle = first_day + timedelta(days=(last_day - first_day).days // 2)
            yield from self._fetch(request, first_day, middle)
            yield from self._fetch(request, middle + timedelta(days=1), last_day)
            return
        if result.metadata.truncated:
            warnings.append(
                f"{request.grouping.name} on {first_day}: more than {MAX_ROWS} rows in one day; "
                f"only the first {MAX_ROWS} were stored"
            )
        for warning in warnings:
            log.warning("analytics %s: %s", request.grouping.name, warning)
        try:
            in_range = [row for row in result.data if first_day <= row_day(row, self.today) <= last_day]
            rows = to_store_rows(
                in_range,
                grouping_name=request.grouping.name,
                api_dimensions=request.grouping.api_dimensions,
                metrics=request.metrics,
                today=self.today,
                api_key_hash=request.scope or None,
            )
        except RowError as exc:
            raise BadResponseError(
                f"POST /analytics/query ({request.grouping.name}, {first_day}..{last_day}) returned a row it "
                f"cannot have: {exc}.",
                "Nothing was stored from this response; if it persists, report it to OpenRouter.",
            ) from None
        yield Piece(request, first_day, last_day, rows, len(result.data), warnings)
