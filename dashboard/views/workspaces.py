"""Workspaces: the breakdown page per workspace (``views.breakdown``). A workspace alone is read from
OpenRouter's analytics by workspace (a year back); split by anything else (models, providers, apps, members,
end users, keys) it is read through its keys, whose workspace `/keys` gives, for every range the per-key
tables hold. The closing section shows each workspace's keys."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, frames, ui
from dashboard.context import PageContext
from dashboard.parts import Split
from dashboard.views import breakdown
from queries.reads_routing import Dim

KEY_COLUMNS = {
    "workspace": st.column_config.TextColumn("Workspace", pinned=True),
    "label": st.column_config.TextColumn("API key"),
    **{k: v for k, v in ui.usage_columns("label", "API key").items() if k != "label"},
}


def _keys(ctx: PageContext, per: pd.DataFrame) -> pd.DataFrame:
    st.markdown("#### Keys of each workspace")
    r = ctx.route([Dim.WORKSPACE, Dim.KEY])
    if not ui.route_notes(ctx, r, "Keys per workspace"):
        return per
    keys = data.facts(ctx.store, r, ctx.filters, ("workspace", "key"))
    if keys.empty:
        st.info("No key traffic in this period.", icon=":material/info:")
        return per
    keys = keys.assign(label=[ctx.meta.key_label(str(k)) for k in keys["key"]], tokens=frames.tokens(keys))
    keys = keys.assign(paid_per_m=frames.per_million_tokens(keys["spend"], keys["tokens"]))
    keys = keys.sort_values(["workspace", "spend"], ascending=[True, False], ignore_index=True)
    ui.link_table(
        ctx,
        keys,
        "workspace_keys",
        KEY_COLUMNS,
        ui.LINKS["key"],
        split=Split(ctx.filters, requests="requests", tokens=("tokens",), by=("workspace", "key")),
    )
    st.caption(
        "Each key in the workspace `/keys` last listed it in; select a row for the key's page. " + ui.sources_caption(r)
    )
    return per.merge(keys.groupby("workspace").size().rename("keys").reset_index(), on="workspace", how="left")


PAGE = breakdown.Breakdown(
    dim=Dim.WORKSPACE,
    title="Workspaces",
    noun="workspace",
    plural="workspaces",
    columns={"keys": st.column_config.NumberColumn("Keys with traffic")},
    matrix=breakdown.Matrix("workspace_model", models_on="x", top_models=10),
    closing=_keys,
    caption="A workspace alone comes from analytics by workspace; split by model or key, through its keys.",
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    breakdown.render(ctx, PAGE)
