"""Which function answers which path, with which kind of key; turns route errors into the spec's error body."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from fake_openrouter.api_account import credits, current_key, list_keys, list_workspaces
from fake_openrouter.api_activity import activity
from fake_openrouter.api_common import ApiError, ApiRequest, ApiResponse, JsonObject, error_body
from fake_openrouter.api_models import list_models
from fake_openrouter.auth import Access, AuthError, authenticate
from fake_openrouter.dataset import Dataset

log = logging.getLogger(__name__)

Handler = Callable[[Dataset, duckdb.DuckDBPyConnection, ApiRequest], JsonObject]


@dataclass(frozen=True)
class Route:
    method: str
    handler: Handler
    access: Access


ROUTES: dict[str, Route] = {
    "/activity": Route("GET", activity, Access.MANAGEMENT),
    "/credits": Route("GET", credits, Access.MANAGEMENT),
    "/key": Route("GET", current_key, Access.ANY_KEY),
    "/keys": Route("GET", list_keys, Access.MANAGEMENT),
    "/models": Route("GET", list_models, Access.PUBLIC),
    "/workspaces": Route("GET", list_workspaces, Access.MANAGEMENT),
}


def _error(status: int, message: str | None = None) -> ApiResponse:
    return ApiResponse(status, error_body(status, message))


def dispatch(
    ds: Dataset,
    method: str,
    path: str | None,
    query: dict[str, str],
    authorization: str | None,
    base_url: str,
) -> ApiResponse:
    """Answer one API request; ``path`` is relative to the API prefix (None: outside it)."""
    rel = "/" + path.strip("/") if path is not None else ""
    route = ROUTES.get(rel)
    if route is None:
        return _error(404, "Not Found")
    if method != route.method:
        return _error(405, f"Method {method} not allowed")
    try:
        principal = authenticate(ds.account, authorization, route.access)
    except AuthError as exc:
        return _error(exc.status, exc.message)
    request = ApiRequest(method, rel, query, principal, base_url)
    cur = ds.cursor()
    try:
        return ApiResponse(200, route.handler(ds, cur, request))
    except ApiError as exc:
        return _error(exc.status, exc.message)
    except Exception:
        log.exception("fake OpenRouter: %s %s failed", method, path)
        return _error(500, "Internal Server Error")
    finally:
        cur.close()
