"""`orusage doctor`: check everything a scheduled ingest depends on, and say what to fix.

Run it before putting `orusage ingest` into cron: it catches a wrong key, an unreachable API, an
unwritable database and a dead schedule before they cost a day of history.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from core import fmt
from core.clock import utcnow
from core.errors import EXIT_OK, EXIT_STORE, OrusageError
from core.scrub import scrub
from core.settings import Settings
from ingest.analytics.catalog import GROUPINGS
from ingest.analytics.loader import query_body
from ingest.analytics.plan import Request
from ingest.client import OpenRouterClient
from ingest.job import check_management_key
from queries import status as q
from queries.migrations import available
from queries.store import MERGE, lock_path, read_snapshot, snapshot_path, verify_file

STALE_AFTER = timedelta(hours=26)  # an hourly or daily schedule has missed at least one run
LOSING_AFTER = timedelta(days=25)  # /activity forgets after 30 days: act before it does


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    exit_code: int = EXIT_OK
    warning: bool = False

    def line(self) -> str:
        mark = "ok  " if self.ok else ("warn" if self.warning else "FAIL")
        return scrub(f"[{mark}] {self.name}: {self.detail}")  # details may quote a peer


def _guard(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, fn())
    except OrusageError as exc:
        return Check(name, False, str(exc), exc.exit_code)


def check_api(settings: Settings, client_factory: Callable[[Settings, str | None], OpenRouterClient]) -> list[Check]:
    """The key, the API and analytics, for each account (named in each check when there are several)."""
    try:
        accounts = settings.accounts()
    except OrusageError as exc:
        return [Check("management key", False, str(exc), exc.exit_code)]
    several = settings.several_accounts
    checks: list[Check] = []
    for name, _ in accounts:
        checks += _check_account(settings, client_factory(settings, name), f" ({name})" if several else "")
    return checks


def _check_account(settings: Settings, client: OpenRouterClient, suffix: str) -> list[Check]:
    checks: list[Check] = []
    with client:

        def key_type() -> str:
            check_management_key(client)
            return "accepted, and it is a management key"

        key_check = _guard("management key" + suffix, key_type)
        checks.append(key_check)
        if not key_check.ok:
            return checks
        checks.append(
            _guard(
                "OpenRouter API" + suffix,
                lambda: f"{settings.openrouter_base_url} answers (credits: {fmt.usd(client.credits().total_credits)})",
            )
        )
        today = utcnow().date()
        probe = Request(GROUPINGS[0], "", "long", today - timedelta(days=1), today - timedelta(days=1))

        def analytics() -> str:
            rows = client.analytics_query({**query_body(probe, probe.first_day, probe.last_day), "limit": 1})
            return f"analytics answer ({len(rows.data)} row for yesterday)"

        checks.append(_guard("analytics" + suffix, analytics))
    return checks


def check_database(db: Path, now: datetime) -> list[Check]:
    checks: list[Check] = []
    folder = db.parent
    if folder.exists() and not os.access(folder, os.W_OK):
        checks.append(Check("database", False, f"cannot write to {folder}", EXIT_STORE))
    elif not db.exists():
        checks.append(Check("database", True, f"{db} will be created by the first ingest"))
        return checks
    else:
        checks.append(Check("database", True, f"{db} ({db.stat().st_size / 1e6:,.1f} MB)"))
    try:
        with open(lock_path(db), "a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                pid, _, role = fh.read().strip().partition(" ")  # "<pid> <role>" (queries.store.Writer)
                holder = "the Broadcast receiver's merge" if role == MERGE else "a running writer"
                checks.append(Check("writer lock", True, f"held by {holder} (pid {pid})"))
            else:
                try:  # while the lock is held here, no writer can start and find the file open
                    checks.append(Check("writer lock", True, "free (no ingest running now)"))
                    checks.extend(_file_checks(db))
                finally:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except OSError as exc:
        checks.append(Check("writer lock", False, f"cannot open {lock_path(db)}: {exc.strerror}", EXIT_STORE))
    if not snapshot_path(db).exists():
        checks.append(
            Check(
                "snapshot",
                False,
                "none yet: the dashboard has nothing to show; run `orusage ingest`",
                EXIT_OK,
                warning=True,
            )
        )
        return checks
    try:
        with read_snapshot(db) as con:
            facts = q.store_facts(con)
            last_ok = q.last_successful_run(con)
    except OrusageError as exc:
        checks.append(Check("snapshot", False, str(exc), exc.exit_code))
        return checks
    if not any(c.name == "schema" for c in checks):  # the file's own was not read: a writer holds it
        checks.append(_schema_check(facts.schema_version))
    checks.append(
        _guard("snapshot", lambda: f"every block reads back ({verify_file(snapshot_path(db)).tables} tables)")
    )
    if last_ok is None:
        checks.append(Check("schedule", False, "no successful ingest yet: run `orusage ingest`", warning=True))
    else:
        age = now - last_ok
        hours = age.total_seconds() / 3600
        if age < -timedelta(minutes=5):
            checks.append(
                Check(
                    "schedule",
                    False,
                    f"last successful ingest is {-hours:.0f} h in the future: is this machine's clock right?",
                    warning=True,
                )
            )
        elif age > LOSING_AFTER:
            checks.append(
                Check(
                    "schedule",
                    False,
                    f"last successful ingest {hours / 24:.0f} days ago: "
                    "OpenRouter forgets activity after 30 days; run `orusage ingest` now",
                    EXIT_OK,
                )
            )
        elif age > STALE_AFTER:
            checks.append(
                Check(
                    "schedule",
                    False,
                    f"last successful ingest {hours:.0f} h ago: is the cron job or systemd timer running?",
                    warning=True,
                )
            )
        else:
            checks.append(Check("schedule", True, f"last successful ingest {hours:.1f} h ago"))
    return checks


def _file_checks(db: Path) -> list[Check]:
    """The database file read whole (damage shows as a FAIL, exit 5), and its schema."""
    try:
        found = verify_file(db)
    except OrusageError as exc:
        return [Check("database file", False, str(exc), exc.exit_code)]
    return [
        Check("database file", True, f"every block reads back ({found.tables} tables)"),
        _schema_check(found.schema_version),
    ]


def _schema_check(version: int) -> Check:
    """The stored schema against this program's, both ways."""
    newest = max(m.version for m in available())
    if version > newest:
        return Check(
            "schema",
            False,
            f"the store's schema is {version}, newer than this openrouter-usage knows ({newest}): upgrade it "
            "(the ingest refuses to run on it)",
            EXIT_STORE,
        )
    if version < newest:
        return Check(
            "schema",
            False,
            f"the store's schema is {version}; this version's is {newest}: the next ingest migrates it",
            warning=True,
        )
    return Check("schema", True, f"{version}, this version's")


def run_doctor(
    settings: Settings, client_factory: Callable[[Settings, str | None], OpenRouterClient], now: datetime | None = None
) -> tuple[list[Check], int]:
    """All checks and the exit code: that of the first failure, or 0 when only warnings remain."""
    checks = check_database(settings.orusage_db, now or utcnow()) + check_api(settings, client_factory)
    failed = [c for c in checks if not c.ok and not c.warning]
    return checks, (failed[0].exit_code if failed else EXIT_OK)
