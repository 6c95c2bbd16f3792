"""Model detail's providers day by day, side by side as the seed's model page shows them: latency and
throughput (analytics for the days they hold, the endpoint snapshots beyond), uptime over the last day and the
providers' input and output list prices (each day's last snapshot), and the price actually paid; with one
provider chosen, how its latency, throughput and uptime moved over the period."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from charts import daily
from core import fmt
from dashboard import data, frames, ui
from dashboard.context import PageContext
from dashboard.parts import Whole
from queries.filters import Filters
from queries.reads_routing import Dim

KPI_LATENCY = "Latency p50"
KPI_THROUGHPUT = "Throughput p50"
KPI_UPTIME = "Uptime (last day)"


def _analytics_days(ctx: PageContext, start: date, end: date) -> tuple[date, ...]:
    """The days analytics by model × provider hold latency for (their 31-day metrics)."""
    spans = ctx.meta.spans.get(("analytics:model,provider", "short"), ())
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return tuple(d for d in days if any(first <= d <= last for first, last in spans))


# (column, title, Vega format, chart name, what) per chart of the providers over time.
_OVER_TIME = (
    ("p50_latency", "Latency p50 (ms)", ",.0f", "detail_latency_days", "latency"),
    ("p50_throughput", "Throughput p50 (tokens/s)", ",.1f", "detail_throughput_days", "throughput"),
    ("uptime_1d", "Uptime over the last day (%)", ".2f", "detail_uptime_days", "uptime"),
    ("prompt_per_m", "Input price ($/M tokens)", "$,.3f", "detail_input_price_days", "input price"),
    ("completion_per_m", "Output price ($/M tokens)", "$,.3f", "detail_output_price_days", "output price"),
    ("paid_per_m", "Paid per M tokens ($)", "$,.3f", "detail_paid_days", "price paid"),
)


def render(ctx: PageContext, model: str, sel: Filters) -> None:
    """Per provider and day, side by side: latency, throughput, uptime, list and paid prices."""
    st.markdown("#### Providers day by day")
    f = ctx.filters
    # Snapshots are instants: the one taken today (by the newest ingest) belongs with the days before it.
    snap_end = ctx.today if f.end == ctx.today - timedelta(days=1) else f.end
    days = data.provider_days(ctx.store, model, f.start, snap_end, _analytics_days(ctx, f.start, f.end))
    paid_route = ctx.route([Dim.PROVIDER], filters=sel)
    if paid_route.answerable and paid_route.has_data_days:
        paid = data.facts(ctx.store, paid_route, sel, ("date", "provider"))
        paid = paid.assign(paid_per_m=frames.per_million_tokens(paid["spend"], frames.tokens(paid)))
        days = days.merge(paid[["date", "provider", "paid_per_m", "spend"]], on=["date", "provider"], how="outer")
    if f.providers:
        days = days.loc[days["provider"].isin(f.providers)]
    if days.empty:
        st.info("Nothing stored for this model's providers in this period.", icon=":material/info:")
        return
    days = days.sort_values(["date", "provider"], ignore_index=True)
    # Only the instants (uptime, list prices) take today's snapshot; what is per day stops at the range's end.
    daily_only = ("p50_latency", "p90_latency", "p50_throughput", "p90_throughput", "paid_per_m", "spend")
    days.loc[days["date"] > f.end, [c for c in daily_only if c in days.columns]] = None
    _provider_kpis(days, f.providers)
    for row in range(0, len(_OVER_TIME), 2):
        for column, (value, title, fmt_, name, what) in zip(
            st.columns(2, gap="large"), _OVER_TIME[row : row + 2], strict=True
        ):
            with column:
                shown = days.dropna(subset=[value]) if value in days.columns else days.iloc[0:0]
                if shown.empty:
                    st.caption(f"No {what} stored for this period.")
                    continue
                spec = daily.lines_per_day(
                    shown,
                    start=f.start,
                    end=snap_end,
                    series="provider",
                    value=value,
                    name=name,
                    heading=title.split(" (")[0] + " per provider",
                    subtitle=_subtitle(value),
                    series_title="Provider",
                    value_title=title,
                    value_format=fmt_,
                    extra_tips=_tips(value),
                )
                cols = ["date", "provider", value, *[c for c, _, _ in _tips(value)]]
                ui.chart(
                    ctx,
                    spec,
                    shown[[c for c in cols if c in shown.columns]],
                    name,
                    f"{what} per provider per day",
                    split=Whole(f"{what} per provider and day: a measure, not a split of a total"),
                )
    st.caption(
        "Latency and throughput: OpenRouter's analytics of this account's requests (request-weighted daily p50 "
        "and p90) on the days they hold (31), the endpoint snapshot of each day's last ingest on older days "
        "(OpenRouter's figures over the 30 minutes before it). Uptime and list prices: the snapshot of each "
        "day's last ingest (analytics have no uptime); today's comes from the newest ingest. Paid per M: spend "
        "÷ tokens at that provider."
    )


def _subtitle(value: str) -> str:
    if value in ("p50_latency", "p50_throughput"):
        return "p50 per day; the tooltip has p90 and where the figure comes from"
    if value == "paid_per_m":
        return "spend ÷ (prompt + completion tokens) per day"
    return "at each day's last ingest"


def _tips(value: str) -> tuple[tuple[str, str, str], ...]:
    if value == "p50_latency":
        return (("p90_latency", "Latency p90 (ms)", ",.0f"), ("perf_source", "From", ""))
    if value == "p50_throughput":
        return (("p90_throughput", "Throughput p90 (tokens/s)", ",.1f"), ("perf_source", "From", ""))
    if value == "paid_per_m":
        return (("spend", "Spend", "$,.4f"),)
    return ()


def _provider_kpis(days: pd.DataFrame, providers: tuple[str, ...]) -> None:
    """With one provider chosen: its latest latency, throughput and uptime against the period's first."""
    if len(providers) != 1 or days.empty:
        st.caption("Choose one provider in the sidebar to see how its latency and uptime moved in this period.")
        return
    cols = st.columns(3)
    for col, (value, label, unit) in zip(
        cols,
        (
            ("p50_latency", KPI_LATENCY, "ms"),
            ("p50_throughput", KPI_THROUGHPUT, "tok/s"),
            ("uptime_1d", KPI_UPTIME, "%"),
        ),
        strict=True,
    ):
        known = days.dropna(subset=[value]) if value in days.columns else days.iloc[0:0]
        if known.empty:
            col.metric(label, "—", border=True)
            continue
        first, last = known.iloc[0], known.iloc[-1]
        digits = 2 if unit == "%" else 0 if unit == "ms" else 1
        delta = (
            None
            if len(known) < 2
            else f"{last[value] - first[value]:+,.{digits}f} {unit} since {fmt.day(first['date'])}"
        )
        col.metric(
            label,
            f"{last[value]:,.{digits}f} {unit}",
            delta=delta,
            delta_color="inverse" if unit == "ms" else "normal",
            border=True,
            help=f"On {fmt.day(last['date'])}"
            + (
                f", from {last['perf_source']}"
                if value != "uptime_1d" and isinstance(last.get("perf_source"), str)
                else ""
            )
            + (". One snapshot stored: each ingest adds one a day." if len(known) < 2 else "."),
        )
