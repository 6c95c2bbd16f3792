"""Budget periods as the alerts runs saw them (the alert operations migration): every period seen as current, and its
final figure once it ended and its last day was final. Only a period some run saw as current is evaluated
when it ends, so a backfill never alerts on older periods, and each is closed once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb


@dataclass(frozen=True)
class SeenPeriod:
    budget: str
    period_label: str
    period: str
    start: date
    end: date  # exclusive
    limit_usd: float
    seen_usd: float
    closed: bool


def mark_seen(
    con: duckdb.DuckDBPyConnection,
    budget: str,
    period: str,
    label: str,
    start: date,
    end: date,
    limit_usd: float,
    spend_usd: float,
    at: datetime,
) -> None:
    """This run saw the period as current, at ``spend_usd`` against ``limit_usd``."""
    con.execute(
        """INSERT INTO budget_periods (budget, period_label, period, period_start, period_end, limit_usd,
                                       first_seen_at, last_seen_at, seen_usd)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (budget, period_label) DO UPDATE SET limit_usd = excluded.limit_usd,
               last_seen_at = excluded.last_seen_at, seen_usd = excluded.seen_usd, period = excluded.period,
               period_start = excluded.period_start, period_end = excluded.period_end""",
        [budget, label, period, start, end, limit_usd, at, at, spend_usd],
    )


def open_ended(con: duckdb.DuckDBPyConnection, budget: str, today: date) -> list[SeenPeriod]:
    """Periods of the budget seen as current, ended before ``today`` and not closed yet, oldest first."""
    rows = con.execute(
        """SELECT budget, period_label, period, period_start, period_end, limit_usd, seen_usd, closed_at IS NOT NULL
           FROM budget_periods WHERE budget = ? AND period_end <= ? AND closed_at IS NULL ORDER BY period_start""",
        [budget, today],
    ).fetchall()
    return [SeenPeriod(r[0], r[1], r[2], r[3], r[4], float(r[5]), float(r[6]), bool(r[7])) for r in rows]


def close(con: duckdb.DuckDBPyConnection, budget: str, label: str, final_usd: float, at: datetime) -> None:
    con.execute(
        "UPDATE budget_periods SET final_usd = ?, closed_at = ? WHERE budget = ? AND period_label = ?",
        [final_usd, at, budget, label],
    )


def day_final(con: duckdb.DuckDBPyConnection, day: date, settle_hours: float) -> bool:
    """Whether the store holds ``day`` as final: a daily source covering it was fetched at least
    ``settle_hours`` after the day ended (the analytics settle delay)."""
    rows = con.execute(
        """SELECT count(*) FROM coverage
           WHERE ? BETWEEN first_day AND last_day
             AND fetched_at >= CAST(? AS TIMESTAMP) + INTERVAL 1 DAY + to_microseconds(CAST(? * 3600e6 AS BIGINT))
             AND (source = 'activity' OR dimensions = 'model')""",
        [day, day, settle_hours],
    ).fetchall()
    return bool(rows and rows[0][0])
