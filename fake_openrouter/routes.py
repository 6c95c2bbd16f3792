"""Which function answers which path, with which kind of key; turns route errors into the spec's error body."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb

from fake_openrouter.api_account import credits, current_key, list_keys, list_members, list_workspaces
from fake_openrouter.api_activity import activity
from fake_openrouter.api_analytics import analytics_meta, analytics_query
from fake_openrouter.api_common import ApiError, ApiRequest, ApiResponse, JsonObject, error_body
from fake_openrouter.api_endpoints import model_endpoints
from fake_openrouter.api_generation import generation, generation_content
from fake_openrouter.api_models import list_models
from fake_openrouter.api_observability import list_destinations
from fake_openrouter.auth import Access, AuthError, Principal, authenticate, bearer_token, holds
from fake_openrouter.dataset import Dataset
from fake_openrouter.keys import key_hash
from fake_openrouter.runtime import ServerState

log = logging.getLogger(__name__)

Handler = Callable[[Dataset, duckdb.DuckDBPyConnection, ApiRequest], JsonObject]


@dataclass(frozen=True)
class Route:
    method: str
    handler: Handler
    access: Access
    rate_limited: bool = False  # counts against the analytics limit (64 a minute per key)


ROUTES: dict[str, Route] = {
    "/activity": Route("GET", activity, Access.MANAGEMENT),
    "/analytics/meta": Route("GET", analytics_meta, Access.MANAGEMENT),
    "/analytics/query": Route("POST", analytics_query, Access.MANAGEMENT, rate_limited=True),
    "/credits": Route("GET", credits, Access.MANAGEMENT),
    "/generation": Route("GET", generation, Access.ANY_KEY),
    "/generation/content": Route("GET", generation_content, Access.ANY_KEY),
    "/key": Route("GET", current_key, Access.ANY_KEY),
    "/keys": Route("GET", list_keys, Access.MANAGEMENT),
    "/models": Route("GET", list_models, Access.PUBLIC),
    "/observability/destinations": Route("GET", list_destinations, Access.MANAGEMENT),
    "/organization/members": Route("GET", list_members, Access.MANAGEMENT),
    "/workspaces": Route("GET", list_workspaces, Access.MANAGEMENT),
}
# Paths with parameters; the handler reads them from ``ApiRequest.path``.
PATTERN_ROUTES: tuple[tuple[re.Pattern[str], Route], ...] = (
    (re.compile(r"/models/[^/]+/[^/]+/endpoints"), Route("GET", model_endpoints, Access.PUBLIC)),
)


def _error(status: int, message: str | None = None, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, error_body(status, message), headers or {})


def find_route(path: str) -> Route | None:
    route = ROUTES.get(path)
    if route is None:
        route = next((r for pattern, r in PATTERN_ROUTES if pattern.fullmatch(path)), None)
    return route


def dataset_for(datasets: Sequence[Dataset], authorization: str | None) -> Dataset:
    """The data set whose account holds the bearer key: as on OpenRouter, one base URL serves every account
    and the key chooses which. No key, or a key no account holds: the first, whose rules answer it (401…)."""
    token = bearer_token(authorization)
    if token is not None and len(datasets) > 1:
        hashed = key_hash(token)
        found = next((ds for ds in datasets if holds(ds.account, hashed)), None)
        if found is not None:
            return found
    return datasets[0]


def _caller(ds: Dataset, principal: Principal | None) -> str:
    """Whom a rate limit counts against: the key's hash."""
    if principal is None or principal.key is None:
        return ds.account.management_key.hash
    return principal.key.hash


def dispatch(
    ds: Dataset,
    method: str,
    path: str | None,
    query: dict[str, str],
    authorization: str | None,
    base_url: str,
    body: bytes = b"",
    state: ServerState | None = None,
) -> ApiResponse:
    """Answer one API request; ``path`` is relative to the API prefix (None: outside it)."""
    rel = "/" + path.strip("/") if path is not None else ""
    route = find_route(rel)
    if route is None:
        return _error(404, "Not Found")
    if method != route.method:
        return _error(405, f"Method {method} not allowed")
    try:
        principal = authenticate(ds.account, authorization, route.access)
    except AuthError as exc:
        return _error(exc.status, exc.message)
    state = state or ServerState(ds.now, ds.clock)
    if route.rate_limited:
        wait = state.analytics_limiter.acquire(_caller(ds, principal))
        if wait is not None:
            limit = state.analytics_limiter.per_minute
            message = f"Rate limit exceeded: {limit} requests per minute. Retry after {wait} s"
            return _error(429, message, {"Retry-After": str(wait)})
    request = ApiRequest(method, rel, query, principal, base_url, state, body)
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
