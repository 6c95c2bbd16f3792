"""What each stored source covers, day by day, and the days it is missing: the one definition behind the
Data health page and `orusage status`, so the two cannot disagree.

A *track* is one real source and grouping, named for people: "activity (account)", "activity per API
key", "analytics per model × app", "per-generation records", … (a grouping's 31-day metrics have a track
of their own). Its expected days and its gaps follow OpenRouter's reach:

* account-wide activity is the long-term memory: every day from its first stored day to yesterday;
* activity per API key: /activity's 30-day window, per key;
* analytics: the metric set's reach (365 or 31 days) up to yesterday, per key for per-key groupings, and
  every day since the grouping's first stored one: the store keeps what it fetched beyond OpenRouter's
  reach, so a day missed after it (no ingest ran while OpenRouter still served it) is a gap for good;
* per-generation records expect nothing (the ingest fetches the last few days, exports are optional):
  their track shows what is held, never a gap.

In a store of several accounts (``queries.accounts``) each account has tracks of its own, named with it
("activity (account) of work"): one account's missing days are never hidden by another's.

Pure functions of the coverage records (``queries.status.CoverageRow``) and today: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from queries.reads_routing import ACTIVITY_REACH, LONG_REACH, SHORT_REACH, SOURCES
from queries.status import CoverageRow

ACCOUNT_ACTIVITY = "activity (account)"
KEY_ACTIVITY = "activity per API key"
GENERATIONS = "per-generation records"
# Analytics groupings (``analytics_daily.dimensions``) in words, as the routed sources name them ("analytics by
# model × app"); an unknown one is spelled from its parts.
GROUPING_NAMES: dict[str, str] = {
    s.grouping: s.title.removeprefix("analytics by ") for s in SOURCES if s.grouping is not None
}
# Groupings with a dimension analytics keeps 31 days only: every metric of theirs has that reach.
SHORT_ONLY = frozenset(s.grouping for s in SOURCES if s.grouping is not None and s.reach == SHORT_REACH)
ORDER = (ACCOUNT_ACTIVITY, KEY_ACTIVITY)

RUN_INGEST = "not ingested yet: run `orusage ingest` (OpenRouter still serves these days)"
RESUME = "not fetched yet: run `orusage ingest` (it resumes the backfill)"


def missed(reach: int) -> str:
    return (
        f"missed: no ingest ran while OpenRouter still served these days (it keeps them {reach} days); "
        "they cannot be fetched any more"
    )


@dataclass(frozen=True)
class Gap:
    """Days a track should hold but does not (for every scope, or some: ``partial``)."""

    source: str  # the track's name
    first_day: date
    last_day: date
    reason: str
    partial: bool = False  # some of the track's keys hold these days
    scopes: str = ""  # the keys lacking them, by name, for per-key tracks

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def sentence(self) -> str:
        span = self.first_day.isoformat() if self.days == 1 else f"{self.first_day}..{self.last_day}"
        which = f", {self.scopes}" if self.scopes else ""
        return f"{span} ({self.source}{which}, {self.days} day{'s' if self.days > 1 else ''}): {self.reason}"


@dataclass(frozen=True)
class Track:
    name: str
    source: str  # activity | analytics | generations
    grouping: str  # analytics_daily.dimensions; '' for activity and generations
    metrics: str  # long | short | ''
    reach: int | None  # days OpenRouter serves; None: per-generation records
    scopes: tuple[str, ...]  # '' account-wide, key hashes per key, api/export for generations
    rows: tuple[CoverageRow, ...]
    account: str = ""  # the account whose track it is, when the store holds several
    base: str = ""  # the name without the account ("activity (account)")

    @property
    def per_key(self) -> bool:
        return self.source != "generations" and any(self.scopes)

    @property
    def first_day(self) -> date:
        return min(r.first_day for r in self.rows)

    @property
    def last_day(self) -> date:
        return max(r.last_day for r in self.rows)

    @property
    def rows_received(self) -> int:
        return sum(r.rows_received for r in self.rows)

    @property
    def fetched_at(self) -> datetime:
        return max(r.fetched_at for r in self.rows)

    def covered(self, scope: str | None = None) -> set[date]:
        """Days some fetch of ``scope`` (every scope together when None) covered."""
        return covered_days(r for r in self.rows if scope is None or r.scope == scope)


def days_between(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


def merged(rows: Iterable[CoverageRow]) -> list[tuple[date, date]]:
    """The rows' day ranges merged (a store ingested hourly for a year holds thousands of overlapping ones)."""
    spans: list[tuple[date, date]] = []
    for first, last in sorted((r.first_day, r.last_day) for r in rows):
        if spans and first <= spans[-1][1] + timedelta(days=1):
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return spans


def covered_days(rows: Iterable[CoverageRow]) -> set[date]:
    days: set[date] = set()
    for first, last in merged(rows):
        days |= days_between(first, last)
    return days


def contiguous(days: Iterable[date]) -> list[tuple[date, date]]:
    """Days → sorted [(first, last)] runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def grouping_name(grouping: str) -> str:
    return GROUPING_NAMES.get(grouping) or " × ".join(p.strip() for p in grouping.split(",") if p.strip())


def _analytics_track_name(grouping: str, metrics: str) -> str:
    name = f"analytics per {grouping_name(grouping)}"
    return name if metrics != "short" or grouping in SHORT_ONLY else f"{name} (31-day metrics)"


def tracks(coverage: Sequence[CoverageRow]) -> list[Track]:
    """One track per real source and grouping the coverage records hold, activity first, then analytics by
    name, then per-generation records. Records of an unknown source or an empty grouping are no track."""
    found: dict[tuple[str, str, str, str], list[CoverageRow]] = {}
    several = len({row.account for row in coverage}) > 1
    for row in coverage:
        account = row.account if several else ""
        if row.source == "activity":
            key = ("activity", "", "key" if row.scope else "", account)
        elif row.source == "analytics" and row.dimensions.strip():
            key = ("analytics", row.dimensions, "short" if row.dimensions in SHORT_ONLY else row.metrics, account)
        elif row.source == "generations":
            key = ("generations", "", "", account)
        else:
            continue
        found.setdefault(key, []).append(row)
    out: list[Track] = []
    for (source, grouping, kind, account), rows in found.items():
        scopes = tuple(sorted({r.scope for r in rows}))
        if source == "activity":
            name, reach, metrics = (KEY_ACTIVITY if kind else ACCOUNT_ACTIVITY), ACTIVITY_REACH, ""
        elif source == "generations":
            name, reach, metrics = GENERATIONS, None, ""
        else:
            name, metrics = _analytics_track_name(grouping, kind), kind
            reach = SHORT_REACH if kind == "short" else LONG_REACH
        shown = f"{name} of {account}" if account else name
        out.append(Track(shown, source, grouping, metrics, reach, scopes, tuple(rows), account, name))
    rank = {"activity": 0, "analytics": 1, "generations": 2}
    return sorted(out, key=lambda t: (t.account, rank[t.source], ORDER.index(t.base) if t.base in ORDER else 9, t.name))


def expected_days(track: Track, today: date) -> set[date]:
    """The days the track should hold (for each of its scopes), up to yesterday."""
    yesterday = today - timedelta(days=1)
    if track.reach is None:
        return set()
    if track.base == ACCOUNT_ACTIVITY:
        # Days before the first ingest are not gaps: they predate the store (analytics holds them).
        return days_between(track.first_day, yesterday)
    # /activity's window is the 30 days before today; an analytics reach counts today as its first day.
    back = track.reach if track.source == "activity" else track.reach - 1
    first = today - timedelta(days=back)
    if track.source == "analytics":
        # Analytics are kept too: a day missed after the grouping's first stored one stays a gap.
        first = min(first, track.first_day)
    return days_between(first, yesterday)


def activity_gaps(
    source: str,
    missing: Sequence[date],
    today: date,
    analytics_model: set[date],
    generation_days: Iterable[date] = (),
    *,
    partial: bool = False,
    scopes: str = "",
) -> list[Gap]:
    """Why each run of missing activity days is missing, in words a user can act on. ``generation_days``:
    days held whole by per-generation records (an imported export, or /generation)."""
    whole = set(generation_days)
    window_start = today - timedelta(days=ACTIVITY_REACH)
    gaps: list[Gap] = []
    for first, last in contiguous(missing):
        # A run may straddle the window's start: split it, the two halves need different actions.
        for part_first, part_last in (
            (first, min(last, window_start - timedelta(days=1))),
            (max(first, window_start), last),
        ):
            if part_first > part_last:
                continue
            if part_last >= window_start:
                reason = RUN_INGEST
            elif days_between(part_first, part_last) <= analytics_model:
                reason = "left the 30-day window before they were ingested; they are covered by analytics"
            elif days_between(part_first, part_last) <= whole:
                reason = "left the 30-day window before they were ingested; imported per-generation records hold them"
            else:
                reason = "are missing: import a website export, or they stay unknown"
            gaps.append(Gap(source, part_first, part_last, reason, partial, scopes))
    return gaps


def _scope_names(scopes: Iterable[str], key_names: Mapping[str, str]) -> str:
    names = sorted(key_names.get(s, s[:12]) for s in scopes)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"key{'s' if len(names) > 1 else ''} {shown}"


def track_gaps(track: Track, coverage: Sequence[CoverageRow], today: date, key_names: Mapping[str, str]) -> list[Gap]:
    """The track's gaps: runs of expected days some scope lacks, with what to do about them. A per-key
    track's run is split where the set of keys lacking it changes."""
    expected = expected_days(track, today)
    if not expected:
        return []
    by_scope = {scope: track.covered(scope) for scope in track.scopes}
    lacking: dict[date, frozenset[str]] = {}
    for day in sorted(expected):
        short = frozenset(s for s, days in by_scope.items() if day not in days)
        if short:
            lacking[day] = short
    own = [r for r in coverage if not track.account or r.account == track.account]
    analytics_model = covered_days(
        r for r in own if r.source == "analytics" and r.dimensions == "model" and r.metrics == "long"
    )
    generation_days = covered_days(r for r in own if r.source == "generations")
    gaps: list[Gap] = []
    runs: list[tuple[list[date], frozenset[str]]] = []
    for day, short in sorted(lacking.items()):
        if runs and runs[-1][1] == short and runs[-1][0][-1] == day - timedelta(days=1):
            runs[-1][0].append(day)
        else:
            runs.append(([day], short))
    for days, short in runs:
        partial = len(short) < len(track.scopes)
        scopes = _scope_names(short, key_names) if track.per_key else ""
        if track.source == "activity":
            gaps += activity_gaps(
                track.name, days, today, analytics_model, generation_days, partial=partial, scopes=scopes
            )
        else:
            assert track.reach is not None  # per-generation records expect nothing
            reach_start = today - timedelta(days=track.reach - 1)
            for part_first, part_last, reason in (
                (days[0], min(days[-1], reach_start - timedelta(days=1)), missed(track.reach)),
                (max(days[0], reach_start), days[-1], RESUME),
            ):
                if part_first <= part_last:
                    gaps.append(Gap(track.name, part_first, part_last, reason, partial, scopes))
    return gaps


def all_gaps(coverage: Sequence[CoverageRow], today: date, key_names: Mapping[str, str]) -> list[Gap]:
    return [g for t in tracks(coverage) for g in track_gaps(t, coverage, today, key_names)]


STORED, PARTLY, MISSING, OUTSIDE = "stored", "partly stored", "missing", "outside reach"


@dataclass(frozen=True)
class Run:
    """Consecutive days of one track in one state."""

    track: str
    state: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def strip(
    coverage: Sequence[CoverageRow], first: date, last: date, today: date, key_names: Mapping[str, str]
) -> list[Run]:
    """Every track's days ``first..last`` as runs of one state: stored (every scope), partly stored,
    missing (a gap, as ``track_gaps`` names it) or outside reach (nothing expected)."""
    out: list[Run] = []
    for track in tracks(coverage):
        gaps = track_gaps(track, coverage, today, key_names)
        gap_days = {d for g in gaps for d in days_between(g.first_day, g.last_day)}
        by_scope = [track.covered(scope) for scope in track.scopes]
        day = first
        while day <= last:
            held = sum(day in days for days in by_scope)
            if track.source == "generations":
                state = STORED if held else OUTSIDE
            elif held == len(by_scope):
                state = STORED
            elif held:
                state = PARTLY
            else:
                state = MISSING if day in gap_days else OUTSIDE
            prev = out[-1] if out else None
            if prev and prev.track == track.name and prev.state == state and prev.last == day - timedelta(days=1):
                out[-1] = Run(track.name, state, prev.first, day)
            else:
                out.append(Run(track.name, state, day, day))
            day += timedelta(days=1)
    return out
