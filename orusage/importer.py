"""`orusage import FILE...`: website activity exports into the store, through the one writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from core.clock import utcnow
from core.settings import Settings
from ingest.website_csv.load import ImportResult, import_files
from queries.store import Writer


def summarize(result: ImportResult, settings: Settings) -> str:
    days = [d for f in result.files for d in (f.first_day, f.last_day) if d is not None]
    span = f"{min(days)}..{max(days)}" if days else "no rows"
    layouts = ", ".join(sorted({f.layout.name for f in result.files}))
    agree = (
        "sources agree"
        if not result.differences
        else f"{result.differences} difference(s) between sources: see `orusage status`"
    )
    return (
        f"import ok: {len(result.files)} file(s) ({layouts} layout), {result.rows} generations {span} "
        f"({result.new} new, {result.with_api} merged with API records, {result.keys_linked} linked to a key); "
        f"{agree}; into {settings.orusage_db}"
    )


def import_once(settings: Settings, paths: Sequence[Path], *, clock: Callable[[], datetime] = utcnow) -> str:
    """Import the files (all or none); returns the summary line. Raises OrusageError (exit 2 for a bad file)."""
    with Writer(settings.orusage_db) as writer:
        result = import_files(writer, paths, clock=clock)
    return summarize(result, settings)
