"""Streamlit entry point: ``ORUSAGE_DB=... streamlit run dashboard/app.py``.

Each run opens at most one read-only connection to the published snapshot (lazily, only when a cached
read misses) and closes it before the run ends; nothing holds the database between runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import streamlit as st

from dashboard import data, filters, ui
from dashboard.context import PageContext
from dashboard.views import overview
from queries import reads
from queries.errors import OrusageError

APP_TITLE = "openrouter-usage"

Render = Callable[[PageContext], None]


def _page(render: Render, db: Path, ctx: PageContext | None, error: OrusageError | None) -> Callable[[], None]:
    """Wrap a page so that every page gets the same empty state and one-line store errors."""

    def page() -> None:
        if error is not None:
            ui.store_error(error)
        elif ctx is None:
            ui.empty_state(db)
        else:
            try:
                render(ctx)
            except reads.NoSnapshotError:
                ui.empty_state(db)
            except OrusageError as exc:
                ui.store_error(exc)

    return page


def _context(reader: reads.PageReader, db: Path, version: str, today: date) -> PageContext | None:
    """Draw the shared sidebar and gather what pages need; ``None`` when nothing was ingested yet."""
    if version == "none":
        return None
    try:
        meta = data.meta(reader, str(db), version)
    except reads.NoSnapshotError:
        return None
    chosen = filters.sidebar(today, meta.bounds.first, meta.model_labels, meta.model_order)
    ui.data_as_of(meta.as_of)
    return PageContext(reader=reader, db=str(db), version=version, today=today, meta=meta, filters=chosen)


def main() -> None:
    st.set_page_config(page_title=APP_TITLE, page_icon=":material/monitoring:", layout="wide")
    st.sidebar.markdown(f"## {APP_TITLE}")
    db = reads.default_db_path()
    version = reads.snapshot_version(db)
    with reads.PageReader(db) as reader:
        ctx: PageContext | None = None
        error: OrusageError | None = None
        try:
            ctx = _context(reader, db, version, reads.today_utc())
        except OrusageError as exc:
            error = exc
        st.sidebar.caption("All days are UTC.")
        pages = [
            st.Page(
                _page(overview.render, db, ctx, error),
                title=overview.TITLE,
                icon=":material/dashboard:",
                url_path="overview",
                default=True,
            ),
        ]
        st.navigation(pages).run()


main()
