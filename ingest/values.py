"""What a value from OpenRouter may be, checked at the edge, before anything is stored. Pure.

A single bad answer must not become stored history: analytics days and stored generations are final, so a
``NaN`` or a doubled row would stay for good. So, by default (docs/commands.md, "What is refused"):

* money is finite and within ±$10,000,000 per row (a day, a generation); negative only where OpenRouter
  documents it (analytics' ``usage_cache`` and ``usage_data``, and their per-generation and website-export
  counterparts, ``cache_discount`` and ``cost_cache``). Account totals that grow over an account's life
  (``/credits``, a key's usage and limit) are finite and within ±$1,000,000,000,000;
* counts are integers in [0, 2^53) (beyond, a double, and so every sum, loses units);
* dates are parsed strictly (``2026-02-30`` is no date), converted to the UTC day they fall on, and lie
  between 2020-01-01 and tomorrow (UTC).

Pydantic's types below check the typed fields of a response as it is parsed; the functions check the values
that arrive untyped (analytics rows) or that need the run's clock (dates against "tomorrow").
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import Field

from core.limits import FIRST_DAY, MAX_COUNT, MAX_MONEY, MAX_TOTAL_MONEY, NEGATIVE_ALLOWED
from ingest.errors import BadResponseError

Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
SignedMoney = Annotated[float, Field(ge=-MAX_MONEY, le=MAX_MONEY, allow_inf_nan=False)]
TotalMoney = Annotated[float, Field(ge=0, le=MAX_TOTAL_MONEY, allow_inf_nan=False)]
SignedTotalMoney = Annotated[float, Field(ge=-MAX_TOTAL_MONEY, le=MAX_TOTAL_MONEY, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, lt=MAX_COUNT)]
Measure = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # latencies, throughputs, uptimes
Finite = Annotated[float, Field(allow_inf_nan=False)]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?")
_INTEGER = re.compile(r"[+-]?\d+")


class InvalidValue(ValueError):
    """A value that cannot be what OpenRouter means; ``str()`` names the field and says why."""


def parse_utc_time(text: str) -> datetime:
    """An ISO 8601 time (``T`` or a space; ``Z``, an offset or none, which means UTC) as naive UTC."""
    value = text.strip()
    if not _TIME.fullmatch(value):
        raise ValueError(f"not an ISO time: {value[:40]!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))  # raises for 2026-02-30, 25:00, …
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@functools.lru_cache(maxsize=4096)  # answers repeat a few hundred days over thousands of rows
def parse_utc_day(text: str) -> date:
    """``YYYY-MM-DD``, or a time (see ``parse_utc_time``) as the UTC day it falls on."""
    value = text.strip()
    if _DAY.fullmatch(value):
        return date.fromisoformat(value)
    return parse_utc_time(value).date()


def check_day(field: str, day: date, today: date) -> date:
    if not FIRST_DAY <= day <= today + timedelta(days=1):
        raise InvalidValue(f"{field} is {day}, outside {FIRST_DAY}..{today + timedelta(days=1)}")
    return day


def check_time(field: str, value: datetime, today: date) -> datetime:
    latest = datetime.combine(today + timedelta(days=2), time())
    if not datetime.combine(FIRST_DAY, time()) <= value < latest:
        raise InvalidValue(f"{field} is {value:%Y-%m-%d %H:%M:%S}, outside {FIRST_DAY}..{today + timedelta(days=1)}")
    return value


def utc_day(field: str, text: Any, today: date) -> date:
    """A day from an answer: parsed strictly, as a UTC day, within the accepted range."""
    try:
        day = parse_utc_day(str(text)) if isinstance(text, str) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidValue(f"{field} is not a date: {str(text)[:40]!r}")
    return check_day(field, day, today)


def money(field: str, value: Any, *, negative: bool | None = None, limit: float = MAX_MONEY) -> float:
    """A finite amount in USD within ±``limit``; negative only for the fields in ``NEGATIVE_ALLOWED``."""
    number = float(value) if type(value) is float or type(value) is int else _number(field, value)
    if 0 <= number <= limit:  # the common case first: NaN fails every comparison
        return number
    if not math.isfinite(number):
        raise InvalidValue(f"{field} is {number}, not an amount")
    if abs(number) > limit:
        raise InvalidValue(f"{field} is {number:.6g}: beyond ±${limit:,.0f}")
    allowed = field.rsplit(".", 1)[-1] in NEGATIVE_ALLOWED if negative is None else negative
    if not allowed:
        raise InvalidValue(f"{field} is {number:.6g}: negative")
    return number


def count(field: str, value: Any) -> int:
    """A whole number in [0, 2^53); counts that arrive as strings ("1523") are read exactly."""
    if type(value) is int and 0 <= value < MAX_COUNT:  # the common cases first
        return value
    if type(value) is str and len(value) < 16 and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number: int | float = int(value.strip())
    else:
        number = _number(field, value)
        if not math.isfinite(number) or number != math.floor(number):
            raise InvalidValue(f"{field} is {value!r:.40}, not a whole number")
        if abs(number) >= MAX_COUNT:
            raise InvalidValue(f"{field} is {number:.6g}: beyond 2^53")
        number = int(number)
    if not 0 <= number < MAX_COUNT:
        raise InvalidValue(f"{field} is {number:.6g}: outside 0..2^53")
    return int(number)


def measure(field: str, value: Any) -> float:
    """A finite, non-negative measurement (a latency, a rate)."""
    number = float(value) if type(value) is float or type(value) is int else _number(field, value)
    if not math.isfinite(number) or number < 0:
        raise InvalidValue(f"{field} is {number}: not a finite, non-negative measurement")
    return number


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidValue(f"{field} is not a number: {str(value)[:40]!r}")
    if isinstance(value, int):
        return float(value) if abs(value) < 2**1023 else math.inf
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise InvalidValue(f"{field} is not a number: {str(value)[:40]!r}") from None


def refused(where: str, exc: InvalidValue) -> BadResponseError:
    """The one-line error (exit 4) for an answer refused whole because of one of its values."""
    return BadResponseError(
        f"{where} returned an impossible value: {exc}.",
        "Nothing was stored from this response; if it persists, report it to OpenRouter.",
    )
