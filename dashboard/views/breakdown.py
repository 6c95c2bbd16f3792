"""The one breakdown page: spend, requests and tokens per value of one dimension (providers, apps, API keys,
teams, and every dimension added later), written once and configured per dimension by a ``Breakdown``.

A routed dimension (``dim``) reads the routed facts; a dimension no stored table groups by (teams) brings
its own ``Source``: how it reads the same frames, and the routed question its numbers rest on (whose gaps,
"cannot be shown" notes and sources the page shows as for any other).

A page run: its title, the dimension's own opening section (if any), what the route cannot show, the
period's spend, requests, tokens and paid price per million tokens, spend per value (top N, the rest as
one "other" bar) beside tokens per value, spend, requests, tokens or paid price per day, the value × model
matrix where the dimension has one, the dimension's own closing section (if any), the table of every value
(or the top N and "other") with its download, and which tables answered which days. A bar or a table row
opens the same page filtered to its value (``ui.DIM_LINKS``), as a link to it would.
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
from dashboard.explore_url import PER_DAY_CHOICES
from dashboard.parts import Split
from dashboard.view_state import PER_DAY_KEY
from queries.filters import Filters
from queries.reads_facts import DIM_COLUMN, OTHER
from queries.reads_routing import Dim, Route

UNATTRIBUTED = "unattributed"  # the empty label OpenRouter's analytics give traffic without the dimension
_SUMMED = ("spend", "byok", "requests", "prompt", "completion", "reasoning", "completion_only", "cached", "tokens",
           "reasoning_within", "reasoning_cost")  # fmt: skip


@dataclass(frozen=True)
class Matrix:
    """The value × model heatmap: ``name`` of its chart, the models on ``models_on``, the top ``top_models``
    models (the rest as "other models") and the top ``top_values`` values (None: every value)."""

    name: str
    models_on: Literal["x", "y"]
    top_models: int = 12
    top_values: int | None = None


Reader = Callable[[PageContext, tuple[str, ...], "tuple[str, int] | None"], pd.DataFrame]


def _same(filters: Filters) -> Filters:
    return filters


@dataclass(frozen=True)
class Source:
    """A dimension no routed table holds, read its own way: ``read(ctx, by, top)`` answers like
    ``data.facts`` (the dimension's values in ``column``); ``dims`` is the routed question its numbers rest
    on, asked with the sidebar's filters as ``route_filters`` turns them (a filter it applies by other means
    is dropped from the question)."""

    column: str
    dims: tuple[Dim, ...]
    read: Reader
    route_filters: Callable[[Filters], Filters] = _same


@dataclass(frozen=True)
class Breakdown:
    """One dimension's page: a routed ``dim``, or (``dim`` None) a ``source`` of its own."""

    dim: Dim | None
    title: str  # "Providers"
    noun: str  # "provider"
    plural: str  # "providers"
    top: int = 12  # bars per value
    top_per_day: int = 6  # series per day
    label: Callable[[Meta], Callable[[str], str]] = lambda _meta: str  # how a value is shown
    columns: Mapping[str, Any] = field(default_factory=dict)  # the table's columns beyond the usage ones
    matrix: Matrix | None = None
    opening: Callable[[PageContext], None] | None = None  # drawn before the spend (e.g. keys' limits)
    # What the muted value's spend is and how to attribute it, said under the headline when it has any:
    # "“unattributed”: $12.34 (5.6% of this period's spend) from requests that sent no `user` field. …"
    muted_note: str = ""
    closing: Callable[[PageContext, pd.DataFrame], pd.DataFrame] | None = None  # may add table columns
    caption: str = ""
    source: Source | None = None
    muted: str = UNATTRIBUTED  # the value drawn in grey with the rest: spend no value of the dimension holds
    table_top: int | None = None  # the table: every value (None), or the top n and one "other" row
    linked: bool = True  # a bar or row opens this page filtered to its value (when the dimension is a filter)
    value_link: ui.Link | None = None  # where a value opens when ``dim`` is None (a source of its own)

    @property
    def column(self) -> str:
        if self.source is not None:
            return self.source.column
        assert self.dim is not None, "a breakdown needs a dim or a source"
        return DIM_COLUMN[self.dim]

    @property
    def slug(self) -> str:
        """Names charts and downloads: "provider_spend", "end_user_per_day", "end_users_table"."""
        return self.column

    @property
    def link(self) -> ui.Link | None:
        if not self.linked:
            return None
        return self.value_link if self.dim is None else ui.DIM_LINKS.get(self.dim)


def render(ctx: PageContext, b: Breakdown) -> None:
    ui.header(b.title, ctx, f"Per {b.noun}")
    if b.opening is not None:
        b.opening(ctx)
        st.divider()
        st.markdown(f"#### Spend per {b.noun} · {fmt.day_range(ctx.filters.start, ctx.filters.end)} (UTC)")
    r = _route(ctx, b)
    if not ui.route_notes(ctx, r, f"Per-{b.noun} figures"):
        return
    label = b.label(ctx.meta)
    per = _read(ctx, b, r, (b.column,))
    if per.empty:
        ui.no_usage(ctx)
        return
    per = _with_reasoning(ctx, b, _usage(per, b.column, label))
    _headline(ctx, b, per)
    if b.muted_note:
        _muted_note(b, per)
    left, right = st.columns(2, gap="large")
    top = _top(ctx, b, label)
    with left:
        spec = rank.hbars(
            top,
            label="label",
            value="spend",
            name=f"{b.slug}_spend",
            heading=f"Spend per {b.noun}",
            subtitle=f"USD, top {b.top}; “{b.muted}” and the rest in grey"
            + ("; click a bar for its page" if b.link else ""),
            tooltip=[
                base.tip("requests:Q", "Requests", ","),
                base.tip("paid_per_m:Q", "Paid per M tokens", "$,.3f"),
            ],
            value_title="Spend (USD)",
            pick_field=b.column if b.link else None,
        )
        shown = top.drop(columns=["is_other"])
        split = _split(ctx, b, requests="requests")
        if b.link is None:
            ui.chart(ctx, spec, shown, f"{b.slug}_spend", f"Bars of spend per {b.noun}", split=split)
        else:
            ui.link_chart(ctx, spec, shown, f"{b.slug}_spend", b.link, f"Bars of spend per {b.noun}", split=split)
    with right:
        ui.chart(
            ctx,
            rank.token_bars(top, name=f"{b.slug}_tokens", heading=f"Tokens per {b.noun}", subtitle=f"top {b.top}"),
            top[[b.column, "label", "prompt", "completion_only", "reasoning", "completion"]],
            f"{b.slug}_tokens",
            f"Stacked bars of tokens per {b.noun}",
            split=_split(ctx, b, money=(), tokens=("prompt", "completion_only", "reasoning")),
        )
    _per_day(ctx, b, label)
    if b.matrix is not None:
        _matrix(ctx, b, b.matrix)
    if b.closing is not None:
        per = b.closing(ctx, per)
    table = per if b.table_top is None else _folded(per, b)
    st.markdown(f"#### All {b.plural}" if b.table_top is None or len(per) <= b.table_top else f"Top {b.table_top}")
    ui.link_table(
        ctx,
        table,
        f"{b.slug}s_table",
        _table_columns(b, label),
        b.link,
        split=_split(ctx, b, requests="requests", tokens=("prompt", "completion")),
    )
    if b.link is not None:
        st.caption(f"Select a row to see that {b.noun} alone (the link keeps the other filters).")
    st.caption(" ".join(part for part in (b.caption, ui.sources_caption(r)) if part))


def _muted_note(b: Breakdown, per: pd.DataFrame) -> None:
    row = per.loc[per[b.column] == b.muted]
    if row.empty:
        return
    spend, share = float(row["spend"].iloc[0]), float(row["share"].iloc[0])
    st.caption(f"“{b.muted}”: {fmt.usd(spend)} ({share:.1%} of this period's spend) {b.muted_note}")


def _route(ctx: PageContext, b: Breakdown, *extra: Dim) -> Route:
    if b.source is None:
        assert b.dim is not None
        return ctx.route([b.dim, *extra])
    return ctx.route([*b.source.dims, *extra], filters=b.source.route_filters(ctx.filters))


def _split(ctx: PageContext, b: Breakdown, *extra: str, **parts: Any) -> Split:
    """What a chart or table of the page adds up to: the question split by the dimension (and ``extra``
    columns), over the days the sources holding it cover; a dimension of its own (``source``) splits the
    routed question its numbers rest on."""
    if b.source is None:
        return Split(ctx.filters, by=(b.column, *extra), **parts)
    dims = tuple(DIM_COLUMN[d] for d in b.source.dims if d is not Dim.MODEL)
    return Split(b.source.route_filters(ctx.filters), by=(*dims, *extra), **parts)


def _read(
    ctx: PageContext, b: Breakdown, r: Route, by: tuple[str, ...], top: tuple[str, int] | None = None
) -> pd.DataFrame:
    if b.source is None:
        return data.facts(ctx.store, r, ctx.filters, by, top=top)
    return b.source.read(ctx, by, top)


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
    if b.dim is None:
        return per
    r = ctx.route([b.dim, Dim.MODEL])
    if not r.answerable or not r.has_data_days:
        return per
    reasoning = data.reasoning_by(ctx.store, r, ctx.filters, b.column)
    return per.merge(reasoning, on=b.column, how="left")


def _headline(ctx: PageContext, b: Breakdown, per: pd.DataFrame) -> None:
    """The period's totals over every value: what the charts and the table below add up to."""
    ui.totals(per, f"{ctx.filters.label.capitalize()}, every {b.noun}.")
    st.caption(f"{len(per):,} {b.plural if len(per) != 1 else b.noun} with usage in {ctx.filters.label}.")


def _top(ctx: PageContext, b: Breakdown, label: Callable[[str], str]) -> pd.DataFrame:
    """The top values, the rest summed into one "other (n …)" row; "unattributed" and other in grey."""
    r = _route(ctx, b)
    top = _read(ctx, b, r, (b.column,), (b.column, b.top))
    top = frames.with_other_count(frames.labelled(top, b.column, label, "other"), b.column, b.plural)
    top = frames.stacked_tokens(top.assign(tokens=frames.tokens(top)))
    top = top.assign(is_other=top[b.column].isin([OTHER, b.muted]))
    top = top.assign(paid_per_m=frames.per_million_tokens(top["spend"], top["tokens"]))
    return top.sort_values("rank", ignore_index=True)


def _folded(per: pd.DataFrame, b: Breakdown) -> pd.DataFrame:
    """The table's top ``b.table_top`` rows (biggest spend first) and one "other (n …)" row for the rest."""
    n = b.table_top or len(per)
    if len(per) <= n:
        return per
    head, tail = per.iloc[:n], per.iloc[n:]
    other: dict[str, object] = {c: tail[c].sum() for c in _SUMMED if c in per.columns}
    other.update({b.column: OTHER, "label": f"other ({len(tail):,} {b.plural})"})
    folded = pd.concat([head, pd.DataFrame([other])], ignore_index=True)
    total = float(per["spend"].sum())
    return folded.assign(
        share=folded["spend"] / total if total else 0.0,
        paid_per_m=frames.per_million_tokens(folded["spend"], folded["tokens"]),
    )


def _per_day(ctx: PageContext, b: Breakdown, label: Callable[[str], str]) -> None:
    r = _route(ctx, b)
    other = f"other {b.plural}"
    per_day = _read(ctx, b, r, ("date", b.column), (b.column, b.top_per_day))
    per_day = frames.labelled(per_day, b.column, label, other).assign(tokens=lambda f: frames.tokens(f))
    per_day = per_day.assign(paid_per_m=frames.per_million_tokens(per_day["spend"], per_day["tokens"]))
    st.segmented_control(
        "Per day",
        list(PER_DAY_CHOICES),
        format_func=PER_DAY_CHOICES.__getitem__,
        key=PER_DAY_KEY,
        label_visibility="collapsed",
    )
    metric = str(st.session_state.get(PER_DAY_KEY) or "spend")
    name = f"{b.slug}_per_day"
    ranked = f"top {b.top_per_day} {b.plural} of the period by spend"
    if metric == "price":
        spec = daily.lines_per_day(
            per_day,
            start=ctx.filters.start,
            end=ctx.filters.end,
            series="label",
            value="paid_per_m",
            name=name,
            heading=f"Paid per million tokens per day by {b.noun}",
            subtitle=f"USD per million tokens (prompt + completion), {ranked}",
            series_title=b.noun.capitalize(),
            value_title="Paid / M tokens (USD)",
            value_format="$,.3f",
            other=other,
            extra_tips=(("spend", "Spend", base.USD_TOOLTIP), ("tokens", "Tokens", ",")),
        )
    else:
        units = {"spend": "USD", "requests": "requests", "tokens": "prompt + completion tokens"}
        spec = daily.stacked_per_day(
            per_day,
            start=ctx.filters.start,
            end=ctx.filters.end,
            series="label",
            value=metric,
            name=name,
            heading=f"{PER_DAY_CHOICES[metric]} per day by {b.noun}",
            subtitle=f"{units[metric]}, {ranked}",
            series_title=b.noun.capitalize(),
            other=other,
            usd=metric == "spend",
            value_title="Requests" if metric == "requests" else None,
            legend_columns=3,
        )
    ui.chart(
        ctx,
        spec,
        per_day.drop(columns=["is_other"]),
        name,
        f"Spend, requests, tokens or price per day by {b.noun}",
        split=_split(ctx, b, tokens=("tokens",), requests="requests"),
    )


def _matrix(ctx: PageContext, b: Breakdown, m: Matrix) -> None:
    r = _route(ctx, b, Dim.MODEL)
    if not ui.route_notes(ctx, r, f"{b.noun.capitalize()} × model"):
        return
    cells = _read(ctx, b, r, (b.column, "model"), ("model", m.top_models))
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
        sums = [c for c in _SUMMED if c in cells.columns]
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
        split=_split(ctx, b, "model", requests="requests"),
    )
    st.caption(ui.sources_caption(r))


def _table_columns(b: Breakdown, label: Callable[[str], str]) -> dict[str, Any]:
    """The dimension's own column pinned first when its values are their own labels, else the label (and
    for a folded table, whose "other" row is named in its label)."""
    shown = b.column if label is str and b.table_top is None else "label"
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
