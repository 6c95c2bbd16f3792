"""What the rules produce: alerts that hold now (findings) and alerts that no longer hold (recoveries).

An alert's identity is its ``AlertKey`` (budget, kind, subject, period, threshold): the store keeps one row
per key, which is how every alert is sent once.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import fmt

THRESHOLD = "threshold"
FORECAST = "forecast"
SPIKE = "spike"
CREDITS = "credits"
STALE = "stale"
PRICE_CHANGE = "price_change"
EXPIRY = "expiry"
PERIOD_END = "period_end"  # a budget period ended over a threshold no alert of it had reported
ANOMALY = "anomaly"  # a model, key, app or provider far above its usual spend (no configuration)
NEW_SPENDER = "new_spender"  # a key or app never seen before spends a lot in a day
MODEL_SHIFT = "model_shift"  # traffic moved to a pricier model
KEY_LIMIT = "key_limit"  # a key near its limit, or projected to reach it before it resets
KEY_EXPIRING = "key_expiring"
KEY_UNUSED = "key_unused"
KEY_NO_LIMIT = "key_no_limit"
KINDS = (THRESHOLD, FORECAST, SPIKE, CREDITS, STALE, PRICE_CHANGE, EXPIRY, PERIOD_END, ANOMALY, NEW_SPENDER,
         MODEL_SHIFT, KEY_LIMIT, KEY_EXPIRING, KEY_UNUSED, KEY_NO_LIMIT)  # fmt: skip
# Conditions that end with a recovery notice (the alert stays open until then).
RECOVERABLE = (FORECAST, SPIKE, STALE, CREDITS, ANOMALY, MODEL_SHIFT, KEY_LIMIT)
# Open alerts that are sent again every `remind_hours` while they still hold (unless acknowledged).
REMINDABLE = (THRESHOLD, FORECAST, CREDITS, STALE, EXPIRY, KEY_LIMIT, KEY_EXPIRING)

ACCOUNT_BUDGET = ""  # the budget of account-wide rules (credits, stale data, model prices)


@dataclass(frozen=True, order=True)
class AlertKey:
    budget: str
    kind: str
    subject: str
    period: str
    threshold: float


@dataclass(frozen=True)
class Finding:
    """An alert condition that holds now. Threshold findings of one budget period compete: only the
    highest newly crossed one is sent."""

    key: AlertKey
    title: str
    message: str
    limit_usd: float | None = None
    spend_usd: float | None = None


@dataclass(frozen=True)
class Recovery:
    """An alert condition that no longer holds: clears the alert with this key, if it is active."""

    key: AlertKey
    title: str
    message: str


def usd(value: float) -> str:
    """$1,234.56, −$1.66, sub-cent amounts with four decimals (``core.fmt.usd``)."""
    return fmt.usd(value)


def percent(value: float) -> str:
    return f"{value:g}%"
