"""What every endpoint shares: the request as a route sees it, errors in the spec's shape, query parsing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fake_openrouter.auth import Principal
from fake_openrouter.runtime import ServerState

JsonObject = dict[str, Any]

# Messages in the style of the real API; the status decides the spec schema, the message is for humans.
STATUS_MESSAGES = {
    400: "Bad Request",
    401: "No auth credentials found",
    402: "Insufficient credits",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request timed out",
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """Raised by a route to answer with the spec's error body."""

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        self.message = message or STATUS_MESSAGES.get(status, "Error")
        super().__init__(f"{status}: {self.message}")


def error_body(status: int, message: str | None = None) -> JsonObject:
    return {"error": {"code": status, "message": message or STATUS_MESSAGES.get(status, "Error")}}


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # relative to the API prefix, e.g. "/activity"
    query: dict[str, str]
    principal: Principal | None  # None: no key (only public routes get that far)
    base_url: str  # e.g. http://127.0.0.1:8123/api/v1, for links in bodies
    state: ServerState  # the serving FakeServer's clock, limits and fresh ids
    body: bytes = b""  # POST bodies (JSON)


@dataclass
class ApiResponse:
    status: int
    body: JsonObject
    headers: dict[str, str] = field(default_factory=dict)


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and Z, as OpenRouter writes timestamps."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def int_param(query: dict[str, str], name: str, default: int, lo: int, hi: int | None = None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid '{name}': expected an integer") from None
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise ApiError(400, f"Invalid '{name}': must be {bound}")
    return value


def bool_param(query: dict[str, str], name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ApiError(400, f"Invalid '{name}': expected true or false")
    return raw == "true"


def uuid_param(query: dict[str, str], name: str) -> str | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(400, f"Invalid '{name}': expected a UUID") from None
