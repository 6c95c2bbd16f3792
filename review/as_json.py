"""The weekly review as JSON: every number the page shows, in one document (``orusage report weekly
--format json``). Schema version 1: keys are only ever added."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd

from queries.waterfall import STEPS
from review.model import Review


def _plain(value: Any) -> Any:
    """JSON-ready: NaN and NaT → None, numpy scalars → Python, dates → ISO text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def to_json(review: Review) -> dict[str, Any]:
    """Every number the page shows, in one JSON document (schema version 1)."""
    t = review.totals
    b = review.budget
    movers_json = {
        kind: {
            "comparable": m.comparable,
            **{
                name: records(getattr(m, name).drop(columns=["tokens_prev", "tokens"]))
                for name in ("increases", "decreases", "relative", "appeared", "silent")
            },
        }
        for kind, m in review.movers.items()
    }
    return {
        "schema": 1,
        "week": review.week,
        "period": {"first": _plain(review.first), "last": _plain(review.last), "partial": review.partial},
        "previous": {
            "week": review.previous_week,
            "first": _plain(review.previous_first),
            "last": _plain(review.previous_last),
        },
        "today": _plain(review.today),
        "data_as_of": _plain(review.data_as_of),
        "history_starts": _plain(review.known_from),
        "status": review.status,
        "comparable": review.comparable,
        "notes": list(review.notes),
        "totals": {k: _plain(v) for k, v in t.__dict__.items()},
        "change": None if review.change is None else dict(review.change.__dict__),
        "models": records(review.by_model),
        "movers": movers_json,
        "efficiency": [
            {
                "key": e.key,
                "label": e.label,
                "unit": e.unit,
                "current": e.current,
                "previous": e.previous,
                "change": e.change,
                "note": e.note,
            }
            for e in review.efficiency
        ],
        "budget": {
            **{k: _plain(v) for k, v in b.__dict__.items() if k != "budgets"},
            "budgets": records(b.budgets),
        },
        "what_if": {
            "basis": review.what_if.basis,
            "suggestions": records(review.what_if.suggestions),
            "unpriced": list(review.what_if.unpriced),
            "cached_days": review.what_if.cached_days,
        },
        "daily": records(review.daily),
        "waterfall": {
            "steps": list(STEPS),
            "models": records(review.waterfall),
            "total": {s: _plain(review.waterfall[s].sum()) for s in (*STEPS, "unpriced", "billed")}
            if not review.waterfall.empty
            else None,
        },
    }
