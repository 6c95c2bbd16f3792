"""The Explore page's view (what to group by, which metric, how many values) and the breakdown pages'
per-day chart, as query parameters, both ways.

Pure, like ``urlstate``: groupings and metrics are allowlists (``queries.reads_explore``); anything else is
dropped and noted. Only what differs from the defaults is written, so a plain page keeps a plain link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dashboard.urlstate import BY, METRIC, PER_DAY, THEN, TOP, shown
from queries.reads_explore import GROUPINGS, METRICS

NONE = "none"  # "then by": nothing
TOPS = (5, 10, 20, 50)
PER_DAY_CHOICES: dict[str, str] = {"spend": "Spend", "requests": "Requests", "tokens": "Tokens", "price": "Paid / M"}


@dataclass(frozen=True)
class View:
    by: str = "app"
    then: str = "model"  # or NONE
    metric: str = "spend"
    top: int = 10


def _one(params: Mapping[str, Sequence[str]], name: str, notes: list[str]) -> str | None:
    values = list(params.get(name, ()))
    if len(values) > 1:
        notes.append(f"{name}: only one value allowed, kept the first")
    return values[0] if values else None


def _choice(params: Mapping[str, Sequence[str]], name: str, allowed: Sequence[str], notes: list[str]) -> str | None:
    value = _one(params, name, notes)
    if value is not None and value not in allowed:
        notes.append(f"{name}: `{shown(value)}` is not one of {', '.join(allowed)}")
        return None
    return value


def parse(params: Mapping[str, Sequence[str]]) -> tuple[View, tuple[str, ...]]:
    notes: list[str] = []
    default = View()
    by = _choice(params, BY, tuple(GROUPINGS), notes) or default.by
    then = _choice(params, THEN, (*GROUPINGS, NONE), notes)
    if then is None:
        then = default.then if by != default.then else NONE
    if then == by:
        notes.append(f"then: `{shown(then)}` is what `by` groups by already")
        then = NONE
    metric = _choice(params, METRIC, tuple(METRICS), notes) or default.metric
    top_text = _choice(params, TOP, tuple(str(t) for t in TOPS), notes)
    return View(by, then, metric, int(top_text) if top_text else default.top), tuple(notes)


def encode(view: View) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    default = View()
    if view.by != default.by:
        out[BY] = view.by
    if view.then != default.then:
        out[THEN] = view.then
    if view.metric != default.metric:
        out[METRIC] = view.metric
    if view.top != default.top:
        out[TOP] = str(view.top)
    return out


def parse_per_day(params: Mapping[str, Sequence[str]]) -> tuple[str, tuple[str, ...]]:
    notes: list[str] = []
    return _choice(params, PER_DAY, tuple(PER_DAY_CHOICES), notes) or "spend", tuple(notes)


def encode_per_day(metric: str) -> dict[str, str | list[str]]:
    return {} if metric == "spend" else {PER_DAY: metric}
