"""``python -m bench.ratelimit_child OUT.json``: the first ingest of the fake's large account into a fresh store,
its analytics paced exactly as ``orusage ingest`` paces them (``Pacer(ORUSAGE_ANALYTICS_RATE)``, 60 a minute),
on a clock running ``BENCH_TIME_SCALE`` times faster (the fake's limiter runs on the same scaled clock). Notes
what the plan asked for, when each analytics query was sent, per grouping, and when the backfill ended.

Settings come from the environment (``ORUSAGE_DB``, ``OPENROUTER_BASE_URL``, ``OPENROUTER_MANAGEMENT_KEY``)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from bench.generate import ANCHOR
from core.settings import load_settings
from ingest import job
from ingest.analytics.plan import Request
from ingest.client import OpenRouterClient
from ingest.pacing import Pacer
from orusage.jobs import client_for
from queries import ingest_state
from queries.store import Writer


def main(out: Path) -> None:
    scale = float(os.environ.get("BENCH_TIME_SCALE", "1"))
    settings = load_settings()
    planned: list[Request] = []
    sent: list[tuple[str, float]] = []
    ended: list[float] = []

    real_plan = job.plan

    def plan(*args: Any, **kwargs: Any) -> list[Request]:
        found = real_plan(*args, **kwargs)
        planned.extend(found)
        return found

    real_query = OpenRouterClient.analytics_query

    def query(self: OpenRouterClient, body: Mapping[str, Any]) -> Any:
        # The grouping, from the query: a per-key one is filtered by the key (ingest.analytics.loader.query_body).
        grouping = ("api_key_hash," if body.get("filters") else "") + ",".join(body["dimensions"])
        sent.append((grouping, time.perf_counter()))  # the pacer has let it go
        return real_query(self, body)

    real_traffic = ingest_state.models_with_traffic

    def traffic(con: duckdb.DuckDBPyConnection, since: date) -> Any:
        ended.append(time.perf_counter())  # the analytics loop is done: endpoint health comes next
        return real_traffic(con, since)

    job.plan = plan  # type: ignore[assignment]
    OpenRouterClient.analytics_query = query  # type: ignore[method-assign]
    ingest_state.models_with_traffic = traffic  # type: ignore[assignment]

    def clock() -> float:
        return time.monotonic() * scale

    def sleep(seconds: float) -> None:
        time.sleep(seconds / scale)

    pacer = Pacer(settings.orusage_analytics_rate, clock=clock, sleep=sleep)
    started = time.perf_counter()
    with Writer(settings.orusage_db) as writer, client_for(settings) as client:
        result = job.run_ingest(writer, client, clock=lambda: ANCHOR, pacer=pacer, analytics=True, generations=None)
    whole = time.perf_counter() - started
    first_sent = min((t for _, t in sent), default=started)
    out.write_text(
        json.dumps(
            {
                "planned": dict(Counter(r.grouping.name for r in planned)),
                "sent": dict(Counter(g for g, _ in sent)),
                "queries": result.analytics_queries,
                # From the first query let go to the last piece stored.
                "backfill_seconds": (ended[0] if ended else time.perf_counter()) - first_sent,
                "ingest_seconds": whole,
                "pacer_rate_per_minute": settings.orusage_analytics_rate,
                "paced_seconds": pacer.waited_s / scale,
                "keys": result.keys,
                "models": result.models,
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
