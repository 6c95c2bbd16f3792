"""Analytics rows (labels, strings for counts, nulls for costs, two spellings of the time key) →
`analytics_daily` rows with numbers, explicit buckets and a natural key. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ingest.analytics.catalog import COUNT_METRICS, DIMENSION_COLUMNS, RATE_METRICS, UNATTRIBUTED

KEY_SEPARATOR = "\x1f"  # cannot appear in a label typed by a person
NONE_IN_KEY = "\x00"


class RowError(ValueError):
    """An analytics row that does not have what the API promises."""


def row_day(row: Mapping[str, Any]) -> date:
    for key in ("date__day", "created_at__day"):
        value = row.get(key)
        if value:
            return date.fromisoformat(str(value)[:10])
    raise RowError("an analytics row has no date__day or created_at__day")


def metric_value(name: str, value: Any) -> int | float | None:
    """Counts arrive as strings ("1523"), costs as numbers or null (unused): store numbers."""
    if value is None or value == "":
        return None if name in RATE_METRICS else (0 if name in COUNT_METRICS else 0.0)
    if isinstance(value, bool):
        raise RowError(f"{name} is a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"{name} is not a number: {value!r}") from None
    return round(number) if name in COUNT_METRICS else number


def dimension_value(dimension: str, value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text or UNATTRIBUTED


def to_store_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    grouping_name: str,
    api_dimensions: Sequence[str],
    metrics: Sequence[str],
    api_key_hash: str | None = None,
) -> list[dict[str, Any]]:
    """One store row per API row; API rows repeating a (day, grouped values) are summed."""
    merged: dict[tuple[date, str], dict[str, Any]] = {}
    for row in rows:
        day = row_day(row)
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
