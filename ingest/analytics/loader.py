"""Asking the analytics API within its limits: paced under the rate limit, and a time range asked again from
where a truncated answer stopped, until every day is answered in full.

Queries ask for the newest days first (``order_by`` date, descending), so a truncated answer (over 10,000 rows)
holds every day from the newest down to the oldest it reached, that one perhaps in part: the whole days are
kept as a piece, and the next query starts at the partial day. No answer is thrown away, so a year of a large
account costs about one query per 10,000 rows, where halving the range at each truncation cost about twice as
many. Should an answer ever come back in another order, the range is halved as before.

``pieces`` fetches ahead in a thread of its own while the caller stores the piece before: at OpenRouter's pace
(64 a minute) storing a piece takes less than the wait between two queries, and the next answer is then
already there when the store is done."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Iterable, Iterator
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
        "order_by": {"field": "date", "direction": "desc"},  # so a truncated answer holds whole newest days
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
        self._stop = threading.Event()

    def fetch(self, request: Request) -> Iterator[Piece]:
        """The pieces answering ``request``, each ready to be stored as one unit."""
        yield from self._fetch(request, request.first_day, request.last_day)

    def pieces(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Piece]]:
        """Every request's pieces in order, the next one fetched while the caller handles this one (in a thread
        of its own, at most one piece ahead). Errors are raised here, in the caller's thread; if the caller
        stops early, no further query is sent."""
        ahead: queue.Queue[tuple[Request, Piece] | BaseException | None] = queue.Queue(maxsize=1)

        def hand(item: tuple[Request, Piece] | BaseException | None) -> None:
            while not self._stop.is_set():
                try:
                    ahead.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def produce() -> None:
            try:
                for request in requests:
                    for piece in self.fetch(request):
                        hand((request, piece))
                hand(None)
            except _Stopped:
                pass
            except BaseException as exc:  # handed to the caller's thread, raised there
                hand(exc)

        self._stop.clear()
        worker = threading.Thread(target=produce, name="analytics-fetch", daemon=True)
        worker.start()
        try:
            while (item := ahead.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()
            worker.join(timeout=60)

    def _fetch(self, request: Request, first_day: date, last_day: date) -> Iterator[Piece]:
        while True:
            if self._stop.is_set():
                raise _Stopped
            self.pacer.wait()
            self.queries += 1
            result = self.client.analytics_query(query_body(request, first_day, last_day))
            warnings = list(result.warnings)
            if not (result.metadata.truncated and first_day < last_day):
                truncated = result.metadata.truncated
                yield self._piece(request, first_day, last_day, result.data, warnings, truncated=truncated)
                return
            try:
                days = [row_day(row, self.today) for row in result.data]
            except RowError as exc:
                raise _bad_row(request, first_day, last_day, exc) from None
            if not days or any(a < b for a, b in itertools.pairwise(days)):  # not the order asked for: halve
                middle = first_day + timedelta(days=(last_day - first_day).days // 2)
                yield from self._fetch(request, first_day, middle)
                yield from self._fetch(request, middle + timedelta(days=1), last_day)
                return
            reached = days[-1]  # the oldest day answered, perhaps in part
            if reached == last_day:  # the newest day alone is over the limit: as much of it as the API gives
                yield self._piece(request, last_day, last_day, result.data, warnings, truncated=True)
                last_day -= timedelta(days=1)
            else:
                whole = [row for row, day in zip(result.data, days, strict=True) if day > reached]
                yield self._piece(request, reached + timedelta(days=1), last_day, whole, warnings)
                last_day = reached  # asked again from the day the answer stopped in

    def _piece(
        self,
        request: Request,
        first_day: date,
        last_day: date,
        data: list[dict[str, Any]],
        warnings: list[str],
        *,
        truncated: bool = False,
    ) -> Piece:
        if truncated:
            warnings = [
                *warnings,
                f"{request.grouping.name} on {first_day}: more than {MAX_ROWS} rows in one day; "
                f"only the first {MAX_ROWS} were stored",
            ]
        for warning in warnings:
            log.warning("analytics %s: %s", request.grouping.name, warning)
        try:
            in_range = [row for row in data if first_day <= row_day(row, self.today) <= last_day]
            rows = to_store_rows(
                in_range,
                grouping_name=request.grouping.name,
                api_dimensions=request.grouping.api_dimensions,
                metrics=request.metrics,
                today=self.today,
                api_key_hash=request.scope or None,
            )
        except RowError as exc:
            raise _bad_row(request, first_day, last_day, exc) from None
        return Piece(request, first_day, last_day, rows, len(in_range), warnings)


def _bad_row(request: Request, first_day: date, last_day: date, exc: RowError) -> BadResponseError:
    return BadResponseError(
        f"POST /analytics/query ({request.grouping.name}, {first_day}..{last_day}) returned a row it "
        f"cannot have: {exc}.",
        "Nothing was stored from this response; if it persists, report it to OpenRouter.",
    )


class _Stopped(Exception):
    """The caller of ``pieces`` stopped: no further query."""
