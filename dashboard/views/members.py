"""Members: the breakdown page per organization member (``views.breakdown``), a year back, with the member ×
model matrix. Members exist for organization accounts only; analytics name them (full name, else e-mail),
and traffic of keys made at the organization level is "unattributed"."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard.context import PageContext
from dashboard.data import Meta
from dashboard.views import breakdown
from queries.reads_routing import Dim


def _label(meta: Meta) -> Callable[[str], str]:
    return meta.member_label


PAGE = breakdown.Breakdown(
    dim=Dim.MEMBER,
    title="Members",
    noun="member",
    plural="members",
    label=_label,
    matrix=breakdown.Matrix("member_model", models_on="x", top_models=10),
    muted_note="from keys no member made (keys created at the organization level).",
    caption="Members as OpenRouter's analytics name them (organization accounts; a year back).",
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    if not ctx.meta.members:
        st.title(TITLE)
        st.info(
            "No member traffic stored: members exist for organization accounts, and `orusage ingest` reads "
            "them from OpenRouter's analytics.",
            icon=":material/info:",
        )
        return
    breakdown.render(ctx, PAGE)
