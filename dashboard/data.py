"""Cached reads for the pages.

Every cache key holds the database path and the snapshot version the run reads (through ``Store``), so a
new ingest shows up on the next page run without any manual invalidation, plus every argument of the read
(routes, filter values). The run's ``PageReader`` is not part of the key: it is the run's way to that
version (a cursor of the process's kept connection), only used when some read here misses the cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import urlstate
from queries import (
    accounts,
    allocation,
    broadcast,
    budgets,
    credits,
    generations_reads,
    key_hygiene,
    reads,
    reads_explore,
    reads_health,
    reads_keys,
    reads_model_days,
    reads_models,
    reads_overview,
    team_reads,
)
from queries import review as review_reads
from queries.cache_savings import CacheSavings
from queries.cache_savings import cache_savings as cache_savings_read
from queries.filters import Filters
from queries.reads_facts import facts as _facts
from queries.reads_routing import Route, Span
from queries.waterfall import waterfall as waterfall_read
from review import load
from review.model import Review
from review.weeks import IsoWeek


@dataclass(frozen=True)
class Store:
    """This run's way to the snapshot. Hashed for caches by (db, version) only."""

    reader: reads.PageReader
    db: str
    version: str


def _store_key(store: Store) -> tuple[str, str]:
    return store.db, store.version


# Enough for a handful of users flipping between filters; old snapshots' entries age out.
_cached = st.cache_data(show_spinner=False, max_entries=256, ttl=3600, hash_funcs={Store: _store_key})


@dataclass(frozen=True)
class Meta:
    """What the sidebar and the routing need before any page runs."""

    as_of: reads.DataAsOf
    bounds: reads.DateBounds
    models: tuple[str, ...]  # permaslugs with traffic, biggest spenders first
    model_labels: Mapping[str, str]  # permaslug -> label shown
    model_names: Mapping[str, str]  # permaslug -> /models name
    catalog: tuple[str, ...]  # every permaslug a model page may show
    providers: tuple[str, ...]
    apps: tuple[str, ...]
    keys: tuple[str, ...]  # hashes, biggest spenders first
    key_labels: Mapping[str, str]  # hash -> name (and a mark for disabled/expired/deleted keys)
    workspaces: tuple[str, ...]
    spans: Mapping[tuple[str, str], tuple[Span, ...]]
    members: tuple[str, ...] = ()  # as analytics name them, biggest spenders first
    member_labels: Mapping[str, str] = field(default_factory=dict)  # member -> "name (e-mail)"
    # Teams as the last alerts run resolved them: name -> (kind, values), members as analytics name them. Teams
    # of keys, apps and members only: those the allocation (the Teams page) has lines for; teams of tags are
    # known from per-generation records only and are no filter (queries.allocation.tags_left_out).
    teams: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    accounts: tuple[str, ...] = ()  # the store's accounts (queries.accounts); a filter once there are two

    def model_label(self, permaslug: str) -> str:
        return self.model_labels.get(permaslug, permaslug)

    def key_label(self, key_hash: str) -> str:
        return self.key_labels.get(key_hash, key_hash[:10])

    def member_label(self, member: str) -> str:
        return self.member_labels.get(member, member)

    def allowed(self) -> urlstate.Allowed:
        return urlstate.Allowed(
            models=frozenset(self.models),
            providers=frozenset(self.providers),
            apps=frozenset(self.apps),
            keys=frozenset(self.keys),
            workspaces=frozenset(self.workspaces),
            members=frozenset(self.members),
            teams=frozenset(self.teams),
            accounts=frozenset(self.accounts),
            catalog=frozenset(self.catalog) | frozenset(self.models),
        )


def _key_label(name: str, disabled: bool, expires_at: Any, deleted_at: Any, now: datetime | None) -> str:
    if not pd.isna(deleted_at):
        return f"{name} (deleted)"
    if now is not None and not pd.isna(expires_at) and expires_at <= now:
        return f"{name} (expired)"
    return f"{name} (disabled)" if disabled else name


def _unique(labels: dict[str, str]) -> dict[str, str]:
    """Keys may share a name (a key re-created under an old name): such labels get the hash's start."""
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {h: f"{label} ({h[:8]})" if seen[label] > 1 else label for h, label in labels.items()}


def _member_labels(members: Sequence[tuple[str, str | None]]) -> dict[str, str]:
    return {member: f"{member} ({email})" if email and email != member else member for member, email in members}


def _teams(
    found: Mapping[str, tuple[str, tuple[str, ...]]], members: Sequence[tuple[str, str | None]]
) -> dict[str, Any]:
    """The teams the allocation applies, member values of the config (a name or an e-mail, matched without
    regard to case as the allocation matches them) as analytics name the member."""
    by_email = {email.lower(): member for member, email in members if email}
    return {
        team: (kind, tuple(sorted({by_email.get(v.lower(), v) for v in values})) if kind == "member" else values)
        for team, (kind, values) in found.items()
        if kind in allocation.ALLOCATED_KINDS
    }


@_cached
def meta(store: Store) -> Meta:
    run = store.reader.run
    found = run(reads.sidebar_options)  # one statement: every page's first run pays for it
    models = tuple(str(m["model_permaslug"]) for m in found.models)
    now = found.as_of.finished_at
    return Meta(
        as_of=found.as_of,
        bounds=found.bounds,
        models=models,
        model_labels={str(m["model_permaslug"]): str(m["label"]) for m in found.models},
        model_names={str(m["model_permaslug"]): str(m["name"]) for m in found.models},
        catalog=found.catalog,
        providers=found.providers,
        apps=found.apps,
        keys=tuple(str(k["hash"]) for k in found.keys),
        key_labels=_unique(
            {
                str(k["hash"]): _key_label(str(k["name"]), bool(k["disabled"]), k["expires_at"], k["deleted_at"], now)
                for k in found.keys
            }
        ),
        workspaces=found.workspaces,
        spans=found.spans,
        members=tuple(member for member, _ in found.members),
        member_labels=_member_labels(found.members),
        teams=_teams(run(reads.teams), found.members),
        accounts=run(accounts.known),
    )


@_cached
def kpis(store: Store, today: date, accounts: tuple[str, ...] = ()) -> reads.Kpis:
    return store.reader.run(reads.kpis, today, accounts)


@_cached
def outlook(
    store: Store, today: date, now: datetime | None = None, accounts: tuple[str, ...] = ()
) -> reads_overview.Outlook:
    return store.reader.run(reads_overview.outlook, today, now, accounts)


@_cached
def facts(
    store: Store,
    route: Route,
    filters: Filters,
    by: tuple[str, ...] = (),
    top: tuple[str, int] | None = None,
    latency: bool = False,
    flags: bool = False,
    rank_by: str = "spend",
) -> pd.DataFrame:
    return store.reader.run(_facts, route, filters, by, top=top, latency=latency, flags=flags, rank_by=rank_by)


@_cached
def explore(store: Store, question: reads_explore.Question, route: Route, filters: Filters) -> pd.DataFrame:
    return store.reader.run(reads_explore.explore, question, route, filters)


@_cached
def explore_teams(store: Store, question: reads_explore.Question, filters: Filters, today: date) -> pd.DataFrame:
    return store.reader.run(reads_explore.explore_teams, question, filters, today)


@_cached
def provider_days(store: Store, model: str, start: date, end: date, analytics_days: tuple[date, ...]) -> pd.DataFrame:
    return store.reader.run(reads_model_days.provider_days, model, start, end, analytics_days)


@_cached
def list_cost(store: Store, route: Route, filters: Filters) -> pd.DataFrame:
    return store.reader.run(reads_models.list_cost, route, filters)


@_cached
def provider_prices(store: Store, route: Route, filters: Filters) -> pd.DataFrame:
    return store.reader.run(reads_models.provider_prices, route, filters)


@_cached
def reasoning_by(store: Store, route: Route, filters: Filters, column: str) -> pd.DataFrame:
    return store.reader.run(reads_models.reasoning_by, route, filters, column)


@_cached
def cached_tokens(store: Store, route: Route, filters: Filters) -> pd.DataFrame:
    return store.reader.run(reads_models.cached_tokens, route, filters)


@_cached
def cache_savings(store: Store, filters: Filters, today: date) -> CacheSavings:
    return store.reader.run(cache_savings_read, filters, today)


@_cached
def waterfall(store: Store, filters: Filters, today: date, by: tuple[str, ...]) -> pd.DataFrame:
    return store.reader.run(waterfall_read, filters, today, by)


@_cached
def price_history(store: Store, models: tuple[str, ...]) -> pd.DataFrame:
    return store.reader.run(reads_models.price_history, models)


@_cached
def price_changes(store: Store, start: date, end: date, models: tuple[str, ...]) -> pd.DataFrame:
    return store.reader.run(reads_models.price_changes, start, end, models)


@_cached
def model_info(store: Store, permaslug: str) -> dict[str, Any] | None:
    return store.reader.run(reads_models.model_info, permaslug)


@_cached
def endpoint_health(store: Store, permaslug: str) -> pd.DataFrame:
    return store.reader.run(reads_models.endpoint_health, permaslug)


@_cached
def key_limits(store: Store, now: datetime) -> pd.DataFrame:
    return store.reader.run(reads_keys.key_limits, now)


@_cached
def coverage_tracks(store: Store) -> pd.DataFrame:
    return store.reader.run(reads_health.coverage_tracks)


@_cached
def coverage_runs(store: Store, first: date, last: date) -> pd.DataFrame:
    return store.reader.run(reads_health.coverage_runs, first, last)


@_cached
def coverage_gaps(store: Store, today: date) -> pd.DataFrame:
    return store.reader.run(reads_health.coverage_gaps, today)


@_cached
def reasoning_over_completion(store: Store) -> pd.DataFrame:
    return store.reader.run(reads_health.reasoning_over_completion)


@_cached
def ingest_runs(store: Store, limit: int) -> pd.DataFrame:
    return store.reader.run(reads_health.ingest_runs, limit)


@_cached
def broadcast_report(store: Store, today: date, destination: str | None) -> broadcast.TraceReport | None:
    return store.reader.run(broadcast.maybe_trace_report, today, destination)


# ---- the Budgets and Weekly review pages ----------------------------------------------------------------


@_cached
def budget_overview(store: Store, now: datetime) -> pd.DataFrame:
    return store.reader.run(budgets.budget_overview, now)


@_cached
def budget_forecast(store: Store, budget: str) -> pd.DataFrame:
    return store.reader.run(budgets.budget_forecast, budget)


@_cached
def alert_history(store: Store) -> pd.DataFrame:
    return store.reader.run(budgets.alert_history)


@_cached
def failed_deliveries(store: Store) -> pd.DataFrame:
    return store.reader.run(budgets.failed_deliveries)


@_cached
def top_ups(store: Store, accounts: tuple[str, ...] = ()) -> pd.DataFrame:
    found = store.reader.run(credits.top_ups, accounts)
    return pd.DataFrame(
        [(t.at, t.previous_at, t.amount, t.total_after) for t in found],
        columns=["at", "previous_at", "amount", "total_after"],
    ).sort_values("at", ascending=False)


@_cached
def key_issues(store: Store, now: datetime) -> pd.DataFrame:
    facts = store.reader.run(key_hygiene.key_facts, now)
    found = key_hygiene.issues(facts, now)
    return pd.DataFrame(
        [(i.name, i.kind, i.text, i.when, i.hash) for i in found], columns=["name", "kind", "text", "when", "hash"]
    )


@_cached
def channel_health(store: Store) -> pd.DataFrame:
    return store.reader.run(budgets.channel_health)


@_cached
def team_spend(store: Store, first: date, last: date) -> pd.DataFrame:
    return store.reader.run(budgets.spend_by_team, first, last)


# ---- the Teams page: the one allocation of spend to teams (queries.allocation) ----------------------------


@_cached
def team_fact_sets(store: Store, filters: Filters, today: date) -> dict[tuple[str, ...], pd.DataFrame]:
    return store.reader.run(team_reads.fact_sets, filters, today)


def team_facts(
    store: Store, filters: Filters, today: date, by: tuple[str, ...], top: tuple[str, int] | None = None
) -> pd.DataFrame:
    """The page's groupings from one allocation per filter set (``team_fact_sets``); any other by itself."""
    if by in team_reads.PAGE_SETS:
        return team_reads.facts_from(team_fact_sets(store, filters, today)[by], by, top)
    return _team_facts(store, filters, today, by, top)


@_cached
def _team_facts(
    store: Store, filters: Filters, today: date, by: tuple[str, ...], top: tuple[str, int] | None
) -> pd.DataFrame:
    return store.reader.run(team_reads.facts, filters, today, by, top)


@_cached
def team_daily(store: Store, first: date, last: date, today: date) -> pd.DataFrame:
    return store.reader.run(team_reads.team_daily, first, last, today)


def team_totals(store: Store, first: date, last: date, today: date) -> pd.DataFrame:
    """Per team over ``first..last``: last month's and this month's tables from one allocation of the days
    since the first of last month (``team_daily``); other ranges by themselves."""
    since = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    yesterday = today - timedelta(days=1)
    window = (since, yesterday) if since <= first and last <= yesterday else (first, last)
    return team_reads.totals_from(team_daily(store, *window, today), first, last)


@_cached
def team_kinds(store: Store) -> pd.DataFrame:
    return store.reader.run(allocation.team_kinds)


@_cached
def tag_teams(store: Store) -> tuple[str, ...]:
    return store.reader.run(allocation.tag_teams)


@_cached
def weekly_review(store: Store, week: str, today: date) -> Review:
    return store.reader.run(load.weekly_review, IsoWeek.parse(week), today)


@_cached
def review_first_day(store: Store) -> date | None:
    return store.reader.run(review_reads.first_day)


# ---- the Generations page ------------------------------------------------------------------------------


@_cached
def generations_stored(store: Store) -> tuple[int, datetime | None, datetime | None]:
    return store.reader.run(generations_reads.stored_span)


@_cached
def generation_totals(store: Store, query: generations_reads.GenerationQuery) -> generations_reads.GenerationTotals:
    return store.reader.run(generations_reads.totals, query)


@_cached
def generation_page(store: Store, query: generations_reads.GenerationQuery, offset: int, limit: int) -> pd.DataFrame:
    return store.reader.run(generations_reads.page, query, offset, limit)


@_cached
def generation_detail(store: Store, generation_id: str) -> dict[str, Any] | None:
    return store.reader.run(generations_reads.detail, generation_id)


@_cached
def finish_reasons(store: Store, start: date, end: date) -> tuple[str, ...]:
    return store.reader.run(generations_reads.finish_reasons, start, end)


@_cached
def tag_options(store: Store, start: date, end: date) -> tuple[str, ...]:
    return store.reader.run(generations_reads.tag_options, start, end)


@_cached
def tag_keys(store: Store, start: date, end: date) -> tuple[str, ...]:
    return store.reader.run(generations_reads.tag_keys, start, end)


@_cached
def generations_by_tag(store: Store, query: generations_reads.GenerationQuery, key: str) -> pd.DataFrame:
    return store.reader.run(generations_reads.by_tag, query, key)


@_cached
def _live_feed(store: Store, today: date, limit: int) -> broadcast.LiveFeed | None:
    return store.reader.run(broadcast.live_feed, today, limit)


def live_feed(db: str, today: date, limit: int) -> broadcast.LiveFeed | None:
    """For a fragment that reruns on a timer after the page's run (and its reader) ended: the newest
    snapshot, on a reader of its own, cached per snapshot version like every read here."""
    version = reads.snapshot_version(Path(db))
    if version == "none":
        return None
    with reads.PageReader(Path(db)) as reader:
        return _live_feed(Store(reader, db, version), today, limit)


def generations_file(db: str, query: generations_reads.GenerationQuery, cap: int, kind: str) -> bytes:
    """A download's file, built when the user clicks (on Streamlit's download thread, after the run that
    drew the button has ended): so it reads through a reader of its own (the newest snapshot version)."""
    with reads.PageReader(Path(db)) as reader:
        content, _rows = reader.run(generations_reads.download, query, cap, kind)
    return content
