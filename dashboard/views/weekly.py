"""Weekly review: one ISO week (Monday–Sunday, UTC) against the week before. Why spend changed (volume, mix,
price), the top movers among models, apps, API keys and providers, efficiency, the month's budget outlook and
what cheaper models would have cost.

Account-wide: the sidebar's filters do not apply. The numbers come from ``queries.review.weekly_review``, the
same function ``orusage report weekly`` renders, so the page and the report (HTML, Markdown, JSON) agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from charts import weekly as weekly_charts
from charts.base import vega_spec
from core import fmt
from dashboard import data, frames, parts, ui
from dashboard.context import PageContext
from dashboard.data import Store
from dashboard.parts import Split, Whole
from dashboard.views import waterfall
from queries.filters import Filters, everything
from review.model import KIND_TITLES, NO_DATA, Review
from review.movers import BACK, NEW
from review.weeks import IsoWeek, last_complete_week, periods, weeks_between
from review.whatif import candidates, reprice

TITLE = "Weekly review"
URL_PATH = "weekly"
WEEK_KEY = "weekly_week"
TARGET_KEY = "weekly_target"

KPI_SPEND = "Spend"
KPI_REQUESTS = "Requests"
KPI_TOKENS = "Tokens"
KPI_PRICE = "Price per million tokens"
KPI_VOLUME = "Volume"
KPI_MIX = "Mix"
KPI_PRICE_PART = "Price"
KPI_MONTH = "Month so far"
KPI_PROJECTION = "Month-end forecast"
KPI_CREDITS = "Credits left"


def week_options(store: Store, today: date) -> tuple[list[str], str]:
    """Every week from the first stored day to this one (newest first), and the default: the last complete."""
    weeks = [w.label for w in weeks_between(data.review_first_day(store), today)]
    default = last_complete_week(today).label
    return weeks, default if default in weeks else weeks[0]


def _week_label(today: date) -> Callable[[str], str]:
    def label(week: str) -> str:
        w = IsoWeek.parse(week)
        partial = periods(w, today).partial
        return f"{w.label} · {fmt.day(w.monday)} – {fmt.day(w.sunday)}{' (so far)' if partial else ''}"

    return label


def render(ctx: PageContext) -> None:
    st.title(TITLE)
    weeks, default = week_options(ctx.store, ctx.today)
    if st.session_state.get(WEEK_KEY) not in weeks:
        st.session_state[WEEK_KEY] = default
    week = str(
        st.selectbox(
            "ISO week (Monday–Sunday, UTC)",
            weeks,
            key=WEEK_KEY,
            format_func=_week_label(ctx.today),
            help="Defaults to the last complete week. The current week is reviewed up to yesterday, against "
            "the same weekdays of the week before.",
        )
    )
    r = data.weekly_review(ctx.store, week, ctx.today)
    st.caption(
        f"{fmt.day_range(r.first, r.last)} (UTC) vs {r.previous_week} "
        f"({fmt.day_range(r.previous_first, r.previous_last)}) · account-wide: the sidebar's filters do not apply "
        "here · the same numbers as `orusage report weekly`"
    )
    for note in r.notes:
        st.info(note, icon=":material/info:")
    if r.status == NO_DATA:
        return
    _summary(r)
    st.divider()
    _change(ctx, r)
    st.divider()
    _movers(ctx, r)
    st.divider()
    _efficiency(ctx, r)
    st.divider()
    st.markdown("#### Effective price: from list price to billed")
    waterfall.render(ctx, _week(r), "weekly_waterfall", rows=r.waterfall)
    st.divider()
    _budget(ctx, r)
    st.divider()
    _what_if(ctx, r)
    st.caption("Spend = usage + BYOK inference (OpenRouter's total_usage). Days are UTC; weeks run Monday to Sunday.")


def _download(r: Review, frame: pd.DataFrame, name: str) -> None:
    """The shown data as CSV, named after the week (the sidebar's date range does not apply here)."""
    st.download_button(
        "Download CSV",
        frames.csv_bytes(frame),
        file_name=f"orusage_{name}_{r.week}.csv",
        mime="text/csv",
        key=f"download_{name}",
        on_click="ignore",
        type="tertiary",
        icon=":material/download:",
    )


def _table(r: Review, frame: pd.DataFrame, name: str, columns: dict[str, Any], split: Split | Whole) -> None:
    shown = [c for c in columns if c in frame.columns]
    st.dataframe(frame[shown], hide_index=True, width="stretch", column_config=columns)
    _download(r, frame[shown], name)
    parts.record(name, split, frame)


def _chart(
    r: Review, chart: weekly_charts.AnyChart | None, frame: pd.DataFrame, name: str, split: Split | Whole
) -> None:
    if chart is not None:
        st.vega_lite_chart(spec=vega_spec(chart), width="stretch", key=f"chart_{name}")
        _download(r, frame, name)
        parts.record(name, split, frame)


def _week(r: Review) -> Filters:
    """The reviewed days, account-wide: what the review's splits add up to."""
    return everything(r.first, r.last)


def _metric(label: str, shown: str, now: float | None, then: float | None, help_text: str) -> None:
    st.metric(label, shown, delta=ui.change(now, then), delta_color="inverse", border=True, help=help_text)


def _summary(r: Review) -> None:
    t = r.totals
    price = next(e for e in r.efficiency if e.key == "price_per_m")
    spend, requests, tokens, per_m = st.columns(4)
    with spend:
        _metric(KPI_SPEND, fmt.usd(t.spend), t.spend, t.spend_prev, f"vs {fmt.usd(t.spend_prev)} the week before.")
    with requests:
        st.metric(KPI_REQUESTS, "—" if t.requests is None else fmt.count(t.requests),
                  delta=ui.change(t.requests, t.requests_prev), delta_color="off", border=True)  # fmt: skip
    with tokens:
        st.metric(KPI_TOKENS, "—" if t.tokens is None else fmt.tokens(t.tokens),
                  delta=ui.change(t.tokens, t.tokens_prev), delta_color="off", border=True)  # fmt: skip
    with per_m:
        _metric(KPI_PRICE, fmt.per_million(price.current), price.current, price.previous, price.label + ".")


def _change(ctx: PageContext, r: Review) -> None:
    st.markdown("#### Why spend changed")
    if r.change is None:
        st.info("No comparison: the week before is not stored.", icon=":material/info:")
    else:
        c = r.change
        cols = st.columns(3)
        split_parts = (
            (KPI_VOLUME, c.volume, "More or fewer tokens in total, at last week's mix and prices."),
            (KPI_MIX, c.mix, "Which models the tokens went to; models that appeared or vanished count here."),
            (KPI_PRICE_PART, c.price, "Each model's cost per token (prices, caching, providers, reasoning)."),
        )
        for col, (label, amount, help_text) in zip(cols, split_parts, strict=True):
            with col:
                st.metric(label, _signed(amount), border=True, help=help_text + " The three add up to the change.")
        bridge = weekly_charts.bridge(r)
        if bridge is not None:
            st.vega_lite_chart(spec=vega_spec(bridge), width="stretch", key=f"chart_{weekly_charts.BRIDGE}")
            parts.record(weekly_charts.BRIDGE, Whole("last week, three parts of the change, this week"), r.by_model)
        left, right = st.columns([3, 2], gap="large")
        with left:
            _table(r, r.by_model, "weekly_models", _MODEL_COLUMNS, Split(_week(r)))
        with right:
            parts_chart = weekly_charts.model_parts(r)
            if parts_chart is not None:
                st.vega_lite_chart(
                    spec=vega_spec(parts_chart), width="stretch", key=f"chart_{weekly_charts.MODEL_PARTS}"
                )
                parts.record(weekly_charts.MODEL_PARTS, Whole("the biggest changes only"), r.by_model)
    _chart(r, weekly_charts.daily(r), r.daily, weekly_charts.DAILY, Split(_week(r)))


def _signed(amount: float | None) -> str:
    return "—" if amount is None else fmt.signed_usd(amount)


_USD = "dollar"
_MODEL_COLUMNS = {
    "label": st.column_config.TextColumn("Model", pinned=True),
    "spend_prev": st.column_config.NumberColumn("Week before", format=_USD),
    "spend": st.column_config.NumberColumn("This week", format=_USD),
    "change": st.column_config.NumberColumn("Change", format=_USD),
    "volume": st.column_config.NumberColumn("Volume", format=_USD),
    "mix": st.column_config.NumberColumn("Mix", format=_USD),
    "price": st.column_config.NumberColumn("Price", format=_USD),
    "tokens_prev": st.column_config.NumberColumn("Tokens before", format="compact"),
    "tokens": st.column_config.NumberColumn("Tokens", format="compact"),
}
_MOVER_COLUMNS = {
    "label": st.column_config.TextColumn("Name", pinned=True),
    "spend_prev": st.column_config.NumberColumn("Week before", format=_USD),
    "spend": st.column_config.NumberColumn("This week", format=_USD),
    "change": st.column_config.NumberColumn("Change", format=_USD),
    "change_pct": st.column_config.NumberColumn("Change %", format="percent"),
    "status": st.column_config.TextColumn("Note"),
}


_BUDGET_COLUMNS = {
    "budget": st.column_config.TextColumn("Budget", pinned=True),
    "scope": st.column_config.TextColumn("Scope"),
    "period_label": st.column_config.TextColumn("Period"),
    "spend_usd": st.column_config.NumberColumn("Spent", format=_USD),
    "limit_usd": st.column_config.NumberColumn("Limit", format=_USD),
    "used_share": st.column_config.ProgressColumn("Used", format="percent", min_value=0.0, max_value=1.0),
    "forecast_usd": st.column_config.NumberColumn("Forecast", format=_USD),
    "forecast_cross": st.column_config.DateColumn("Crosses on"),
    "open_alerts": st.column_config.NumberColumn("Open alerts"),
    "evaluated_at": st.column_config.DatetimeColumn("Evaluated (UTC)", format="YYYY-MM-DD HH:mm"),
}


def _movers(ctx: PageContext, r: Review) -> None:
    st.markdown("#### Top movers")
    _chart(
        r,
        weekly_charts.movers(r, "model"),
        r.movers["model"].table,
        f"{weekly_charts.MOVERS}_model",
        Whole("the biggest movers only"),
    )
    tabs = st.tabs([KIND_TITLES[k] for k in r.movers])
    for tab, (kind, m) in zip(tabs, r.movers.items(), strict=True):
        with tab:
            if not m.comparable:
                st.info("No comparison: the week before is not stored for this.", icon=":material/info:")
                continue
            frame = pd.concat([m.increases, m.decreases]).drop_duplicates("value")
            _table(r, frame, f"weekly_movers_table_{kind}", _MOVER_COLUMNS, Whole("the biggest movers only"))
            for title, rows, money in (
                ("New this week", m.appeared.loc[m.appeared["status"] == NEW], "spend"),
                ("Back after a pause", m.appeared.loc[m.appeared["status"] == BACK], "spend"),
                ("Went silent", m.silent, "spend_prev"),
            ):
                if not rows.empty:
                    listed = ", ".join(
                        f"{lbl} ({fmt.usd(v)})" for lbl, v in zip(rows["label"], rows[money], strict=True)
                    )
                    st.markdown(f"**{title}:** {listed}")
            st.caption("Change % only where either week spent at least $1 and the week before spent something.")


def _efficiency(ctx: PageContext, r: Review) -> None:
    st.markdown("#### Efficiency")
    frame = pd.DataFrame(
        {
            "metric": [e.label for e in r.efficiency],
            "this_week": [weekly_charts.efficiency_text(e.unit, e.current) for e in r.efficiency],
            "week_before": [weekly_charts.efficiency_text(e.unit, e.previous) for e in r.efficiency],
            "change": [weekly_charts.efficiency_change(e.unit, e.change) for e in r.efficiency],
            "note": [e.note for e in r.efficiency],
        }
    )
    _table(r, frame, "weekly_efficiency", _EFFICIENCY_COLUMNS, Whole("one row per figure"))
    st.caption("Cache figures come from OpenRouter's analytics only (`/activity` has no cached tokens).")


_EFFICIENCY_COLUMNS = {
    "metric": st.column_config.TextColumn("", pinned=True),
    "this_week": st.column_config.TextColumn("This week"),
    "week_before": st.column_config.TextColumn("Week before"),
    "change": st.column_config.TextColumn("Change"),
    "note": st.column_config.TextColumn("Note"),
}


def _budget(ctx: PageContext, r: Review) -> None:
    b = r.budget
    st.markdown(f"#### Budget and month-end forecast · {b.month} (as of {b.today})")
    month, projection, credits = st.columns(3)
    with month:
        st.metric(KPI_MONTH, fmt.usd(b.month_done), border=True, help="Completed UTC days of the month.")
    with projection:
        st.metric(
            KPI_PROJECTION,
            fmt.usd(b.projection),
            border=True,
            help="The month so far plus each day left at the pace of the last 28 completed days, shaped by "
            "weekday (the budgets' forecast; the Overview shows the same figure).",
        )
        st.caption(b.projection_note)
    with credits:
        st.metric(KPI_CREDITS, fmt.usd(b.credits_left), border=True)
    if not b.budgets.empty:
        _table(r, b.budgets, "weekly_budgets", _BUDGET_COLUMNS, Whole("one row per budget"))
        st.caption("Budgets as the last `orusage alerts check` evaluated them.")


_WHAT_IF_COLUMNS = {
    "label": st.column_config.TextColumn("Model", pinned=True),
    "spend": st.column_config.NumberColumn("Billed", format=_USD),
    "list_cost": st.column_config.NumberColumn("At its list prices", format=_USD),
    "alternative_label": st.column_config.TextColumn("Alternative"),
    "alternative_cost": st.column_config.NumberColumn("At the alternative's", format=_USD),
    "saving": st.column_config.NumberColumn("Saving", format=_USD),
    "saving_share": st.column_config.NumberColumn("Saving %", format="percent"),
}


def _what_if(ctx: PageContext, r: Review) -> None:
    st.markdown("#### What if: the same tokens on another model")
    s = r.what_if.suggestions
    if s.empty:
        st.info("No cheaper alternative found for this week's top models.", icon=":material/info:")
    else:
        _table(r, s, "weekly_what_if_table", _WHAT_IF_COLUMNS, Whole("the top models re-priced"))
        _chart(r, weekly_charts.what_if(r), s, weekly_charts.WHAT_IF, Whole("the top models re-priced"))
    st.caption(
        "Re-priced at list prices (prompt, completion, cache read, per-request fee), against the cost of what was "
        "used at its own list prices — not the billed spend — so the difference is the model choice alone. "
        f"Prices: {r.what_if.basis}. Alternatives: text models with at least the same context length."
    )
    pool = candidates(r.prices, ctx.today)
    if pool.empty or r.what_if.volume.empty:
        return
    names = dict(zip(pool["model"].astype(str), pool["id"].astype(str), strict=True))
    target = st.selectbox("Re-price the whole week at", list(names), format_func=names.__getitem__, key=TARGET_KEY)
    result = reprice(r.what_if.volume, r.prices, str(target))
    if result is None:
        return
    st.markdown(
        f"This week's tokens at **{names[str(target)]}**'s list prices: **{fmt.usd(result.target_cost)}**, against "
        f"{fmt.usd(result.actual_list_cost)} at the used models' own list prices ({_signed(result.difference)}); "
        f"billed {fmt.usd(result.billed)}."
        + (f" Left out (no list prices): {', '.join(result.unpriced)}." if result.unpriced else "")
    )
