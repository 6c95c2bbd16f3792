"""Page pieces shared by every page: empty and error states, data freshness, what a route cannot show,
charts with their CSV download, and the clicks that open a model's page or a breakdown filtered to a value."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import altair as alt
import pandas as pd
import streamlit as st

from charts.base import PICK, Spec, vega_spec
from core import fmt
from core.errors import OrusageError
from dashboard import frames, parts
from dashboard.context import PageContext
from dashboard.parts import Split, Whole
from queries.reads import DataAsOf
from queries.reads_facts import OTHER
from queries.reads_routing import SOURCES_BY_NAME, Dim, Route, reach_note

AnyChart = Spec | alt.Chart | alt.LayerChart

# The Altair charts left (the budgets' forecast; the weekly report's, outside the dashboard) are built by code,
# not typed in by people: Altair's debug mode, which validates every object as it is made, only slows them down.
alt.utils.schemapi.disable_debug_mode()

EMPTY_TITLE = "No data yet"
GOTO_MODEL = "goto_model"  # set by a click on a model; the entry script opens that model's page
GOTO_VIEW = "goto_view"  # set by a click on a bar or row: (page, filter, value); the entry script opens it


@dataclass(frozen=True)
class Link:
    """Where a click on a value of ``field`` leads: ``page`` (its URL path) with the filter ``param`` (a URL
    parameter of ``dashboard.urlstate``) set to that value, the other filters kept."""

    page: str
    param: str
    field: str


# A value of each dimension opens that dimension's breakdown, filtered to it. Teams open the Teams page.
LINKS: dict[str, Link] = {
    "provider": Link("providers", "providers", "provider"),
    "app": Link("apps", "apps", "app"),
    "key": Link("keys", "keys", "key"),
    "member": Link("members", "members", "member"),
    "workspace": Link("workspaces", "workspace", "workspace"),
    "team": Link("teams", "teams", "team"),
    "account": Link("accounts", "accounts", "account"),
}
DIM_LINKS: dict[Dim, Link] = {
    Dim.PROVIDER: LINKS["provider"],
    Dim.APP: LINKS["app"],
    Dim.KEY: LINKS["key"],
    Dim.MEMBER: LINKS["member"],
    Dim.WORKSPACE: LINKS["workspace"],
    Dim.ACCOUNT: LINKS["account"],
}


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
    st.sidebar.caption(f"Data as of {fmt.utc_time(as_of.finished_at)} (last finished ingest).")
    if as_of.status == "ok":
        return
    # The failed run still published what it finished, so the data may be newer than the last ok run.
    ok = fmt.utc_time(as_of.last_ok_at) if as_of.last_ok_at else "never"
    st.sidebar.warning(
        f"That ingest ended “{as_of.status}”: {as_of.message or 'no message'}. Last complete one: {ok}.",
        icon=":material/warning:",
    )


def header(title: str, ctx: PageContext, what: str) -> None:
    """The page title and one line saying which days and filters it shows."""
    st.title(title)
    st.caption(f"{what} · {fmt.day_range(ctx.filters.start, ctx.filters.end)} (UTC) · {filter_summary(ctx)}")


def filter_summary(ctx: PageContext) -> str:
    f, m = ctx.filters, ctx.meta
    parts = []
    for values, one, label in (
        (f.models, "model", m.model_label),
        (f.providers, "provider", str),
        (f.apps, "app", str),
        (f.keys, "key", m.key_label),
        (f.members, "member", m.member_label),
        (tuple(f"team {t}" for t in f.teams), "team", str),
        (tuple(f"account {a}" for a in f.accounts), "account", str),
    ):
        if values:
            named = ", ".join(label(v) for v in values[:3])
            parts.append(named if len(values) <= 3 else f"{len(values)} {one}s")
    if f.workspace:
        parts.append(f"workspace {f.workspace}")
    return " · ".join(parts) if parts else "no filters"


def _once(ctx: PageContext, show: Callable[..., Any], text: str, icon: str) -> None:
    if text not in ctx.shown:
        ctx.shown.add(text)
        show(text, icon=icon)


def route_notes(ctx: PageContext, route: Route, what: str) -> bool:
    """Say what ``route`` cannot show (each note once per page); False when there is nothing to draw."""
    if route.end < route.start:
        _once(
            ctx,
            st.info,
            "No completed UTC day in this range yet: today is still running and only counts in the “so far” "
            "figures of the Overview.",
            ":material/schedule:",
        )
        return False
    if not route.answerable:
        _once(
            ctx, st.warning, f"**{what}** cannot be shown for these filters. {route.unanswerable}", ":material/block:"
        )
        return False
    beyond = [g for g in route.gaps if g.beyond_reach]
    missing = [g for g in route.gaps if not g.beyond_reach]
    if beyond:
        days = ", ".join(fmt.day_range(g.first, g.last) for g in beyond)
        _once(ctx, st.info, f"{days}: {reach_note(route)}.", ":material/history_toggle_off:")
    if missing:
        days = ", ".join(fmt.day_range(g.first, g.last) for g in missing)
        _once(
            ctx,
            st.info,
            f"{days}: not stored yet for this view. Run `orusage ingest`; the Data health page shows what is stored.",
            ":material/info:",
        )
    return route.has_data_days


def sources_caption(route: Route) -> str:
    """Which table answered which days, e.g. "analytics by model 2025-12-01 – 2026-10-20, activity …"."""
    return "Read from " + "; ".join(
        f"{SOURCES_BY_NAME[s.source].title} ({fmt.day_range(s.first, s.last)})" for s in route.segments
    )


def download(ctx: PageContext, frame: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """The chart's own data (already loaded for it) as CSV; only ever rendered after the password gate."""
    f = ctx.filters
    st.download_button(
        label,
        frames.csv_bytes(frame),
        file_name=f"orusage_{name}_{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv",
        mime="text/csv",
        key=f"download_{name}",
        on_click="ignore",
        type="tertiary",
        icon=":material/download:",
    )


def chart(
    ctx: PageContext,
    spec: AnyChart,
    frame: pd.DataFrame,
    name: str,
    alt_text: str,
    *,
    split: Split | Whole | None = None,
) -> None:
    """A chart (``alt_text`` for screen readers) and, under it, the CSV of the frame it was drawn from.
    ``split``: what total its rows add up to (``dashboard.parts``)."""
    st.vega_lite_chart(spec=vega_spec(spec), width="stretch", key=f"chart_{name}", alt=alt_text)
    download(ctx, frame, name)
    parts.record(name, split, frame)


def _picked_point(key: str) -> None:
    state = st.session_state.get(key)
    points = (state or {}).get("selection", {}).get(PICK) or []
    model = points[0].get("model") if points and isinstance(points[0], Mapping) else None
    if isinstance(model, str) and model != OTHER:
        st.session_state[GOTO_MODEL] = model


def model_chart(
    ctx: PageContext,
    spec: AnyChart,
    frame: pd.DataFrame,
    name: str,
    alt_text: str = "",
    *,
    split: Split | Whole | None = None,
) -> None:
    """A chart whose marks carry ``model``: a click opens that model's page."""
    key = f"chart_{name}"
    st.vega_lite_chart(
        spec=vega_spec(spec),
        width="stretch",
        key=key,
        on_select=partial(_picked_point, key),
        selection_mode=PICK,
        alt=alt_text or "Bar chart per model; a click on a model opens its page",
    )
    download(ctx, frame, name)
    parts.record(name, split, frame)


def _picked_value(key: str, link: Link) -> None:
    state = st.session_state.get(key)
    points = (state or {}).get("selection", {}).get(PICK) or []
    value = points[0].get(link.field) if points and isinstance(points[0], Mapping) else None
    if isinstance(value, str) and value != OTHER:
        st.session_state[GOTO_VIEW] = (link.page, link.param, value)


def link_chart(
    ctx: PageContext,
    spec: AnyChart,
    frame: pd.DataFrame,
    name: str,
    link: Link,
    alt_text: str,
    *,
    split: Split | Whole | None = None,
) -> None:
    """A chart whose marks carry ``link.field`` (a ``pick`` selection on it): a click opens the breakdown
    filtered to that value."""
    key = f"chart_{name}"
    st.vega_lite_chart(
        spec=vega_spec(spec),
        width="stretch",
        key=key,
        on_select=partial(_picked_value, key, link),
        selection_mode=PICK,
        alt=f"{alt_text}; a click on one opens its page",
    )
    download(ctx, frame, name)
    parts.record(name, split, frame)


def _picked_link_row(key: str, link: Link, values: Sequence[str]) -> None:
    state = st.session_state.get(key)
    rows = (state or {}).get("selection", {}).get("rows") or []
    if rows and 0 <= rows[0] < len(values) and values[rows[0]] != OTHER:
        st.session_state[GOTO_VIEW] = (link.page, link.param, values[rows[0]])


def link_table(
    ctx: PageContext,
    frame: pd.DataFrame,
    name: str,
    column_config: Mapping[str, Any],
    link: Link | None,
    *,
    split: Split | Whole | None = None,
) -> None:
    """A table with one value of ``link.field`` per row: selecting a row opens that value's breakdown
    (a plain table when ``link`` is None)."""
    if link is None:
        table(ctx, frame, name, column_config, split=split)
        return
    key = f"table_{name}"
    shown = [c for c in column_config if c in frame.columns]
    st.dataframe(
        frame[shown],
        hide_index=True,
        width="stretch",
        column_config=dict(column_config),
        key=key,
        on_select=partial(_picked_link_row, key, link, tuple(str(v) for v in frame[link.field])),
        selection_mode="single-row",
    )
    download(ctx, frame, name)
    parts.record(name, split, frame)


def _picked_row(key: str, models: Sequence[str]) -> None:
    state = st.session_state.get(key)
    rows = (state or {}).get("selection", {}).get("rows") or []
    if rows and 0 <= rows[0] < len(models) and models[rows[0]] != OTHER:
        st.session_state[GOTO_MODEL] = models[rows[0]]


def model_table(
    ctx: PageContext,
    frame: pd.DataFrame,
    name: str,
    column_config: Mapping[str, Any],
    model_column: str = "model",
    *,
    split: Split | Whole | None = None,
) -> None:
    """A table with one model per row: selecting a row opens that model's page."""
    key = f"table_{name}"
    shown = [c for c in column_config if c in frame.columns]
    st.dataframe(
        frame[shown],
        hide_index=True,
        width="stretch",
        column_config=dict(column_config),
        key=key,
        on_select=partial(_picked_row, key, tuple(str(m) for m in frame[model_column])),
        selection_mode="single-row",
    )
    download(ctx, frame, name)
    parts.record(name, split, frame)


PAID_PER_M_HELP = "Spend ÷ (prompt + completion tokens), per million: the blended price actually paid."
LATENCY_COLUMNS: dict[str, Any] = {
    "p50_latency": st.column_config.NumberColumn("Latency p50 (ms)", format="%.0f"),
    "p90_latency": st.column_config.NumberColumn("Latency p90 (ms)", format="%.0f"),
    "p50_throughput": st.column_config.NumberColumn("Throughput p50 (tok/s)", format="%.1f"),
    "p90_throughput": st.column_config.NumberColumn("Throughput p90 (tok/s)", format="%.1f"),
}


def usage_columns(
    label: str,
    title: str,
    *,
    paid: bool = True,
    paid_help: str = PAID_PER_M_HELP,
    width: Literal["small", "medium", "large"] | None = None,
) -> dict[str, Any]:
    """The columns every breakdown table starts with, in order: its label (pinned), spend, requests, tokens
    and, with ``paid``, the price paid per million tokens."""
    columns: dict[str, Any] = {
        label: st.column_config.TextColumn(title, pinned=True, width=width),
        "spend": st.column_config.NumberColumn("Spend", format="$%.2f"),
        "requests": st.column_config.NumberColumn("Requests", format="%,d"),
        "tokens": st.column_config.NumberColumn("Tokens", format="compact"),
    }
    if paid:
        columns["paid_per_m"] = st.column_config.NumberColumn("Paid / M tokens", format="$%.3f", help=paid_help)
    return columns


def no_usage(ctx: PageContext) -> None:
    """The empty state of a breakdown whose route is answerable but holds nothing for these filters."""
    st.info(f"No usage in {ctx.filters.label} for these filters.", icon=":material/info:")


def table(
    ctx: PageContext,
    frame: pd.DataFrame,
    name: str,
    column_config: Mapping[str, Any],
    *,
    split: Split | Whole | None = None,
) -> None:
    shown = [c for c in column_config if c in frame.columns]
    st.dataframe(frame[shown], hide_index=True, width="stretch", column_config=dict(column_config))
    download(ctx, frame, name)
    parts.record(name, split, frame)


def change(current: float | None, previous: float | None) -> str | None:
    """A metric's delta as "+12.3% vs previous" text, or None when there is nothing to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return f"{(current - previous) / abs(previous):+.1%} vs previous"


def totals(frame: pd.DataFrame, help_text: str) -> None:
    """The four totals of a page's rows (spend, requests, tokens and the price paid per million tokens), in
    the metrics row the breakdown pages and Explore share."""
    spend, requests, tokens = float(frame["spend"].sum()), int(frame["requests"].sum()), int(frame["tokens"].sum())
    paid = spend / tokens * frames.PER_MILLION if tokens else None
    for col, (title, shown) in zip(
        st.columns(4),
        (
            ("Spend", fmt.usd(spend)),
            ("Requests", fmt.count(requests)),
            ("Tokens", fmt.tokens(tokens)),
            ("Paid / M tokens", fmt.per_million(paid)),
        ),
        strict=True,
    ):
        col.metric(title, shown, border=True, help=help_text)
