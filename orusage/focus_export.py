"""`orusage export --format focus`: the account's spend as a FOCUS 1.0 file (CSV, gzipped CSV or zstd Parquet)
for finance, over any stored range (default: the last complete month), or with ``--since-last`` only the
final days not yet sent to that folder in that format: the scheduled feed.

A file is written under a temporary name in the folder and renamed into place, so a reader never sees half
a file. An empty period gives a header-only file, never none. ``--since-last`` runs are recorded in the store
(``focus_exports``: day, file, its sha256, a fingerprint of the day's stored rows) through the writer, and
an export into a folder that has such records updates the days it sends again; ``orusage status`` reports
sent days OpenRouter has revised since. Two exports into one folder never run at once (a lock file there).

The rows are ``queries.focus``'s; this module chooses the days, writes the file and keeps the record.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core import fmt
from core.errors import ConfigError, StoreError, StoreLockedError
from queries import allocation, focus, focus_records
from queries.budgets import known_from
from queries.reads_facts import source_spans
from queries.reads_routing import Gap
from queries.store import Writer, read_snapshot

if TYPE_CHECKING:  # a connection handed through: orusage never talks to DuckDB itself
    import duckdb

FILE_TYPES = ("csv", "parquet")
PREFIX = f"openrouter-focus-{focus.FOCUS_VERSION}"
LOCK_NAME = ".orusage-focus.lock"
WRITER_WAIT_SECONDS = 300.0  # how long a run waits for a running ingest to release the writer lock


@dataclass(frozen=True)
class Request:
    out: Path
    file_type: str  # csv | parquet
    compress: bool = False  # csv → .csv.gz (gzip); Parquet is always zstd
    first: date | None = None
    last: date | None = None
    since_last: bool = False

    @property
    def suffix(self) -> str:
        """The file's extension, which is also the format its records are kept under."""
        return "csv.gz" if self.file_type == "csv" and self.compress else self.file_type


@dataclass
class Result:
    path: Path | None  # None: nothing new to send
    first: date | None
    last: date | None
    days: list[date] = field(default_factory=list)  # the days the file holds (or would: idle days too)
    rows: int = 0
    billed: float = 0.0
    byok: float = 0.0
    account_spend: float = 0.0  # the routed spend of the same days, as the dashboard shows it
    gaps: list[Gap] = field(default_factory=list)
    not_final: list[date] = field(default_factory=list)
    recorded: int = 0  # days written to the record

    def lines(self) -> list[str]:
        if self.path is None:
            return ["nothing new: every final day was already sent to this folder in this format"]
        period = fmt.day_range(self.first, self.last) if self.first and self.last else ""
        head = (
            f"wrote {self.path.name}: header only, no spend stored for {period}"
            if not self.rows
            else f"wrote {self.path.name}: {self.rows:,} rows, {len(self.days)} day(s) {period}, "
            f"{fmt.usd(self.billed)} billed + {fmt.usd(self.byok)} BYOK upstream = "
            f"{fmt.usd(self.billed + self.byok)} (the account's spend: {fmt.usd(self.account_spend)})"
        )
        lines = [head + f" into {self.path.parent}"]
        for gap in self.gaps:
            lines.append(
                f"note: {fmt.day_range(gap.first, gap.last)} has no stored data"
                + (" (older than OpenRouter keeps)" if gap.beyond_reach else " (not ingested)")
                + ": the file has no rows for it"
            )
        if self.not_final:
            days = ", ".join(d.isoformat() for d in self.not_final[:5]) + (" …" if len(self.not_final) > 5 else "")
            lines.append(
                f"note: {days} not final yet (fetched less than {focus.SETTLE_HOURS} h after the day ended): "
                "OpenRouter may still revise it"
            )
        if self.recorded:
            lines.append(f"recorded {self.recorded} day(s) as sent (see `orusage status`)")
        return lines


def last_complete_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def _file_name(request: Request, first: date, last: date) -> str:
    return f"{PREFIX}_{first.isoformat()}_{last.isoformat()}.{request.suffix}"


@contextlib.contextmanager
def _folder_lock(out: Path) -> Iterator[None]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 -- held for the whole run
    except OSError as exc:
        raise StoreError(f"cannot write into {out}: {exc.strerror}.", "Pick a writable folder for --out.") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreLockedError(
                f"another `orusage export` is writing into {out}.", "Wait for it to finish; exports never interleave."
            ) from None
        yield
    finally:
        handle.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _writer(db: Path, wait: float, sleep: Callable[[float], None] = time.sleep) -> Writer:
    """The writer, once a running ingest has released it (within ``wait`` seconds)."""
    deadline = time.monotonic() + wait
    delay = 0.5
    while True:
        writer = Writer(db)
        try:
            writer.__enter__()
            return writer
        except StoreLockedError:
            if time.monotonic() >= deadline:
                raise
            sleep(delay)
            delay = min(delay * 2, 10.0)


def _resolve(request: Request, today: date, known: date | None) -> tuple[date, date]:
    yesterday = today - timedelta(days=1)
    if request.since_last:
        return request.first or known or yesterday, min(request.last or yesterday, yesterday)
    if request.first is None and request.last is None:
        return last_complete_month(today)
    first = request.first or known or (request.last or yesterday)
    return first, min(request.last or yesterday, yesterday)


@dataclass(frozen=True)
class _Plan:
    first: date
    last: date
    days: list[date] | None  # --since-last: the days to send; None: every day of first..last
    final: set[date]
    sent: set[date]  # days already recorded for this folder and format

    @property
    def chosen(self) -> list[date]:
        if self.days is not None:
            return self.days
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _plan(con: duckdb.DuckDBPyConnection, request: Request, today: date, folder: str) -> _Plan | None:
    """The days to write, or None for a --since-last run with nothing new."""
    first, last = _resolve(request, today, known_from(con))
    if first > last:
        if request.since_last:
            return None
        raise ConfigError(
            f"no completed day in {first}..{last}: today ({today}) is not over yet.",
            "Ask for days up to yesterday (UTC).",
        )
    final = set(focus.final_days(con, first, last))
    sent = {d.day for d in focus_records.sent_days(con, folder, request.suffix)}
    if not request.since_last:
        return _Plan(first, last, None, final, sent)
    days = sorted(final - sent)
    return _Plan(days[0], days[-1], days, final, sent) if days else None


def run(
    db: Path,
    request: Request,
    today: date,
    now: datetime,
    account_id: str | None = None,
    account_name: str | None = None,
    writer_wait: float = WRITER_WAIT_SECONDS,
) -> Result:
    """Write one FOCUS file into ``request.out`` (or nothing, for ``--since-last`` with nothing new)."""
    if request.file_type not in FILE_TYPES:
        raise ConfigError(f"--as {request.file_type!r} is not one of {', '.join(FILE_TYPES)}.")
    if request.first and request.last and request.first > request.last:
        raise ConfigError(f"--from {request.first} is after --to {request.last}.", "Swap them.")
    out = request.out.expanduser().absolute()
    folder = str(out)
    with _folder_lock(out):
        with read_snapshot(db) as con:
            plan = _plan(con, request, today, folder)
            if plan is None:
                return Result(None, None, None)
            first, last, chosen = plan.first, plan.last, plan.chosen
            r = allocation.routes(source_spans(con), first, last, today)
            account = focus.account(con, account_id, account_name)
            name = _file_name(request, first, last)
            tmp = out / f".{name}.{os.getpid()}.tmp"
            focus.write(con, r, account, first, last, plan.days, request.file_type, request.compress, tmp)
            try:
                totals = focus.day_totals(con, r, account, first, last, plan.days)
                spend = allocation.account_daily_spend(con, first, last, today)
                # Recorded: every day a --since-last run sends; a plain export refreshes days already recorded.
                to_record = [d for d in chosen if d in plan.final and (request.since_last or d in plan.sent)]
                fingerprints = focus.day_fingerprints(con, r) if to_record else {}
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        result = Result(
            path=out / name,
            first=first,
            last=last,
            days=chosen,
            rows=sum(t.rows for t in totals.values()),
            billed=sum(t.billed for t in totals.values()),
            byok=sum(t.byok for t in totals.values()),
            account_spend=sum(v for d, v in spend.items() if d in set(chosen)),
            gaps=list(r.account.gaps),
            not_final=[] if request.since_last else [d for d in chosen if d not in plan.final],
        )
        if not to_record:
            os.replace(tmp, out / name)
            return result
        digest = _sha256(tmp)
        empty = focus.DayTotal(0, 0.0, 0.0)
        records = []
        for d in to_record:
            day = totals.get(d, empty)
            fingerprint = fingerprints.get(d, "")
            records.append(
                focus_records.SentDay(
                    folder, request.suffix, d, name, digest, fingerprint, day.rows, day.billed, day.byok, now
                )
            )
        try:
            writer = _writer(db, writer_wait)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        try:
            with writer.transaction() as wcon:
                focus_records.record(wcon, records)
            # Recorded, then renamed: a crash in between leaves the days recorded with their file's sha256 and
            # the file under its temporary name, which docs/focus.md tells the user to rename.
            os.replace(tmp, out / name)
        finally:
            writer.__exit__(None, None, None)
        result.recorded = len(records)
        return result
