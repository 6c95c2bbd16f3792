"""What a run lists and fetches, and which days it completed: pure, so the rules are tested without a server.

The window is the last ``days`` completed UTC days plus today so far. Ids already stored with a /generation
answer are never fetched again; the rest are fetched oldest first, at most ``cap`` per run (the oldest are
the first to leave the window, and the 31-day reach of the listing). A day counts as covered once every id
listed for it is stored: only then may generation totals be compared with the other sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

# The analytics `generation_id` dimension reaches 31 days: 30 completed days and today, as the analytics
# backfill asks for its 31-day metrics (ingest.analytics.plan.metric_sets).
MAX_DAYS = 30


@dataclass(frozen=True)
class Listed:
    """One generation id as analytics lists it."""

    id: str
    hour: datetime  # the hour bucket it was created in (UTC)
    key_label: str | None = None  # api_key_id as analytics shows it: the key's name (a label, not the hash)
    app_label: str | None = None  # app title or origin; None when unattributed
    key_hash: str | None = None  # set when the key is known exactly (see resolve_keys)


def window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """[start, end) of the listing: 00:00 UTC ``days`` days ago up to ``now`` (naive UTC)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}")
    return datetime.combine(now.date() - timedelta(days=days), time()), now


def complete_days(start: datetime, end: datetime) -> list[date]:
    """Days lying wholly inside [start, end)."""
    first = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    out: list[date] = []
    day = first
    while datetime.combine(day + timedelta(days=1), time()) <= end:
        out.append(day)
        day += timedelta(days=1)
    return out


def to_fetch(listed: Iterable[Listed], stored: set[str], cap: int) -> tuple[list[Listed], int]:
    """(what to fetch now, oldest first, at most ``cap``; how many new ids are left for the next run)."""
    new = sorted((g for g in listed if g.id not in stored), key=lambda g: (g.hour, g.id))
    return new[:cap], max(len(new) - cap, 0)


def covered_runs(
    listed: Iterable[Listed], stored: set[str], days: Sequence[date], incomplete: Iterable[date] = ()
) -> list[tuple[date, date]]:
    """Runs of consecutive ``days`` whose every listed id is stored (a day without traffic counts), except
    days whose listing itself was incomplete."""
    missing = {g.hour.date() for g in listed if g.id not in stored} | set(incomplete)
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days) - missing):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def ambiguous_labels(listed: Iterable[Listed], hashes_by_name: Mapping[str, Sequence[str]]) -> set[str]:
    """Key labels in the listing that more than one key carries: only a per-key query tells them apart."""
    return {g.key_label for g in listed if g.key_label and len(hashes_by_name.get(g.key_label, ())) > 1}


def resolve_key(label: str | None, hashes_by_name: Mapping[str, Sequence[str]]) -> str | None:
    """The hash of the one key carrying ``label``; None when no key or several keys carry it."""
    if not label:
        return None
    hashes = hashes_by_name.get(label, ())
    return hashes[0] if len(hashes) == 1 else None
