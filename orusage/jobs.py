"""Jobs that combine the layers: settings → client → writer → ingest."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime

from core.clock import utcnow
from core.errors import EXIT_AUTH, EXIT_USAGE, ConfigError, OrusageError
from core.settings import DEFAULT_ACCOUNT, Settings
from ingest.client import OpenRouterClient
from ingest.generations.job import GenerationOptions
from ingest.job import IngestResult, run_ingest
from ingest.pacing import Pacer
from ingest.progress import QuietReporter, reporter_for_terminal
from queries import accounts
from queries.store import Writer


def client_for(settings: Settings, account: str | None = None) -> OpenRouterClient:
    """A client with the management key of ``account`` (None: the first, or only, account)."""
    pairs = settings.accounts()
    name, key = next(((n, k) for n, k in pairs if n == account), pairs[0]) if account else pairs[0]
    several = settings.several_accounts
    return OpenRouterClient(
        settings.openrouter_base_url,
        key,
        key_setting=f"OPENROUTER_MANAGEMENT_KEYS ({name})" if several else "OPENROUTER_MANAGEMENT_KEY",
        timeout=settings.orusage_http_timeout,
        deadline=settings.orusage_http_deadline,
        retries=settings.orusage_http_retries,
    )


def generation_options(settings: Settings) -> GenerationOptions | None:
    """The per-generation step's settings; None when ORUSAGE_GENERATIONS_DAYS is 0 (the step is off)."""
    if settings.orusage_generations_days == 0:
        return None
    return GenerationOptions(
        days=settings.orusage_generations_days,
        cap=settings.orusage_generations_cap,
        concurrency=settings.orusage_generations_concurrency,
        rate=settings.orusage_generations_rate,
    )


def _generations_summary(result: IngestResult) -> str:
    gen = result.generations
    if gen is None:
        return ""
    later = f", {gen.left_for_next_run} left for the next run" if gen.left_for_next_run else ""
    differ = f"; sources differ on {result.differences} day×model×metric (orusage status)" if result.differences else ""
    return f", {gen.fetched} new generations{later}{differ}"


def summarize(result: IngestResult, settings: Settings) -> str:
    days = f"{result.days[0]}..{result.days[-1]}" if result.days else "no completed days"
    history = (
        f"analytics {min(result.analytics_days)}..{max(result.analytics_days)} ({result.analytics_queries} queries)"
        if result.analytics_days
        else "analytics up to date"
    )
    warned = f"; {len(result.warnings)} warning(s), see -v" if result.warnings else ""
    merged = result.broadcast
    received = f", {merged.new + merged.filled} generations from Broadcast" if merged and merged.changed else ""
    return (
        f"ingest ok: activity {days}, {history}, {result.keys} keys, {result.models} models"
        f"{_generations_summary(result)}{received} ({result.units} units, {result.rows} rows) "
        f"into {settings.orusage_db}{warned}"
    )


def ingest_once(
    settings: Settings,
    *,
    quiet: bool = False,
    clock: Callable[[], datetime] = utcnow,
    client: OpenRouterClient | None = None,
    after: Callable[[Writer], Callable[[], str]] | None = None,
) -> str:
    """One full ingest of every account; returns the summary (a line per account when there are several).
    Raises OrusageError with the exit code to use: after trying every account, the worst of their failures.

    ``client`` (tests) replaces the first account's. ``after`` (e.g. the alerts check of `ingest --alerts`)
    runs in the same writer session once every account is done, and also after a failed one, so that a
    stale-data alert can still go out. What it returns runs once the writer lock is released (the alerts'
    sending), and its summary is appended to the ingest's."""
    names = [name for name, _ in settings.accounts()] if client is None else [DEFAULT_ACCOUNT]
    several = len(names) > 1 or names[0] != DEFAULT_ACCOUNT
    reporter = QuietReporter() if quiet else reporter_for_terminal()
    failures: list[tuple[str, OrusageError]] = []
    lines: list[str] = []
    followup: Callable[[], str] | None = None
    with Writer(settings.orusage_db) as writer:
        for name in names:
            accounts.use(writer.con, name)
            accounts.record(writer.con, name, clock())  # its run is recorded as its own, even a failed one
            key_client = client or client_for(settings, name)
            try:
                result = run_ingest(
                    writer,
                    key_client,
                    clock=clock,
                    reporter=reporter,
                    pacer=Pacer(settings.orusage_analytics_rate),  # OpenRouter limits each key on its own
                    history_days=settings.orusage_history_days,
                    generations=generation_options(settings),
                    pairs=settings.orusage_analytics_pairs,
                )
            except OrusageError as exc:
                failures.append((name, exc))
            else:
                lines.append(f"{name}: {summarize(result, settings)}" if several else summarize(result, settings))
            finally:
                if client is None:
                    key_client.close()
        if after is not None:
            if failures:
                with contextlib.suppress(OrusageError):
                    followup = after(writer)
            else:
                followup = after(writer)
    if failures:
        if followup is not None:
            with contextlib.suppress(OrusageError):
                followup()
        raise _worst(failures, several)
    extra = f"; {followup()}" if followup is not None else ""
    return "\n".join(lines) + extra


def _worst(failures: list[tuple[str, OrusageError]], several: bool) -> OrusageError:
    """One error for the failed accounts: the highest exit code among them, each account's reason."""
    worst = max(failures, key=lambda f: f[1].exit_code)[1]
    if not several:
        return worst
    reasons = "; ".join(f"account {name}: {exc.message}" for name, exc in failures)
    error = OrusageError(reasons, worst.hint)
    error.exit_code = worst.exit_code  # the instance's code: the worst of the accounts'
    return error


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
    after: Callable[[Writer], Callable[[], str]] | None = None,
) -> None:
    """Ingest every ``interval_s`` (then run ``after``, see ``ingest_once``) until interrupted. Transient
    failures (OpenRouter unavailable, the database busy) are reported and retried at the next tick; a
    wrong key or setting stops the loop, since waiting will not fix it."""
    done = 0
    while runs is None or done < runs:
        started = time.monotonic()
        try:
            summary = ingest_once(settings, quiet=True, after=after)
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
