"""Analytics rows (labels, strings for counts, nulls for costs, two spellings of the time key) →
`analytics_daily` rows with numbers, explicit buckets and a natural key. Pure.

Every value is checked (``ingest.values``): a count that is not a whole number in [0, 2^53), an amount that
is not finite or beyond ±$10 M (negative only for ``usage_cache`` and ``usage_data``), a day that is no
date or outside 2020-01-01..tomorrow, and two rows with the same day and dimension values refuse the answer
whole (``RowError``, naming the field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ingest.analytics.catalog import COUNT_METRICS, DIMENSION_COLUMNS, RATE_METRICS, UNATTRIBUTED
from ingest.values import InvalidValue, count, measure, money, utc_day

KEY_SEPARATOR = "\x1f"  # cannot appear in a label typed by a person
NONE_IN_KEY = "\x00"


class RowError(ValueError):
    """An analytics row that does not have what the API promises (or holds a value that cannot be)."""


def row_day(row: Mapping[str, Any], today: date) -> date:
    """The row's UTC day (``today``: the run's, for the "at most tomorrow" rule)."""
    for key in ("date__day", "created_at__day"):
        value = row.get(key)
        if value:
            try:
                return utc_day(key, value, today)
            except InvalidValue as exc:
                raise RowError(str(exc)) from None
    raise RowError("an analytics row has no date__day or created_at__day")


def metric_value(name: str, value: Any) -> int | float | None:
    """Counts arrive as strings ("1523"), costs as numbers or null (unused): store numbers, checked."""
    if value is None or value == "":
        return None if name in RATE_METRICS else (0 if name in COUNT_METRICS else 0.0)
    try:
        if name in COUNT_METRICS:
            return count(name, value)
        if name in RATE_METRICS:
            return measure(name, value)
        return money(name, value)
    except InvalidValue as exc:
        raise RowError(str(exc)) from None


def dimension_value(dimension: str, value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text or UNATTRIBUTED


def to_store_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    grouping_name: str,
    api_dimensions: Sequence[str],
    metrics: Sequence[str],
    today: date,
    api_key_hash: str | None = None,
) -> list[dict[str, Any]]:
    """One store row per API row. Two API rows with the same day and dimension values are refused (summed,
    a repeated row would double a day); distinct values that mean the same bucket (no app, an empty app)
    are summed into it."""
    merged: dict[tuple[date, str], dict[str, Any]] = {}
    seen: set[tuple[date, tuple[str | None, ...]]] = set()
    for row in rows:
        day = row_day(row, today)
        natural = (day, tuple(None if row.get(d) is None else str(row.get(d)) for d in api_dimensions))
        if natural in seen:
            shown = ", ".join(f"{d}={v!r:.40}" for d, v in zip(api_dimensions, natural[1], strict=True))
            raise RowError(f"two rows for {day}{': ' + shown if shown else ''}")
        seen.add(natural)
        out: dict[str, Any] = {"date": day, "dimensions": grouping_name}
        key_parts: list[str] = []
        if api_key_hash is not None:
            out["api_key_hash"] = api_key_hash
            key_parts.append(api_key_hash)
        for dimension in api_dimensions:
            value = dimension_value(dimension, row.get(dimension))
            out[DIMENSION_COLUMNS[dimension]] = value
            key_parts.append(value)
            if dimension == "user":
                out["user_email"] = row.get("user_email") or None
        out["dim_key"] = KEY_SEPARATOR.join(key_parts) if key_parts else NONE_IN_KEY
        for metric in metrics:
            out[metric] = metric_value(metric, row.get(metric))
        existing = merged.get((day, out["dim_key"]))
        if existing is None:
            merged[(day, out["dim_key"])] = out
        else:
            for metric in metrics:
                if metric in COUNT_METRICS or metric not in RATE_METRICS:
                    existing[metric] = (existing[metric] or 0) + (out[metric] or 0)
    return list(merged.values())
