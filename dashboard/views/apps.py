"""Apps: the breakdown page per app (``views.breakdown``), with the app × model matrix and what
"unattributed" means. Apps come only from OpenRouter's analytics (grouped by model and app), a year back."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import fmt
from dashboard.context import PageContext
from dashboard.views import breakdown
from queries.reads_routing import Dim


def _unattributed(per: pd.DataFrame) -> None:
    row = per.loc[per["app"] == breakdown.UNATTRIBUTED]
    share = float(row["share"].iloc[0]) if len(row) else 0.0
    spend = float(row["spend"].iloc[0]) if len(row) else 0.0
    st.info(
        f"**Unattributed: {fmt.usd(spend)} ({share:.1%} of this period's spend).** OpenRouter attributes a "
        "request to an app by the `HTTP-Referer` (origin) and `X-Title` (app name) headers the caller sends; "
        "requests without them land in “unattributed”. Send those headers from your own code to see it here.",
        icon=":material/help:",
    )


PAGE = breakdown.Breakdown(
    dim=Dim.APP,
    title="Apps",
    noun="app",
    plural="apps",
    matrix=breakdown.Matrix("app_model", models_on="x", top_models=10, top_values=12),
    notes=_unattributed,
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    breakdown.render(ctx, PAGE)
