"""A /generation answer → a `generations` row. Pure.

Beyond copying the fields: ``created_at`` becomes naive UTC; ``model_permaslug`` and ``endpoint_id`` come
from the provider that served the request (the last successful entry of ``provider_responses``), else from
the model catalogue; ``byok_usage_inference`` is the upstream cost of a BYOK generation and 0 otherwise,
which is how /activity and analytics count BYOK spend; ``provider_responses`` is kept as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ingest.generations.schema import Generation
from ingest.values import InvalidValue, check_time, parse_utc_time
from queries.generations import API_COLUMNS

DERIVED = frozenset({"created_at", "model_permaslug", "endpoint_id", "byok_usage_inference", "provider_responses"})
COPIED = tuple(c for c in API_COLUMNS if c not in DERIVED)


def created_at(g: Generation, today: date) -> datetime:
    """``created_at`` as naive UTC, parsed strictly and between 2020-01-01 and tomorrow; else InvalidValue."""
    try:
        value = parse_utc_time(g.created_at)
    except ValueError:
        raise InvalidValue(f"created_at is not a time: {g.created_at[:40]!r}") from None
    return check_time("created_at", value, today)


def _served_by(responses: list[dict[str, Any]] | None) -> Mapping[str, Any]:
    if not responses:
        return {}
    ok = [r for r in responses if r.get("status") in (None, 200)]
    return (ok or responses)[-1]


def byok_usage_inference(g: Generation) -> float | None:
    if g.is_byok is None:
        return None
    return g.upstream_inference_cost if g.is_byok else 0.0


def generation_row(g: Generation, key_hash: str | None, permaslugs: Mapping[str, str], today: date) -> dict[str, Any]:
    """The row for one answer; raises InvalidValue for a time that cannot be (``today``: the run's UTC day)."""
    served = _served_by(g.provider_responses)
    row: dict[str, Any] = {c: getattr(g, c) for c in COPIED}
    row.update(
        id=g.id,
        created_at=created_at(g, today),
        model_permaslug=served.get("model_permaslug") or (permaslugs.get(g.model) if g.model else None),
        endpoint_id=served.get("endpoint_id"),
        byok_usage_inference=byok_usage_inference(g),
        provider_responses=json.dumps(g.provider_responses, separators=(",", ":"))
        if g.provider_responses is not None
        else None,
        api_key_hash=key_hash,
    )
    return row
