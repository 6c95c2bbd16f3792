"""Explore: spend, tokens or requests grouped by any two of model, provider, API key, app, workspace, member,
end user, team and day, each grouping's long tail as one "other" value, as OpenRouter's Activity Explore
does; the view lives in the link (``by``, ``then``, ``metric``, ``top``) with the sidebar's filters.

Each pair is read from the one stored table that holds it (``queries.reads_routing``); a pair none holds
says why in one line. Grouped by team, the numbers are the one allocation of spend to teams
(``queries.allocation``): the Teams page's and ``orusage report chargeback``'s lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import streamlit as st

from charts import base, daily, rank
from dashboard import data, explore_url, frames, ui, view_state
from dashboard.context import PageContext
from dashboard.parts import Split
from queries import allocation
from queries.reads_explore import GROUPINGS, KEYS_NOT_STORED, Question
from queries.reads_facts import OTHER
from queries.reads_routing import Route

TITLE = "Explore"
METRICS = {"spend": "Spend", "tokens": "Tokens", "requests": "Requests"}
PLURALS = {"key": "API keys", "end_user": "end users", "date": "days"}


def _plural(name: str) -> str:
    return PLURALS.get(name, GROUPINGS[name] + "s")


def _labeller(ctx: PageContext, name: str) -> Callable[[str], str]:
    meta = ctx.meta
    label = {"model": meta.model_label, "key": meta.key_label, "member": meta.member_label}.get(name, str)
    return lambda value: value if value == KEYS_NOT_STORED else label(value)


def _controls() -> None:
    names = list(GROUPINGS)
    first, second, metric, top = st.columns([3, 3, 3, 2])
    first.selectbox(
        "Group by",
        names,
        format_func=lambda n: GROUPINGS[n].capitalize(),
        key=view_state.BY_KEY,
        on_change=view_state.by_changed,
    )
    second.selectbox(
        "Then by",
        [explore_url.NONE, *names],
        format_func=lambda n: "nothing" if n == explore_url.NONE else GROUPINGS[n].capitalize(),
        key=view_state.THEN_KEY,
        on_change=view_state.then_changed,
    )
    with metric:
        st.segmented_control("Metric", list(METRICS), format_func=METRICS.__getitem__, key=view_state.METRIC_KEY)
    top.selectbox("Values kept", list(explore_url.TOPS), key=view_state.TOP_KEY, help="The rest are “other”.")


def _route(ctx: PageContext, q: Question) -> Route:
    """The routed question behind ``q``: by team, the allocation's (its gaps and the filters no stored table
    can meet), or why the pair cannot be split."""
    if not q.by_team:
        return ctx.route(q.dims)
    r = ctx.route(q.dims, filters=allocation.route_filters(ctx.filters))
    return r if q.impossible is None else replace(r, segments=(), gaps=(), unanswerable=q.impossible)


def render(ctx: PageContext) -> None:
    ui.header(TITLE, ctx, "Any two groupings")
    _controls()
    view = view_state.explore()
    second = None if view.then == explore_url.NONE else view.then
    q = Question(view.by, second, view.metric, view.top)
    if q.by_team and not ctx.meta.teams:
        st.info(
            "No teams stored: teams come from the alerts config (`[teams.NAME]` of keys, workspaces, apps or "
            "members) as the last `orusage alerts check` resolved them. All spend is “unallocated” until then.",
            icon=":material/info:",
        )
    words = " × ".join(GROUPINGS[g] for g in q.groupings)
    r = _route(ctx, q)
    if not ui.route_notes(ctx, r, f"{METRICS[q.metric]} by {words}"):
        return
    if q.by_team:
        found = data.explore_teams(ctx.store, q, ctx.filters, ctx.today)
    else:
        found = data.explore(ctx.store, q, r, ctx.filters)
    if found.empty:
        ui.no_usage(ctx)
        return
    found = _labelled(ctx, q, found)
    _headline(ctx, found)
    _chart(ctx, q, found)
    _table(ctx, q, found)
    notes = [ui.sources_caption(r)]
    if q.by_team:
        notes.append(
            "Each dollar goes to one team, as on the Teams page and in `orusage report chargeback`: a key or "
            "workspace rule first, then an app rule, then a member rule; what no rule claims is “unallocated”."
        )
        kinds = data.team_kinds(ctx.store)
        shared = sorted(kinds.loc[kinds["overlaps"] > 0, "team"])
        if shared:
            notes.append(f"Teams sharing keys, apps or members with a team earlier by name: {', '.join(shared)}.")
    st.caption(" ".join(notes))


def _labelled(ctx: PageContext, q: Question, found: pd.DataFrame) -> pd.DataFrame:
    out = found.assign(tokens=found["tokens"], paid_per_m=frames.per_million_tokens(found["spend"], found["tokens"]))
    for g in q.groupings:
        if g == "date":
            out = out.assign(date_label=[pd.Timestamp(d).strftime("%Y-%m-%d") for d in out["date"]])
            continue
        label = _labeller(ctx, g)
        # One name for the whole "other" column or row: the values beyond the top, over the whole period.
        beyond = int(out[f"values_{g}"].max()) - q.top if len(out) else 0
        out = out.assign(
            **{f"{g}_label": [f"other ({beyond:,} {_plural(g)})" if v == OTHER else label(str(v)) for v in out[g]]}
        )
    return out


def _headline(ctx: PageContext, found: pd.DataFrame) -> None:
    ui.totals(found, f"{ctx.filters.label.capitalize()}, with the sidebar's filters.")


def _chart(ctx: PageContext, q: Question, found: pd.DataFrame) -> None:
    metric, title, usd = q.metric, METRICS[q.metric], q.metric == "spend"
    name = "explore"
    alt = f"{title} by {' and '.join(GROUPINGS[g] for g in q.groupings)}"
    others = [g for g in q.groupings if g != "date"]
    if "date" in q.groupings:
        series = others[0] if others else None
        frame = found.assign(
            series=found[f"{series}_label"] if series else "all",
            rank=found[f"rank_{series}"] if series else 1,
        )
        spec = daily.stacked_per_day(
            frame,
            start=ctx.filters.start,
            end=ctx.filters.end,
            series="series",
            value=metric,
            name=name,
            heading=f"{title} per day" + (f" by {GROUPINGS[series]}" if series else ""),
            subtitle=(f"top {q.top} {_plural(series)} by {metric}, the rest as “other”" if series else title),
            series_title=GROUPINGS[series].capitalize() if series else "All",
            usd=usd,
            other=next((s for s in frame["series"] if str(s).startswith("other (")), None),
            value_title=None if metric != "requests" else "Requests",
            legend_columns=3,
        )
        ui.chart(ctx, spec, found, name, alt, split=_split(ctx, q))
        return
    first = q.first
    link = ui.LINKS.get(first)
    if q.second is None:
        bars = found.sort_values(f"rank_{first}").assign(label=found[f"{first}_label"], is_other=found[first] == OTHER)
        spec = rank.hbars(
            bars,
            label="label",
            value=metric,
            name=name,
            heading=f"{title} per {GROUPINGS[first]}",
            subtitle=f"top {q.top}, the rest as “other”",
            usd=usd,
            tooltip=[base.tip("spend:Q", "Spend", base.USD_TOOLTIP), base.tip("requests:Q", "Requests", ",")],
            value_title=title if not usd else "Spend (USD)",
            pick_field="model" if first == "model" else first if link else None,
        )
        _draw(ctx, spec, bars.drop(columns=["is_other"]), name, first, link, alt, _split(ctx, q))
        return
    second = q.second
    y_order = list(found.sort_values(f"rank_{first}")[f"{first}_label"].drop_duplicates())
    x_order = list(found.sort_values(f"rank_{second}")[f"{second}_label"].drop_duplicates())
    spec = rank.heatmap(
        found,
        x=f"{second}_label",
        y=f"{first}_label",
        value=metric,
        name=name,
        heading=f"{title} per {GROUPINGS[first]} × {GROUPINGS[second]}",
        subtitle=f"top {q.top} of each, the rest as “other”",
        x_title=GROUPINGS[second].capitalize(),
        y_title=GROUPINGS[first].capitalize(),
        x_order=x_order,
        y_order=y_order,
        pick_field="model" if "model" in q.groupings else first if link else None,
        usd=usd,
        value_title=title,
    )
    _draw(ctx, spec, found, name, "model" if "model" in q.groupings else first, link, alt, _split(ctx, q))


def _split(ctx: PageContext, q: Question) -> Split:
    """The cells add up to the question's totals (the top values and "other" for the rest), over the days the
    sources holding its groupings cover."""
    return Split(ctx.filters, requests="requests", tokens=("tokens",), by=tuple(g for g in q.groupings if g != "date"))


def _draw(
    ctx: PageContext,
    spec: base.Spec,
    frame: pd.DataFrame,
    name: str,
    picked: str,
    link: ui.Link | None,
    alt: str,
    split: Split,
) -> None:
    if picked == "model":
        ui.model_chart(ctx, spec, frame, name, alt, split=split)
    elif link is not None:
        ui.link_chart(ctx, spec, frame, name, link, alt, split=split)
    else:
        ui.chart(ctx, spec, frame, name, alt, split=split)


def _table(ctx: PageContext, q: Question, found: pd.DataFrame) -> None:
    columns = {f"{g}_label": st.column_config.TextColumn(GROUPINGS[g].capitalize(), pinned=True) for g in q.groupings}
    columns |= {k: v for k, v in ui.usage_columns("_", "_").items() if k != "_"}
    order = [f"rank_{g}" if g != "date" else "date" for g in q.groupings]
    table = found.sort_values(order, ignore_index=True)
    link = ui.LINKS.get(q.first)
    ui.link_table(ctx, table, "explore_table", columns, link, split=_split(ctx, q))
    if link is not None:
        st.caption(f"Select a row to open its {GROUPINGS[q.first]}'s page with these filters.")
