"""The Generations page's controls in session state, seeded from the link and mirrored back into it.

The entry script calls ``current`` before the page draws, so the address bar always carries the view
shown (``gen_url.encode``). Widget state is dropped by Streamlit once a page stops drawing its widgets, so
a missing key means "(re)opened": the link seeds it again, as for a reload or a shared link.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from dashboard import gen_url
from dashboard.filters import url_params
from queries.filters import Filters

SORT_KEY = "g_sort"
ORDER_KEY = "g_desc"
SEARCH_KEY = "g_search"
FINISH_KEY = "g_finish"
TAG_KEY = "g_tags"
GROUP_KEY = "g_group_tag"  # the tag key the page groups by (not in the link: a view of the rows, not a filter)
PAGE_KEY = "g_page"
ROWS_KEY = "g_rows"
SELECTED_KEY = "g_selected"  # the id whose details are shown
_ASKED = "g_asked"  # what the rows were last asked for: another question starts again at page 1
NOTES_KEY = "g_notes"


def _seed() -> None:
    view, notes = gen_url.parse(url_params())
    state = st.session_state
    state[SORT_KEY] = view.sort
    state[ORDER_KEY] = view.descending
    state[SEARCH_KEY] = view.search
    state[FINISH_KEY] = list(view.finish)
    state[TAG_KEY] = list(view.tags)
    state[PAGE_KEY] = view.page
    state[ROWS_KEY] = view.rows
    state[NOTES_KEY] = list(notes)


def current(filters: Filters) -> gen_url.View:
    """The view the page will show; resets to page 1 whenever the rows asked for change."""
    state = st.session_state
    if SORT_KEY not in state:
        _seed()
        state[_ASKED] = None  # a link's page number stands
    view = gen_url.View(
        sort=str(state[SORT_KEY]),
        descending=bool(state[ORDER_KEY]),
        search=str(state[SEARCH_KEY]).strip(),
        finish=tuple(str(f) for f in state.get(FINISH_KEY) or ()),
        tags=tuple(str(t) for t in state.get(TAG_KEY) or ()),
        page=int(state.get(PAGE_KEY) or 1),
        rows=int(state[ROWS_KEY]),
    )
    asked = (filters, view.sort, view.descending, view.search, view.finish, view.tags, view.rows)
    if state.get(_ASKED) is not None and state[_ASKED] != asked and view.page != 1:
        state[PAGE_KEY] = 1
        view = replace(view, page=1)
    state[_ASKED] = asked
    return view


def pop_notes() -> list[str]:
    notes = st.session_state.pop(NOTES_KEY, None)
    return list(notes) if notes else []
