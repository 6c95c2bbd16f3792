"""What-if: a week's real token volume re-priced at another model's list prices. Pure pandas.

A volume (requests, prompt, completion and cached prompt tokens) is priced at a model's list prices as

    (prompt − cached) × prompt price + cached × cache-read price (the prompt price when the model has none)
    + completion × completion price + requests × per-request fee

with reasoning billed as completion and no conditional overrides (long-context tiers, discounts). The
comparison is always against the *list-price-implied* cost of what was actually used, the same formula at
the used model's own list prices, never against the billed spend: the difference is then the choice of
model alone, not provider routing, BYOK or discounts. Both sides use the newest known prices
(``models_current``). Cached tokens are known only where analytics covers the days; elsewhere they count
as uncached prompt tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from review.inputs import rows as frame_rows

TOP_MODELS = 3  # suggestions for the biggest spenders of the week
ALTERNATIVES = 3
MIN_SAVING = 0.10  # an alternative must cut the list cost by at least this share to be worth naming

VOLUME_COLUMNS = ["model", "requests", "prompt", "completion", "cached", "spend"]
SUGGESTION_COLUMNS = [
    "model",
    "label",
    "spend",
    "list_cost",
    "alternative",
    "alternative_label",
    "alternative_cost",
    "saving",
    "saving_share",
]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def volumes(by_model: pd.DataFrame, cache: pd.DataFrame) -> pd.DataFrame:
    """Per model: the week's requests, prompt, completion and cached tokens (cached never above prompt)."""
    base = by_model[["model", "requests", "prompt", "completion", "spend"]].copy()
    merged = base.astype({"model": str}).merge(
        cache[["model", "cached"]].astype({"model": str}), on="model", how="left"
    )
    merged["cached"] = merged["cached"].fillna(0).astype(float).clip(upper=merged["prompt"].astype(float))
    return merged[VOLUME_COLUMNS].sort_values(["spend", "model"], ascending=[False, True]).reset_index(drop=True)


def cost(volume: Mapping[str, Any], price: Mapping[str, Any]) -> float | None:
    """The volume at these list prices (USD per token); None when the model has no prompt or completion price."""
    prompt_price, completion_price = _number(price.get("prompt")), _number(price.get("completion"))
    if prompt_price is None or completion_price is None:
        return None
    read = _number(price.get("cache_read"))
    fee = _number(price.get("request")) or 0.0
    cached = float(volume["cached"])
    return (
        (float(volume["prompt"]) - cached) * prompt_price
        + cached * (prompt_price if read is None else read)
        + float(volume["completion"]) * completion_price
        + float(volume["requests"]) * fee
    )


def _is_text(modalities: Any) -> bool:
    return "text" in str(modalities or "").split(",")


def candidates(prices: pd.DataFrame, today: date) -> pd.DataFrame:
    """Models one could switch to: text output, prompt and completion priced, not past their expiration."""
    if prices.empty:
        return prices
    expiry = pd.to_datetime(prices["expiration_date"], errors="coerce", utc=True).dt.tz_localize(None)
    alive = expiry.isna() | (expiry > pd.Timestamp(today))
    priced = prices["prompt"].notna() & prices["completion"].notna()
    text = prices["output_modalities"].map(_is_text)
    return prices.loc[alive & priced & text].reset_index(drop=True)


@dataclass(frozen=True)
class Repriced:
    """The whole week at one model's list prices, against its list-price-implied actual cost."""

    target: str
    actual_list_cost: float  # every priced model's volume at its own list prices
    target_cost: float  # the same volume at the target's
    billed: float  # what those models were billed (for context only)
    unpriced: tuple[str, ...]  # models without list prices: left out of both sides

    @property
    def difference(self) -> float:
        return self.target_cost - self.actual_list_cost


def reprice(volume: pd.DataFrame, prices: pd.DataFrame, target: str) -> Repriced | None:
    """None when the target has no list prices."""
    by_model = {str(r["model"]): r for r in frame_rows(prices)}
    if (
        target not in by_model
        or cost({"prompt": 0, "completion": 0, "cached": 0, "requests": 0}, by_model[target]) is None
    ):
        return None
    actual = target_total = billed = 0.0
    unpriced: list[str] = []
    for row in frame_rows(volume):
        own = by_model.get(str(row["model"]))
        own_cost = cost(row, own) if own is not None else None
        if own_cost is None:
            unpriced.append(str(row["model"]))
            continue
        actual += own_cost
        target_total += cost(row, by_model[target]) or 0.0
        billed += float(row["spend"])
    return Repriced(target, actual, target_total, billed, tuple(unpriced))


def suggestions(
    volume: pd.DataFrame,
    prices: pd.DataFrame,
    today: date,
    labels: Mapping[str, str],
    top: int = TOP_MODELS,
    per_model: int = ALTERNATIVES,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """For the ``top`` biggest spenders, up to ``per_model`` cheaper alternatives each.

    An alternative is a text model with at least the used model's context length, a different model (other
    versions of the same slug are left out), and at least ``MIN_SAVING`` cheaper on this volume; the
    closest in cost come first, as the likeliest like-for-like swaps. Returns the rows and the top models
    that have no list price (nothing to compare).
    """
    by_model = {str(r["model"]): r for r in frame_rows(prices)}
    pool = frame_rows(candidates(prices, today))
    rows: list[dict[str, Any]] = []
    unpriced: list[str] = []
    for used in frame_rows(volume.loc[volume["spend"] > 0].head(top)):
        model = str(used["model"])
        own = by_model.get(model)
        list_cost = cost(used, own) if own is not None else None
        if own is None or list_cost is None or list_cost <= 0:
            unpriced.append(model)
            continue
        context = _number(own.get("context_length"))
        found: list[tuple[float, str]] = []
        for alt in pool:
            name = str(alt["model"])
            if name == model or alt.get("id") == own.get("id"):
                continue
            alt_context = _number(alt.get("context_length"))
            if context is not None and alt_context is not None and alt_context < context:
                continue
            alt_cost = cost(used, alt)
            if alt_cost is not None and alt_cost <= list_cost * (1 - MIN_SAVING):
                found.append((alt_cost, name))
        for alt_cost, name in sorted(found, key=lambda f: (-f[0], f[1]))[:per_model]:
            rows.append(
                {
                    "model": model,
                    "label": labels.get(model, model),
                    "spend": float(used["spend"]),
                    "list_cost": list_cost,
                    "alternative": name,
                    "alternative_label": str(by_model[name].get("id") or name),
                    "alternative_cost": alt_cost,
                    "saving": list_cost - alt_cost,
                    "saving_share": (list_cost - alt_cost) / list_cost,
                }
            )
    return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS), tuple(unpriced)
