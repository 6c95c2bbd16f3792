"""Accounts: the breakdown page per OpenRouter account (``views.breakdown``) of a store that holds several
(``OPENROUTER_MANAGEMENT_KEYS``), with the account × model matrix. Every stored row belongs to one account,
so each account alone is read from the same tables as the whole, and the accounts add up to it."""

from __future__ import annotations

import streamlit as st

from dashboard.context import PageContext
from dashboard.views import breakdown
from queries.reads_routing import Dim

PAGE = breakdown.Breakdown(
    dim=Dim.ACCOUNT,
    title="Accounts",
    noun="account",
    plural="accounts",
    matrix=breakdown.Matrix("account_model", models_on="x", top_models=10),
    caption="Accounts as OPENROUTER_MANAGEMENT_KEYS names them; each is ingested with its own management key.",
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    if len(ctx.meta.accounts) < 2:
        st.title(TITLE)
        st.info(
            "This store holds one OpenRouter account. To follow several in one place, name each with its "
            "management key: `OPENROUTER_MANAGEMENT_KEYS=work=sk-or-…,personal=sk-or-…`, then `orusage ingest`.",
            icon=":material/info:",
        )
        return
    breakdown.render(ctx, PAGE)
