"""Page pieces shared by every page: the empty state, store errors, data freshness."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import format as fmt
from queries.errors import OrusageError
from queries.reads import DataAsOf

EMPTY_TITLE = "No data yet"


def empty_state(db_path: Path) -> None:
    """Shown instead of the charts until the first ingest has published a snapshot."""
    st.title(EMPTY_TITLE)
    st.markdown(
        f"Nothing has been ingested into `{db_path}` yet. Fill it with one of these, using the same "
        "`ORUSAGE_DB`, then reload this page."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Your OpenRouter account** — needs a management key from your OpenRouter settings:")
        st.code("export OPENROUTER_MANAGEMENT_KEY=sk-or-v1-...\norusage ingest", language="bash")
    with right:
        st.markdown("**Just looking** — demo data from a fake OpenRouter, no key needed:")
        st.code("orusage demo", language="bash")


def store_error(error: OrusageError) -> None:
    """A known failure (locked, damaged, unreadable store…): its one line, never a traceback."""
    st.error(str(error), icon=":material/error:")


def data_as_of(as_of: DataAsOf) -> None:
    if as_of.finished_at is None:
        st.sidebar.caption("Data as of: no finished ingest recorded.")
        return
    if as_of.status == "ok":
        st.sidebar.caption(f"Data as of {fmt.utc_time(as_of.finished_at)} (last finished ingest).")
        return
    # The failed run still published what it finished, so the data may be newer than the last ok run.
    ok = fmt.utc_time(as_of.last_ok_at) if as_of.last_ok_at else "never"
    st.sidebar.caption(f"Data as of {fmt.utc_time(as_of.finished_at)} (last finished ingest).")
    st.sidebar.warning(
        f"That ingest ended “{as_of.status}”: {as_of.message or 'no message'}. Last complete one: {ok}.",
        icon=":material/warning:",
    )
