"""Generations: every stored generation record for the sidebar's days and filters, searched, sorted and
paged on the server (a page of rows reaches the browser, never the table), the details of one, and the
filtered rows as a capped CSV or Parquet file built only when asked for."""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from core import clock, fmt
from core.errors import OrusageError
from dashboard import data, gen_state, gen_url, parts, ui
from dashboard.context import PageContext
from dashboard.parts import Whole
from dashboard.ui import filter_summary
from queries.generations_reads import SEARCH_MAX, SORTS, GenerationQuery
from queries.reads_routing import Dim

TITLE = "Generations"
DOWNLOAD_CAP = 100_000  # rows in a file from the page; `orusage export` has no cap
TABLE_KEY = "g_table"
LIVE_ROWS = 10
LIVE_REFRESH_S = 10  # the live panel re-reads the snapshot this often (a new one appears at most every minute)

COLUMNS = {
    "created_at": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss", pinned=True),
    "model_label": st.column_config.TextColumn("Model"),
    "provider": st.column_config.TextColumn("Provider"),
    "app": st.column_config.TextColumn("App"),
    "key_label": st.column_config.TextColumn("API key"),
    "prompt": st.column_config.NumberColumn("Prompt", format="%,d", help="Prompt tokens"),
    "completion": st.column_config.NumberColumn("Completion", format="%,d", help="Completion tokens"),
    "reasoning": st.column_config.NumberColumn("Reasoning", format="%,d", help="Reasoning tokens (native)"),
    "cached": st.column_config.NumberColumn("Cached", format="%,d", help="Cached prompt tokens (native)"),
    "spend": st.column_config.NumberColumn("Spend", format="$%.5f", help="Credits charged + BYOK inference"),
    "latency": st.column_config.NumberColumn("Latency (ms)", format="%,d", help="Time to first token"),
    "generation_time": st.column_config.NumberColumn("Generation (ms)", format="%,d"),
    "throughput": st.column_config.NumberColumn("Tokens/s", format="%.1f", help="Completion tokens per second"),
    "finish_reason": st.column_config.TextColumn("Finish"),
    "tags": st.column_config.TextColumn("Tags", help="The request's trace metadata, as OpenRouter Broadcast sent it"),
    "source": st.column_config.TextColumn(
        "Source", help="api: /generation · export: the website's export · broadcast: OpenRouter Broadcast alone"
    ),
    "id": st.column_config.TextColumn("Generation id"),
}
BY_TAG_COLUMNS = {
    "value": st.column_config.TextColumn("Value", pinned=True),
    "generations": st.column_config.NumberColumn("Generations", format="%,d"),
    "spend": st.column_config.NumberColumn("Spend", format="$%.4f"),
    "tokens": st.column_config.NumberColumn("Tokens", format="%,d"),
    "share": st.column_config.ProgressColumn("Share of spend", format="percent", min_value=0.0, max_value=1.0),
}

# The detail view's groups of stored columns; the rest are listed under "Everything else".
GROUPS: dict[str, tuple[str, ...]] = {
    "Who and where": (
        "model",
        "model_permaslug",
        "provider_name",
        "app",
        "app_name",
        "api_key_current_name",
        "api_key_name",
        "workspace",
        "origin",
        "http_referer",
        "external_user",
        "user_agent",
    ),
    "Tokens": (
        "tokens_prompt",
        "tokens_completion",
        "native_tokens_prompt",
        "native_tokens_completion",
        "native_tokens_reasoning",
        "native_tokens_cached",
        "native_tokens_completion_images",
    ),
    "Cost": (
        "spend",
        "usage",
        "total_cost",
        "cache_discount",
        "upstream_inference_cost",
        "byok_usage_inference",
        "is_byok",
        "cost_web_search",
        "cost_cache",
        "cost_file_processing",
    ),
    "Timing": ("latency", "generation_time", "moderation_latency", "time_to_first_token_ms", "streamed", "cancelled"),
}
HIDDEN = ("id", "created_at", "provider_responses", "api_key_hash", "workspace_id", "app_id")


def render(ctx: PageContext) -> None:
    st.title(TITLE)
    f = ctx.filters
    st.caption(f"Per-generation records · {fmt.day_range(f.start, f.end)} (UTC) · {filter_summary(ctx)}")
    _live(ctx.store.db)
    if f.values(Dim.MEMBER) or f.team_problem:
        why = f"Teams: {f.team_problem}." if f.team_problem else "Generation records name no organization member."
        st.warning(
            f"**Generations** cannot be shown for these filters. {why} Clear the member or team filter to see them.",
            icon=":material/block:",
        )
        return
    stored, first, last = data.generations_stored(ctx.store)
    if stored == 0:
        st.info(
            "No generation records stored yet. `orusage ingest` fetches the recent ones from `/generation` "
            "(set `ORUSAGE_GENERATIONS_CAP` for how many per run); `orusage import <export.csv>` loads the "
            "activity export from openrouter.ai, which reaches further back.",
            icon=":material/info:",
        )
        return
    notes = gen_state.pop_notes()
    if notes:
        st.warning("Ignored from the link: " + "; ".join(notes) + ".", icon=":material/link_off:")
    if first is not None and last is not None and (f.end < first.date() or f.start > last.date()):
        st.info(
            f"The store holds {stored:,} generation records, from {fmt.utc_time(first)} to {fmt.utc_time(last)}: "
            f"none in {f.label}. Pick another date range in the sidebar.",
            icon=":material/history_toggle_off:",
        )
        return
    view = gen_state.current(f)  # already brought in line by the entry script; cheap
    query = _controls(ctx, view)
    totals = data.generation_totals(ctx.store, query)
    pages = max(1, math.ceil(totals.rows / view.rows))
    if view.page > pages:
        st.session_state[gen_state.PAGE_KEY] = pages
    page = min(view.page, pages)
    offset = (page - 1) * view.rows
    rows = data.generation_page(ctx.store, query, offset, view.rows)
    matches = "generation matches" if totals.rows == 1 else "generations match"
    shown = f" · showing {offset + 1:,}–{offset + len(rows):,}" if len(rows) else ""
    st.caption(
        f"**{totals.rows:,}** {matches} · spend {fmt.usd(totals.spend)} · {fmt.tokens(totals.tokens)} tokens{shown}. "
        f"Records are stored from {fmt.utc_time(first)} to {fmt.utc_time(last)}."
    )
    if rows.empty:
        st.info("No generation record matches these filters and this search.", icon=":material/search_off:")
    else:
        _table(ctx, rows)
    left, right = st.columns([1, 3], vertical_alignment="center")
    with left:
        st.number_input("Page", min_value=1, max_value=pages, step=1, key=gen_state.PAGE_KEY)
    with right:
        st.caption(f"of {pages:,} pages of {view.rows} rows")
    _details(ctx)
    _by_tag(ctx, query)
    st.divider()
    _downloads(ctx, query, totals.rows)


@st.fragment(run_every=LIVE_REFRESH_S)
def _live(db: str) -> None:
    """Generations as OpenRouter Broadcast delivers them (`orusage receive`), whatever the sidebar says:
    re-read on a timer, so a page left open shows each new snapshot. Nothing at all without Broadcast."""
    today = clock.utcnow().date()  # deliveries arrive on the wall clock, whatever day the data says
    try:
        feed = data.live_feed(db, today, LIVE_ROWS)
    except OrusageError:  # the snapshot went away between two looks: the next re-read shows it again
        return
    if feed is None or feed.ever == 0:
        return
    latest = feed.latest
    with st.container(border=True):
        last = f" · last {fmt.utc_time(feed.last_received_at)}" if feed.last_received_at else ""
        st.markdown(f"**Live feed** · {feed.today:,} received today (UTC){last}")
        if latest.empty:
            return
        shown = pd.DataFrame(
            {
                "Received (UTC)": [f"{t:%H:%M:%S}" for t in latest["received_at"]],
                "Generation id": latest["id"],
                "Model": latest["model"].fillna("—"),
                "API key": latest["api_key"].fillna("—"),
                "Tokens": [f"{int(n):,}" for n in latest["tokens"]],
                "Spend": [fmt.usd(float(v)) for v in latest["spend"]],
                "Tags": latest["tags"].fillna(""),
            }
        )
        st.table(shown.set_index("Received (UTC)"))
        newest = "The newest generation" if len(latest) == 1 else f"The {len(latest)} newest generations"
        st.caption(
            f"{newest} OpenRouter Broadcast delivered, whatever the filters, re-read every {LIVE_REFRESH_S} s "
            "(`orusage receive` publishes what arrived once a minute by default). The records below cover the "
            "sidebar's completed days."
        )


def _by_tag(ctx: PageContext, query: GenerationQuery) -> None:
    """The matching records grouped by one tag's values: adds up to the totals above."""
    f = ctx.filters
    keys = data.tag_keys(ctx.store, f.start, f.end)
    if not keys:
        return
    st.markdown("#### By tag")
    if st.session_state.get(gen_state.GROUP_KEY) not in keys:
        st.session_state[gen_state.GROUP_KEY] = keys[0]
    key = st.selectbox(
        "Group by tag",
        keys,
        key=gen_state.GROUP_KEY,
        help="A key of the requests' trace metadata (sent with OpenRouter Broadcast). Records without it are "
        "one row, so the groups add up to the totals above.",
    )
    ui.table(
        ctx,
        data.generations_by_tag(ctx.store, query, str(key)),
        f"generations_by_tag_{key}",
        BY_TAG_COLUMNS,
        split=Whole("per-generation records by tag (they add up to the records' totals above, not the routed facts)"),
    )


def _controls(ctx: PageContext, view: gen_url.View) -> GenerationQuery:
    f = ctx.filters
    search, finish, tags, sort, order, size = st.columns([3, 2, 2, 2, 1, 1], vertical_alignment="bottom")
    search.text_input(
        "Search",
        key=gen_state.SEARCH_KEY,
        max_chars=SEARCH_MAX,
        placeholder="generation id, request id, session id or user",
        help="Part of a generation id, request id, session id or external user id (case-sensitive).",
    )
    options = list(dict.fromkeys([*data.finish_reasons(ctx.store, f.start, f.end), *view.finish]))
    finish.multiselect("Finish reason", options, key=gen_state.FINISH_KEY, placeholder="Any")
    tag_options = list(dict.fromkeys([*data.tag_options(ctx.store, f.start, f.end), *view.tags]))
    tags.multiselect(
        "Tag",
        tag_options,
        key=gen_state.TAG_KEY,
        placeholder="Any",
        help="KEY=VALUE from the requests' trace metadata (OpenRouter Broadcast); any of the chosen tags.",
    )
    sort.selectbox("Sort by", list(SORTS), format_func=lambda s: SORTS[s][0], key=gen_state.SORT_KEY)
    order.toggle("Desc", key=gen_state.ORDER_KEY, help="Descending: newest, largest or Z first")
    size.selectbox("Rows", list(gen_url.ROW_CHOICES), key=gen_state.ROWS_KEY)
    return GenerationQuery(
        filters=f,
        search=view.search,
        finish_reasons=view.finish,
        tags=view.tags,
        sort=view.sort,
        descending=view.descending,
    )


def _picked(ids: tuple[str, ...]) -> None:
    rows = (st.session_state.get(TABLE_KEY) or {}).get("selection", {}).get("rows") or []
    if rows and 0 <= rows[0] < len(ids):
        st.session_state[gen_state.SELECTED_KEY] = ids[rows[0]]


def _table(ctx: PageContext, rows: pd.DataFrame) -> None:
    shown = rows.assign(
        model_label=[ctx.meta.model_label(str(m)) if m is not None else "—" for m in rows["model"]],
        key_label=[ctx.meta.key_label(str(k)) if isinstance(k, str) else "—" for k in rows["key"]],
    )
    st.dataframe(
        shown[list(COLUMNS)],
        hide_index=True,
        width="stretch",
        column_config=dict(COLUMNS),
        key=TABLE_KEY,
        on_select=partial(_picked, tuple(str(i) for i in rows["id"])),
        selection_mode="single-row",
    )
    parts.record("generations_table", Whole("a page of records, not a split of a total"), shown)


def _details(ctx: PageContext) -> None:
    chosen = st.session_state.get(gen_state.SELECTED_KEY)
    if not isinstance(chosen, str):
        st.caption("Select a row to see everything stored about that generation.")
        return
    record = data.generation_detail(ctx.store, chosen)
    if record is None:
        st.caption("The selected generation is no longer in the store.")
        return
    st.markdown(f"#### `{chosen}`")
    st.caption(
        f"{fmt.utc_time(record['created_at'])} · source: {record['source']}"
        + (f" · fetched {fmt.utc_time(record['fetched_at'])}" if record.get("fetched_at") else "")
        + (f" · imported {fmt.utc_time(record['imported_at'])}" if record.get("imported_at") else "")
        + (f" · received through Broadcast {fmt.utc_time(record['received_at'])}" if record.get("received_at") else "")
        + (f" · tags: {record['tags']}" if record.get("tags") else "")
    )
    spend, tokens, latency, speed = st.columns(4)
    spend.metric("Spend", fmt.usd(record["spend"]))
    tokens.metric(
        "Tokens",
        fmt.tokens((record["tokens_prompt"] or 0) + (record["tokens_completion"] or 0)),
        help=f"{record['tokens_prompt'] or 0:,} prompt + {record['tokens_completion'] or 0:,} completion",
        delta=None,
    )
    latency.metric("Latency", _ms(record["latency"]))
    speed.metric("Generation time", _ms(record["generation_time"]))
    grouped = set(HIDDEN)
    cells = [cell for _ in range(2) for cell in st.columns(2)]
    for cell, (title, names) in zip(cells, GROUPS.items(), strict=True):
        with cell:
            st.markdown(f"**{title}**")
            st.table(_pairs(record, names))
        grouped.update(names)
    rest = [name for name in record if name not in grouped]
    with st.expander("Everything else stored"):
        st.table(_pairs(record, rest))
    tried = _providers(record.get("provider_responses"))
    if tried is not None:
        with st.expander(f"Providers tried ({len(tried)})"):
            st.dataframe(pd.DataFrame(tried), hide_index=True, width="stretch")
            parts.record("generation_attempts", Whole("the providers one generation tried"), pd.DataFrame(tried))


def _pairs(record: dict[str, Any], names: Any) -> pd.DataFrame:
    values = [(name, record[name]) for name in names if name in record and not _empty(record[name])]
    return pd.DataFrame({"field": [n for n, _ in values], "value": [_shown(n, v) for n, v in values]}).set_index(
        "field"
    )


def _shown(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in GROUPS["Cost"] and isinstance(value, float):
        return fmt.usd_precise(value)
    if name in GROUPS["Timing"] and isinstance(value, float):
        return _ms(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _ms(value: Any) -> str:
    if _empty(value):
        return "—"
    ms = float(value)
    return f"{ms / 1000:,.1f} s" if ms >= 10_000 else f"{ms:,.0f} ms"


def _providers(text: Any) -> list[dict[str, Any]] | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return [p for p in parsed if isinstance(p, dict)] if isinstance(parsed, list) else None


def _downloads(ctx: PageContext, query: GenerationQuery, matching: int) -> None:
    st.markdown("#### Download these rows")
    rows = min(matching, DOWNLOAD_CAP)
    f = ctx.filters
    name = f"orusage_generations_{f.start:%Y%m%d}-{f.end:%Y%m%d}"
    left, right, note = st.columns([1, 1, 3], vertical_alignment="center")
    for column, kind, mime in ((left, "csv", "text/csv"), (right, "parquet", "application/vnd.apache.parquet")):
        column.download_button(
            f"{kind.upper()} ({rows:,} rows)",
            # Built on click, on its own connection: drawing the page never reads more than a page of rows.
            partial(data.generations_file, ctx.store.db, query, DOWNLOAD_CAP, kind),
            file_name=f"{name}.{kind}",
            mime=mime,
            key=f"g_download_{kind}",
            on_click="ignore",
            icon=":material/download:",
            disabled=matching == 0,
        )
    capped = (
        f"The first {DOWNLOAD_CAP:,} of {matching:,} rows, in the table's order. "
        if matching > DOWNLOAD_CAP
        else "Every matching row, every stored column. "
    )
    note.caption(
        capped + "For everything, or for another engine: `orusage export --format parquet` "
        "(see docs/weekly-review.md, “Export”)."
    )
