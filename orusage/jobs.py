"""Jobs that combine the layers: settings → client → writer → ingest."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from ingest.client import OpenRouterClient
from ingest.job import IngestResult, run_ingest
from ingest.pacing import Pacer
from ingest.progress import QuietReporter, reporter_for_terminal
from orusage.settings import Settings
from queries.errors import EXIT_AUTH, EXIT_USAGE, ConfigError, OrusageError
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
    history = (
        f"analytics {min(result.analytics_days)}..{max(result.analytics_days)} ({result.analytics_queries} queries)"
        if result.analytics_days
        else "analytics up to date"
    )
    warned = f"; {len(result.warnings)} warning(s), see -v" if result.warnings else ""
    return (
        f"ingest ok: activity {days}, {history}, {result.keys} keys, {result.models} models "
        f"({result.units} units, {result.rows} rows) into {settings.orusage_db}{warned}"
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
    pacer = Pacer(settings.orusage_analytics_rate)
    try:
        with Writer(settings.orusage_db) as writer:
            result = run_ingest(
                writer,
                key_client,
                clock=clock,
                reporter=reporter,
                pacer=pacer,
                history_days=settings.orusage_history_days,
            )
    finally:
        if client is None:
            key_client.close()
    return summarize(result, settings)


def parse_interval(text: str) -> float:
    """'1h', '30m', '90s', '2h30m' → seconds."""
    import re

    match = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*", text)
    if not text.strip() or not match or not any(match.groups()):
        raise ConfigError(f"--watch {text!r} is not an interval.", "Use e.g. 1h, 30m, 90s or 2h30m.")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 60:
        raise ConfigError(f"--watch {text!r} is too short.", "Ingest at most once a minute.")
    return float(total)


def watch(
    settings: Settings,
    interval_s: float,
    *,
    quiet: bool,
    echo: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    runs: int | None = None,
) -> None:
    """Ingest every ``interval_s`` until interrupted. Transient failures (OpenRouter unavailable, the
    database busy) are reported and retried at the next tick; a wrong key or setting stops the loop,
    since waiting will not fix it."""
    done = 0
    while runs is None or done < runs:
        started = time.monotonic()
        try:
            summary = ingest_once(settings, quiet=True)
            if not quiet:
                echo(f"{utcnow():%Y-%m-%d %H:%M} UTC {summary}")
        except OrusageError as exc:
            if exc.exit_code in (EXIT_USAGE, EXIT_AUTH):
                raise
            echo(f"{utcnow():%Y-%m-%d %H:%M} UTC ingest failed, retrying at the next tick: {exc}")
        done += 1
        if runs is not None and done >= runs:
            return
        sleep(max(0.0, interval_s - (time.monotonic() - started)))
