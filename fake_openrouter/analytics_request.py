"""Parsing and validating a POST /analytics/query body into an ``AnalyticsQuery`` (every problem is a 400).

Rules (NOTES.md, the official analytics skills, and the fake's own decisions where they are silent):
- ``metrics`` ≥ 1, all known; ``dimensions`` ≤ 2; ``filters`` ≤ 20, ANDed; ``limit`` 1–10,000 (default 1,000;
  unlike the real server, the fake never raises it for time series, so clients must check ``truncated``);
  ``group_limit`` 1–10,000 (per dimension combination; omitted: no cap); ``granularity`` optional (no time key
  then: one aggregate row per dimension combination); ``minute`` only for windows of at most 3 hours.
- ``time_range``: ISO date-times, start inclusive, end exclusive, naive = UTC; omitted: the last 7 days.
- Reach: every metric and dimension used (filters included) reaches back 365 or 31 days. The fake enforces it
  on whole UTC days: ``start`` must be on or after 00:00 UTC of ``today - reach`` (so a 31-day metric can look
  at the 31 completed days before today and today itself), else 400 naming the culprits.
- Filters take ids: ``api_key_id`` a key hash (resolved against the account's keys; an unknown one matches
  nothing and adds a warning), ``app`` a number, ``user`` a member id, ``workspace`` a UUID, ``model`` a
  permaslug; other dimensions compare with the value as returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fake_openrouter.account import Account
from fake_openrouter.analytics_schema import (
    DIMENSIONS_BY_NAME,
    GRANULARITIES,
    METRICS_BY_NAME,
    OPERATORS,
    Dimension,
    Metric,
)
from fake_openrouter.api_common import ApiError

MAX_DIMENSIONS = 2
MAX_FILTERS = 20
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
DEFAULT_WINDOW = timedelta(days=7)
MINUTE_WINDOW = timedelta(hours=3)
UNRESOLVED = "__unresolved_api_key__"  # stands in for a hash no key has: it matches no generation
META_HINT = "See GET /api/v1/analytics/meta"


@dataclass(frozen=True)
class Filter:
    dimension: Dimension
    operator: str
    values: tuple[str | int, ...]  # one value for scalar operators
    include_unset: bool


@dataclass(frozen=True)
class AnalyticsQuery:
    metrics: tuple[Metric, ...]
    dimensions: tuple[Dimension, ...]
    granularity: str | None
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    filters: tuple[Filter, ...]
    order_field: str | None  # a metric or dimension name, "date", or None for the default order
    descending: bool
    limit: int
    group_limit: int | None
    warnings: tuple[str, ...]


def _names(raw: Any, what: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ApiError(400, f"'{what}' must be an array of strings")
    return list(dict.fromkeys(raw))  # duplicates are harmless: keep the first


def _bounded_int(raw: Any, name: str, default: int | None) -> int | None:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ApiError(400, f"'{name}' must be an integer")
    if not 1 <= raw <= MAX_LIMIT:
        raise ApiError(400, f"'{name}' must be between 1 and {MAX_LIMIT:,}")
    return raw


def _instant(raw: Any, name: str) -> datetime:
    if not isinstance(raw, str):
        raise ApiError(400, f"'time_range.{name}' must be an ISO 8601 date-time string")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"'time_range.{name}' is not an ISO 8601 date-time: {raw!r}") from None
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _time_range(raw: Any, now: datetime) -> tuple[datetime, datetime]:
    if raw is None:
        end = now.astimezone(UTC).replace(tzinfo=None)
        return end - DEFAULT_WINDOW, end
    if not isinstance(raw, dict) or "start" not in raw or "end" not in raw:
        raise ApiError(400, "'time_range' needs 'start' and 'end'")
    start, end = _instant(raw["start"], "start"), _instant(raw["end"], "end")
    if start >= end:
        raise ApiError(400, "'time_range.start' must be before 'time_range.end'")
    return start, end


def _key_values(values: list[str | int], account: Account, warnings: list[str]) -> list[str | int]:
    out: list[str | int] = []
    for value in values:
        if isinstance(value, str) and account.key_by_hash(value.lower()) is not None:
            out.append(value.lower())
        else:
            warnings.append(f"api_key_id {value!r} could not be resolved to a key of this account: it matches nothing")
            out.append(UNRESOLVED)
    return out


def _filter(raw: Any, account: Account, warnings: list[str]) -> Filter:
    if not isinstance(raw, dict) or not {"field", "operator", "value"} <= raw.keys():
        raise ApiError(400, "Each filter needs 'field', 'operator' and 'value'")
    dim = DIMENSIONS_BY_NAME.get(raw["field"]) if isinstance(raw["field"], str) else None
    if dim is None:
        raise ApiError(400, f"Unknown filter field {raw['field']!r}. {META_HINT}")
    op = raw["operator"]
    if op not in OPERATORS:
        raise ApiError(400, f"Unknown filter operator {op!r}; expected one of {', '.join(OPERATORS)}")
    value = raw["value"]
    if OPERATORS[op] == "array":
        if not isinstance(value, list) or not value:
            raise ApiError(400, f"Operator '{op}' needs a non-empty array value")
        values = value
    else:
        values = [value]
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
        raise ApiError(400, f"Filter values for '{dim.name}' must be strings or numbers")
    include_unset = raw.get("include_unset", False)
    if not isinstance(include_unset, bool):
        raise ApiError(400, "'include_unset' must be a boolean")
    if include_unset and (OPERATORS[op] != "array" or not dim.has_unset):
        why = f'Dimension "{dim.name}" has no unset bucket' if not dim.has_unset else "only for 'in' and 'not_in'"
        raise ApiError(400, f"'include_unset' is not allowed here: {why}")
    typed: list[str | int]
    if dim.numeric:
        try:
            typed = [int(v) for v in values if float(v).is_integer()]
        except ValueError:
            typed = []
        if len(typed) != len(values):
            raise ApiError(400, f"'{dim.name}' filters take numeric ids")
    else:
        typed = [str(v) for v in values]
    if dim.name == "api_key_id":
        typed = _key_values(typed, account, warnings)
    return Filter(dim, op, tuple(typed), include_unset)


def _check_reach(used: list[Metric | Dimension], start: datetime, today: date) -> None:
    for reach in sorted({u.reach_days for u in used}):
        earliest = datetime.combine(today - timedelta(days=reach), time())
        if start < earliest:
            names = ", ".join(sorted({u.name for u in used if u.reach_days <= reach}))
            raise ApiError(
                400,
                f"Time range too long: {names} can only look back {reach} days; "
                f"time_range.start must be on or after {earliest.isoformat()}Z",
            )


def parse_query(body: bytes, account: Account, now: datetime) -> AnalyticsQuery:
    """The validated query; ``now`` is the data set's present (aware, UTC)."""
    try:
        raw = json.loads(body or b"null")
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise ApiError(400, "The request body must be a JSON object")
    if raw.get("classifier_dimensions") is not None or raw.get("classifier_filters") is not None:
        raise ApiError(400, "Classifier not found: this account has no active classifier")
    metric_names = _names(raw.get("metrics"), "metrics")
    if not metric_names:
        raise ApiError(400, "'metrics' needs at least one metric")
    unknown = [n for n in metric_names if n not in METRICS_BY_NAME]
    if unknown:
        raise ApiError(400, f"Unknown metric {unknown[0]!r}. {META_HINT}")
    dim_names = _names(raw.get("dimensions"), "dimensions")
    if len(dim_names) > MAX_DIMENSIONS:
        raise ApiError(400, f"At most {MAX_DIMENSIONS} dimensions per query (got {len(dim_names)})")
    unknown = [n for n in dim_names if n not in DIMENSIONS_BY_NAME]
    if unknown:
        raise ApiError(400, f"Unknown dimension {unknown[0]!r}. {META_HINT}")
    granularity = raw.get("granularity")
    if granularity is not None and granularity not in GRANULARITIES:
        raise ApiError(400, f"Unknown granularity {granularity!r}; expected one of {', '.join(GRANULARITIES)}")
    start, end = _time_range(raw.get("time_range"), now)
    if granularity == "minute" and end - start > MINUTE_WINDOW:
        raise ApiError(400, "Minute granularity needs a time range of at most 3 hours")
    raw_filters = raw.get("filters") or []
    if not isinstance(raw_filters, list):
        raise ApiError(400, "'filters' must be an array")
    if len(raw_filters) > MAX_FILTERS:
        raise ApiError(400, f"At most {MAX_FILTERS} filters per query (got {len(raw_filters)})")
    warnings: list[str] = []
    filters = tuple(_filter(f, account, warnings) for f in raw_filters)
    metrics = tuple(METRICS_BY_NAME[n] for n in metric_names)
    dimensions = tuple(DIMENSIONS_BY_NAME[n] for n in dim_names)
    _check_reach([*metrics, *dimensions, *(f.dimension for f in filters)], start, now.date())
    order_field, descending = _order_by(raw.get("order_by"), metric_names, dim_names, granularity)
    return AnalyticsQuery(
        metrics=metrics,
        dimensions=dimensions,
        granularity=granularity,
        start=start,
        end=end,
        filters=filters,
        order_field=order_field,
        descending=descending,
        limit=_bounded_int(raw.get("limit"), "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT,
        group_limit=_bounded_int(raw.get("group_limit"), "group_limit", None),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _order_by(raw: Any, metrics: list[str], dims: list[str], granularity: str | None) -> tuple[str | None, bool]:
    if raw is None:
        return None, True
    if not isinstance(raw, dict) or not isinstance(raw.get("field"), str):
        raise ApiError(400, "'order_by' needs a 'field' and a 'direction'")
    direction = raw.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise ApiError(400, "'order_by.direction' must be 'asc' or 'desc'")
    field = raw["field"]
    if granularity is not None and field in ("date", f"date__{granularity}", f"created_at__{granularity}"):
        field = "date"
    elif field not in (*metrics, "request_count", *dims):
        raise ApiError(400, f"Cannot order by {field!r}: use a requested metric or dimension, or 'date'")
    return field, direction == "desc"
