"""Providers: the breakdown page per provider (``views.breakdown``), with the model × provider matrix and
latency and throughput where OpenRouter's analytics have them (the last 31 days)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from charts import rank
from dashboard import data, ui
from dashboard.context import PageContext
from dashboard.parts import Whole
from dashboard.views import breakdown
from queries.reads_routing import Dim, Need

LATENCY_COLUMNS = ["provider", "requests", "p50_latency", "p90_latency", "p50_throughput", "p90_throughput"]


def _latency(ctx: PageContext, per: pd.DataFrame) -> pd.DataFrame:
    st.markdown("#### Latency and throughput")
    r = ctx.route([Dim.PROVIDER], [Need.LATENCY])
    if not ui.route_notes(ctx, r, "Latency and throughput"):
        return per
    lat = data.facts(ctx.store, r, ctx.filters, ("provider",), latency=True)
    lat = lat.dropna(subset=["p50_latency"]).assign(label=lambda f: f["provider"])
    if lat.empty:
        st.info("OpenRouter reported no latency for these providers in this period.", icon=":material/info:")
        return per
    left, right = st.columns(2, gap="large")
    for column, throughput, name, what in (
        (left, False, "provider_latency", "Latency per provider"),
        (right, True, "provider_throughput", "Throughput per provider"),
    ):
        with column:
            ui.chart(
                ctx,
                rank.latency_bars(lat, label="label", name=name, throughput=throughput),
                lat[LATENCY_COLUMNS],
                name,
                what,
                split=Whole("request-weighted latency and throughput per provider: means, not parts"),
            )
    st.caption(
        "Request-weighted means of OpenRouter's daily latency and throughput p50 and p90 "
        f"(analytics; it keeps them for 31 days). {ui.sources_caption(r)}"
    )
    return per.merge(lat[LATENCY_COLUMNS[:1] + LATENCY_COLUMNS[2:]], on="provider", how="left")


PAGE = breakdown.Breakdown(
    dim=Dim.PROVIDER,
    title="Providers",
    noun="provider",
    plural="providers",
    columns=ui.LATENCY_COLUMNS,
    matrix=breakdown.Matrix("model_provider", models_on="y"),
    closing=_latency,
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    breakdown.render(ctx, PAGE)
