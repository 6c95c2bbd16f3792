"""The OpenRouter HTTP client: explicit timeouts, retries with backoff, typed errors, typed responses.

Retried: 408, 429 (honouring ``Retry-After``), 5xx (and Cloudflare's 52x), connection errors, timeouts,
and bodies that are cut short or are not JSON. Not retried: 400, 401, 402, 403, 404, a JSON body of
the wrong shape or with a value that cannot be (``ingest.values``), an answer larger than ``MAX_BODY``, and
a request that outlives its overall deadline (``deadline``, ``ORUSAGE_HTTP_DEADLINE``: a peer that trickles
will not do better on a second try), which fail at once with a one-line error.

Whatever a peer says is scrubbed (``core.scrub``) before it becomes part of an error: a gateway that echoes
the ``Authorization`` header must not get the key printed, logged or stored. Paged listings are bounded
(``ingest.paging``).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from core.scrub import scrub
from core.settings import MANAGEMENT_KEYS_URL
from ingest import schemas
from ingest.deadline import deadline, deadline_client
from ingest.errors import (
    AuthError,
    BadResponseError,
    NotFoundError,
    OpenRouterError,
    UnavailableError,
)
from ingest.paging import PageGuard

log = logging.getLogger(__name__)

KEYS_PAGE_SIZE = 100
RETRY_AFTER_CAP_S = 120.0
MAX_BODY = 64 * 1024 * 1024  # an analytics page of 10,000 rows is a few MB

T = TypeVar("T", bound=BaseModel)
# Pydantic error types that mean "a number out of range" rather than "not what the API describes".
_VALUE_ERRORS = frozenset(
    {
        "finite_number",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "value_error",
        "int_from_float",
        "int_parsing_size",
    }
)
Params = Mapping[str, str | int]


def _is_retryable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _error_message(content: bytes, key: SecretStr) -> str:
    """The first line of an error body's message, scrubbed of every secret (the key above all)."""
    try:
        body = schemas.ErrorResponse.model_validate_json(content)
    except (ValidationError, ValueError):
        return ""
    text = body.error.message.strip()
    return scrub(text, key).splitlines()[0][:200] if text else ""


class _TooLarge(Exception):
    pass


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), RETRY_AFTER_CAP_S))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class OpenRouterClient:
    """Talks to OpenRouter (or anything that speaks its API) with the management key.

    ``key_setting`` names the setting the key came from, so errors can tell the user what to change.
    """

    def __init__(
        self,
        base_url: str,
        key: SecretStr,
        *,
        key_setting: str = "OPENROUTER_MANAGEMENT_KEY",
        timeout: float = 30.0,
        deadline: float = 60.0,
        retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key_setting = key_setting
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline
        self._key = key
        self._sleep = sleep
        self._clock = clock
        self._http = deadline_client(
            base_url=self.base_url + "/",
            headers={
                "Authorization": f"Bearer {key.get_secret_value()}",
                "User-Agent": "openrouter-usage",
                "X-Title": "openrouter-usage",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenRouterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -------------------------------------------------------------------------------

    def get(self, path: str, params: Params | None = None, *, model: type[T]) -> T:
        """GET ``path`` and parse it as ``model``; retry what is worth retrying."""
        return self.request("GET", path, params, model=model)

    def post(self, path: str, body: Mapping[str, Any], *, model: type[T]) -> T:
        return self.request("POST", path, None, body, model=model)

    def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        model: type[T],
    ) -> T:
        where = f"{method} {path}"
        attempt = 0
        while True:
            attempt += 1
            failure: str
            wait: float | None = None
            try:
                started = time.monotonic()
                with deadline(self.deadline) as d:
                    response, content = self._exchange(method, path, params, body)
                log.info("%s: %d in %.2f s", where, response.status_code, time.monotonic() - started)
            except httpx.TimeoutException:
                if d.expired:
                    raise UnavailableError(
                        f"{where} did not finish within {self.deadline:g} s (ORUSAGE_HTTP_DEADLINE): the server "
                        "answers too slowly.",
                        "Nothing was stored from it; run again later.",
                    ) from None
                failure = f"{where} timed out"
            except httpx.TransportError as exc:
                failure = f"{where} failed: {type(exc).__name__}"
            except _TooLarge:
                raise BadResponseError(
                    f"{where} answered with more than {MAX_BODY // (1024 * 1024)} MB.",
                    "Nothing was stored from it. Is OPENROUTER_BASE_URL an OpenRouter API?",
                ) from None
            else:
                status = response.status_code
                if status < 300:
                    try:
                        payload = json.loads(content)
                    except (ValueError, UnicodeDecodeError):
                        failure = f"{where} returned a body that is not JSON"
                    else:
                        return self._parse(where, payload, model)
                elif _is_retryable_status(status):
                    detail = _error_message(content, self._key)
                    failure = f"{where} answered {status}" + (f" ({detail})" if detail else "")
                    wait = _retry_after(response) if status in (429, 503) else None
                else:
                    raise self._client_error(where, response.status_code, content)
            if attempt > self.retries:
                raise UnavailableError(
                    f"OpenRouter is unavailable: {failure}, {attempt} attempts.",
                    "Nothing was lost; run again later.",
                )
            delay = wait if wait is not None else self.backoff * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            log.info("%s; retrying in %.2fs (attempt %d of %d)", failure, delay, attempt, self.retries + 1)
            self._sleep(delay)

    def _exchange(
        self, method: str, path: str, params: Params | None, body: Mapping[str, Any] | None
    ) -> tuple[httpx.Response, bytes]:
        """One request and its whole body, at most ``MAX_BODY`` bytes of it."""
        with self._http.stream(
            method, path.lstrip("/"), params=dict(params or {}), json=dict(body) if body else None
        ) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY:
                    raise _TooLarge
                chunks.append(chunk)
            return response, b"".join(chunks)

    def _parse(self, where: str, payload: Any, model: type[T]) -> T:
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            what = "an impossible value" if first["type"] in _VALUE_ERRORS else "an unexpected shape"
            raise BadResponseError(
                scrub(f"{where} returned {what}: {field}: {first['msg']}.", self._key),
                "Is OPENROUTER_BASE_URL an OpenRouter API? Nothing was stored from this response.",
            ) from None

    def _client_error(self, where: str, status: int, content: bytes) -> OpenRouterError:
        detail = _error_message(content, self._key)
        said = f" (OpenRouter said: {detail})" if detail else ""
        if status == 401:
            return AuthError(
                f"OpenRouter rejected {self.key_setting} (401){said}.",
                f"Check the key, or create a management key at {MANAGEMENT_KEYS_URL}.",
                status,
            )
        if status == 403:
            return AuthError(
                f"{where} needs a management key, but {self.key_setting} is not one (403){said}.",
                f"Create a management key at {MANAGEMENT_KEYS_URL} and set {self.key_setting} to it.",
                status,
            )
        if status == 402:
            return AuthError(
                f"OpenRouter says the account cannot pay (402){said}.", "Add credits, then run again.", status
            )
        if status == 404:
            return NotFoundError(
                f"{where} was not found (404){said}.",
                "Check OPENROUTER_BASE_URL (it should end in /api/v1).",
                status,
            )
        return OpenRouterError(f"{where} was refused ({status}){said}.", "", status)

    def _guard(self, where: str) -> PageGuard:
        return PageGuard(where, clock=self._clock)

    # ---- endpoints -------------------------------------------------------------------------------

    def key_info(self) -> schemas.KeyInfo:
        return self.get("/key", model=schemas.KeyInfoResponse).data

    def activity(self, *, api_key_hash: str | None = None, date: str | None = None) -> list[schemas.ActivityItem]:
        params: dict[str, str | int] = {}
        if api_key_hash:
            params["api_key_hash"] = api_key_hash
        if date:
            params["date"] = date
        return self.get("/activity", params, model=schemas.ActivityResponse).data

    def analytics_query(self, body: Mapping[str, Any]) -> schemas.AnalyticsResult:
        return self.post("/analytics/query", body, model=schemas.AnalyticsResponse).data

    def organization_members(self) -> list[schemas.Member] | None:
        """The organization's members, or None for an account that is not an organization (404)."""
        found: list[schemas.Member] = []
        offset = 0
        guard = self._guard("GET /organization/members")
        while True:
            try:
                page = self.get(
                    "/organization/members", {"offset": offset, "limit": 100}, model=schemas.MembersResponse
                )
            except NotFoundError:
                return None
            found.extend(page.data)
            offset += len(page.data)
            if len(page.data) < 100 or (page.total_count is not None and offset >= page.total_count):
                return found
            guard.more(page.data, offset)

    def model_endpoints(self, model_id: str) -> schemas.ModelEndpoints:
        return self.get(f"/models/{model_id}/endpoints", model=schemas.ModelEndpointsResponse).data

    def credits(self) -> schemas.Credits:
        return self.get("/credits", model=schemas.CreditsResponse).data

    def models(self) -> list[schemas.Model]:
        """Every model, not only text-output ones."""
        found: dict[str, schemas.Model] = {}
        offset = 0
        guard = self._guard("GET /models")
        while True:
            page = self.get(
                "/models",
                {"output_modalities": "all", "offset": offset, "limit": 1000},
                model=schemas.ModelsResponse,
            )
            for item in page.data:
                found.setdefault(item.id, item)
            offset += len(page.data)
            total = page.total_count
            # A short page (or no total at all, as real responses sometimes have) ends the listing.
            if not page.data or total is None or offset >= total or len(page.data) < 1000:
                return list(found.values())
            guard.more(page.data, offset)

    def workspaces(self) -> list[schemas.Workspace]:
        found: list[schemas.Workspace] = []
        offset = 0
        guard = self._guard("GET /workspaces")
        while True:
            page = self.get("/workspaces", {"offset": offset, "limit": 100}, model=schemas.WorkspacesResponse)
            found.extend(page.data)
            offset += len(page.data)
            if len(page.data) < 100 or (page.total_count is not None and offset >= page.total_count):
                return found
            guard.more(page.data, offset)

    def keys(self, workspace_id: str | None = None) -> list[schemas.ApiKey]:
        """All keys of one workspace (the default one without ``workspace_id``), disabled ones included."""
        found: list[schemas.ApiKey] = []
        offset = 0
        guard = self._guard("GET /keys")
        while True:
            params: dict[str, str | int] = {"include_disabled": "true", "offset": offset}
            if workspace_id:
                params["workspace_id"] = workspace_id
            page = self.get("/keys", params, model=schemas.ApiKeysResponse).data
            found.extend(page)
            offset += len(page)
            if len(page) < KEYS_PAGE_SIZE:
                return found
            guard.more(page, offset)

    def observability_destinations(self, workspace_id: str | None = None) -> list[schemas.ObservabilityDestination]:
        """Every Broadcast destination of one workspace (the default one without ``workspace_id``)."""
        found: list[schemas.ObservabilityDestination] = []
        offset = 0
        while True:
            params: dict[str, str | int] = {"offset": offset, "limit": 100}
            if workspace_id:
                params["workspace_id"] = workspace_id
            page = self.get("/observability/destinations", params, model=schemas.ObservabilityDestinationsResponse)
            found.extend(page.data)
            offset += len(page.data)
            if len(page.data) < 100 or (page.total_count is not None and offset >= page.total_count):
                return found

    def all_keys(self, workspace_ids: list[str]) -> list[schemas.ApiKey]:
        """Keys across every workspace, each once."""
        seen: dict[str, schemas.ApiKey] = {}
        for workspace_id in [None, *workspace_ids]:
            for key in self.keys(workspace_id):
                seen.setdefault(key.hash, key)
        return list(seen.values())
