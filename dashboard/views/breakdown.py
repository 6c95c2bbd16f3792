"""The one breakdown page: spend, requests and tokens per value of one dimension (providers, apps, API keys,
and every dimension added later), written once and configured per dimension by a ``Breakdown``.

A page run: its title, the dimension's own opening section (if any), what the route cannot show, spend per
value (top N, the rest as one "other" bar) beside tokens per value, spend (or tokens) per day, the value ×
model matrix where the dimension has one, the dimension's own closing section (if any), the table of every
value with its download, and which tables answered which days.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import streamlit as st

from charts import base, daily, rank
from core import fmt
from dashboard import data, frames, ui
from dashboard.context import PageContext
from dashboard.data import Meta
from dashboard.parts import Split
from queries.reads_facts import DIM_COLUMN, OTHER
from queries.reads_routing import Dim

UNATTRIBUTED = "unattributed"  # the empty label OpenRouter's analytics give traffic without the dimension


@dataclass(frozen=True)
class Matrix:
    """The value × model heatmap: ``name`` of its chart, the models on ``models_on``, the top ``top_models``
    models (the rest as "other models") and the top ``top_values`` values (None: every value)."""

    name: str
    models_on: Literal["x", "y"]
    top_models: int = 12
    top_values: int | None = None


@dataclass(frozen=True)
class Breakdown:
    """One dimension's page."""

    dim: Dim
    title: str  # "Providers"
    noun: str  # "provider"
    plural: str  # "providers"
    top: int = 12  # bars per value
    top_per_day: int = 6  # series per day
    label: Callable[[Meta], Callable[[str], str]] = lambda _meta: str  # how a value is shown
    columns: Mapping[str, Any] = field(default_factory=dict)  # the table's columns beyond the usage ones
    matrix: Matrix | None = None
    opening: Callable[[PageContext], None] | None = None  # drawn before the spend (e.g. keys' limits)
    notes: Callable[[pd.DataFrame], None] | None = None  # about the values found (e.g. "unattributed")
    closing: Callable[[PageContext, pd.DataFrame], pd.DataFrame] | None = None  # may add table columns
    caption: str = ""

    @property
    def column(self) -> str:
        return DIM_COLUMN[self.dim]

    @property
    def metric_key(self) -> str:
        return f"{self.plural}_per_day_metric"


def render(ctx: PageContext, b: Breakdown) -> None:
    ui.header(b.title, ctx, f"Per {b.noun}")
    if b.opening is not None:
        b.opening(ctx)
        st.divider()
        st.markdown(f"#### Spend per {b.noun} · {fmt.day_range(ctx.filters.start, ctx.filters.end)} (UTC)")
    r = ctx.route([b.dim])
    if not ui.route_notes(ctx, r, f"Per-{b.noun} figures"):
        return
    label = b.label(ctx.meta)
    per = data.facts(ctx.store, r, ctx.filters, (b.column,))
    if per.empty:
        ui.no_usage(ctx)
        return
    per = _with_reasoning(ctx, b, _usage(per, b.column, label))
    if b.notes is not None:
        b.notes(per)
    left, right = st.columns(2, gap="large")
    top = _top(ctx, b, label)
    with left:
        ui.chart(
            ctx,
            rank.hbars(
                top,
                label="label",
                value="spend",
                name=f"{b.noun}_spend",
                heading=f"Spend per {b.noun}",
                subtitle=f"USD, top {b.top}; “{UNATTRIBUTED}” and the rest in grey",
                tooltip=[
                    base.tip("requests:Q", "Requests", ","),
                    base.tip("paid_per_m:Q", "Paid per M tokens", "$,.3f"),
                ],
                value_title="Spend (USD)",
            ),
            top.drop(columns=["is_other"]),
            f"{b.noun}_spend",
            f"Bars of spend per {b.noun}",
            split=Split(ctx.filters, requests="requests", by=(b.column,)),
        )
    with right:
        ui.chart(
            ctx,
            rank.token_bars(top, name=f"{b.noun}_tokens", heading=f"Tokens per {b.noun}", subtitle=f"top {b.top}"),
            top[[b.column, "label", "prompt", "completion_only", "reasoning", "completion"]],
            f"{b.noun}_tokens",
            f"Stacked bars of tokens per {b.noun}",
            split=Split(ctx.filters, money=(), tokens=("prompt", "completion_only", "reasoning"), by=(b.column,)),
        )
    _per_day(ctx, b, label)
    if b.matrix is not None:
        _matrix(ctx, b, b.matrix)
    if b.closing is not None:
        per = b.closing(ctx, per)
    st.markdown(f"#### All {b.plural}")
    ui.table(
        ctx,
        per,
        f"{b.plural}_table",
        _table_columns(b, label),
        split=Split(ctx.filters, requests="requests", tokens=("prompt", "completion"), by=(b.column,)),
    )
    st.caption(" ".join(part for part in (b.caption, ui.sources_caption(r)) if part))


def _usage(per: pd.DataFrame, column: str, label: Callable[[str], str]) -> pd.DataFrame:
    """Every value's row with its label, tokens, price paid per million tokens and share, biggest first."""
    total = float(per["spend"].sum())
    per = per.assign(
        label=[label(str(v)) for v in per[column]],
        tokens=frames.tokens(per),
        share=per["spend"] / total if total else 0.0,
    )
    per = per.assign(paid_per_m=frames.per_million_tokens(per["spend"], per["tokens"]))
    return per.sort_values(["spend", column], ascending=[False, True], ignore_index=True)


def _with_reasoning(ctx: PageContext, b: Breakdown, per: pd.DataFrame) -> pd.DataFrame:
    """Reasoning tokens and their cost at list prices per value, where the store splits them by model too."""
    r = ctx.route([b.dim, Dim.MODEL])
    if not r.answerable or not r.has_data_days:
        return per
    reasoning = data.reasoning_by(ctx.store, r, ctx.filters, b.column)
    return per.merge(reasoning, on=b.column, how="left")


def _top(ctx: PageContext, b: Breakdown, label: Callable[[str], str]) -> pd.DataFrame:
    """The top values, the rest summed into one "other (n …)" row; "unattributed" and other in grey."""
    r = ctx.route([b.dim])
    top = data.facts(ctx.store, r, ctx.filters, (b.column,), top=(b.column, b.top))
    top = frames.with_other_count(frames.labelled(top, b.column, label, "other"), b.column, b.plural)
    top = frames.stacked_tokens(top.assign(tokens=frames.tokens(top)))
    top = top.assign(is_other=top[b.column].isin([OTHER, UNATTRIBUTED]))
    top = top.assign(paid_per_m=frames.per_million_tokens(top["spend"], top["tokens"]))
    return top.sort_values("rank", ignore_index=True)


def _per_day(ctx: PageContext, b: Breakdown, label: Callable[[str], str]) -> None:
    r = ctx.route([b.dim])
    other = f"other {b.plural}"
    per_day = data.facts(ctx.store, r, ctx.filters, ("date", b.column), top=(b.column, b.top_per_day))
    per_day = frames.labelled(per_day, b.column, label, other).assign(tokens=lambda f: frames.tokens(f))
    metric = st.segmented_control(
        "Per day", ["Spend", "Tokens"], default="Spend", key=b.metric_key, label_visibility="collapsed"
    )
    usd = metric != "Tokens"
    spec = daily.stacked_per_day(
        per_day,
        start=ctx.filters.start,
        end=ctx.filters.end,
        series="label",
        value="spend" if usd else "tokens",
        name=f"{b.noun}_per_day",
        heading=f"{'Spend' if usd else 'Tokens'} per day by {b.noun}",
        subtitle=f"{'USD' if usd else 'prompt + completion tokens'}, top {b.top_per_day} {b.plural} of the "
        "period by spend",
        series_title=b.noun.capitalize(),
        other=other,
        usd=usd,
        legend_columns=3,
    )
    ui.chart(
        ctx,
        spec,
        per_day.drop(columns=["is_other"]),
        f"{b.noun}_per_day",
        f"Stacked bars of spend or tokens per day by {b.noun}",
        split=Split(ctx.filters, tokens=("tokens",), requests="requests", by=(b.column,)),
    )


def _matrix(ctx: PageContext, b: Breakdown, m: Matrix) -> None:
    r = ctx.route([b.dim, Dim.MODEL])
    if not ui.route_notes(ctx, r, f"{b.noun.capitalize()} × model"):
        return
    cells = data.facts(ctx.store, r, ctx.filters, (b.column, "model"), top=("model", m.top_models))
    if cells.empty:
        return
    cells = frames.labelled(cells, "model", ctx.meta.model_label)
    label = b.label(ctx.meta)
    cells = cells.assign(value_label=[label(str(v)) for v in cells[b.column]])
    ranked = list(cells.groupby("value_label")["spend"].sum().sort_values(ascending=False).index)
    values = ranked[: m.top_values]
    if len(ranked) > len(values):
        # Every value counts: the ones beyond the top ones are one row of their own, so the cells add up.
        rest = f"other {b.plural}"
        cells = cells.assign(value_label=cells["value_label"].where(cells["value_label"].isin(values), rest))
        sums = ["spend", "byok", "requests", "prompt", "completion", "reasoning", "completion_only", "cached"]
        cells = cells.groupby(["value_label", "model", "label"], as_index=False, dropna=False)[sums].sum()
        cells = cells.assign(is_other=cells["model"] == OTHER, **{b.column: cells["value_label"]})
        values = [*values, rest]
    models = list(cells.groupby("label")["spend"].sum().sort_values(ascending=False).index)
    models = [x for x in models if x != "other models"] + (["other models"] if "other models" in models else [])
    title = b.noun.capitalize()
    on_x = m.models_on == "x"
    ui.model_chart(
        ctx,
        rank.heatmap(
            cells,
            x="label" if on_x else "value_label",
            y="value_label" if on_x else "label",
            value="spend",
            name=m.name,
            heading=f"Spend per {b.noun} × model" if on_x else f"Spend per model × {b.noun}",
            subtitle=(f"USD; top {m.top_values} {b.plural}, " if m.top_values else "USD; ")
            + f"top {m.top_models} models, the rest as “other models”; click a cell for the model",
            x_title="Model" if on_x else title,
            y_title=title if on_x else "Model",
            x_order=models if on_x else values,
            y_order=values if on_x else models,
            pick_field="model",
        ),
        cells.drop(columns=["is_other"]),
        m.name,
        split=Split(ctx.filters, requests="requests", by=(b.column, "model")),
    )


def _table_columns(b: Breakdown, label: Callable[[str], str]) -> dict[str, Any]:
    """The dimension's own column pinned first when its values are their own labels, else the label."""
    shown = b.column if label is str else "label"
    return {
        **ui.usage_columns(shown, b.noun.capitalize()),
        "share": st.column_config.NumberColumn("Share of spend", format="percent"),
        "byok": st.column_config.NumberColumn("of which BYOK", format="$%.2f"),
        "reasoning_within": st.column_config.NumberColumn(
            "Reasoning tokens", format="compact", help="Reasoning tokens, counted within completion tokens."
        ),
        "reasoning_cost": st.column_config.NumberColumn(
            "Reasoning at list",
            format="$%.2f",
            help="Those tokens at the internal_reasoning price in force each day (else the completion price).",
        ),
        **b.columns,
    }
