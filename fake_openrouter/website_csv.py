"""The website's activity export (CSV, one row per generation), written from the fake's own data set, so
tests and the benchmark import realistic files whose every value the ``generations`` table can confirm.

Layouts (NOTES.md): ``"2026"`` has 24 columns, ``"older"`` 23 (no ``api_key_disabled``). Times are UTC like
``2026-02-06 18:54:30.040``; names typed by people (app and key names) are always quoted; an unattributed
app or an absent user is an empty field. Written by DuckDB's COPY, so a million rows take a second or two.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fake_openrouter.dataset import Dataset, as_utc

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
LAYOUTS: dict[str, tuple[str, ...]] = {
    "2026": LAYOUT_2026,
    "older": tuple(c for c in LAYOUT_2026 if c != "api_key_disabled"),
}

# Export column → SQL over ``generations g`` joined with ``generation_extras x`` and ``generation_bills b``
# (the fake's own names).
_SQL: dict[str, str] = {
    "generation_id": "g.id",
    "created_at": "g.created_at",
    "cost_total": "g.total_cost",
    "cost_web_search": "b.web_cost",
    "cost_cache": "0.0 - g.cache_discount",  # as analytics' usage_cache: negative where caching saved money
    "cost_file_processing": "0.0",
    "byok_usage_inference": "g.byok_usage_inference",
    "tokens_prompt": "g.tokens_prompt",
    "tokens_completion": "g.tokens_completion",
    "tokens_reasoning": "g.native_tokens_reasoning",
    "tokens_cached": "g.native_tokens_cached",
    "model_permaslug": "g.model_permaslug",
    "provider_name": "g.provider_name",
    "variant": "x.variant",
    "cancelled": "g.cancelled",
    "streamed": "g.streamed",
    "user": "g.external_user",
    "finish_reason_raw": "g.native_finish_reason",
    "finish_reason_normalized": "g.finish_reason",
    "generation_time_ms": "g.generation_time",
    "time_to_first_token_ms": "g.latency",
    "api_key_disabled": "list_contains($disabled, g.api_key_hash)",
    "api_key_name": "g.api_key_name",
    "app_name": "g.app_name",
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_website_csv(dataset: Dataset, path: Path, start: datetime, end: datetime, layout: str = "2026") -> int:
    """Write the generations created in [start, end) (naive = UTC) as an export; returns the row count."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    first = as_utc(start).replace(tzinfo=None)
    last = as_utc(end).replace(tzinfo=None)
    disabled = [k.hash for k in dataset.account.keys if k.disabled(dataset.now)]
    columns = ", ".join(f"{_SQL[c]} AS {c}" for c in LAYOUTS[layout])
    cur = dataset.cursor()
    try:
        # COPY takes no parameters: the bounds are typed values rendered by isoformat, the path is quoted.
        cur.execute("SET VARIABLE disabled = ?", [disabled])
        cur.execute(
            f"""COPY (
                    SELECT {columns.replace("$disabled", "getvariable('disabled')")}
                    FROM generations g JOIN generation_extras x USING (id) JOIN generation_bills b USING (id)
                    WHERE g.created_at >= TIMESTAMP '{first.isoformat(sep=" ")}'
                      AND g.created_at < TIMESTAMP '{last.isoformat(sep=" ")}'
                    ORDER BY g.created_at, g.id
                ) TO {_literal(str(path))} (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '"',
                     FORCE_QUOTE (api_key_name, app_name), TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S.%g')"""  # noqa: S608
        )
        row = cur.execute(
            "SELECT count(*) FROM generations WHERE created_at >= ? AND created_at < ?", [first, last]
        ).fetchone()
    finally:
        cur.close()
    return int(row[0]) if row else 0
