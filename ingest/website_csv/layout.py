"""The website export's columns (NOTES.md): 24 in 2026 exports, 23 in older ones (no ``api_key_disabled``).

Columns may come in any order and unknown columns are ignored, so a file is recognised by its header
names, not their positions. Each known column has an explicit type (nothing is guessed from the data),
and maps onto a ``generations`` column under /generation's name where the API has the same fact.
Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

LAYOUT_2026: tuple[str, ...] = (
    "generation_id",
    "created_at",
    "cost_total",
    "cost_web_search",
    "cost_cache",
    "cost_file_processing",
    "byok_usage_inference",
    "tokens_prompt",
    "tokens_completion",
    "tokens_reasoning",
    "tokens_cached",
    "model_permaslug",
    "provider_name",
    "variant",
    "cancelled",
    "streamed",
    "user",
    "finish_reason_raw",
    "finish_reason_normalized",
    "generation_time_ms",
    "time_to_first_token_ms",
    "api_key_disabled",
    "api_key_name",
    "app_name",
)
LAYOUT_OLDER: tuple[str, ...] = tuple(c for c in LAYOUT_2026 if c != "api_key_disabled")

# Counts are read as DOUBLE and rounded when stored, so "12.0" in a file is not an error.
CSV_TYPES: dict[str, str] = {
    "generation_id": "VARCHAR",
    "created_at": "TIMESTAMPTZ",  # read in a UTC session: no offset means UTC
    "cost_total": "DOUBLE",
    "cost_web_search": "DOUBLE",
    "cost_cache": "DOUBLE",
    "cost_file_processing": "DOUBLE",
    "byok_usage_inference": "DOUBLE",
    "tokens_prompt": "DOUBLE",
    "tokens_completion": "DOUBLE",
    "tokens_reasoning": "DOUBLE",
    "tokens_cached": "DOUBLE",
    "model_permaslug": "VARCHAR",
    "provider_name": "VARCHAR",
    "variant": "VARCHAR",
    "cancelled": "BOOLEAN",
    "streamed": "BOOLEAN",
    "user": "VARCHAR",
    "finish_reason_raw": "VARCHAR",
    "finish_reason_normalized": "VARCHAR",
    "generation_time_ms": "DOUBLE",
    "time_to_first_token_ms": "DOUBLE",
    "api_key_disabled": "BOOLEAN",
    "api_key_name": "VARCHAR",
    "app_name": "VARCHAR",
}

# generations column ← export column. Shared facts take /generation's names; the rest keep their own.
MAPPING: tuple[tuple[str, str], ...] = (
    ("id", "generation_id"),
    ("created_at", "created_at"),
    ("total_cost", "cost_total"),
    ("byok_usage_inference", "byok_usage_inference"),
    ("tokens_prompt", "tokens_prompt"),
    ("tokens_completion", "tokens_completion"),
    ("native_tokens_reasoning", "tokens_reasoning"),
    ("native_tokens_cached", "tokens_cached"),
    ("model_permaslug", "model_permaslug"),
    ("provider_name", "provider_name"),
    ("cancelled", "cancelled"),
    ("streamed", "streamed"),
    ("external_user", "user"),
    ("native_finish_reason", "finish_reason_raw"),
    ("finish_reason", "finish_reason_normalized"),
    ("generation_time", "generation_time_ms"),
    # Export-only columns, kept as they are.
    ("app_name", "app_name"),
    ("api_key_name", "api_key_name"),
    ("api_key_disabled", "api_key_disabled"),
    ("variant", "variant"),
    ("time_to_first_token_ms", "time_to_first_token_ms"),
    ("cost_web_search", "cost_web_search"),
    ("cost_cache", "cost_cache"),
    ("cost_file_processing", "cost_file_processing"),
)
TARGETS: tuple[str, ...] = tuple(t for t, _ in MAPPING)


class LayoutError(ValueError):
    """The header is not that of an activity export; the message says why, in a few words."""


@dataclass(frozen=True)
class Layout:
    name: str  # "2026" or "older"
    csv_types: dict[str, str]  # every column of the file, in its order, with the type it is read as
    mapping: tuple[tuple[str, str], ...]  # the MAPPING entries this file has

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.mapping)


def detect(header: Sequence[str]) -> Layout:
    """The layout of a file with this header (names as written, surrounding spaces ignored)."""
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise LayoutError(f"column {name!r} appears twice in the header")
        seen.add(name)
    missing = [c for c in LAYOUT_OLDER if c not in seen]
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise LayoutError(f"not an OpenRouter activity export: the header lacks {shown}")
    # Unknown columns are read as text and then ignored; a blank header cell still needs a name.
    csv_types = {name or f"column{i + 1}": CSV_TYPES.get(name, "VARCHAR") for i, name in enumerate(names)}
    mapping = tuple((t, s) for t, s in MAPPING if s in seen)
    return Layout("2026" if "api_key_disabled" in seen else "older", csv_types, mapping)


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CONVERT = re.compile(r'column "?([^"\n]+?)"?\. Could not convert string "(.*?)" to \'?([A-Z ]+)', re.S)


def explain_csv_error(text: str) -> tuple[int | None, str]:
    """(line, reason) from one of DuckDB's CSV reader errors, in words for a person."""
    line_match = _LINE.search(text)
    line = int(line_match.group(1)) if line_match else None
    if "unterminated quote" in text:
        return line, "a quoted value is never closed: the file looks cut short"
    columns = _COLUMNS.search(text)
    if columns:
        expected, found = columns.groups()
        return line, f"{found} values where the header has {expected}: the file looks cut short or damaged"
    if "Invalid unicode" in text or "not utf-8" in text.lower():
        return line, "bytes that are not UTF-8 (exports are UTF-8 text)"
    converted = _CONVERT.search(text)
    if converted:
        column, value, kind = converted.groups()
        return line, f"{column} is {value[:40]!r}, not a {kind.strip().lower()}"
    details = [s.strip() for s in text.splitlines() if s.strip() and not s.startswith(("Original Line", "CSV Error"))]
    reason = details[0] if details else "unreadable"
    return line, reason.removeprefix("Invalid Input Error: ").removeprefix("Conversion Error: ")[:160]


def interior_days(first: date, last: date) -> tuple[date, date] | None:
    """The days an export surely holds whole: all but its first and last, since its range may start and end
    at any time of day. None when there is no such day."""
    if (last - first).days < 2:
        return None
    return first + timedelta(days=1), last - timedelta(days=1)
