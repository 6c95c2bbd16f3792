"""The Explore page's controls and the breakdown pages' per-day chart in session state, seeded from the link
and mirrored back into it (as ``gen_state`` does for the Generations page).

The entry script calls ``explore`` or ``per_day`` before the page draws, so the address bar always carries
the view shown. A missing key means the page was (re)opened: the link seeds it again.
"""

from __future__ import annotations

import streamlit as st

from dashboard import explore_url
from dashboard.filters import url_params

BY_KEY = "x_by"
THEN_KEY = "x_then"
METRIC_KEY = "x_metric"
TOP_KEY = "x_top"
PER_DAY_KEY = "per_day"  # one for every breakdown page: the choice follows from page to page
NOTES_KEY = "x_notes"


def _note(notes: tuple[str, ...]) -> None:
    if notes:
        st.session_state[NOTES_KEY] = [*st.session_state.get(NOTES_KEY, []), *notes]


def explore() -> explore_url.View:
    """The Explore page's view (seeded from the link when the page is (re)opened)."""
    state = st.session_state
    if BY_KEY not in state:
        view, notes = explore_url.parse(url_params())
        state[BY_KEY], state[THEN_KEY], state[METRIC_KEY], state[TOP_KEY] = view.by, view.then, view.metric, view.top
        _note(notes)
    by = str(state[BY_KEY])
    then = str(state.get(THEN_KEY) or explore_url.NONE)
    if then == by:  # (``by_changed`` keeps the widgets apart; this is for state set any other way)
        then = explore_url.NONE
    return explore_url.View(by, then, str(state.get(METRIC_KEY) or "spend"), int(state.get(TOP_KEY) or 10))


def by_changed() -> None:
    """A widget callback: "group by" took what "then by" held, so "then by" gives way."""
    if st.session_state.get(THEN_KEY) == st.session_state.get(BY_KEY):
        st.session_state[THEN_KEY] = explore_url.NONE


def then_changed() -> None:
    """A widget callback: "then by" took what "group by" held, so they swap."""
    state = st.session_state
    if state.get(THEN_KEY) == state.get(BY_KEY):
        state[THEN_KEY] = explore_url.NONE


def per_day() -> str:
    """The breakdown pages' per-day metric (seeded from the link when no breakdown page drew it last)."""
    state = st.session_state
    if PER_DAY_KEY not in state:
        metric, notes = explore_url.parse_per_day(url_params())
        state[PER_DAY_KEY] = metric
        _note(notes)
    return str(state.get(PER_DAY_KEY) or "spend")


def pop_notes() -> list[str]:
    notes = st.session_state.pop(NOTES_KEY, None)
    return list(notes) if notes else []
