"""Jobs that combine the layers: settings → client → writer → ingest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ingest.client import OpenRouterClient
from ingest.job import IngestResult, run_ingest
from ingest.progress import QuietReporter, reporter_for_terminal
from orusage.settings import Settings
from queries.store import Writer, utcnow


def client_for(settings: Settings) -> OpenRouterClient:
    return OpenRouterClient(
        settings.openrouter_base_url,
        settings.management_key(),
        timeout=settings.orusage_http_timeout,
        retries=settings.orusage_http_retries,
    )


def summarize(result: IngestResult, settings: Settings) -> str:
    days = f"{result.days[0]}..{result.days[-1]}" if result.days else "no completed days"
    return (
        f"ingest ok: activity {days}, {result.keys} keys, {result.models} models "
        f"({result.units} units, {result.rows} rows) into {settings.orusage_db}"
    )


def ingest_once(
    settings: Settings,
    *,
    quiet: bool = False,
    clock: Callable[[], datetime] = utcnow,
    client: OpenRouterClient | None = None,
) -> str:
    """One full ingest; returns the summary line. Raises OrusageError with the exit code to use."""
    key_client = client or client_for(settings)
    reporter = QuietReporter() if quiet else reporter_for_terminal()
    try:
        with Writer(settings.orusage_db) as writer:
            result = run_ingest(writer, key_client, clock=clock, reporter=reporter)
    finally:
        if client is None:
            key_client.close()
    return summarize(result, settings)
