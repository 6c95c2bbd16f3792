"""The one sidebar of filters every page shares, kept in the URL's query string.

The widgets' values live in session state under fixed keys, so they survive page switches. The query
string mirrors them: it seeds the widgets once per browser session (a shared link, a reload), and is
rewritten after every run, because Streamlit clears it when the user switches pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import streamlit as st

from dashboard import urlstate
from dashboard.data import Meta
from queries.filters import CUSTOM, DEFAULT_RANGE, RANGES, Filters, range_days, team_scope

__all__ = ["Filters", "clear", "reseed_from_url", "sidebar", "write_url"]

# Widget keys: stable, so the choice survives page switches and tests can find the widgets.
RANGE_KEY = "f_range"
CUSTOM_KEY = "f_custom"
MODELS_KEY = "f_models"
PROVIDERS_KEY = "f_providers"
APPS_KEY = "f_apps"
KEYS_KEY = "f_keys"
WORKSPACE_KEY = "f_workspace"
MEMBERS_KEY = "f_members"
TEAMS_KEY = "f_teams"
ACCOUNTS_KEY = "f_accounts"
_SEEDED = "f_seeded"  # the URL has been read into the widgets for this session
NOTES_KEY = "f_notes"  # what the URL held that was dropped, shown once


# The list widgets, each under its field's (and URL parameter's) name.
LIST_KEYS: dict[str, str] = {
    urlstate.MODELS: MODELS_KEY,
    urlstate.PROVIDERS: PROVIDERS_KEY,
    urlstate.APPS: APPS_KEY,
    urlstate.KEYS: KEYS_KEY,
    urlstate.MEMBERS: MEMBERS_KEY,
    urlstate.TEAMS: TEAMS_KEY,
    urlstate.ACCOUNTS: ACCOUNTS_KEY,
}


def custom_range(picked: Any, fallback: tuple[date, date]) -> tuple[date, date]:
    """Read ``st.date_input``'s value: a pair, or a single day while the user is still picking."""
    if isinstance(picked, date):
        return picked, picked
    chosen = [d for d in (picked or ()) if isinstance(d, date)]
    if not chosen:
        return fallback
    start, end = chosen[0], chosen[-1]
    return (start, end) if start <= end else (end, start)


def url_params() -> dict[str, list[str]]:
    """The current query string, every key with all its values."""
    return {name: st.query_params.get_all(name) for name in st.query_params}


def _seed(meta: Meta, today: date) -> None:
    """Once per session: the URL's filters into the widgets (what is not allowed is dropped, noted)."""
    chosen, notes = urlstate.parse(url_params(), meta.allowed(), today)
    state = st.session_state
    state[RANGE_KEY] = chosen.range
    if chosen.range == CUSTOM:
        state[CUSTOM_KEY] = (chosen.start, chosen.end)
    for name, key in LIST_KEYS.items():
        state[key] = list(getattr(chosen, name))
    state[WORKSPACE_KEY] = chosen.workspace or ""
    state[NOTES_KEY] = list(notes)
    state[_SEEDED] = True


def reseed_from_url() -> None:
    """Read the widgets from the query string again on the next run.

    ``st.switch_page`` drops every widget's state (its rerun carries none), so whoever calls it passes
    the filters as query parameters and calls this first.
    """
    st.session_state[_SEEDED] = False


def _keep_known(key: str, allowed: Sequence[str]) -> None:
    # A new snapshot may no longer know a value chosen earlier in the session.
    known = set(allowed)
    current = st.session_state.get(key) or []
    st.session_state[key] = [v for v in current if v in known]


def clear() -> None:
    """Back to the defaults (a button callback)."""
    st.session_state[RANGE_KEY] = DEFAULT_RANGE
    st.session_state.pop(CUSTOM_KEY, None)
    for key in LIST_KEYS.values():
        st.session_state[key] = []
    st.session_state[WORKSPACE_KEY] = ""


def _label_of(labels: Mapping[str, str]) -> Any:
    return lambda value: labels.get(value, value)


def sidebar(meta: Meta, today: date) -> Filters:
    """Draw the filters in the sidebar and return what they select."""
    if not st.session_state.get(_SEEDED):
        _seed(meta, today)
    for key, allowed in (
        (MODELS_KEY, meta.models),
        (PROVIDERS_KEY, meta.providers),
        (APPS_KEY, meta.apps),
        (KEYS_KEY, meta.keys),
        (MEMBERS_KEY, meta.members),
        (TEAMS_KEY, tuple(meta.teams)),
        (ACCOUNTS_KEY, meta.accounts),
    ):
        _keep_known(key, allowed)
    if st.session_state.get(WORKSPACE_KEY) not in ("", *meta.workspaces):
        st.session_state[WORKSPACE_KEY] = ""
    if st.session_state.get(RANGE_KEY) not in RANGES:
        st.session_state[RANGE_KEY] = DEFAULT_RANGE

    side = st.sidebar
    side.markdown("#### Filters")
    notes = st.session_state.pop(NOTES_KEY, None)
    if notes:
        side.warning(
            "Ignored from the link: " + "; ".join(notes) + ".",
            icon=":material/link_off:",
        )
    range_key = str(
        side.selectbox(
            "Date range (UTC)",
            list(RANGES),
            format_func=RANGES.__getitem__,
            key=RANGE_KEY,
            help="Completed UTC days. Today is still running: it counts only in the “so far” figures.",
        )
    )
    yesterday = today - timedelta(days=1)
    if range_key == CUSTOM:
        default = range_days(DEFAULT_RANGE, today)
        if CUSTOM_KEY not in st.session_state:
            st.session_state[CUSTOM_KEY] = default
        picked = side.date_input(
            "From – to (UTC)",
            min_value=urlstate.oldest_day(today),
            max_value=yesterday,
            key=CUSTOM_KEY,
            format="YYYY-MM-DD",
            help=f"Activity is stored from {meta.bounds.first:%Y-%m-%d}; analytics reach back a year."
            if meta.bounds.first
            else None,
        )
        start, end = custom_range(picked, default)
    else:
        start, end = range_days(range_key, today)
    models = side.multiselect(
        "Models",
        list(meta.models),
        format_func=_label_of(meta.model_labels),
        placeholder="All models",
        key=MODELS_KEY,
    )
    providers = side.multiselect("Providers", list(meta.providers), placeholder="All providers", key=PROVIDERS_KEY)
    apps = side.multiselect(
        "Apps",
        list(meta.apps),
        placeholder="All apps",
        key=APPS_KEY,
        help="As OpenRouter's analytics name them; “unattributed” is traffic that sent no app title or origin.",
    )
    keys = side.multiselect(
        "API keys",
        list(meta.keys),
        format_func=_label_of(meta.key_labels),
        placeholder="All API keys",
        key=KEYS_KEY,
    )
    workspace = side.selectbox(
        "Workspace",
        ["", *meta.workspaces],
        format_func=lambda w: w or "All workspaces",
        key=WORKSPACE_KEY,
    )
    members = side.multiselect(
        "Members",
        list(meta.members),
        format_func=meta.member_label,
        placeholder="All members" if meta.members else "No member traffic stored",
        key=MEMBERS_KEY,
        help="Organization members, as OpenRouter's analytics name them (a year back).",
    )
    teams = side.multiselect(
        "Teams",
        list(meta.teams),
        placeholder="All teams" if meta.teams else "No teams stored",
        key=TEAMS_KEY,
        help="The teams of the alerts config, as the last `orusage alerts check` resolved them. On the Teams "
        "page and on Explore by team, a team is its line of the allocation (each dollar counted once); elsewhere "
        "it filters by its keys (a workspace: its keys), its apps or its members, as its budgets count them. "
        "Teams of tags are not listed: only per-generation records know tags (the Generations page filters by "
        "tag).",
    )
    chosen_accounts = (
        side.multiselect(
            "Accounts",
            list(meta.accounts),
            placeholder="All accounts",
            key=ACCOUNTS_KEY,
            help="The OpenRouter accounts this store holds (OPENROUTER_MANAGEMENT_KEYS' names).",
        )
        if len(meta.accounts) > 1
        else []
    )
    side.button("Clear filters", on_click=clear, icon=":material/filter_alt_off:", type="tertiary")
    return Filters(
        start,
        end,
        range_key,
        models=tuple(models),
        providers=tuple(providers),
        apps=tuple(apps),
        keys=tuple(keys),
        workspace=str(workspace) or None,
        members=tuple(members),
        teams=tuple(teams),
        team=team_scope(tuple(teams), meta.teams),
        accounts=tuple(chosen_accounts),
    )


def write_url(filters: Filters, extra: Mapping[str, str | list[str]] | None = None) -> None:
    """Make the address bar show exactly these filters (plus a page's own parameters)."""
    wanted: dict[str, str | list[str]] = {**urlstate.encode(filters), **(extra or {})}
    current = url_params()
    normal = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if current != normal:
        st.query_params.from_dict(wanted)
