"""Top movers: which models, apps, API keys and providers changed most since the week before. Pure pandas.

* absolute: the largest increases and decreases of spend, in USD;
* relative: the largest changes in percent, only for values that spent at least ``MIN_RELATIVE_USD`` in
  one of the two weeks (a $0.01 → $0.05 "+400 %" is noise) and something the week before (a change from
  zero has no percentage: those are listed as appeared);
* appeared: traffic this week and none the week before: ``new`` when its first stored day ever falls in
  this week, ``back`` when it had been used before;
* silent: traffic the week before and none this week.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from queries.review_weeks import Period

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


def _totals(frame: pd.DataFrame, kind: str, suffix: str) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "value": frame[kind].astype(str),
            f"spend{suffix}": frame["spend"].astype(float),
            f"requests{suffix}": frame["requests"].astype("int64"),
            f"tokens{suffix}": (frame["prompt"] + frame["completion"]).astype("int64"),
        }
    )
    return out


def compare(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    kind: str,
    period: Period,
    first_seen: Mapping[str, date],
    label: Mapping[str, str],
) -> pd.DataFrame:
    """Both weeks side by side per value, with change, change_pct (NaN when not meaningful) and status."""
    now = _totals(current, kind, "")
    before = _totals(previous, kind, "_prev")
    merged = before.merge(now, on="value", how="outer")
    for column in ("spend", "spend_prev"):
        merged[column] = merged[column].fillna(0.0).astype(float)
    for column in ("requests", "requests_prev", "tokens", "tokens_prev"):
        merged[column] = merged[column].fillna(0).astype("int64")
    present_now = merged["value"].isin(now["value"])
    present_before = merged["value"].isin(before["value"])
    merged["change"] = merged["spend"] - merged["spend_prev"]
    big_enough = (merged[["spend", "spend_prev"]].max(axis=1) >= MIN_RELATIVE_USD) & (merged["spend_prev"] > 0)
    merged["change_pct"] = (merged["change"] / merged["spend_prev"]).where(big_enough & present_before)
    status = []
    for value, is_now, was_before in zip(merged["value"], present_now, present_before, strict=True):
        if is_now and not was_before:
            first = first_seen.get(str(value))
            status.append(NEW if first is None or first >= period.first else BACK)
        elif was_before and not is_now:
            status.append(SILENT)
        else:
            status.append("")
    merged["status"] = status
    merged["label"] = [label.get(str(v), str(v)) for v in merged["value"]]
    ordered = merged.sort_values(["spend", "spend_prev", "value"], ascending=[False, False, True])
    return ordered[COLUMNS].reset_index(drop=True)


def movers(table: pd.DataFrame, kind: str, comparable: bool, top: int = TOP) -> Movers:
    empty = table.iloc[0:0]
    if not comparable:
        return Movers(kind, False, table, empty, empty, empty, empty, empty)
    by_change = table.sort_values(["change", "value"], ascending=[False, True])
    increases = by_change.loc[by_change["change"] > 0].head(top)
    decreases = table.sort_values(["change", "value"]).loc[lambda f: f["change"] < 0].head(top)
    relative = (
        table.loc[table["change_pct"].notna() & (table["change_pct"] != 0)]
        .assign(_size=lambda f: f["change_pct"].abs())
        .sort_values(["_size", "value"], ascending=[False, True])
        .drop(columns="_size")
        .head(top)
    )
    appeared = table.loc[table["status"].isin([NEW, BACK])].sort_values(["spend", "value"], ascending=[False, True])
    silent = table.loc[table["status"] == SILENT].sort_values(["spend_prev", "value"], ascending=[False, True])
    return Movers(
        kind,
        True,
        table,
        increases.reset_index(drop=True),
        decreases.reset_index(drop=True),
        relative.reset_index(drop=True),
        appeared.reset_index(drop=True),
        silent.reset_index(drop=True),
    )
