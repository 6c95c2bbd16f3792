"""`orusage import FILE...`: website activity exports into the store, through the one writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from core.clock import utcnow
from core.settings import DEFAULT_ACCOUNT, Settings
from ingest.website_csv.load import ImportResult, import_files
from queries import accounts
from queries.store import Writer


def _skipped(result: ImportResult) -> str:
    if not result.skipped:
        return ""
    if len(result.skipped) == 1:
        s = result.skipped[0]
        what = f"{s.path.name} was imported on {s.before.imported_at:%Y-%m-%d %H:%M} UTC ({s.before.rows} rows)"
    else:
        what = f"{len(result.skipped)} files were imported before"
    return f"{what}: skipped, as the same size, first and last MiB and line count; --force reads it again"


def summarize(result: ImportResult, settings: Settings) -> str:
    if not result.files:
        return f"import: nothing new; {_skipped(result)}"
    days = [d for f in result.files for d in (f.first_day, f.last_day) if d is not None]
    span = f"{min(days)}..{max(days)}" if days else "no rows"
    layouts = ", ".join(sorted({f.layout.name for f in result.files}))
    agree = (
        "sources agree"
        if not result.differences
        else f"{result.differences} difference(s) between sources: see `orusage status`"
    )
    skipped = f"; {_skipped(result)}" if result.skipped else ""
    return (
        f"import ok: {len(result.files)} file(s) ({layouts} layout), {result.rows} generations {span} "
        f"({result.new} new, {result.with_api} merged with API records, {result.keys_linked} linked to a key); "
        f"{agree}; into {settings.orusage_db}{skipped}"
    )


def import_once(
    settings: Settings,
    paths: Sequence[Path],
    *,
    clock: Callable[[], datetime] = utcnow,
    force: bool = False,
    account: str = DEFAULT_ACCOUNT,
) -> str:
    """Import the files (all or none) as ``account``'s; returns the summary line. Raises OrusageError (exit 2
    for a bad file). Files imported before into that account (same fingerprint) are skipped unless ``force``."""
    with Writer(settings.orusage_db) as writer:
        accounts.use(writer.con, account)
        result = import_files(writer, paths, clock=clock, force=force)
        if result.files:  # all or nothing: a refused import leaves no account behind either
            accounts.record(writer.con, account, clock())
    return summarize(result, settings)
