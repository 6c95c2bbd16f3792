"""`orusage ingest`: OpenRouter → DuckDB, unit by unit.

Each unit (the workspaces, the keys, the credits, the models, one day of account-wide activity, one key's
activity) is written in its own transaction and replaces what was stored for it, so the job can be
killed anywhere and simply run again: nothing doubles and nothing is half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ingest import transform
from ingest.client import OpenRouterClient
from ingest.errors import MANAGEMENT_KEYS_URL, AuthError
from ingest.progress import QuietReporter, Reporter
from queries import writes
from queries.errors import OrusageError
from queries.store import Writer, utcnow

log = logging.getLogger("orusage.ingest")


@dataclass
class IngestResult:
    run_id: int
    units: int = 0
    rows: int = 0
    days: list[str] = field(default_factory=list)
    keys: int = 0
    models: int = 0
    new_model_states: int = 0


def check_management_key(client: OpenRouterClient) -> None:
    info = client.key_info()
    if not (info.is_management_key or info.is_provisioning_key):
        raise AuthError(
            f"{client.key_setting} holds a regular API key; usage data needs a management key.",
            f"Create one at {MANAGEMENT_KEYS_URL} and set {client.key_setting} to it.",
            403,
        )


def run_ingest(
    writer: Writer,
    client: OpenRouterClient,
    *,
    clock: Callable[[], datetime] = utcnow,
    reporter: Reporter | None = None,
    command: str = "ingest",
) -> IngestResult:
    """Pull everything issue-by-issue into the store. Raises OrusageError on the first failed unit;
    completed units stay stored and the run is recorded as failed."""
    report = reporter or QuietReporter()
    with writer.transaction() as con:
        result = IngestResult(run_id=writes.start_run(con, command, clock()))
    try:
        _ingest(writer, client, clock, report, result)
    except OrusageError as exc:
        with writer.transaction() as con:
            writes.finish_run(con, result.run_id, "failed", clock(), result.units, result.rows, str(exc))
        raise
    except BaseException as exc:
        with writer.transaction() as con:
            message = f"interrupted: {type(exc).__name__}"
            writes.finish_run(con, result.run_id, "failed", clock(), result.units, result.rows, message)
        raise
    finally:
        report.end()
    with writer.transaction() as con:
        writes.finish_run(con, result.run_id, "ok", clock(), result.units, result.rows)
    return result


def _ingest(
    writer: Writer,
    client: OpenRouterClient,
    clock: Callable[[], datetime],
    report: Reporter,
    result: IngestResult,
) -> None:
    check_management_key(client)

    workspaces = client.workspaces()
    keys = client.all_keys([w.id for w in workspaces])
    report.begin(4 + len(keys), "ingest")

    with writer.transaction() as con:
        result.rows += writes.upsert_workspaces(con, [transform.workspace_row(w) for w in workspaces], clock())
        result.rows += writes.upsert_api_keys(con, [transform.api_key_row(k) for k in keys], clock(), True)
    result.units += 1
    result.keys = len(keys)
    report.step(f"{len(keys)} keys, {len(workspaces)} workspaces")

    credits = client.credits()
    with writer.transaction() as con:
        writes.insert_credits(con, clock(), credits.total_credits, credits.total_usage)
    result.units += 1
    report.step("credits")

    models = {m.canonical_slug or m.id: transform.model_row(m) for m in client.models()}
    with writer.transaction() as con:
        result.new_model_states = writes.upsert_models(con, list(models.values()), clock())
    result.units += 1
    result.models = len(models)
    report.step(f"{len(models)} models")

    by_day = transform.activity_rows_by_day(client.activity())
    for day, rows in sorted(by_day.items()):
        with writer.transaction() as con:
            result.rows += writes.replace_activity_day(con, day, rows, clock())
        result.units += 1
    result.days = [d.isoformat() for d in sorted(by_day)]
    report.step(f"activity, {len(by_day)} days")

    for key in keys:
        key_days = transform.activity_rows_by_day(client.activity(api_key_hash=key.hash))
        key_rows = [row for day_rows in key_days.values() for row in day_rows]
        with writer.transaction() as con:
            result.rows += writes.replace_activity_for_key(con, key.hash, sorted(key_days), key_rows, clock())
        result.units += 1
        report.step(f"key {key.name[:24]}")
