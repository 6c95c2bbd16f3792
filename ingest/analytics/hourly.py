"""Today for every scope: the last 48 hours of spend per hour for the model, provider, app and member
groupings, from the analytics API's ``hour`` granularity. A few queries per run (one per grouping, split
only when an answer is truncated), paced with the run's other analytics queries.

The result is provisional: the store's ``analytics_hourly`` is replaced whole at each run (analytics settle
within ``SETTLE`` of an hour's end, like the daily numbers). Completed days keep coming from the daily
sources; the hours give today so far, and yesterday's hours the shape of a day (how much of a day's spend
is usually in by a given hour).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ingest.analytics.catalog import Grouping
from ingest.analytics.loader import MAX_ROWS
from ingest.analytics.transform import KEY_SEPARATOR, RowError, dimension_value, metric_value
from ingest.client import OpenRouterClient
from ingest.errors import BadResponseError
from ingest.pacing import Pacer
from ingest.transform import parse_timestamp

HOURLY_GROUPINGS: tuple[Grouping, ...] = (
    Grouping("model", ("model",)),
    Grouping("model,provider", ("model", "provider")),
    Grouping("model,app", ("model", "app")),
    Grouping("user", ("user",), needs_organization=True),
)
HOURLY_METRICS: tuple[str, ...] = ("request_count", "total_usage", "byok_usage")
WINDOW_DAYS = 2  # yesterday and today
_COLUMNS = {"model": "model", "provider": "provider", "app": "app", "user": "user"}


@dataclass(frozen=True)
class HourlyFetch:
    grouping: str
    first_hour: datetime
    rows: list[dict[str, Any]]
    received: int


def window(now: datetime) -> tuple[datetime, datetime]:
    """[yesterday 00:00, the end of the current hour): whole hours, UTC."""
    start = datetime.combine(now.date() - timedelta(days=WINDOW_DAYS - 1), datetime.min.time())
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return start, end


def query_body(grouping: Grouping, start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "metrics": list(HOURLY_METRICS),
        "dimensions": list(grouping.api_dimensions),
        "granularity": "hour",
        "time_range": {"start": f"{start.isoformat()}Z", "end": f"{end.isoformat()}Z"},
        "limit": MAX_ROWS,
    }


def row_hour(row: Mapping[str, Any]) -> datetime:
    for key in ("date__hour", "created_at__hour"):
        value = row.get(key)
        if value:
            parsed = parse_timestamp(str(value))
            if parsed is not None:
                return parsed.replace(minute=0, second=0, microsecond=0)
    raise RowError("an hourly analytics row has no readable date__hour or created_at__hour")


def to_hourly_rows(rows: Sequence[Mapping[str, Any]], grouping: Grouping) -> list[dict[str, Any]]:
    """One store row per (hour, grouped values); rows repeating one are summed."""
    merged: dict[tuple[datetime, str], dict[str, Any]] = {}
    for row in rows:
        hour = row_hour(row)
        out: dict[str, Any] = {"hour": hour, "dimensions": grouping.name}
        parts = []
        for dimension in grouping.api_dimensions:
            value = dimension_value(dimension, row.get(dimension))
            out[_COLUMNS[dimension]] = value
            parts.append(value)
            if dimension == "user":
                out["user_email"] = row.get("user_email") or None
        out["dim_key"] = KEY_SEPARATOR.join(parts)
        for metric in HOURLY_METRICS:
            out[metric] = metric_value(metric, row.get(metric))
        existing = merged.get((hour, out["dim_key"]))
        if existing is None:
            merged[(hour, out["dim_key"])] = out
        else:
            for metric in HOURLY_METRICS:
                existing[metric] = (existing[metric] or 0) + (out[metric] or 0)
    return list(merged.values())


class HourlyLoader:
    def __init__(self, client: OpenRouterClient, pacer: Pacer) -> None:
        self.client, self.pacer = client, pacer
        self.queries = 0

    def fetch(self, grouping: Grouping, now: datetime) -> HourlyFetch:
        start, end = window(now)
        raw = list(self._pieces(grouping, start, end))
        try:
            rows = to_hourly_rows([r for r in raw if start <= row_hour(r) < end], grouping)
        except RowError as exc:
            raise BadResponseError(
                f"POST /analytics/query (hourly) returned an unexpected row: {exc}.",
                "Nothing was stored from this response.",
            ) from None
        return HourlyFetch(grouping.name, start, rows, len(raw))

    def _pieces(self, grouping: Grouping, start: datetime, end: datetime) -> Iterator[Mapping[str, Any]]:
        self.pacer.wait()
        self.queries += 1
        result = self.client.analytics_query(query_body(grouping, start, end))
        hours = int((end - start).total_seconds() // 3600)
        if result.metadata.truncated and hours > 1:
            middle = start + timedelta(hours=hours // 2)
            yield from self._pieces(grouping, start, middle)
            yield from self._pieces(grouping, middle, end)
            return
        yield from result.data


def groupings_for(organization: bool) -> list[Grouping]:
    return [g for g in HOURLY_GROUPINGS if organization or not g.needs_organization]
