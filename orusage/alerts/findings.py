"""What the rules produce: alerts that hold now (findings) and alerts that no longer hold (recoveries).

An alert's identity is its ``AlertKey`` (budget, kind, subject, period, threshold): the store keeps one row
per key, which is how every alert is sent once.
"""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLD = "threshold"
FORECAST = "forecast"
SPIKE = "spike"
CREDITS = "credits"
STALE = "stale"
PRICE_CHANGE = "price_change"
EXPIRY = "expiry"
KINDS = (THRESHOLD, FORECAST, SPIKE, CREDITS, STALE, PRICE_CHANGE, EXPIRY)
RECOVERABLE = (FORECAST, SPIKE, STALE)

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
    """$1,234.56 (cents below a dollar: $0.0123)."""
    if abs(value) < 1 and value != 0:
        return f"${value:,.4f}"
    return f"${value:,.2f}"


def percent(value: float) -> str:
    return f"{value:g}%"
