"""Every breakdown adds up: what each chart and table of a page run splits, said where it is drawn.

``ui.chart``, ``ui.table`` and their model-clicking kin take ``split=``: a ``Split`` (its rows add up to the
total of a question: the days and filters of ``filters``) or a ``Whole`` (not a split of a total, and why).
Each run records what was drawn, with the sums of the declared columns, in the session state under
``REGISTRY``; the property test (tests/test_breakdowns_add_up.py) opens every page under several filter sets
and checks each recorded split against its own SQL, and that nothing was drawn undeclared. The sums are a
few numbers per chart: nothing else is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from queries.filters import Filters

REGISTRY = "_orusage_parts"
SPEND = "spend"  # the routed facts' spend, requests and tokens of ``filters``
CACHE_SAVINGS = "cache_savings"  # queries.cache_savings' total over ``filters``


@dataclass(frozen=True)
class Split:
    """The rows add up to the total of ``of`` over ``filters``: each ``money`` column to the total in USD,
    the ``tokens`` columns together to prompt + completion tokens, ``requests`` to the requests."""

    filters: Filters
    money: tuple[str, ...] = ("spend",)
    tokens: tuple[str, ...] = ()
    requests: str | None = None
    of: str = SPEND
    # The dimensions the rows are split by (fact columns: provider, app, key…): the total is that of the
    # question split by them, so it covers the days the sources holding them cover.
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Whole:
    """Not a split of a total (a list of runs, a price history, a top-movers list …): ``why``."""

    why: str


def start_run() -> None:
    st.session_state[REGISTRY] = {}


def _number(frame: pd.DataFrame, columns: tuple[str, ...]) -> float:
    return float(frame[list(columns)].fillna(0).to_numpy(dtype=float).sum()) if len(frame) else 0.0


def record(name: str, split: Split | Whole | None, frame: pd.DataFrame) -> None:
    """Note what ``name`` (a chart or table of this run) shows; ``None``: undeclared, which the test fails."""
    entry: dict[str, Any]
    if isinstance(split, Split):
        f = split.filters
        entry = {
            "kind": "split",
            "of": split.of,
            "filters": {
                "start": f.start.isoformat(),
                "end": f.end.isoformat(),
                "models": list(f.models),
                "providers": list(f.providers),
                "apps": list(f.apps),
                "keys": list(f.keys),
                "workspace": f.workspace,
                "accounts": list(f.accounts),
            },
            "money": {c: _number(frame, (c,)) for c in split.money},
            "tokens": _number(frame, split.tokens) if split.tokens else None,
            "requests": _number(frame, (split.requests,)) if split.requests else None,
            "rows": len(frame),
            "by": list(split.by),
        }
    elif isinstance(split, Whole):
        entry = {"kind": "whole", "why": split.why}
    else:
        entry = {"kind": "undeclared"}
    registry = st.session_state.setdefault(REGISTRY, {})
    registry[name] = entry
