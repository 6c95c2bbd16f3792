"""How money, numbers, durations, days and times read, on every page, in every report and on the terminal.
Pure functions: the CLI, the pages and the reports say a figure the same way because they call these."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.forecast import Forecast

MINUS = "\u2212"  # a real minus sign: "−$1.66", never "$-1.66"


def usd(amount: float | None) -> str:
    """``$1,234.56``, ``−$1.66``; sub-cent amounts keep four decimals so they do not read as ``$0.00``."""
    if amount is None or amount != amount:  # None or NaN
        return "—"
    size = abs(amount)
    if size < 0.00005:  # rounds to zero: no sign, no "−$0.0000"
        return "$0.00"
    sign = MINUS if amount < 0 else ""
    if size < 0.01:
        return f"{sign}${size:,.4f}"
    return f"{sign}${size:,.2f}"


def usd_precise(amount: float | None, decimals: int = 6) -> str:
    """Money to ``decimals`` places, for one generation's cost or a difference between sources: ``$0.000123``."""
    if amount is None or amount != amount:
        return "—"
    return f"{MINUS if amount < 0 else ''}${abs(amount):,.{decimals}f}"


def signed_usd(amount: float) -> str:
    """A change of money with its sign: ``+$1.66``, ``−$1.66``."""
    return ("+" if amount >= 0 else "") + usd(amount)


def over_by(spend: float, limit: float) -> str:
    """How far a budget is past its limit: ``over by $1.66`` (``within the limit`` when it is not)."""
    return f"over by {usd(spend - limit)}" if spend > limit else "within the limit"


def duration(delta: timedelta | None) -> str:
    """``5 d 16 h``, ``6 h 27 min``, ``12 min`` (``never`` for no end)."""
    if delta is None:
        return "never"
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def resets_in(end: datetime | None, now: datetime) -> str:
    """``resets in 6 h 27 min`` for a period ending at ``end`` (naive UTC), ``never resets`` without one."""
    return "never resets" if end is None else f"resets in {duration(end - now)}"


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


def band(low: float | None, high: float | None) -> str:
    """An 80 % band: ``$180.00 – $212.40``."""
    return "no band" if low is None or high is None else f"{usd(low)} – {usd(high)}"


def forecast_caption(forecast: Forecast | None) -> str:
    """How a month-end forecast was made, in one line, for every surface that shows one."""
    if forecast is None:
        return "no forecast: under a week of stored history"
    pace = f"{usd(forecast.pace)}/day"
    if forecast.seasonal:
        return f"80% band {band(forecast.low, forecast.high)} · pace {pace}, by weekday"
    return f"pace {pace} (flat: under 4 weeks of history, no band)"
