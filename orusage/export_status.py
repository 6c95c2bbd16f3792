"""What ``orusage status`` says about scheduled FOCUS exports: each folder's feed (days sent, last run, files
gone from the folder) and the sent days OpenRouter has revised since, which are never re-sent by themselves.

A sent day is revised when the stored rows it was made of no longer match the fingerprint recorded when it
was sent (``queries.focus.day_fingerprints``): an ingest replaced them with OpenRouter's corrected numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core import fmt
from queries import allocation, focus, focus_records
from queries.reads_facts import source_spans

if TYPE_CHECKING:  # a connection handed through: orusage never talks to DuckDB itself
    import duckdb


@dataclass
class Feed:
    folder: str
    file_type: str
    days: int
    first: date
    last: date
    last_exported_at: datetime
    files: int
    missing_files: list[str] = field(default_factory=list)


@dataclass
class RevisedDay:
    date: date
    folder: str
    file_type: str
    file: str
    sent_usd: float
    now_usd: float

    def sentence(self) -> str:
        return (
            f"{self.date} in {self.file} ({self.folder}): sent {fmt.usd(self.sent_usd)}, now "
            f"{fmt.usd(self.now_usd)} ({fmt.signed_usd(self.now_usd - self.sent_usd)}); to send it again: "
            f"orusage export --format focus --from {self.date} --to {self.date} --out {self.folder}"
            + (" --as parquet" if self.file_type == "parquet" else " --compress" if self.file_type == "csv.gz" else "")
        )


@dataclass
class ExportsStatus:
    feeds: list[Feed] = field(default_factory=list)
    revised: list[RevisedDay] = field(default_factory=list)


def exports_status(con: duckdb.DuckDBPyConnection, today: date) -> ExportsStatus:
    sent = focus_records.sent_days(con)
    status = ExportsStatus()
    if not sent:
        return status
    for folder, file_type in sorted({(d.folder, d.file_type) for d in sent}):
        mine = [d for d in sent if d.folder == folder and d.file_type == file_type]
        files = sorted({d.file for d in mine})
        status.feeds.append(
            Feed(
                folder=folder,
                file_type=file_type,
                days=len(mine),
                first=min(d.day for d in mine),
                last=max(d.day for d in mine),
                last_exported_at=max(d.exported_at for d in mine),
                files=len(files),
                missing_files=[f for f in files if not (Path(folder) / f).exists()],
            )
        )
    first, last = min(d.day for d in sent), max(d.day for d in sent)
    r = allocation.routes(source_spans(con), first, last, today)
    now = focus.day_fingerprints(con, r)
    spend = allocation.account_daily_spend(con, first, last, today)
    for d in sent:
        if now.get(d.day, "") != d.fingerprint:
            status.revised.append(
                RevisedDay(d.day, d.folder, d.file_type, d.file, d.billed_usd + d.byok_usd, spend.get(d.day, 0.0))
            )
    return status


def lines(status: ExportsStatus) -> list[str]:
    if not status.feeds:
        return []
    out = ["", "FOCUS exports (--since-last feeds):"]
    for feed in status.feeds:
        out.append(
            f"  {feed.folder} ({feed.file_type}): {feed.days} day(s) {feed.first}..{feed.last} in {feed.files} "
            f"file(s), last sent {fmt.utc_time(feed.last_exported_at)}"
        )
        out.extend(f"    missing from the folder: {name}" for name in feed.missing_files[:10])
    if status.revised:
        out.append(f"  Revised by OpenRouter after they were sent ({len(status.revised)} day(s); not re-sent):")
        out.extend(f"    {day.sentence()}" for day in status.revised[:40])
        if len(status.revised) > 40:
            out.append(f"    … and {len(status.revised) - 40} more (see --json)")
    else:
        out.append("  No sent day has been revised since.")
    return out
