"""The per-generation step of `orusage ingest`: list → fetch what is new → store in batches → coverage.

Each batch of answers is one transaction (Arrow → one INSERT), so a killed run loses at most the batch in
flight, and the next run fetches only what is still missing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ingest.client import OpenRouterClient
from ingest.generations import plan
from ingest.generations.fetch import Fetcher, rate_pacer
from ingest.generations.listing import Lister, Listing
from ingest.generations.plan import Listed
from ingest.generations.transform import generation_row
from ingest.pacing import Pacer
from ingest.progress import Reporter
from ingest.values import InvalidValue, refused
from queries import generations as store
from queries import writes
from queries.store import Writer

log = logging.getLogger("orusage.ingest")


@dataclass(frozen=True)
class GenerationOptions:
    days: int = 2  # the last N completed UTC days plus today
    cap: int = 20_000  # at most this many /generation calls' worth of new ids per run
    concurrency: int = 8
    rate: float = 20.0  # /generation requests per second
    batch_size: int = 250  # answers per transaction
    page_limit: int = 10_000  # rows per analytics query (the API's ceiling)
    fresh_retries: int = 4
    fresh_backoff: float = 1.0  # seconds before the first retry of a 404; doubled each time


@dataclass
class GenerationsResult:
    listed: int = 0
    new: int = 0
    fetched: int = 0
    not_visible_yet: int = 0  # still 404 after the retries: fetched by a later run
    left_for_next_run: int = 0  # over the cap
    queries: int = 0
    requests: int = 0
    batches: int = 0
    covered: list[tuple[date, date]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _key_hashes(
    lister: Lister, listing: Listing, hashes_by_name: dict[str, list[str]], start: datetime, end: datetime
) -> dict[str, str]:
    """id → key hash: from the label where one key carries it, else from one query per key sharing it."""
    found = {g.id: h for g in listing.ids.values() if (h := plan.resolve_key(g.key_label, hashes_by_name))}
    for label in sorted(plan.ambiguous_labels(listing.ids.values(), hashes_by_name)):
        for key_hash in hashes_by_name[label]:
            for gen_id in lister.ids_of_key(key_hash, start, end, listing):
                found[gen_id] = key_hash
    return found


def run_generations(
    writer: Writer,
    client: OpenRouterClient,
    options: GenerationOptions,
    *,
    clock: Callable[[], datetime],
    reporter: Reporter,
    analytics_pacer: Pacer,
    fetch_pacer: Pacer | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> GenerationsResult:
    result = GenerationsResult()
    start, end = plan.window(clock(), options.days)
    lister = Lister(client, analytics_pacer, options.page_limit)
    listing = lister.list(start, end)
    hashes = _key_hashes(lister, listing, store.key_hashes_by_name(writer.con), start, end)
    result.queries = listing.queries
    result.warnings.extend(listing.warnings)
    result.listed = len(listing.ids)

    # Stored answers holding values that cannot be (from before these were checked) are asked for again.
    stored = store.stored_api_ids(writer.con, list(listing.ids), clock().date())
    todo, result.left_for_next_run = plan.to_fetch(listing.ids.values(), stored, options.cap)
    result.new = len(todo) + result.left_for_next_run
    permaslugs = store.model_permaslugs(writer.con)
    reporter.begin(max(1, -(-len(todo) // options.batch_size)), "generations")

    fetcher = Fetcher(
        client,
        fetch_pacer or rate_pacer(options.rate),
        concurrency=options.concurrency,
        sleep=sleep,
        fresh_retries=options.fresh_retries,
        fresh_backoff=options.fresh_backoff,
    )
    batch: list[dict[str, Any]] = []
    labels: list[tuple[int, str, datetime]] = []

    def flush() -> None:
        if not batch:
            return
        with writer.transaction() as con:
            store.merge_api_rows(con, batch, clock())
            store.upsert_app_labels(con, labels, "analytics")
        stored.update(row["id"] for row in batch)
        result.fetched += len(batch)
        result.batches += 1
        reporter.step(f"generations {result.fetched}/{len(todo)}")
        batch.clear()
        labels.clear()

    try:
        for gen_id, answer in fetcher.fetch([g.id for g in todo]):
            if answer is None:
                result.not_visible_yet += 1
                continue
            try:
                row = generation_row(answer, hashes.get(gen_id), permaslugs, clock().date())
            except InvalidValue as exc:
                raise refused(f"GET /generation?id={gen_id[:60]}", exc) from None
            batch.append(row)
            listed: Listed = listing.ids[gen_id]
            if row["app_id"] is not None and listed.app_label:
                labels.append((row["app_id"], listed.app_label, row["created_at"]))
            if len(batch) >= options.batch_size:
                flush()
        flush()
    finally:
        result.requests = fetcher.requests
    if result.not_visible_yet:
        result.warnings.append(
            f"{result.not_visible_yet} generation(s) not visible yet (404): the next run fetches them"
        )

    days = [d for d in plan.complete_days(start, end) if d < clock().date()]
    result.covered = plan.covered_runs(listing.ids.values(), stored, days, listing.incomplete_days)
    with writer.transaction() as con:
        for first, last in result.covered:
            listed_there = sum(1 for g in listing.ids.values() if first <= g.hour.date() <= last)
            writes.record_coverage(
                con,
                source="generations",
                dimensions="",
                scope="api",
                metrics="",
                first_day=first,
                last_day=last,
                fetched_at=clock(),
                rows_received=listed_there,
            )
        store.link_identities(con)
    return result
