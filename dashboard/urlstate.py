"""The filters as a query string, both ways. Pure: no Streamlit, so every rule here is tested directly.

Format (repeated keys for several values; order as below; only what is set)::

    ?range=30d                                   7d | 30d | 90d | month | last-month | year | custom
    &from=2026-10-01&to=2026-10-31               with range=custom (or alone: implies custom)
    &models=<permaslug>&models=<permaslug>
    &providers=<name>&apps=<name>&keys=<hash>&workspace=<name>
    &members=<name>&teams=<name>                 members as analytics name them; the alerts config's teams
    &accounts=<name>                             the store's accounts (OPENROUTER_MANAGEMENT_KEYS' names)
    &model=<permaslug>                           the Model detail page's subject
    &sort=spend&order=asc&q=<text>&finish=stop&page=3&rows=100    the Generations page's (gen_url)
    &by=app&then=model&metric=tokens&top=20     the Explore page's (explore_url)
    &per_day=requests                            the breakdown pages' per-day chart

Every value from a URL is checked against an allowlist (the store's own models, providers, apps, keys,
workspaces, members, teams, accounts; the preset names; dates in a sane window). Anything else is dropped and reported
in the notes ``parse`` returns beside the ``queries.filters.Filters`` it makes, so a hostile or stale link can neither
break a page nor change a query. Parameter names are the ``Filters`` field names.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from queries.filters import CUSTOM, DEFAULT_RANGE, RANGES, Filters, range_days

RANGE = "range"
FROM = "from"
TO = "to"
MODELS = "models"
PROVIDERS = "providers"
APPS = "apps"
KEYS = "keys"
WORKSPACE = "workspace"
MEMBERS = "members"
TEAMS = "teams"
ACCOUNTS = "accounts"
MODEL = "model"  # the Model detail page's subject, not a filter
# The Generations page's own parameters (read by ``dashboard.gen_url``), not filters either.
SORT = "sort"
ORDER = "order"
SEARCH = "q"
FINISH = "finish"
TAG = "tag"
PAGE = "page"
ROWS = "rows"
# The Explore page's (read by ``dashboard.explore_url``) and the breakdown pages' per-day chart.
BY = "by"
THEN = "then"
METRIC = "metric"
TOP = "top"
PER_DAY = "per_day"

LIST_PARAMS = (MODELS, PROVIDERS, APPS, KEYS, MEMBERS, TEAMS, ACCOUNTS)
FILTER_PARAMS = (RANGE, FROM, TO, *LIST_PARAMS, WORKSPACE)
PAGE_PARAMS = (MODEL, SORT, ORDER, SEARCH, FINISH, TAG, PAGE, ROWS, BY, THEN, METRIC, TOP, PER_DAY)
# Streamlit's own parameters: not ours to judge.
STREAMLIT_PARAMS = ("embed", "embed_options")

MAX_VALUES = 50  # per parameter: more than any real selection, few enough to keep statements small
OLDEST_YEARS = 10  # custom ranges reach back this far at most
SHOWN_CHARS = 40  # of a rejected value, in the note


def oldest_day(today: date) -> date:
    return today.replace(year=today.year - OLDEST_YEARS)


@dataclass(frozen=True)
class Allowed:
    """What the store knows: the only values a link may select."""

    models: Collection[str] = ()
    providers: Collection[str] = ()
    apps: Collection[str] = ()
    keys: Collection[str] = ()
    workspaces: Collection[str] = ()
    members: Collection[str] = ()
    teams: Collection[str] = ()
    accounts: Collection[str] = ()
    catalog: Collection[str] = ()  # models a detail page may show (traffic or /models)


def shown(value: str) -> str:
    """A rejected value made safe to print inside Markdown code: no backticks, no line breaks, short."""
    clean = "".join(ch if ch.isprintable() and ch != "`" else "?" for ch in value)
    return clean if len(clean) <= SHOWN_CHARS else clean[: SHOWN_CHARS - 1] + "…"


def _date(text: str) -> date | None:
    if len(text) != 10:  # YYYY-MM-DD only: fromisoformat also takes other spellings
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _pick(name: str, values: Sequence[str], allowed: Collection[str], notes: list[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for value in values:
        if value in allowed and value not in chosen and len(chosen) < MAX_VALUES:
            chosen.append(value)
        elif value not in chosen:
            notes.append(f"{name}: `{shown(value)}` is not known in this store")
    return tuple(chosen)


def parse(params: Mapping[str, Sequence[str]], allowed: Allowed, today: date) -> tuple[Filters, tuple[str, ...]]:
    """Read a query string (every key with all its values) into filters; drop and note what is wrong."""
    notes: list[str] = []
    for name in params:
        if name not in FILTER_PARAMS + PAGE_PARAMS + STREAMLIT_PARAMS:
            notes.append(f"unknown parameter `{shown(name)}`")

    def one(name: str) -> str | None:
        values = list(params.get(name, ()))
        if len(values) > 1:
            notes.append(f"{name}: only one value allowed, kept the first")
        return values[0] if values else None

    range_key = one(RANGE)
    start_text, end_text = one(FROM), one(TO)
    if range_key is not None and range_key not in RANGES:
        notes.append(f"range: `{shown(range_key)}` is not one of {', '.join(RANGES)}")
        range_key = None
    if range_key is None:
        range_key = CUSTOM if (start_text or end_text) else DEFAULT_RANGE
    start = end = None
    if range_key == CUSTOM:
        start, end = _date(start_text or ""), _date(end_text or "")
        yesterday = today - timedelta(days=1)
        problem = None
        if start is None or end is None:
            problem = "a custom range needs `from` and `to` as YYYY-MM-DD"
        elif start > end:
            problem = "`from` is after `to`"
        elif end > yesterday or start < oldest_day(today):
            problem = f"days must lie between {oldest_day(today)} and {yesterday} (completed UTC days)"
        if problem:
            notes.append(f"range: {problem}; showing {RANGES[DEFAULT_RANGE].lower()}")
            range_key, start, end = DEFAULT_RANGE, None, None
    elif start_text or end_text:
        notes.append("from/to: only used with range=custom")

    workspace = one(WORKSPACE)
    if workspace is not None and workspace not in allowed.workspaces:
        notes.append(f"workspace: `{shown(workspace)}` is not known in this store")
        workspace = None
    if start is None or end is None:
        start, end = range_days(range_key, today)
    chosen = Filters(
        start,
        end,
        range_key,
        models=_pick(MODELS, params.get(MODELS, ()), allowed.models, notes),
        providers=_pick(PROVIDERS, params.get(PROVIDERS, ()), allowed.providers, notes),
        apps=_pick(APPS, params.get(APPS, ()), allowed.apps, notes),
        keys=_pick(KEYS, params.get(KEYS, ()), allowed.keys, notes),
        workspace=workspace,
        members=_pick(MEMBERS, params.get(MEMBERS, ()), allowed.members, notes),
        teams=_pick(TEAMS, params.get(TEAMS, ()), allowed.teams, notes),
        accounts=_pick(ACCOUNTS, params.get(ACCOUNTS, ()), allowed.accounts, notes),
    )
    return chosen, tuple(notes)


def subject(values: Sequence[str], allowed: Allowed) -> tuple[str | None, str | None]:
    """The Model detail page's ``model`` parameter: (the permaslug, or None; a note when one was dropped)."""
    if not values:
        return None, None
    if values[0] in allowed.catalog:
        return values[0], None
    return None, f"model `{shown(values[0])}` is not known in this store"


def encode(filters: Filters) -> dict[str, str | list[str]]:
    """The filters as query parameters, in a fixed order; lists stay lists (repeated keys)."""
    out: dict[str, str | list[str]] = {RANGE: filters.range}
    if filters.range == CUSTOM:
        out[FROM], out[TO] = filters.start.isoformat(), filters.end.isoformat()
    for name in LIST_PARAMS:
        values = getattr(filters, name)
        if values:
            out[name] = list(values)
    if filters.workspace:
        out[WORKSPACE] = filters.workspace
    return out


def with_value(filters: Filters, param: str, value: str, allowed: Allowed) -> Filters | None:
    """The same filters with ``param`` (a list parameter, or ``workspace``) set to ``value`` alone: what a
    click on a value opens. None when the store does not know the value."""
    known: dict[str, Collection[str]] = {
        MODELS: allowed.models,
        PROVIDERS: allowed.providers,
        APPS: allowed.apps,
        KEYS: allowed.keys,
        MEMBERS: allowed.members,
        TEAMS: allowed.teams,
        ACCOUNTS: allowed.accounts,
        WORKSPACE: allowed.workspaces,
    }
    if param not in known or value not in known[param]:
        return None
    if param == WORKSPACE:
        return replace(filters, workspace=value)
    lists: dict[str, tuple[str, ...]] = {name: getattr(filters, name) for name in LIST_PARAMS}
    lists[param] = (value,)
    return replace(
        filters,
        models=lists[MODELS],
        providers=lists[PROVIDERS],
        apps=lists[APPS],
        keys=lists[KEYS],
        members=lists[MEMBERS],
        teams=lists[TEAMS],
        accounts=lists[ACCOUNTS],
    )
