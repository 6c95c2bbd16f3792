"""Top movers: which models, apps, API keys and providers changed most since the week before.

* absolute: the largest increases and decreases of spend, in USD;
* relative: the largest changes in percent, only for values that spent at least ``MIN_RELATIVE_USD`` in
  one of the two weeks (a $0.01 → $0.05 "+400 %" is noise) and something the week before (a change from
  zero has no percentage: those are listed as appeared);
* appeared: traffic this week and none the week before: ``new`` when its first stored day ever falls in
  this week, ``back`` when it had been used before;
* silent: traffic the week before and none this week.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from review.weeks import Period

MIN_RELATIVE_USD = 1.0
TOP = 5

NEW = "new"
BACK = "back"
SILENT = "silent"

COLUMNS = [
    "value",
    "label",
    "spend_prev",
    "spend",
    "change",
    "change_pct",
    "requests_prev",
    "requests",
    "tokens_prev",
    "tokens",
    "status",
]


@dataclass(frozen=True)
class Movers:
    """One kind's movers; every frame has ``COLUMNS``. ``comparable`` is False when the previous week is not
    stored for this kind, and then only this week's spenders are meaningful (``table``)."""

    kind: str
    comparable: bool
    table: pd.DataFrame  # every value of either week, biggest spend this week first
    increases: pd.DataFrame
    decreases: pd.DataFrame
    relative: pd.DataFrame
    appeared: pd.DataFrame
    silent: pd.DataFrame


def _totals(frame: pd.DataFrame, kind: str) -> dict[str, tuple[float, int, int]]:
    """value -> (spend, requests, tokens). Plain Python: a few hundred rows, where each pandas step on string
    columns costs a millisecond or more."""
    tokens = (frame["prompt"] + frame["completion"]).astype("int64").tolist()
    return {
        str(v): (float(s), int(r), int(t))
        for v, s, r, t in zip(
            frame[kind].astype(str).tolist(),
            frame["spend"].astype(float).tolist(),
            frame["requests"].astype("int64").tolist(),
            tokens,
            strict=True,
        )
    }


def compare(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    kind: str,
    period: Period,
    first_seen: Mapping[str, date],
    label: Mapping[str, str],
) -> pd.DataFrame:
    """Both weeks side by side per value, with change, change_pct (NaN when not meaningful) and status."""
    now = _totals(current, kind)
    before = _totals(previous, kind)
    absent = (0.0, 0, 0)
    rows: list[tuple[str, float, float, int, int, int, int]] = []
    for value in now.keys() | before.keys():
        spend, requests, tokens = now.get(value, absent)
        spend_prev, requests_prev, tokens_prev = before.get(value, absent)
        rows.append((value, spend_prev, spend, requests_prev, requests, tokens_prev, tokens))
    rows.sort(key=lambda r: (-r[2], -r[1], r[0]))
    columns: dict[str, list[object]] = {c: [] for c in COLUMNS}
    for value, spend_prev, spend, requests_prev, requests, tokens_prev, tokens in rows:
        is_now, was_before = value in now, value in before
        change = spend - spend_prev
        big_enough = max(spend, spend_prev) >= MIN_RELATIVE_USD and spend_prev > 0
        if is_now and not was_before:
            first = first_seen.get(value)
            status = NEW if first is None or first >= period.first else BACK
        else:
            status = SILENT if was_before and not is_now else ""
        for column, cell in (
            ("value", value),
            ("label", label.get(value, value)),
            ("spend_prev", spend_prev),
            ("spend", spend),
            ("change", change),
            ("change_pct", change / spend_prev if big_enough and was_before else math.nan),
            ("requests_prev", requests_prev),
            ("requests", requests),
            ("tokens_prev", tokens_prev),
            ("tokens", tokens),
            ("status", status),
        ):
            columns[column].append(cell)
    # An empty table keeps the dtypes pandas gave it before (computed columns of no rows are float).
    dtypes = _DTYPES if rows else {**_DTYPES, "label": "float64", "status": "float64"}
    return pd.DataFrame({c: pd.Series(columns[c], dtype=dtypes[c]) for c in COLUMNS})


_DTYPES = {
    "value": "str",
    "label": "str",
    "spend_prev": "float64",
    "spend": "float64",
    "change": "float64",
    "change_pct": "float64",
    "requests_prev": "int64",
    "requests": "int64",
    "tokens_prev": "int64",
    "tokens": "int64",
    "status": "str",
}


def movers(table: pd.DataFrame, kind: str, comparable: bool, top: int = TOP) -> Movers:
    empty = table.iloc[0:0]
    if not comparable:
        return Movers(kind, False, table, empty, empty, empty, empty, empty)
    value = table["value"].tolist()
    change = table["change"].tolist()
    pct = table["change_pct"].tolist()
    status = table["status"].tolist()
    spend, spend_prev = table["spend"].tolist(), table["spend_prev"].tolist()
    every = range(len(value))

    def pick(keep: list[int], key: Callable[[int], tuple[float, str]], limit: int | None = None) -> pd.DataFrame:
        chosen = sorted(keep, key=key)[:limit]
        return table.iloc[chosen].reset_index(drop=True)

    return Movers(
        kind,
        True,
        table,
        pick([i for i in every if change[i] > 0], lambda i: (-change[i], value[i]), top),
        pick([i for i in every if change[i] < 0], lambda i: (change[i], value[i]), top),
        pick([i for i in every if not math.isnan(pct[i]) and pct[i] != 0], lambda i: (-abs(pct[i]), value[i]), top),
        pick([i for i in every if status[i] in (NEW, BACK)], lambda i: (-spend[i], value[i])),
        pick([i for i in every if status[i] == SILENT], lambda i: (-spend_prev[i], value[i])),
    )
