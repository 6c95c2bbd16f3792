"""Do the sources agree? Per UTC day and model: `activity` vs analytics (grouped by model) vs generations.

Like is compared with like, never a derived total with a raw one:

* ``requests``: activity ``requests`` · analytics ``request_count`` · generations ``count(*)``;
* ``credits`` (what OpenRouter charged): activity ``usage`` · analytics ``credits_usage`` · generations
  ``usage`` (an export-only row has no ``usage``: its ``cost_total`` stands in);
* ``byok`` (upstream cost of bring-your-own-key traffic): ``byok_usage_inference`` · ``byok_usage`` ·
  ``byok_usage_inference``;
* native tokens (prompt, completion, reasoning): all three sources count native tokens; a day whose
  generation rows lack native prompt or completion tokens (export-only rows) is not compared on those.

A day is compared between the sources that hold all of it: activity's fetched window; analytics days
that are final (read at least 6 hours after they ended); generation days listed and fetched in full, or
lying strictly inside an imported export. A model one covering source lacks counts as 0 there.

Tolerance: counts (requests, tokens) must be equal; money may differ by ``MONEY_TOLERANCE`` (USD) per day
and model, which absorbs float rounding of sums and nothing a person would act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa

MONEY_TOLERANCE = 0.0001  # USD, per day × model × metric
METRICS: tuple[str, ...] = (
    "requests",
    "credits",
    "byok",
    "native_prompt_tokens",
    "native_completion_tokens",
    "native_reasoning_tokens",
)
MONEY_METRICS = frozenset({"credits", "byok"})
SETTLE_HOURS = 6  # as ingest.analytics.plan.SETTLE: an analytics day read sooner may still change

_SOURCES_SQL = """
WITH activity_days AS (
    SELECT DISTINCT unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS date
    FROM coverage WHERE source = 'activity' AND scope = ''
), analytics_days AS (
    SELECT DISTINCT d AS date FROM (
        SELECT unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS d, fetched_at
        FROM coverage WHERE source = 'analytics' AND dimensions = 'model' AND scope = '' AND metrics = 'long')
    WHERE fetched_at >= d + INTERVAL 1 DAY + to_hours(CAST(? AS INTEGER))
), generation_days AS (
    SELECT DISTINCT unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS date
    FROM coverage WHERE source = 'generations'
), covered AS (
    SELECT date, bool_or(s = 'a') AS a, bool_or(s = 'n') AS n, bool_or(s = 'g') AS g FROM (
        SELECT date, 'a' AS s FROM activity_days UNION ALL SELECT date, 'n' FROM analytics_days
        UNION ALL SELECT date, 'g' FROM generation_days)
    WHERE date < ? GROUP BY date HAVING a::INT + n::INT + g::INT >= 2
), act AS (
    SELECT date, model_permaslug AS model, sum(requests) AS requests, sum(usage) AS credits,
           sum(byok_usage_inference) AS byok, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion,
           sum(reasoning_tokens) AS reasoning
    FROM activity WHERE date IN (SELECT date FROM covered WHERE a) GROUP BY ALL
), ana AS (
    SELECT date, model, sum(request_count) AS requests, sum(credits_usage) AS credits, sum(byok_usage) AS byok,
           sum(tokens_prompt) AS prompt, sum(tokens_completion) AS completion, sum(reasoning_tokens) AS reasoning
    FROM analytics_daily WHERE dimensions = 'model' AND date IN (SELECT date FROM covered WHERE n) GROUP BY ALL
), gen AS (
    SELECT CAST(created_at AS DATE) AS date, coalesce(model_permaslug, model) AS model, count(*) AS requests,
           sum(coalesce(usage, total_cost)) AS credits, sum(coalesce(byok_usage_inference, 0)) AS byok,
           CASE WHEN count(native_tokens_prompt) = count(*) THEN sum(native_tokens_prompt) END AS prompt,
           CASE WHEN count(native_tokens_completion) = count(*) THEN sum(native_tokens_completion) END AS completion,
           CASE WHEN count(native_tokens_reasoning) = count(*) THEN sum(native_tokens_reasoning) END AS reasoning,
           true AS present
    FROM generations WHERE CAST(created_at AS DATE) IN (SELECT date FROM covered WHERE g) GROUP BY ALL
), pairs AS (
    SELECT date, model FROM act UNION SELECT date, model FROM ana UNION SELECT date, model FROM gen
)
SELECT p.date, p.model,
       CASE WHEN c.a THEN [coalesce(act.requests, 0), coalesce(act.credits, 0), coalesce(act.byok, 0),
                           coalesce(act.prompt, 0), coalesce(act.completion, 0), coalesce(act.reasoning, 0)] END,
       CASE WHEN c.n THEN [coalesce(ana.requests, 0), coalesce(ana.credits, 0), coalesce(ana.byok, 0),
                           coalesce(ana.prompt, 0), coalesce(ana.completion, 0), coalesce(ana.reasoning, 0)] END,
       CASE WHEN c.g THEN CASE WHEN gen.present THEN [gen.requests, gen.credits, gen.byok, gen.prompt,
                                                       gen.completion, gen.reasoning]
                               ELSE [0, 0, 0, 0, 0, 0] END END
FROM pairs p JOIN covered c USING (date)
LEFT JOIN act USING (date, model) LEFT JOIN ana USING (date, model) LEFT JOIN gen USING (date, model)
ORDER BY p.date, p.model
"""


@dataclass(frozen=True)
class Comparison:
    date: date
    model_permaslug: str
    metric: str
    activity: float | None
    analytics: float | None
    generations: float | None

    @property
    def values(self) -> list[float]:
        return [v for v in (self.activity, self.analytics, self.generations) if v is not None]

    @property
    def difference(self) -> float:
        values = self.values
        return max(values) - min(values) if values else 0.0

    @property
    def agrees(self) -> bool:
        return within_tolerance(self.metric, self.difference)


def within_tolerance(metric: str, difference: float) -> bool:
    """The documented rule (docs/history-and-generations.md): counts equal, money within MONEY_TOLERANCE."""
    return abs(difference) <= (MONEY_TOLERANCE if metric in MONEY_METRICS else 0.0)


def comparisons(rows: Sequence[tuple[Any, ...]]) -> list[Comparison]:
    """(date, model, activity[6] | None, analytics[6] | None, generations[6] | None) → one comparison per
    metric where at least two sources have a value. Pure."""
    out: list[Comparison] = []
    for day, model, act, ana, gen in rows:
        for i, metric in enumerate(METRICS):
            values = [None if src is None or src[i] is None else float(src[i]) for src in (act, ana, gen)]
            if sum(v is not None for v in values) >= 2:
                out.append(Comparison(day, model, metric, *values))
    return out


def reconcile(con: duckdb.DuckDBPyConnection, today: date, checked_at: datetime) -> list[Comparison]:
    """Compare the sources on every day two or more of them cover, and store the result (replacing the last
    one) in ``reconciliation``. Runs in the caller's transaction. Returns the comparisons that disagree."""
    found = comparisons(con.execute(_SOURCES_SQL, [SETTLE_HOURS, today]).fetchall())
    con.execute("DELETE FROM reconciliation")
    if found:
        table = pa.table(
            {
                "date": pa.array([c.date for c in found], pa.date32()),
                "model_permaslug": pa.array([c.model_permaslug for c in found], pa.string()),
                "metric": pa.array([c.metric for c in found], pa.string()),
                "activity": pa.array([c.activity for c in found], pa.float64()),
                "analytics": pa.array([c.analytics for c in found], pa.float64()),
                "generations": pa.array([c.generations for c in found], pa.float64()),
                "difference": pa.array([c.difference for c in found], pa.float64()),
                "agrees": pa.array([c.agrees for c in found], pa.bool_()),
            }
        )
        con.register("incoming_reconciliation", table)
        con.execute(
            "INSERT INTO reconciliation BY NAME "
            "SELECT *, CAST(? AS TIMESTAMP) AS checked_at FROM incoming_reconciliation",
            [checked_at],
        )
        con.unregister("incoming_reconciliation")
    return [c for c in found if not c.agrees]


# ---- reads -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    compared: int  # (day, model, metric) comparisons
    days: int
    models: int
    first_day: date | None
    last_day: date | None
    sources: tuple[str, ...]  # which sources took part at all
    checked_at: datetime | None
    differences: list[Comparison]


def summary(con: duckdb.DuckDBPyConnection, limit: int = 200) -> Summary:
    row = con.execute(
        """SELECT count(*), count(DISTINCT date), count(DISTINCT model_permaslug), min(date), max(date),
                  count(activity), count(analytics), count(generations), max(checked_at)
           FROM reconciliation"""
    ).fetchone()
    assert row is not None
    sources = tuple(name for name, n in zip(("activity", "analytics", "generations"), row[5:8], strict=True) if n)
    differing = con.execute(
        """SELECT date, model_permaslug, metric, activity, analytics, generations FROM reconciliation
           WHERE NOT agrees ORDER BY date DESC, model_permaslug, list_position(?, metric) LIMIT ?""",
        [list(METRICS), limit],
    ).fetchall()
    return Summary(
        compared=int(row[0]),
        days=int(row[1]),
        models=int(row[2]),
        first_day=row[3],
        last_day=row[4],
        sources=sources,
        checked_at=row[8],
        differences=[Comparison(*r) for r in differing],
    )


def difference_count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM reconciliation WHERE NOT agrees").fetchone()
    return int(row[0]) if row else 0
