# ruff: noqa: S608 -- statements are composed from this module's and reads_facts' constants; values are bound
"""Cache savings: the one definition every page, report and command shows (docs/definitions.md).

Cache savings = what OpenRouter billed less because of prompt caching, net of the premiums paid to write the
cache (so it can be negative), per UTC day from one source:

* **analytics** where it covers the day: −``usage_cache`` (OpenRouter's own cost component for caching,
  negative when caching saved money), from the analytics grouping the filters route to;
* else **per-generation records** where they hold the whole day: Σ ``cache_discount`` (an export's record
  has ``−cost_cache`` instead); only for filters on models, providers and API keys, which those records carry;
* else the day is **unknown**, and named: never counted as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from queries.coverage_tracks import contiguous, days_between, merged
from queries.filters import Filters
from queries.reads_facts import rows_sql, source_spans
from queries.reads_routing import Dim, Need, route
from queries.status import CoverageRow

# The filters per-generation records can answer (they carry model, provider and key, not app or workspace).
GENERATION_DIMS = frozenset({Dim.MODEL, Dim.PROVIDER, Dim.KEY})


@dataclass(frozen=True)
class CacheSavings:
    """``None`` total: no day of the range is known."""

    start: date
    end: date
    total: float | None
    by_model: pd.DataFrame  # model, savings, cached (analytics days; NULL elsewhere)
    by_day: pd.DataFrame  # date, savings, source ('analytics' | 'generations')
    analytics_days: int
    generation_days: int
    unknown: tuple[tuple[date, date], ...]  # runs of days with neither source
    unanswerable: str | None = None  # why no source splits cache savings by these filters

    @property
    def known_days(self) -> int:
        return self.analytics_days + self.generation_days

    def note(self) -> str:
        """Where the figure comes from, in a sentence, the unknown days named."""
        if self.unanswerable:
            return self.unanswerable
        parts = []
        for n, where in (
            (self.analytics_days, "from analytics (usage_cache)"),
            (self.generation_days, "from per-generation records (cache_discount)"),
        ):
            if n:
                parts.append(f"{n} day{'s' if n > 1 else ''} {where}")
        text = "; ".join(parts) if parts else "no day known"
        if self.unknown:
            days = ", ".join(f"{a}" if a == b else f"{a} – {b}" for a, b in self.unknown)
            text += f"; unknown (no analytics, no whole day of records): {days}"
        return text


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def generation_days(con: duckdb.DuckDBPyConnection) -> set[date]:
    """UTC days per-generation records hold whole (a /generation run or an imported export covered them)."""
    rows = con.execute(
        "SELECT source, dimensions, scope, metrics, first_day, last_day, fetched_at, rows_received "
        "FROM coverage WHERE source = 'generations'"
    ).fetchall()
    days: set[date] = set()
    for first, last in merged(CoverageRow(*r) for r in rows):
        days |= days_between(first, last)
    return days


_GENERATION_ROWS = """
    SELECT CAST(g.created_at AS DATE) AS date, coalesce(g.model_permaslug, g.model) AS model,
           coalesce(g.cache_discount, -g.cost_cache, 0) AS savings, NULL::BIGINT AS cached
    FROM generations g
    WHERE CAST(g.created_at AS DATE) IN (SELECT unnest(?::DATE[]))
      AND (? OR list_contains(?::VARCHAR[], coalesce(g.model_permaslug, g.model)))
      AND (? OR list_contains(?::VARCHAR[], g.provider_name))
      AND (? OR list_contains(?::VARCHAR[], g.api_key_hash))
"""


@dataclass(frozen=True)
class SavingsRows:
    """The definition as SQL to compose with: rows (date, model, savings, cached, source), and its days."""

    sql: str  # empty when no day is known
    params: list[Any]
    analytics_days: tuple[date, ...]
    generation_days: tuple[date, ...]
    unknown: tuple[date, ...]
    unanswerable: str | None = None


def savings_rows(con: duckdb.DuckDBPyConnection, filters: Filters, today: date) -> SavingsRows:
    """Cache savings per stored row of the day's source, over ``filters``' days."""
    spans = source_spans(con)
    r = route(filters.dims | {Dim.MODEL}, filters.start, filters.end, spans, today, [Need.CACHED])
    all_days = days_between(filters.start, filters.end) if filters.end >= filters.start else set()
    if not r.answerable:
        return SavingsRows("", [], (), (), tuple(sorted(all_days)), r.unanswerable)
    analytics = {d for s in r.segments for d in days_between(s.first, s.last)}
    rest = sorted(all_days - analytics)
    fallback = sorted(set(rest) & generation_days(con)) if filters.dims <= GENERATION_DIMS else []
    parts: list[str] = []
    params: list[Any] = []
    if analytics:
        rows, values = rows_sql(r, filters)  # source rows: usage_cache is in no rollup
        parts.append(
            f"SELECT date, model, -coalesce(usage_cache, 0) AS savings, cached, 'analytics' AS source FROM ({rows})"
        )
        params += values
    if fallback:
        parts.append(f"SELECT *, 'generations' AS source FROM ({_GENERATION_ROWS})")
        params += [fallback]
        for chosen in (filters.models, filters.providers, filters.keys):
            params += [not chosen, list(chosen)]
    unknown = tuple(sorted(set(rest) - set(fallback)))
    return SavingsRows(" UNION ALL ".join(parts), params, tuple(sorted(analytics)), tuple(fallback), unknown)


def cache_savings(con: duckdb.DuckDBPyConnection, filters: Filters, today: date) -> CacheSavings:
    """Cache savings over ``filters``' days, per model and per day, as defined above."""
    rows = savings_rows(con, filters, today)
    if rows.sql:
        by_model = _frame(
            con,
            f"""SELECT model, CAST(sum(savings) AS DOUBLE) AS savings, CAST(sum(cached) AS BIGINT) AS cached
                FROM ({rows.sql}) GROUP BY model ORDER BY savings DESC, model""",
            rows.params,
        )
        by_day = _frame(
            con,
            f"""SELECT date, CAST(sum(savings) AS DOUBLE) AS savings, any_value(source) AS source
                FROM ({rows.sql}) GROUP BY date ORDER BY date""",
            rows.params,
        )
    else:
        by_model = pd.DataFrame(columns=["model", "savings", "cached"])
        by_day = pd.DataFrame(columns=["date", "savings", "source"])
    return CacheSavings(
        start=filters.start,
        end=filters.end,
        total=float(by_model["savings"].sum()) if rows.sql else None,
        by_model=by_model,
        by_day=by_day,
        analytics_days=len(rows.analytics_days),
        generation_days=len(rows.generation_days),
        unknown=tuple(contiguous(rows.unknown)),
        unanswerable=rows.unanswerable,
    )
