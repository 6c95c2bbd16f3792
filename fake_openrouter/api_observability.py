"""GET /observability/destinations: the Broadcast destinations of the default workspace (management key).

The fake has at most one: the Webhook ``FakeServer.broadcast_to`` configured (``fake_openrouter.broadcast``).
Paged like the spec says (``offset``, ``limit`` up to 100), with ``total_count``.
"""

from __future__ import annotations

import duckdb

from fake_openrouter.api_common import ApiError, ApiRequest, JsonObject
from fake_openrouter.dataset import Dataset

MAX_LIMIT = 100


def _int(req: ApiRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"Invalid '{name}': expected an integer from {low} to {high}")
    return int(raw)


def list_destinations(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    offset = _int(req, "offset", 0, 0, 1 << 31)
    limit = _int(req, "limit", 50, 1, MAX_LIMIT)
    workspace = req.query.get("workspace_id") or ds.account.default_workspace.id
    found = [d for d in req.state.destinations if d["workspace_id"] == workspace]
    return {"data": found[offset : offset + limit], "total_count": len(found)}
