"""The Broadcast destinations' settings, as ``GET /observability/destinations`` gives them → rows. Pure,
apart from ``refresh``.

Only destinations that speak OTLP/JSON over HTTP to a URL of the user's (``webhook``, ``otel-collector``)
can be an ``orusage receive``; the others (Langfuse, Datadog, …) are skipped. ``config`` is never read:
its headers hold the receiver's token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ingest import schemas
from ingest.client import OpenRouterClient
from ingest.errors import AuthError, NotFoundError
from queries import broadcast as qb
from queries.store import Writer

RECEIVER_TYPES = ("webhook", "otel-collector")


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _has_rules(rules: dict[str, Any] | None) -> bool:
    """Filter rules that are on and hold a group: then the destination forwards only some traces."""
    return bool(rules and rules.get("enabled", True) and rules.get("groups"))


def destination_rows(found: Sequence[schemas.ObservabilityDestination]) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "name": d.name,
            "type": d.type,
            "enabled": d.enabled,
            "sampling_rate": d.sampling_rate,
            "privacy_mode": d.privacy_mode,
            "broadcast_generation_cost": d.broadcast_generation_cost,
            "broadcast_generation_identity": d.broadcast_generation_identity,
            "broadcast_generation_request_context": d.broadcast_generation_request_context,
            "api_key_hashes": list(d.api_key_hashes) if d.api_key_hashes is not None else None,
            "has_filter_rules": _has_rules(d.filter_rules),
            "workspace_id": d.workspace_id,
            "created_at": _when(d.created_at),
            "updated_at": _when(d.updated_at),
        }
        for d in found
        if d.type in RECEIVER_TYPES
    ]


def refresh(
    writer: Writer, client: OpenRouterClient, clock: Callable[[], datetime], workspace_ids: Sequence[str] = ()
) -> tuple[int, str | None]:
    """Store the destinations now listed in every workspace; (how many, or a warning when the API would not
    list them)."""
    try:
        seen: dict[str, schemas.ObservabilityDestination] = {}
        for workspace_id in [None, *workspace_ids]:
            for destination in client.observability_destinations(workspace_id):
                seen.setdefault(destination.id, destination)
        found = list(seen.values())
    except NotFoundError:
        return 0, "GET /observability/destinations is not available: Broadcast settings not checked"
    except AuthError as exc:
        if exc.status == 403:
            return 0, "the key may not list Broadcast destinations (403): their settings are not checked"
        raise
    rows = destination_rows(found)
    with writer.transaction() as con:
        qb.replace_destinations(con, rows, clock())
    return len(rows), None
