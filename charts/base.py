"""Chart primitives shared by every chart: DataFrames in, Vega-Lite specs out. No Streamlit.

The pages' charts are written as Vega-Lite dicts (``Spec``), their data as named ``datasets`` that
``st.vega_lite_chart`` sends as Arrow: building the same charts with Altair's objects cost a page up to
0.15 s, validation aside. The JSON is the one Altair produced for them. ``vega_spec`` turns the one Altair
chart left (the budgets' forecast) into the same kind of dict.

Each chart carries ``usermeta.orusage_chart`` (its name) so tests and tooling can find it in the page
without relying on titles or order. Days travel as ``YYYY-MM-DD`` strings on a band axis whose domain is
every day of the range, so idle days keep their (empty) slot and no browser time zone can move a bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import altair as alt
import pandas as pd

DAY_TITLE = "Day (UTC)"
USD_AXIS = "$,.2~f"
USD_TOOLTIP = "$,.4f"
TOKENS_AXIS = "datum.value == 0 ? '0' : format(datum.value, '~s')"
# Streamlit's default ("fit") squeezes title, legend and axes into `height`; fit-x keeps the plot area
# at `height` and still stretches to the column's width.
FIT = {"type": "fit-x", "contains": "padding"}
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")  # FIT, for the weekly review's Altair charts
OTHER_COLOR = "#B8BEC9"
# Distinct, colour-blind-friendly enough, and readable on white (Tableau 10, "other" kept grey).
PALETTE = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#76B7B2",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#6B8E23",
)

# (column, legend label, colour). Order = legend order = stacking order from the axis up.
TOKEN_PARTS: tuple[tuple[str, str, str], ...] = (
    ("prompt", "Prompt", "#6366F1"),
    ("completion_only", "Completion (excl. reasoning)", "#10B981"),
    ("reasoning", "Reasoning", "#F59E0B"),
)
# The same with the prompt in two: what the cache served, and the rest.
TOKEN_PARTS_CACHED: tuple[tuple[str, str, str], ...] = (
    ("prompt_uncached", "Prompt (not cached)", "#6366F1"),
    ("cached", "Cached prompt", "#A5B4FC"),
    *TOKEN_PARTS[1:],
)


Spec = dict[str, Any]  # a Vega-Lite spec, as ``st.vega_lite_chart`` takes it
# Dataset names are "orusage-<n>": Vega-Lite calls its own data sources data_0, data_1…, and a dataset of the
# same name fails to compile.
_TYPES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal"}


def field(shorthand: str, **props: Any) -> dict[str, Any]:
    """``"spend:Q"`` → ``{"field": "spend", "type": "quantitative"}``, plus ``props``."""
    name, kind = shorthand.rsplit(":", 1)
    return {"field": name, "type": _TYPES[kind], **props}


def tip(shorthand: str, title: str | None = None, format: str | None = None) -> dict[str, Any]:
    """A tooltip line: the field, its title and its number format."""
    line = field(shorthand)
    if title is not None:
        line["title"] = title
    if format is not None:
        line["format"] = format
    return line


def condition(test: str, yes: Any, no: Any) -> dict[str, Any]:
    """A constant channel value that depends on the datum (``test`` is a Vega expression)."""
    return {"condition": {"test": test, "value": yes}, "value": no}


def pick(field_name: str, view: str) -> dict[str, Any]:
    """A click selection named ``PICK`` on ``field_name`` in the layer named ``view``."""
    select = {"type": "point", "clear": "dblclick", "fields": [field_name], "on": "click", "toggle": False}
    return {"name": PICK, "select": select, "views": [view]}


PICK = "pick"  # the selection that opens a model's page (dashboard.ui.model_chart)
PICK_VIEW = "view_1"  # the name Streamlit gives the first view of a layered chart with a selection


def spec_title(text: str, subtitle: str | None = None) -> dict[str, Any]:
    return {"text": text, "subtitle": subtitle or "", "anchor": "start", "fontSize": 15,
            "subtitleColor": "#5B6270", "offset": 6}  # fmt: skip


def title(text: str, subtitle: str | None = None) -> alt.Title:
    """``spec_title`` for the weekly review's Altair charts."""
    return alt.Title(**spec_title(text, subtitle))


def chart(name: str, heading: str, subtitle: str, height: int, body: dict[str, Any],
          datasets: dict[str, pd.DataFrame]) -> Spec:  # fmt: skip
    """The top level every chart shares: title, height, name, width fitting the column, data."""
    return {
        **body,
        "autosize": dict(FIT),
        "height": height,
        "title": spec_title(heading, subtitle),
        "usermeta": {"orusage_chart": name},
        "$schema": alt.SCHEMA_URL,
        "datasets": datasets,
    }


def vega_spec(spec: Spec | alt.Chart | alt.LayerChart) -> Spec:
    """A spec for ``st.vega_lite_chart``: dicts as they are; an Altair chart converted with its data as named
    ``datasets``, skipping Altair's JSON-schema validation (the charts are fixed in code and tested; validating
    them took about a third of drawing a page). No global Altair setting (data transformer, theme) is
    touched, so concurrent page runs cannot disturb each other."""
    if isinstance(spec, dict):
        return spec
    datasets: dict[str, pd.DataFrame] = {}
    named = _named_data(spec, datasets, {})
    # Not top-level: no theme is merged in (Streamlit draws Altair charts with none) and no data transformer runs.
    converted: Spec = named.to_dict(validate=False, context={"top_level": False})
    converted["$schema"] = alt.SCHEMA_URL
    converted["datasets"] = datasets
    return converted


def _named_data(chart_: Any, datasets: dict[str, pd.DataFrame], names: dict[int, str]) -> Any:
    """A shallow copy of ``chart_`` (and its layers) with each DataFrame swapped for a reference by name."""
    copy = chart_.copy(deep=False)
    data = getattr(copy, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        name = names.setdefault(id(data), f"orusage-{len(names)}")
        datasets[name] = data
        copy.data = alt.NamedData(name=name)
    layers = getattr(copy, "layer", alt.Undefined)
    if isinstance(layers, list):
        copy.layer = [_named_data(layer, datasets, names) for layer in layers]
    return copy


def days_of(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def with_day(frame: pd.DataFrame) -> pd.DataFrame:
    """``date`` (a date) → ``day`` (``YYYY-MM-DD``), the band axis' key."""
    return frame.assign(day=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")).drop(columns="date")


def legend(columns: int | None = None) -> dict[str, Any]:
    """On top; with ``columns``, wrapped into a grid so long model names never run off the chart."""
    found: dict[str, Any] = {"orient": "top", "direction": "horizontal", "title": None, "labelLimit": 210,
                             "symbolType": "square", "columnPadding": 14, "offset": 4}  # fmt: skip
    if columns is not None:
        found["columns"] = columns
    return found


def day_axis(days: Sequence[str]) -> dict[str, Any]:
    # Few labels whatever the range: one every ~week for a month, one a month for a year.
    step = max(1, len(days) // 10)
    axis = {
        "labelExpr": "utcFormat(toDate(datum.value), '%d %b')",
        "values": list(days[::step]),
        "labelAngle": 0,
        "labelOverlap": "greedy",
        "labelSeparation": 8,
        "labelBound": True,
        "ticks": False,
    }
    return field("day:O", title=DAY_TITLE, scale={"domain": list(days), "paddingInner": 0.15}, axis=axis)


def long_parts(frame: pd.DataFrame, parts: Sequence[tuple[str, str, str]], value: str) -> pd.DataFrame:
    """One row per (row, part), keeping the wide columns so every tooltip can show the whole row."""
    pieces = [frame.assign(part=label, part_order=i, **{value: frame[col]}) for i, (col, label, _) in enumerate(parts)]
    return pd.concat(pieces, ignore_index=True)


def series_colors(labels: Sequence[str], other: str | None) -> dict[str, Any]:
    """The palette in rank order; the ``other`` bucket always grey."""
    colors = [OTHER_COLOR if label == other else PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)]
    return {"domain": list(labels), "range": colors}


def token_colors(parts: Sequence[tuple[str, str, str]] = TOKEN_PARTS) -> dict[str, Any]:
    """The token parts in their fixed colours and stacking order."""
    labels = [p[1] for p in parts]
    return field("part:N", scale={"domain": labels, "range": [p[2] for p in parts]}, legend=legend(), sort=labels)
