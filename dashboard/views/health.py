"""Data health: which days each source holds (a coverage strip per source), the gaps and what to do
about them, and the last ingest runs. The sidebar's filters do not apply here."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from charts import health
from core import fmt, settings
from dashboard import data, ui
from dashboard.context import PageContext
from dashboard.parts import Whole

TITLE = "Data health"
STRIP_DAYS = 364  # the analytics' year: today and the 364 days before
RUNS = 20

TRACK_COLUMNS = {
    "track": st.column_config.TextColumn("Source", pinned=True),
    "first_day": st.column_config.DateColumn("First day"),
    "last_day": st.column_config.DateColumn("Last day"),
    "reach": st.column_config.NumberColumn("OpenRouter keeps (days)"),
    "scopes": st.column_config.NumberColumn("Keys / scopes"),
    "rows_received": st.column_config.NumberColumn("Rows received", format="%,d"),
    "fetched_at": st.column_config.DatetimeColumn("Last fetched (UTC)", format="YYYY-MM-DD HH:mm"),
}
GAP_COLUMNS = {
    "track": st.column_config.TextColumn("Source", pinned=True),
    "first": st.column_config.DateColumn("From"),
    "last": st.column_config.DateColumn("To"),
    "days": st.column_config.NumberColumn("Days"),
    "partial": st.column_config.CheckboxColumn("Some keys stored"),
    "keys": st.column_config.TextColumn("Keys lacking them"),
    "reason": st.column_config.TextColumn("Why, and what to do", width="large"),
}
RUN_COLUMNS = {
    "run_id": st.column_config.NumberColumn("Run"),
    "state": st.column_config.TextColumn("Outcome"),
    "command": st.column_config.TextColumn("Command"),
    "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "seconds": st.column_config.NumberColumn("Took (s)", format="%.1f"),
    "units_done": st.column_config.NumberColumn("Units"),
    "rows_written": st.column_config.NumberColumn("Rows written", format="%,d"),
    "message": st.column_config.TextColumn("Message", width="large"),
}
RUN_MARK = {"ok": "✓ ok", "failed": "✕ failed", "running": "… running"}
TRACE_COLUMNS = {
    "date": st.column_config.DateColumn("Day (UTC)", pinned=True),
    "counted": st.column_config.NumberColumn("Analytics requests", format="%,d"),
    "sampling_rate": st.column_config.NumberColumn("Sampling rate", format="%.4g"),
    "expected": st.column_config.NumberColumn("Expected traces", format="%,.0f", help="Analytics requests × rate"),
    "received": st.column_config.NumberColumn("Received", format="%,d"),
    "missing": st.column_config.NumberColumn("Missing traces", format="%,d"),
}


def render(ctx: PageContext) -> None:
    st.title(TITLE)
    st.caption("What the store holds, per source and UTC day. The sidebar's filters do not apply on this page.")
    tracks = data.coverage_tracks(ctx.store)
    if tracks.empty:
        st.info(
            "No coverage recorded yet: `orusage ingest` records which days each fetch covered.", icon=":material/info:"
        )
    else:
        last = ctx.today - timedelta(days=1)
        first = last - timedelta(days=STRIP_DAYS - 1)
        runs = data.coverage_runs(ctx.store, first, last)
        ui.chart(
            ctx,
            health.coverage_strip(runs, list(tracks["track"])),
            runs,
            "coverage_strip",
            "A strip per source with one cell per UTC day",
            split=Whole("stored days per source"),
        )
        st.caption(
            "Activity is kept by OpenRouter for 30 days, analytics for 365 (31 for latency, throughput and "
            "per-provider data): days are stored when an ingest fetched them while OpenRouter still had them. "
            "Per-generation records are fetched for the last few days (or imported from website exports): "
            "nothing is missing where they are absent. The gaps are the ones `orusage status` reports."
        )
        _gaps(ctx)
        st.markdown("#### Sources")
        ui.table(ctx, tracks, "coverage_sources", TRACK_COLUMNS, split=Whole("one row per source"))
    _reasoning(ctx)
    _broadcast(ctx)
    _runs(ctx)


def _broadcast(ctx: PageContext) -> None:
    """The live feed: the destination's settings as the last ingest read them, and per day the traces
    analytics says were sent against those received (docs/broadcast.md, "Missing traces")."""
    report = data.broadcast_report(ctx.store, ctx.today, settings.dashboard_view().broadcast_destination)
    if report is None or (not report.received and not report.destinations and not report.totals.deliveries):
        return
    st.markdown("#### Live feed (OpenRouter Broadcast)")
    last = report.totals.last_received_at
    st.caption(
        f"{report.received:,} generations received, {report.broadcast_only:,} of them only through Broadcast"
        + (f"; last delivery {fmt.utc_time(last)}" if last else "")
        + (f"; {report.totals.duplicates:,} delivered again (ignored)" if report.totals.duplicates else "")
        + ". OpenRouter does not retry a delivery that failed: a missing trace is lost to the feed, not to the "
        "store (`orusage ingest` still fetches it from /generation)."
    )
    d = report.destination
    if d is None:
        st.info(f"Destination: {report.note}. Assuming every trace is sent.", icon=":material/info:")
    else:
        keys = "every key" if d.api_key_hashes is None else f"{len(d.api_key_hashes)} key(s)"
        st.markdown(
            f"Destination **{d.name or d.id}** ({d.type}): {'enabled' if d.enabled else '**disabled**'}, "
            f"sampling rate {d.sampling_rate:g}, Privacy Mode {'on' if d.privacy_mode else '**off**'}, "
            f"generation metadata: {d.groups()}, {keys} · read {fmt.utc_time(d.fetched_at)}"
        )
        for warning in d.warnings():
            st.warning(warning[0].upper() + warning[1:] + ".", icon=":material/warning:")
    days = pd.DataFrame(
        [
            {
                "date": t.date,
                "counted": t.counted,
                "sampling_rate": t.sampling_rate,
                "expected": t.expected,
                "received": t.received,
                "missing": t.missing,
            }
            for t in reversed(report.days)
        ],
        columns=list(TRACE_COLUMNS),
    )
    if days.empty:
        st.caption("No completed day since the first delivery yet: received against expected shows from tomorrow.")
        return
    if report.missing:
        st.error(
            f"{report.missing:,} missing traces on {int((days['missing'].fillna(0) > 0).sum())} day(s).",
            icon=":material/error:",
        )
    else:
        st.success("No missing traces: every trace analytics counted was received.", icon=":material/check_circle:")
    ui.table(ctx, days, "broadcast_days", TRACE_COLUMNS, split=Whole("traces expected and received per day"))


def _gaps(ctx: PageContext) -> None:
    st.markdown("#### Gaps")
    gaps = data.coverage_gaps(ctx.store, ctx.today)
    if gaps.empty:
        st.success("No gaps: every source holds every day it should.", icon=":material/check_circle:")
        return
    ui.table(ctx, gaps, "coverage_gaps", GAP_COLUMNS, split=Whole("the days each source lacks"))


REASONING_COLUMNS = {
    "source": st.column_config.TextColumn("Source", pinned=True),
    "model": st.column_config.TextColumn("Model"),
    "rows": st.column_config.NumberColumn("Rows", format="%,d"),
    "first": st.column_config.DateColumn("From"),
    "last": st.column_config.DateColumn("To"),
    "excess": st.column_config.NumberColumn("Reasoning beyond completion (tokens)", format="%,d"),
}


def _reasoning(ctx: PageContext) -> None:
    flagged = data.reasoning_over_completion(ctx.store)
    if flagged.empty:
        return
    st.markdown("#### Reasoning above completion")
    st.warning(
        f"{int(flagged['rows'].sum()):,} stored rows report more reasoning tokens than completion tokens, which "
        "by OpenRouter's billing rule include them. The charts count these rows' reasoning within their "
        "completion (prompt + completion-only + reasoning still add up to the token total), and reasoning is "
        "priced on that part only: never counted twice.",
        icon=":material/warning:",
    )
    ui.table(ctx, flagged, "reasoning_over_completion", REASONING_COLUMNS, split=Whole("flagged rows per model"))


def _runs(ctx: PageContext) -> None:
    st.markdown("#### Last ingest runs")
    runs = data.ingest_runs(ctx.store, RUNS)
    if runs.empty:
        st.info("No ingest has run yet.", icon=":material/info:")
        return
    runs = runs.assign(state=[RUN_MARK.get(str(s), str(s)) for s in runs["status"]])
    newest = runs.iloc[0]
    if newest["status"] == "failed":
        st.error(f"The last ingest failed: {newest['message'] or 'no message'}", icon=":material/error:")
    elif newest["status"] == "ok":
        st.caption(f"Last ingest finished {fmt.utc_time(newest['finished_at'].to_pydatetime())}.")
    ui.table(ctx, runs, "ingest_runs", RUN_COLUMNS, split=Whole("one row per ingest run"))
