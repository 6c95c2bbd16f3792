"""How numbers, days and times read on the page. Pure functions, so tests can use them too."""

from __future__ import annotations

from datetime import date, datetime


def usd(amount: float | None) -> str:
    """``$1,234.56``; sub-cent amounts keep four decimals so they do not read as ``$0.00``."""
    if amount is None:
        return "—"
    if 0 < abs(amount) < 0.01:
        return f"${amount:,.4f}"
    return f"${amount:,.2f}"


def tokens(count: int | float) -> str:
    """Compact token counts: ``950``, ``12.3K``, ``4.56M``, ``1.2B``."""
    value = float(count)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def utc_time(moment: datetime | None) -> str:
    """Store timestamps are naive UTC; say so."""
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def day(value: date) -> str:
    """``Mon 23 Nov``: short enough for captions, with the weekday since weeks start on Monday."""
    return f"{value:%a} {value.day} {value:%b}"


def day_range(start: date, end: date) -> str:
    if start == end:
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def count(value: int | float) -> str:
    """Whole counts with thousands separators: ``12,345``."""
    return f"{float(value):,.0f}"


def per_million(usd_per_million: float | None) -> str:
    """A price per million tokens: ``$2.50/M``; sub-cent prices keep their digits."""
    if usd_per_million is None or usd_per_million != usd_per_million:  # None or NaN
        return "—"
    return f"${usd_per_million:,.4g}/M" if usd_per_million < 0.01 else f"${usd_per_million:,.2f}/M"


def share(value: float | None) -> str:
    """A fraction as a percentage: ``12.3%``."""
    if value is None or value != value:
        return "—"
    return f"{value:.1%}"
