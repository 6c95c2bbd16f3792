"""Teams: the account's spend per team (cost centre) for chargeback, opened by last month's and this month's
totals, then the breakdown page per team (``views.breakdown``; spend per team per day, team × model).

The numbers are ``queries.allocation``'s, the chargeback report's and the FOCUS export's tags: each dollar
goes to one team (a key or workspace rule first, then app, then member), the rest to "unallocated", so the
lines add up to the account's spend. Teams are the alerts config's as the last ``orusage alerts check``
stored them, applied to past months as they stand today; teams of tags are left out (said once). A team
filter keeps the chosen teams' lines; a bar or a row opens this page filtered to its team.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from core import fmt
from core.settings import CONFIG_ENV
from dashboard import data, ui
from dashboard.context import PageContext
from dashboard.parts import Split
from dashboard.views import breakdown
from queries import allocation
from queries.allocation import UNALLOCATED
from queries.filters import everything

TOTAL_COLUMNS = {
    "team": st.column_config.TextColumn("Team", pinned=True),
    "spend": st.column_config.NumberColumn("Spend", format="$%.2f"),
    "share": st.column_config.NumberColumn("Share", format="percent"),
    "byok": st.column_config.NumberColumn("of which BYOK", format="$%.2f"),
    "estimated": st.column_config.NumberColumn(
        "of which estimated",
        format="$%.2f",
        help="Spend of app teams placed on keys in proportion to their spend: OpenRouter reports apps per "
        "model, not per key (docs/focus.md#teams).",
    ),
}


def _month_table(ctx: PageContext, title: str, first: date, last: date, name: str, month: str) -> None:
    st.markdown(f"##### {title}")
    if last < first:
        st.caption("No completed day yet.")
        return
    totals = data.team_totals(ctx.store, first, last, ctx.today)
    spend = float(totals["spend"].sum()) if len(totals) else 0.0
    st.caption(f"{fmt.day_range(first, last)} (UTC) · {fmt.usd(spend)}")
    if totals.empty:
        st.caption("No spend stored for these days.")
        return
    totals = totals.assign(share=totals["spend"] / spend if spend else 0.0)
    # Each dollar of the account's spend goes to one team (or "unallocated"): the lines add up to it.
    ui.table(ctx, totals, name, TOTAL_COLUMNS, split=Split(everything(first, last)))
    st.caption(f"As a report: `orusage report chargeback --month {month}`")


def _chargeback(ctx: PageContext) -> None:
    """Last month's and this month's totals per team, then what the teams are and where they come from."""
    kinds = data.team_kinds(ctx.store)
    tags = data.tag_teams(ctx.store)
    if kinds.empty and not tags:
        st.info(
            "**No teams defined yet**: all spend is unallocated. Add `[teams.NAME]` tables (keys, workspaces, "
            f"apps or members) to the alerts config (`${CONFIG_ENV}`) and run `orusage alerts check`; see "
            "docs/budgets-and-alerts.md.",
            icon=":material/groups:",
        )
    this_first = ctx.today.replace(day=1)
    last_last = this_first - timedelta(days=1)
    last_first = last_last.replace(day=1)
    left, right = st.columns(2, gap="large")
    with left:
        _month_table(ctx, "Last month", last_first, last_last, "teams_last_month", f"{last_first:%Y-%m}")
    with right:
        _month_table(
            ctx, "This month so far", this_first, ctx.today - timedelta(days=1), "teams_this_month",
            f"{this_first:%Y-%m}",
        )  # fmt: skip
    st.caption(
        "Each dollar goes to one team: a key or workspace rule first, then an app rule, then a member rule; "
        "what no rule claims is unallocated, so the lines add up to the account's spend. Teams are the alerts "
        "config's as the last `orusage alerts check` stored them, applied to past months as they stand today. "
        "Budgets are not exclusive: a team's budget counts all of its scope's spend (Budgets page)."
    )
    if tags:
        st.caption(allocation.tags_left_out(tags))
    for row in kinds.loc[kinds["overlaps"] > 0].to_dict("records"):
        st.warning(
            f"Team **{row['team']}**: {row['overlaps']} of its {row['kind']}s also belong to a team earlier by "
            "name, which they are counted in.",
            icon=":material/call_split:",
        )


def _estimated(ctx: PageContext, per: pd.DataFrame) -> pd.DataFrame:
    return per.assign(estimated=per["spend"] - per["exact_spend"])


def _read(ctx: PageContext, by: tuple[str, ...], top: tuple[str, int] | None) -> pd.DataFrame:
    return data.team_facts(ctx.store, ctx.filters, ctx.today, by, top)


PAGE = breakdown.Breakdown(
    dim=None,
    title="Teams",
    noun="team",
    plural="teams",
    opening=_chargeback,
    muted_note="that no team's keys, workspaces, apps or members account for.",
    closing=_estimated,
    matrix=breakdown.Matrix("team_model", models_on="x", top_models=10),
    columns={"estimated": TOTAL_COLUMNS["estimated"]},
    caption="The same allocation as `orusage report chargeback` and the FOCUS export's team tags.",
    muted=UNALLOCATED,
    source=breakdown.Source("team", allocation.ROUTE_DIMS, _read, allocation.route_filters),
    value_link=ui.LINKS["team"],
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    breakdown.render(ctx, PAGE)
