"""The clock every surface shares: UTC days and naive-UTC times, with the tests' pins."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core import settings


def utcnow() -> datetime:
    """Naive UTC, as every TIMESTAMP in the store is."""
    return datetime.now(UTC).replace(tzinfo=None)


def today_utc() -> date:
    """The current UTC day, or ``$ORUSAGE_TODAY`` when set (tests only: the data's own day)."""
    pinned = settings.current().orusage_today
    return pinned if pinned is not None else datetime.now(UTC).date()


def alerts_now() -> datetime:
    """Naive UTC now, or ``$ORUSAGE_NOW`` when set (tests only)."""
    pinned = settings.current().orusage_now
    return pinned if pinned is not None else utcnow()
