"""One model's providers day by day, as the seed's model page shows them (Model detail): latency, throughput,
uptime and prices per provider and UTC day.

Two sources, each for what only it has:

* latency and throughput: OpenRouter's analytics by model × provider on the days they cover (the last 31
  days, measured on this account's own requests: the request-weighted daily p50 and p90); on other days,
  the endpoint snapshot the day's last ingest stored (``model_endpoints``: OpenRouter's figures for all of
  its traffic over the 30 minutes before the snapshot);
* uptime over the last day and the provider's input and output prices: the snapshot of the day's last
  ingest only (analytics have no uptime). A provider with several endpoints (quantizations) is their mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pandas as pd

PER_MILLION = 1_000_000
ANALYTICS = "analytics"
SNAPSHOT = "endpoint snapshot"


def provider_days(
    con: duckdb.DuckDBPyConnection, model: str, start: date, end: date, analytics_days: Sequence[date]
) -> pd.DataFrame:
    """Per UTC day (``start``..``end``) and provider of ``model`` (a permaslug): ``p50_latency``,
    ``p90_latency`` (ms), ``p50_throughput``, ``p90_throughput`` (tokens/s) and ``perf_source`` (analytics on
    ``analytics_days``, else endpoint snapshot), ``requests`` (analytics), ``uptime_1d`` (%),
    ``prompt_per_m`` and ``completion_per_m`` (USD per million tokens) and ``fetched_at`` (the snapshot's).
    Ordered by day and provider."""
    frame: pd.DataFrame = (
        con.sql(
            f"""WITH snap AS (
                SELECT CAST(fetched_at AS DATE) AS date, provider_name AS provider, fetched_at,
                       avg(uptime_last_1d) AS uptime_1d,
                       avg(latency_p50) AS p50_latency, avg(latency_p90) AS p90_latency,
                       avg(throughput_p50) AS p50_throughput, avg(throughput_p90) AS p90_throughput,
                       avg(pricing_prompt) * {PER_MILLION} AS prompt_per_m,
                       avg(pricing_completion) * {PER_MILLION} AS completion_per_m
                FROM model_endpoints
                WHERE model_permaslug = ? AND CAST(fetched_at AS DATE) BETWEEN ? AND ?
                GROUP BY CAST(fetched_at AS DATE), provider_name, fetched_at
                QUALIFY fetched_at = max(fetched_at) OVER (PARTITION BY CAST(fetched_at AS DATE), provider_name)),
            an AS (
                SELECT date, provider, CAST(sum(request_count) AS BIGINT) AS requests,
                       sum(p50_latency * request_count) / sum(request_count) AS p50_latency,
                       sum(p90_latency * request_count) / sum(request_count) AS p90_latency,
                       sum(p50_throughput * request_count) / sum(request_count) AS p50_throughput,
                       sum(p90_throughput * request_count) / sum(request_count) AS p90_throughput
                FROM analytics_daily
                WHERE dimensions = 'model,provider' AND model = ? AND date BETWEEN ? AND ?
                  AND list_contains(?::DATE[], date) AND p50_latency IS NOT NULL AND request_count > 0
                GROUP BY date, provider),
            keys AS (SELECT date, provider FROM an UNION SELECT date, provider FROM snap)
        SELECT k.date, k.provider,
               CASE WHEN list_contains(?::DATE[], k.date) THEN an.p50_latency ELSE snap.p50_latency END
                   AS p50_latency,
               CASE WHEN list_contains(?::DATE[], k.date) THEN an.p90_latency ELSE snap.p90_latency END
                   AS p90_latency,
               CASE WHEN list_contains(?::DATE[], k.date) THEN an.p50_throughput ELSE snap.p50_throughput END
                   AS p50_throughput,
               CASE WHEN list_contains(?::DATE[], k.date) THEN an.p90_throughput ELSE snap.p90_throughput END
                   AS p90_throughput,
               CASE WHEN list_contains(?::DATE[], k.date) THEN '{ANALYTICS}' ELSE '{SNAPSHOT}' END AS perf_source,
               an.requests, snap.uptime_1d, snap.prompt_per_m, snap.completion_per_m, snap.fetched_at
        FROM keys k LEFT JOIN an USING (date, provider) LEFT JOIN snap USING (date, provider)
        ORDER BY k.date, k.provider""",  # noqa: S608 -- constants only
            params=[model, start, end, model, start, end, *[list(analytics_days)] * 6],
        )
        .to_arrow_table()
        .to_pandas()
    )
    return frame
