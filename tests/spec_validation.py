"""Checks every response of every spec-mode fake against OpenRouter's official OpenAPI spec.

The spec is ``$ORUSAGE_OPENROUTER_SPEC`` or ``../shared/openrouter/openapi.yaml`` next to the repository. It is
loaded once per session with openapi-core (``Config(spec_validator_cls=None)``: the official file does not pass
strict OpenAPI 3.1 validation). Fakes pass ``COLLECTOR.on_response`` as their ``on_response``; responses are
validated after each test and at the end of the session, and the session fails listing every response that broke
the spec. Without the spec file (a clone with no ``../shared``) validation is skipped, in CI too, and the summary
says so: the spec is OpenRouter's, not the project's, and is not shipped in the repository.

- A status the operation lists: openapi-core validates the body (and content type).
- A status it does not list (the fake's 403 on /keys, 404 on unknown paths…): the body must still be the spec's
  error schema, with ``error.code`` equal to the status.
- Injected faults (header ``X-Fake-Fault``) are checked only for ``status`` faults, which claim to be JSON errors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

SPEC_ENV = "ORUSAGE_OPENROUTER_SPEC"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "openrouter" / "openapi.yaml"
API_PREFIX = "/api/v1"
SPEC_HOST = "https://openrouter.ai"  # the spec's server is https://openrouter.ai/api/v1
FAULT_HEADER = "x-fake-fault"
ERROR_SCHEMAS = {
    400: "BadRequestResponse",
    401: "UnauthorizedResponse",
    402: "PaymentRequiredResponse",
    403: "ForbiddenResponse",
    404: "NotFoundResponse",
    408: "RequestTimeoutResponse",
    409: "ConflictResponse",
    422: "UnprocessableEntityResponse",
    429: "TooManyRequestsResponse",
    500: "InternalServerResponse",
    502: "BadGatewayResponse",
    503: "ServiceUnavailableResponse",
    524: "EdgeNetworkTimeoutResponse",
}


def spec_path() -> Path:
    return Path(os.environ.get(SPEC_ENV) or DEFAULT_SPEC)


def _inline(node: Any, spec: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``node`` with local $refs inlined (the error schemas are small and not recursive)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part]
            return _inline(target, spec, (*seen, ref))
        return {k: _inline(v, spec, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, spec, seen) for v in node]
    return node


class SpecValidator:
    """Validates one response; ``errors`` returns [] when it conforms."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from openapi_core import Config, OpenAPI

        self._spec = spec
        self._api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self._error_validators: dict[int, Draft202012Validator] = {}
        self._templates = [
            (re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p))), item)
            for p, item in spec["paths"].items()
            if "{" in p
        ]

    @classmethod
    def load(cls, path: Path) -> SpecValidator:
        with path.open("rb") as fh:
            spec = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return cls(spec)

    def _operation(self, method: str, path: str) -> dict[str, Any] | None:
        if not path.startswith(API_PREFIX + "/"):
            return None
        rel = path[len(API_PREFIX) :]
        item = self._spec["paths"].get(rel)
        if item is None:  # a templated path such as /models/{author}/{slug}/endpoints
            item = next((v for pattern, v in self._templates if pattern.fullmatch(rel)), None)
        return item.get(method.lower()) if isinstance(item, dict) else None

    def _error_validator(self, status: int) -> Draft202012Validator:
        if status not in self._error_validators:
            name = ERROR_SCHEMAS.get(status, "BadRequestResponse")
            schema = _inline(self._spec["components"]["schemas"][name], self._spec)
            self._error_validators[status] = Draft202012Validator(schema)
        return self._error_validators[status]

    def errors(
        self, method: str, path: str, query: dict[str, str], status: int, headers: dict[str, str], body: bytes
    ) -> list[str]:
        lower = {k.lower(): v for k, v in headers.items()}
        fault = lower.get(FAULT_HEADER)
        if fault is not None and fault not in ("status", "delay"):
            return []  # a deliberately broken answer
        content_type = lower.get("content-type", "").split(";")[0].strip()
        if content_type != "application/json":
            return [f"Content-Type is {content_type!r}, not application/json"]
        try:
            data = json.loads(body)
        except ValueError as exc:
            return [f"body is not JSON: {exc}"]
        problems: list[str] = []
        if status >= 400:
            code = data.get("error", {}).get("code") if isinstance(data, dict) else None
            if code != status:
                problems.append(f"error.code is {code!r}, expected {status}")
        operation = self._operation(method, path)
        listed = operation is not None and (
            str(status) in operation["responses"] or "default" in operation["responses"]
        )
        if operation is not None and listed:
            problems += self._openapi_errors(method, path, query, status, body)
        elif status >= 400:
            validator = self._error_validator(status)
            problems += [f"{_where(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        else:
            problems.append(f"{method} {path} -> {status}: no such operation/status in the spec")
        return problems

    def _openapi_errors(self, method: str, path: str, query: dict[str, str], status: int, body: bytes) -> list[str]:
        from openapi_core.testing import MockRequest, MockResponse

        request = MockRequest(SPEC_HOST, method.lower(), path, args=query)
        response = MockResponse(body, status_code=status, content_type="application/json")
        out: list[str] = []
        for err in self._api.iter_response_errors(request, response):
            schema_errors = getattr(err.__cause__, "schema_errors", None)
            if schema_errors:
                out += [f"{_where(e.absolute_path)}: {e.message}" for e in schema_errors]
            else:
                out.append(f"{type(err).__name__}: {err} {err.__cause__ or ''}".strip())
        return out


def _where(path: Any) -> str:
    parts = list(path)
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "<body>"


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]
    body: bytes
    test: str

    def key(self) -> tuple[Any, ...]:
        digest = hashlib.sha256(self.body).hexdigest()
        return (self.method, self.path, tuple(sorted(self.query.items())), self.status, digest)


class Collector:
    """Receives responses from fakes (any thread) and validates them in the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Captured] = []
        self._seen: set[tuple[Any, ...]] = set()  # identical responses are validated once
        self._validator: SpecValidator | None = None
        self.failures: list[str] = []
        self.checked = 0
        self.skipped_reason: str | None = None
        self.current_test = "<session setup>"

    def on_response(
        self, method: str, path: str, query: dict[str, str], status: int, headers: dict[str, str], body: bytes
    ) -> None:
        with self._lock:
            self._pending.append(Captured(method, path, query, status, headers, body, self.current_test))

    def validator(self) -> SpecValidator | None:
        if self._validator is None and self.skipped_reason is None:
            path = spec_path()
            if path.is_file():
                self._validator = SpecValidator.load(path)
            else:
                self.skipped_reason = f"OpenRouter spec not found at {path} (set {SPEC_ENV})"
        return self._validator

    def drain(self) -> list[str]:
        """Validate what arrived since the last call; returns the new failures."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return []
        validator = self.validator()
        if validator is None:
            return []
        new: list[str] = []
        for item in batch:
            if item.key() in self._seen:
                continue
            self._seen.add(item.key())
            self.checked += 1
            query = "?" + "&".join(f"{k}={v}" for k, v in item.query.items()) if item.query else ""
            for problem in validator.errors(item.method, item.path, item.query, item.status, item.headers, item.body):
                new.append(f"[{item.test}] {item.method} {item.path}{query} -> {item.status}: {problem}")
        self.failures += new
        return new


COLLECTOR = Collector()


@pytest.fixture(scope="session")
def spec_validator() -> SpecValidator:
    """The loaded spec validator (the test is skipped without the spec file)."""
    validator = COLLECTOR.validator()
    if validator is None:
        pytest.skip(COLLECTOR.skipped_reason or "spec missing")
    return validator


@pytest.fixture(autouse=True)
def _validate_fake_responses(request: pytest.FixtureRequest) -> Iterator[None]:
    found = COLLECTOR.drain()  # whatever session fixtures produced, before this test
    COLLECTOR.current_test = request.node.nodeid
    yield
    found += COLLECTOR.drain()
    COLLECTOR.current_test = "<between tests>"
    # Failed here, in the test that met them, as well as at the session's end: under pytest-xdist a worker's
    # session status never reaches the run's.
    if found:
        pytest.fail("the fake answered against the OpenRouter spec:\n" + "\n".join(found[:20]), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    COLLECTOR.drain()
    if COLLECTOR.failures:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if COLLECTOR.failures:
        terminalreporter.section("fake OpenRouter responses that break the OpenAPI spec", red=True)
        for line in COLLECTOR.failures[:200]:
            terminalreporter.write_line(line)
        if len(COLLECTOR.failures) > 200:
            terminalreporter.write_line(f"... and {len(COLLECTOR.failures) - 200} more")
        terminalreporter.write_line(f"{len(COLLECTOR.failures)} spec problem(s): the session fails.", red=True)
    elif COLLECTOR.skipped_reason:
        terminalreporter.write_line(f"fake OpenRouter spec validation SKIPPED: {COLLECTOR.skipped_reason}")
    elif COLLECTOR.checked:
        terminalreporter.write_line(f"fake OpenRouter spec validation: {COLLECTOR.checked} distinct responses OK")
