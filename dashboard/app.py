"""Streamlit entry point: ``ORUSAGE_DB=... streamlit run dashboard/app.py``.

Order of a run: the gate (sign-in and/or password, when set up: ``dashboard.gate``) before anything else; then
the snapshot version the run reads (``PageReader.pin``: the process keeps one read-only connection per
version, ``queries.snapshots``; a run reads through a cursor of its own, made only when a cached read
misses), the shared sidebar, the address bar brought in line with the filters, and the page. Nothing but
that kept connection to a published (never rewritten) snapshot outlives a run.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import clock, settings
from core.errors import OrusageError
from dashboard import data, explore_url, filters, gate, gen_state, gen_url, parts, ui, urlstate, view_state
from dashboard.context import PageContext, RunState, set_run
from queries import reads

APP_TITLE = "openrouter-usage"
NAV = Path(__file__).resolve().parent / "nav"
LAST_MODEL = "last_model"  # the model page shown last, for a menu click that carries no model

# (file, title, icon, url_path). The first page is the default one ("/").
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("overview.py", "Overview", ":material/dashboard:", "overview"),
    ("explore.py", "Explore", ":material/pivot_table_chart:", "explore"),
    ("models.py", "Models", ":material/neurology:", "models"),
    ("model.py", "Model detail", ":material/search_insights:", "model"),
    ("providers.py", "Providers", ":material/dns:", "providers"),
    ("apps.py", "Apps", ":material/apps:", "apps"),
    ("keys.py", "API keys", ":material/key:", "keys"),
    ("workspaces.py", "Workspaces", ":material/workspaces:", "workspaces"),
    ("members.py", "Members", ":material/group:", "members"),
    ("end_users.py", "End users", ":material/person:", "end-users"),
    ("teams.py", "Teams", ":material/groups:", "teams"),
    ("accounts.py", "Accounts", ":material/account_balance:", "accounts"),
    ("generations.py", "Generations", ":material/table_rows:", "generations"),
    ("weekly.py", "Weekly review", ":material/event_note:", "weekly"),
    ("budgets.py", "Budgets", ":material/savings:", "budgets"),
    ("health.py", "Data health", ":material/monitor_heart:", "health"),
)
MODEL_PAGE = "model"
GENERATIONS_PAGE = "generations"
EXPLORE_PAGE = "explore"
# Pages drawn by the one breakdown view: they share the per-day chart's choice (``per_day`` in the link).
BREAKDOWN_PAGES = ("providers", "apps", "keys", "workspaces", "members", "end-users", "accounts")
PEOPLE_PAGES = ("workspaces", "members", "end-users", "teams", "accounts")  # who spent it
REVIEW_PAGES = ("weekly", "budgets")
STORE_PAGES = ("health",)


def _pages() -> dict[str, st.Page]:
    return {
        url: st.Page(str(NAV / file), title=title, icon=icon, url_path=url, default=(i == 0))
        for i, (file, title, icon, url) in enumerate(PAGES)
    }


def _navigation(pages: dict[str, st.Page], hidden: bool = False) -> st.Page:
    if hidden:
        return st.navigation(list(pages.values()), position="hidden")
    usage = [page for url, page in pages.items() if url not in (*PEOPLE_PAGES, *REVIEW_PAGES, *STORE_PAGES)]
    people = [pages[url] for url in PEOPLE_PAGES if url in pages]
    review = [pages[url] for url in REVIEW_PAGES]
    store = [pages[url] for url in STORE_PAGES]
    return st.navigation({"Usage": usage, "Who spent it": people, "Review": review, "Store": store})


def _subject(meta: data.Meta) -> tuple[str | None, str | None]:
    """The Model detail page's model: the URL's, else the one shown last, else the biggest spender."""
    chosen, note = urlstate.subject(st.query_params.get_all(urlstate.MODEL), meta.allowed())
    if chosen is None:
        last = st.session_state.get(LAST_MODEL)
        chosen = last if last in meta.allowed().catalog else (meta.models[0] if meta.models else None)
    if chosen is not None:
        st.session_state[LAST_MODEL] = chosen
    return chosen, note


def _context(nav: st.Page, pages: dict[str, st.Page], store: data.Store, meta: data.Meta) -> PageContext:
    """The sidebar, a pending click on a model, the address bar: everything between the data and the page."""
    today = clock.today_utc()
    chosen = filters.sidebar(meta, today)
    ui.data_as_of(meta.as_of)
    target = st.session_state.pop(ui.GOTO_MODEL, None)
    if target in meta.allowed().catalog:
        # switch_page drops widget state: the filters travel in the query string and are read back from it.
        filters.reseed_from_url()
        st.switch_page(pages[MODEL_PAGE], query_params={**urlstate.encode(chosen), urlstate.MODEL: target})
    _follow_link(nav, pages, meta, chosen)
    model, note = _subject(meta) if nav.url_path == MODEL_PAGE else (None, None)
    extra: dict[str, str | list[str]] = {urlstate.MODEL: model} if model else {}
    if nav.url_path == GENERATIONS_PAGE:
        extra.update(gen_url.encode(gen_state.current(chosen)))
    if nav.url_path == EXPLORE_PAGE:
        extra.update(explore_url.encode(view_state.explore()))
    if nav.url_path in BREAKDOWN_PAGES:
        extra.update(explore_url.encode_per_day(view_state.per_day()))
    filters.write_url(chosen, extra)
    if note:
        st.warning(f"Ignored from the link: {note}.", icon=":material/link_off:")
    for dropped in view_state.pop_notes():
        st.warning(f"Ignored from the link: {dropped}.", icon=":material/link_off:")
    return PageContext(store=store, today=today, meta=meta, filters=chosen, model=model)


def _follow_link(nav: st.Page, pages: dict[str, st.Page], meta: data.Meta, chosen: filters.Filters) -> None:
    """A click on a value (``ui.GOTO_VIEW``): open its breakdown (this page when that one does not exist)
    with the filters as they are but that one set to the value, the way a link to it would."""
    goto = st.session_state.pop(ui.GOTO_VIEW, None)
    if not goto:
        return
    page, param, value = goto
    opened = urlstate.with_value(chosen, str(param), str(value), meta.allowed())
    if opened is None:
        return
    filters.reseed_from_url()
    st.switch_page(pages.get(str(page), nav), query_params=urlstate.encode(opened))


def main() -> None:
    st.set_page_config(page_title=APP_TITLE, page_icon=":material/monitoring:", layout="wide")
    pages = _pages()
    try:
        settings.dashboard_view()
    except OrusageError as exc:  # a bad setting: its one line, and nothing else (no page runs without settings)
        ui.store_error(exc)
        return
    if not gate.passed():
        # Resolve the page (the URL stays as it was) without drawing a menu or running anything.
        _navigation(pages, hidden=True)
        return
    gate.sign_out_button()
    db = reads.default_db_path()
    with reads.PageReader(db) as reader:
        nav = _navigation(pages)
        state = RunState(db=db, ctx=None)
        try:
            # The version this run reads from start to end, whatever is published meanwhile.
            version = reader.pin()
            if version != "none":
                store = data.Store(reader, str(db), version)
                state = RunState(db=db, ctx=_context(nav, pages, store, data.meta(store)))
        except reads.NoSnapshotError:
            pass  # nothing published: the empty state
        except OrusageError as exc:
            state = RunState(db=db, ctx=None, error=exc)
        st.sidebar.caption("All days are UTC.")
        set_run(state)
        parts.start_run()
        nav.run()


main()
