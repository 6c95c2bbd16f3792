"""The ranges a value from OpenRouter (or its website export) may take, shared by the ingest's checks at the
edge and the store's repair of what was stored before they existed. See ``ingest.values`` for the why."""

from __future__ import annotations

from datetime import date

MAX_MONEY = 10_000_000.0  # USD per row: a day, a generation
MAX_TOTAL_MONEY = 1_000_000_000_000.0  # USD over an account's life (/credits, a key's usage and limit)
MAX_COUNT = 2**53  # exclusive: beyond, a double (and so every sum) loses units
FIRST_DAY = date(2020, 1, 1)  # the earliest day accepted; the latest is tomorrow (UTC)
# Negative amounts exist only where OpenRouter documents them: analytics' cache and data-logging
# adjustments, and their per-generation and website-export counterparts.
NEGATIVE_ALLOWED = frozenset({"usage_cache", "usage_data", "cache_discount", "cost_cache"})
