"""The effective-price waterfall as a chart: cost at list prices, each step to what was billed, the residual
as a step of its own, the billed total. A frame of steps in (``steps``), a Vega-Lite spec out; no Streamlit,
so the weekly report can draw it too."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from charts.base import USD_AXIS, USD_TOOLTIP, Spec, chart, field, tip
from core import fmt

# Step columns of ``queries.waterfall`` -> what a person reads.
STEP_LABELS: dict[str, str] = {
    "list_cost": "At list prices",
    "cache": "Cache",
    "endpoint": "Endpoint & overrides",
    "tier": "Service tier",
    "byok_fee": "BYOK fee",
    "fees": "Fees & add-ons",
    "residual": "Residual",
    "unpriced": "Unpriced",
}
COLORS = {"total": "#4E79A7", "up": "#E15759", "down": "#59A14F", "residual": "#B07AA1", "unpriced": "#B8BEC9"}


def steps(totals: Mapping[str, float], notes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The waterfall's rows from its summed steps (``queries.waterfall.STEPS``, ``unpriced``): ``step``,
    ``amount`` (they add up to what was billed), ``note`` (how the step was measured). The residual and the
    unpriced spend are rows whatever their size: never hidden."""
    rows = []
    for key, label in STEP_LABELS.items():
        amount = float(totals.get(key, 0.0) or 0.0)
        if key in ("tier", "byok_fee", "fees", "endpoint") and amount == 0 and not (notes or {}).get(key):
            continue  # a step nothing contributed to says nothing
        if key == "unpriced" and amount == 0:
            continue
        rows.append({"key": key, "step": label, "amount": amount, "note": (notes or {}).get(key, "")})
    return pd.DataFrame(rows, columns=["key", "step", "amount", "note"])


def waterfall(frame: pd.DataFrame, name: str, heading: str, subtitle: str) -> Spec:
    """``frame``: ``steps``' rows. Bars float from the running total; the last bar is the billed total."""
    level = 0.0
    rows = []
    for key, step, value, note in zip(frame["key"], frame["step"], frame["amount"], frame["note"], strict=True):
        amount = float(value)
        if key == "list_cost":
            kind, low, high = "total", 0.0, amount
        else:
            kind = key if key in ("residual", "unpriced") else ("up" if amount >= 0 else "down")
            low, high = min(level, level + amount), max(level, level + amount)
        label = fmt.usd(amount) if key == "list_cost" else fmt.signed_usd(amount)
        rows.append({"step": step, "low": low, "high": high, "kind": kind, "label": label, "amount": amount,
                     "note": note})  # fmt: skip
        level += amount
    rows.append({"step": "Billed", "low": 0.0, "high": level, "kind": "total", "label": fmt.usd(level),
                 "amount": level, "note": "spend: usage + BYOK inference"})  # fmt: skip
    data = pd.DataFrame(rows)
    x = field(
        "step:N",
        sort=list(data["step"]),
        title=None,
        axis={"labelAngle": 0, "labelLimit": 120, "labelOverlap": False, "labelFontSize": 11},
    )
    bars = {
        "mark": {"type": "bar", "cornerRadius": 2},
        "encoding": {
            "color": field("kind:N", scale={"domain": list(COLORS), "range": list(COLORS.values())}, legend=None),
            "tooltip": [
                tip("step:N", "Step"),
                tip("amount:Q", "Amount (USD)", USD_TOOLTIP),
                tip("note:N", "How it is known"),
            ],
            "x": x,
            "y": field("low:Q", title="USD", axis={"format": USD_AXIS}),
            "y2": {"field": "high"},
        },
    }
    text = {
        "mark": {"type": "text", "color": "#374151", "dy": -8, "fontSize": 11},
        "encoding": {"text": field("label:N"), "x": x, "y": field("high:Q")},
    }
    return chart(name, heading, subtitle, 280, {"layer": [bars, text], "data": {"name": "orusage-0"}},
                 {"orusage-0": data})  # fmt: skip
