"""The credits panel of the Overview: the runway with its band, and the top-ups inferred from the stored
``/credits`` snapshots (``queries.credits``: one definition, the credits alert's too)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core import fmt
from core.clock import alerts_now
from dashboard import data, ui
from dashboard.context import PageContext
from dashboard.parts import Whole

TOP_UP_COLUMNS = {
    "at": st.column_config.DatetimeColumn("Seen at (UTC)", format="YYYY-MM-DD HH:mm"),
    "previous_at": st.column_config.DatetimeColumn("Not yet at (UTC)", format="YYYY-MM-DD HH:mm"),
    "amount": st.column_config.NumberColumn("Top-up", format="$%.2f"),
    "total_after": st.column_config.NumberColumn("Credits bought since the start", format="$%.2f"),
}


def moment(ctx: PageContext) -> datetime:
    """The moment the runway counts from: now, or the data's time when the page shows another day."""
    now = alerts_now()
    return now if now.date() == ctx.today else ctx.meta.as_of.finished_at or now


def render(ctx: PageContext) -> None:
    runway = data.outlook(ctx.store, ctx.today, moment(ctx), ctx.filters.accounts).runway
    ups = data.top_ups(ctx.store, ctx.filters.accounts)
    with st.expander("Credits: runway and top-ups", expanded=False):
        if runway is None:
            st.caption("No runway yet: it needs a /credits fetch and a week of known daily spend.")
        else:
            until = f", around {runway.out_on}" if runway.out_on is not None else ""
            st.markdown(
                f"**Runway: {runway.text()}**{until} — {fmt.usd(runway.left_usd)} left at the projected "
                f"{fmt.usd(runway.pace_per_day)}/day of credit usage (as of {fmt.utc_time(runway.as_of)})."
            )
            st.caption(
                "The daily credit usage (BYOK inference is paid to your own provider) projected from the last "
                "28 days with their weekday pattern; the band is where the forecast's 80 % band runs out. "
                "The credits alert (`credits_days` in the alerts config) uses the same runway."
            )
        if ups.empty:
            st.caption("No top-up seen yet: top-ups are inferred from rises of the credits bought between fetches.")
        else:
            st.caption(
                f"{len(ups)} top-up(s) seen, {fmt.usd(float(ups['amount'].sum()))} in all: rises of the credits "
                "bought between two /credits fetches (the top-up happened between the two times)."
            )
            ui.table(ctx, ups, "top_ups", TOP_UP_COLUMNS, split=Whole("one row per credit purchase"))
