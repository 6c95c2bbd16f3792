"""Listing generation ids through analytics (there is no endpoint that lists generations).

One query groups by ``generation_id`` and ``api_key_id`` (the key's name per id), one by ``generation_id``
and ``app`` (the app's label per id), each at ``hour`` granularity so every id comes with its hour. Every
query is paced with the analytics pacer; whenever an answer says ``truncated``, its time range is split in
two and asked again, down to a minute (beyond that the answer is kept and a warning says so).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ingest.client import OpenRouterClient
from ingest.generations.plan import Listed
from ingest.pacing import Pacer

log = logging.getLogger("orusage.ingest")

MAX_ROWS = 10_000  # the API's ceiling for `limit`
MIN_SPAN = timedelta(minutes=1)


@dataclass
class Listing:
    ids: dict[str, Listed] = field(default_factory=dict)
    queries: int = 0
    incomplete_days: set[date] = field(default_factory=set)  # a piece stayed truncated at MIN_SPAN
    warnings: list[str] = field(default_factory=list)


def _iso(value: datetime) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%S}Z"


def _hour(row: dict[str, Any], fallback: datetime) -> datetime:
    for key in ("date__hour", "created_at__hour"):
        value = row.get(key)
        if value:
            text = str(value).replace("T", " ").removesuffix("Z")[:19]
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                break
    return fallback


def _label(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


class Lister:
    def __init__(self, client: OpenRouterClient, pacer: Pacer, page_limit: int = MAX_ROWS) -> None:
        self.client = client
        self.pacer = pacer
        self.page_limit = page_limit
        self.queries = 0

    def rows(
        self, dimensions: list[str], start: datetime, end: datetime, listing: Listing, key_hash: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of the grouping over [start, end), however many queries that takes."""
        body: dict[str, Any] = {
            "metrics": ["request_count"],
            "dimensions": dimensions,
            "granularity": "hour",
            "time_range": {"start": _iso(start), "end": _iso(end)},
            "limit": self.page_limit,
        }
        if key_hash:
            body["filters"] = [{"field": "api_key_id", "operator": "eq", "value": key_hash}]
        self.pacer.wait()
        self.queries += 1
        listing.queries += 1
        result = self.client.analytics_query(body)
        listing.warnings.extend(result.warnings)
        if result.metadata.truncated:
            middle = (start + (end - start) / 2).replace(second=0, microsecond=0)
            if end - start > MIN_SPAN and start < middle < end:
                yield from self.rows(dimensions, start, middle, listing, key_hash)
                yield from self.rows(dimensions, middle, end, listing, key_hash)
                return
            listing.incomplete_days.add(start.date())
            listing.warnings.append(
                f"more than {self.page_limit} generations between {_iso(start)} and {_iso(end)}: "
                "only some were listed; that day is not counted as complete"
            )
        yield from result.data

    def list(self, start: datetime, end: datetime) -> Listing:
        """The generation ids of [start, end), each with its hour, key label and app label."""
        listing = Listing()
        for row in self.rows(["generation_id", "api_key_id"], start, end, listing):
            gen_id = _label(row.get("generation_id"))
            if gen_id:
                listing.ids[gen_id] = Listed(gen_id, _hour(row, start), key_label=_label(row.get("api_key_id")))
        for row in self.rows(["generation_id", "app"], start, end, listing):
            gen_id = _label(row.get("generation_id"))
            if not gen_id:
                continue
            known = listing.ids.get(gen_id)
            app = _label(row.get("app"))
            if known is None:  # made between the two queries
                listing.ids[gen_id] = Listed(gen_id, _hour(row, start), app_label=app)
            else:
                listing.ids[gen_id] = Listed(known.id, known.hour, known.key_label, app, known.key_hash)
        for warning in listing.warnings:
            log.warning("generation listing: %s", warning)
        return listing

    def ids_of_key(self, key_hash: str, start: datetime, end: datetime, listing: Listing) -> set[str]:
        """The ids made with one key (filtered by its hash): exact where names are shared."""
        return {
            gen_id
            for row in self.rows(["generation_id"], start, end, listing, key_hash=key_hash)
            if (gen_id := _label(row.get("generation_id")))
        }
