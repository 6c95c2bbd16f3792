"""Fault injection: a thread-safe queue of misbehaviours, each consumed by the requests it matches.

Kinds (``params`` in brackets):
- ``status`` [code=500, message, retry_after]: an error with the spec's error body, and a Retry-After header
  when ``retry_after`` (seconds) is given.
- ``malformed_json``: 200, Content-Type application/json, a body that does not parse.
- ``truncated``: the normal answer, but Content-Length promises more than is sent before the connection closes.
- ``html`` [code=502]: an HTML error page, as a proxy in front of the API would send.
- ``reset``: the connection is reset without any answer.
- ``delay`` [seconds=1.0]: sleep, then answer normally.
- ``wrong_type`` [field]: a valid body but one field (``field``, else the first number) has the wrong type.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "malformed_json", "truncated", "html", "reset", "delay", "wrong_type")
API_PREFIX = "/api/v1"
ANY_PATH = "*"

HTML_PAGE = (
    "<html>\r\n<head><title>{code} Bad Gateway</title></head>\r\n<body>\r\n<center><h1>{code} Bad Gateway</h1>"
    "</center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
MALFORMED_JSON = b'{"data": [{"date": "2026-01-01", "model": "openai/gpt-4o", "usage": 0.0012,'


def normalize_path(path: str) -> str:
    """Fault paths may be given with or without the API prefix ("/activity" == "/api/v1/activity")."""
    if path == ANY_PATH:
        return path
    path = path.split("?", 1)[0]
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        path = path[len(API_PREFIX) :]
    path = "/" + path.strip("/")
    return path


@dataclass
class Fault:
    path: str
    kind: str
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "remaining": self.remaining, "params": dict(self.params)}


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, path: str, kind: str, times: int = 1, **params: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        if kind == "status" and not isinstance(params.get("code", 500), int):
            raise ValueError("status faults need an integer 'code'")
        with self._lock:
            self._faults.append(Fault(normalize_path(path), kind, times, params))

    def take(self, path: str) -> Fault | None:
        """The first queued fault matching ``path`` (relative to the API prefix), consuming one use of it."""
        path = normalize_path(path)
        with self._lock:
            for fault in self._faults:
                if fault.path in (path, ANY_PATH):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return Fault(fault.path, fault.kind, fault.remaining, dict(fault.params))
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]


def _wrong(value: Any) -> Any:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return "not-a-list"
    if isinstance(value, dict):
        return "not-an-object"
    return {"unexpected": True}


def wrong_type(body: dict[str, Any], field_name: str | None = None) -> dict[str, Any]:
    """A copy of ``body`` where one field of ``data`` (its first item for a list) has the wrong type."""
    out = copy.deepcopy(body)
    target: Any = out.get("data", out)
    if isinstance(target, list):
        if not target:
            out["data"] = "not-a-list"
            return out
        target = target[0]
    if not isinstance(target, dict):
        out["data"] = _wrong(target)
        return out
    if field_name is None:
        numbers = [k for k, v in target.items() if isinstance(v, int | float) and not isinstance(v, bool)]
        field_name = numbers[0] if numbers else next(iter(target), None)
    if field_name is not None:
        target[field_name] = _wrong(target.get(field_name))
    return out
