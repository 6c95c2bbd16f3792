"""Which stored table answers which question: the one routing rule every dashboard read follows.

A question is a set of dimensions (the filters set in the sidebar plus whatever a chart breaks its numbers
down by), a range of UTC days and, sometimes, metrics only some tables hold (cached tokens, latency). No
single table holds every combination: ``activity`` has model × provider endpoint for 30 days,
``activity_by_key`` adds the key, and each ``analytics_daily`` grouping holds one slice of a year (or of
31 days, for the per-request dimensions provider and end user). So:

* a source may answer a question only if it holds every dimension of it (``Source.dims``) and every
  extra metric (``Source.needs``); per-key sources only questions about keys or workspaces (they hold
  known keys only, and a key's workspace is known: ``Source.derived``), and only after every source that
  holds the question's dimensions itself;
* each day goes to the *first* such source, in ``SOURCES`` order, that covers the day: ``activity``
  wherever it does, analytics for older days. One source per day, so a range spanning both never counts
  a day twice (each grouping alone covers all traffic, see docs/definitions.md);
* days no candidate covers are reported as gaps, told apart into "older than OpenRouter keeps for this
  question" and "not ingested";
* when no source holds the combination at all (three dimensions OpenRouter never groups together), the
  route says why, and the page shows that instead of silently dropping a filter.

Pure: no I/O. The covered days come in as ``Spans`` (read by ``reads_facts.source_spans``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from itertools import combinations
from typing import Any


class Dim(StrEnum):
    """What a question can be filtered or broken down by."""

    MODEL = "model"
    PROVIDER = "provider"
    APP = "app"
    KEY = "key"
    WORKSPACE = "workspace"
    MEMBER = "member"  # an organization member (analytics' `user`)
    END_USER = "end_user"  # the `user` field callers send (analytics' `external_user`)
    ACCOUNT = "account"  # which OpenRouter account (queries.accounts): every table holds it


class Need(StrEnum):
    """Metrics that only some sources hold."""

    CACHED = "cached"  # cached prompt tokens: analytics only (/activity has none)
    LATENCY = "latency"  # latency and throughput percentiles: analytics, last 31 days only


ACTIVITY_REACH = 30
SHORT_REACH = 31
LONG_REACH = 365

# What each dimension is called in messages.
DIM_WORDS: dict[Dim, str] = {
    Dim.MODEL: "model",
    Dim.PROVIDER: "provider",
    Dim.APP: "app",
    Dim.KEY: "API key",
    Dim.WORKSPACE: "workspace",
    Dim.MEMBER: "member",
    Dim.END_USER: "end user",
    Dim.ACCOUNT: "account",
}


@dataclass(frozen=True)
class Source:
    """One table, or one ``analytics_daily`` grouping, that a day's numbers can be read from."""

    name: str  # key of ``Spans``; also what pages show ("answered from …")
    table: str  # "activity", "activity_by_key" or "analytics_daily"
    grouping: str | None  # analytics_daily.dimensions, for analytics sources
    dims: frozenset[Dim]
    needs: frozenset[Need]
    reach: int  # days back from today OpenRouter serves it
    title: str  # for people
    # Read key by key (only the keys the store knows), so it holds all traffic only when the question is
    # about keys anyway: never a stand-in for an account-wide number.
    per_key: bool = False
    # Dimensions known through another one: a key's workspace (from /keys). Used only when no source holds
    # the question's dimensions itself.
    derived: frozenset[Dim] = frozenset()

    @property
    def is_activity(self) -> bool:
        return self.table != "analytics_daily"


def _source(
    name: str, table: str, grouping: str | None, dims: Iterable[Dim], needs: Iterable[Need], reach: int, title: str
) -> Source:
    per_key = Dim.KEY in dims
    derived = frozenset({Dim.WORKSPACE}) if per_key else frozenset()
    # Every stored row says which account it is of: any source splits by account.
    held = frozenset(dims) | {Dim.ACCOUNT}
    return Source(name, table, grouping, held, frozenset(needs), reach, title, per_key, derived)


def _pair(grouping: str, dims: Iterable[Dim], reach: int, title: str) -> Source:
    """A two-dimension analytics grouping fetched for the usage metrics only (no latency)."""
    return _source(f"analytics:{grouping}", "analytics_daily", grouping, dims, (Need.CACHED,), reach, title)


_ANALYTICS_NEEDS = (Need.CACHED, Need.LATENCY)
ACTIVITY = _source("activity", "activity", None, (Dim.MODEL, Dim.PROVIDER), (), ACTIVITY_REACH, "activity")
ACTIVITY_BY_KEY = _source(
    "activity_by_key",
    "activity_by_key",
    None,
    (Dim.KEY, Dim.MODEL, Dim.PROVIDER),
    (),
    ACTIVITY_REACH,
    "activity per API key",
)
AN_MODEL = _source(
    "analytics:model", "analytics_daily", "model", (Dim.MODEL,), _ANALYTICS_NEEDS, LONG_REACH, "analytics by model"
)
AN_MODEL_PROVIDER = _source(
    "analytics:model,provider",
    "analytics_daily",
    "model,provider",
    (Dim.MODEL, Dim.PROVIDER),
    _ANALYTICS_NEEDS,
    SHORT_REACH,
    "analytics by model × provider",
)
AN_KEY_MODEL = _source(
    "analytics:api_key_hash,model",
    "analytics_daily",
    "api_key_hash,model",
    (Dim.KEY, Dim.MODEL),
    _ANALYTICS_NEEDS,
    LONG_REACH,
    "analytics by API key × model",
)
AN_MODEL_APP = _source(
    "analytics:model,app",
    "analytics_daily",
    "model,app",
    (Dim.MODEL, Dim.APP),
    _ANALYTICS_NEEDS,
    LONG_REACH,
    "analytics by model × app",
)
AN_WORKSPACE = _source(
    "analytics:workspace",
    "analytics_daily",
    "workspace",
    (Dim.WORKSPACE,),
    _ANALYTICS_NEEDS,
    LONG_REACH,
    "analytics by workspace",
)

AN_MEMBER = _source(
    "analytics:user", "analytics_daily", "user", (Dim.MEMBER,), _ANALYTICS_NEEDS, LONG_REACH, "analytics by member"
)
AN_END_USER = _source(
    "analytics:external_user",
    "analytics_daily",
    "external_user",
    (Dim.END_USER,),
    _ANALYTICS_NEEDS,
    SHORT_REACH,
    "analytics by end user",
)
M, P, A, K, U, E = Dim.MODEL, Dim.PROVIDER, Dim.APP, Dim.KEY, Dim.MEMBER, Dim.END_USER
# The pairs no grouping above holds, fetched by the ingest (ingest.analytics.pairs; same names).
PAIRS: tuple[Source, ...] = (
    _pair("app,provider", (A, P), SHORT_REACH, "analytics by app × provider"),
    _pair("model,user", (M, U), LONG_REACH, "analytics by model × member"),
    _pair("app,user", (A, U), LONG_REACH, "analytics by app × member"),
    _pair("provider,user", (P, U), SHORT_REACH, "analytics by provider × member"),
    _pair("model,external_user", (M, E), SHORT_REACH, "analytics by model × end user"),
    _pair("app,external_user", (A, E), SHORT_REACH, "analytics by app × end user"),
    _pair("provider,external_user", (P, E), SHORT_REACH, "analytics by provider × end user"),
    _pair("user,external_user", (U, E), SHORT_REACH, "analytics by member × end user"),
    _pair("api_key_hash,app", (K, A), LONG_REACH, "analytics by API key × app"),
    _pair("api_key_hash,user", (K, U), LONG_REACH, "analytics by API key × member"),
    _pair("api_key_hash,external_user", (K, E), SHORT_REACH, "analytics by API key × end user"),
)

# Preference order: activity first (per endpoint, the most detailed), the narrowest analytics grouping
# next, so that a question with no dimensions reads analytics by model rather than a wider grouping.
SOURCES: tuple[Source, ...] = (
    ACTIVITY,
    ACTIVITY_BY_KEY,
    AN_MODEL,
    AN_MODEL_PROVIDER,
    AN_KEY_MODEL,
    AN_MODEL_APP,
    AN_WORKSPACE,
    AN_MEMBER,
    AN_END_USER,
    *PAIRS,
)
SOURCES_BY_NAME: dict[str, Source] = {s.name: s for s in SOURCES}

# Covered days per (source name, metrics): metrics is "long" for the year-reach metrics (requests, tokens,
# spend, cached tokens) and "short" for the 31-day ones (latency, throughput). Intervals are inclusive.
Span = tuple[date, date]
Spans = Mapping[tuple[str, str], Sequence[Span]]


def metrics_kind(needs: frozenset[Need]) -> str:
    return "short" if Need.LATENCY in needs else "long"


@dataclass(frozen=True)
class Segment:
    """Days ``first``..``last`` (inclusive) read from ``source``."""

    source: str
    first: date
    last: date


@dataclass(frozen=True)
class Gap:
    """Days no source covers. ``beyond_reach``: older than OpenRouter serves for this question, so no
    ingest can fill them; otherwise they were simply never ingested."""

    first: date
    last: date
    beyond_reach: bool


@dataclass(frozen=True)
class Route:
    # Sorted tuples, not sets: a route is part of cache keys, which must not depend on set order.
    dims: tuple[Dim, ...]
    needs: tuple[Need, ...]
    start: date
    end: date
    segments: tuple[Segment, ...] = ()
    gaps: tuple[Gap, ...] = ()
    unanswerable: str | None = None  # why no stored table can answer the question at all
    reach: int = LONG_REACH  # the longest reach among the candidate sources
    candidates: tuple[str, ...] = field(default=())

    @property
    def answerable(self) -> bool:
        return self.unanswerable is None

    @property
    def has_data_days(self) -> bool:
        return bool(self.segments)

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources used, each once, in day order."""
        seen: dict[str, None] = {}
        for segment in self.segments:
            seen.setdefault(segment.source, None)
        return tuple(seen)


def candidates(dims: Iterable[Dim], needs: Iterable[Need] = ()) -> tuple[Source, ...]:
    """The sources holding every dimension and metric of the question, in preference order: those holding
    the dimensions themselves first, then those knowing one through another (a workspace through keys)."""
    wanted, extra = frozenset(dims), frozenset(needs)
    fits = [s for s in SOURCES if extra <= s.needs and (not s.per_key or wanted & {Dim.KEY, Dim.WORKSPACE})]
    direct = [s for s in fits if wanted <= s.dims]
    through = [s for s in fits if s not in direct and wanted <= s.dims | s.derived]
    return (*direct, *through)


def _sorted(items: frozenset[Any], order: list[Any]) -> tuple[Any, ...]:
    return tuple(sorted(items, key=order.index))


def _covers(spans: Sequence[Span], day: date) -> bool:
    return any(first <= day <= last for first, last in spans)


def route(
    dims: Iterable[Dim],
    start: date,
    end: date,
    spans: Spans,
    today: date,
    needs: Iterable[Need] = (),
) -> Route:
    """Split [start, end] into segments, one source per day, plus the days nothing covers."""
    wanted, extra = frozenset(dims), frozenset(needs)
    dims_key, needs_key = _sorted(wanted, list(Dim)), _sorted(extra, list(Need))
    found = candidates(wanted, extra)
    if not found:
        return Route(dims_key, needs_key, start, end, unanswerable=explain(wanted, extra))
    kind = metrics_kind(extra)
    # Latency and throughput are 31-day metrics whatever the grouping's own reach.
    reach = max(s.reach for s in found) if Need.LATENCY not in extra else SHORT_REACH
    oldest_in_reach = today - timedelta(days=reach - 1)
    segments: list[Segment] = []
    gaps: list[Gap] = []
    day = start
    while day <= end:
        source = next((s.name for s in found if _covers(spans.get((s.name, kind), ()), day)), None)
        if source is None:
            beyond = day < oldest_in_reach
            if gaps and gaps[-1].last == day - timedelta(days=1) and gaps[-1].beyond_reach == beyond:
                gaps[-1] = Gap(gaps[-1].first, day, beyond)
            else:
                gaps.append(Gap(day, day, beyond))
        elif segments and segments[-1].source == source and segments[-1].last == day - timedelta(days=1):
            segments[-1] = Segment(source, segments[-1].first, day)
        else:
            segments.append(Segment(source, day, day))
        day += timedelta(days=1)
    return Route(
        dims_key,
        needs_key,
        start,
        end,
        segments=tuple(segments),
        gaps=tuple(gaps),
        reach=reach,
        candidates=tuple(s.name for s in found),
    )


def _words(dims: Iterable[Dim]) -> str:
    return " × ".join(DIM_WORDS[d] for d in sorted(dims, key=list(Dim).index))


def explain(dims: frozenset[Dim], needs: frozenset[Need]) -> str:
    """Why no stored table answers this combination, and what to do, in one line."""
    if candidates(dims):
        # The dimensions combine; the extra metric is what no table holding them has.
        metric = "cached tokens" if Need.CACHED in needs else "latency and throughput"
        if all(s.is_activity for s in candidates(dims)):
            return (
                f"OpenRouter does not report {metric} by {_words(dims)}: only its analytics hold {metric}, "
                f"and the store keeps no analytics grouped by {_words(dims)} together."
            )
        return (
            f"No stored table holds {metric} by {_words(dims)}: the analytics kept for this combination carry "
            "requests, tokens and spend only (latency is kept per model, per model × provider and per single "
            "dimension)."
        )
    # The smallest clashing sets name the culprits.
    for size in range(2, len(dims) + 1):
        clashes = [frozenset(c) for c in combinations(sorted(dims, key=list(Dim).index), size) if not candidates(c)]
        if clashes:
            named = "; ".join(_words(c) for c in clashes)
            return (
                f"No stored data splits usage by {named}: OpenRouter's analytics group by two dimensions at "
                "most, and no stored table holds these together. Clear one of those filters to see this."
            )
    return "No stored data answers this combination."  # a single dimension no table has; not reachable today


def reach_note(route: Route) -> str:
    """Why days older than the reach are missing, named after what limits it."""
    limited = [SOURCES_BY_NAME[name] for name in route.candidates]
    if Need.LATENCY in route.needs:
        return "latency and throughput reach back 31 days; older days are not available from OpenRouter"
    if Dim.PROVIDER in route.dims and route.reach <= SHORT_REACH:
        if all(s.is_activity for s in limited):
            by = "API key" if Dim.KEY in route.dims else "workspace"
            return f"provider × {by} data comes from /activity only, which reaches back 30 days"
        return "provider data reaches back 31 days; older days are not available from OpenRouter"
    if Dim.END_USER in route.dims and route.reach <= SHORT_REACH:
        return (
            "OpenRouter keeps end users for 31 days: older days are here only if an ingest ran while it still had them"
        )
    return (
        f"OpenRouter serves {route.reach} days of this data and these days were not stored before they left its window"
    )
