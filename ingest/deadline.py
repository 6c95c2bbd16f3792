"""An overall deadline for an HTTP request, beside httpx's per-read timeout.

httpx's timeouts bound each read, not the request: a server sending one byte every two seconds never trips
a five-second read timeout, and keeps a request (and the writer lock) for as long as it likes. Here every
socket operation of a request is bounded by what is left of the request's deadline, so the request ends
when its deadline passes, whatever the peer does: while connecting, while the headers trickle in, while
the body does.

Use ``deadline_client(...)`` instead of ``httpx.Client(...)``, and run each request inside
``with deadline(seconds) as d:``; ``d.expired`` then tells a deadline from a read timeout. The deadline is
a context variable, so threads sharing one client (the generation fetcher) each have their own.
"""

from __future__ import annotations

import contextlib
import contextvars
import ssl
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass

import httpcore
import httpx

_ENDS_AT: contextvars.ContextVar[float | None] = contextvars.ContextVar("orusage_http_deadline", default=None)


@dataclass
class Deadline:
    seconds: float
    ends_at: float

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.ends_at


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Every HTTP operation of the deadline clients inside the block ends by ``seconds`` from now."""
    d = Deadline(seconds, time.monotonic() + seconds)
    token = _ENDS_AT.set(d.ends_at)
    try:
        yield d
    finally:
        _ENDS_AT.reset(token)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    ends_at = _ENDS_AT.get()
    if ends_at is None:
        return timeout
    left = ends_at - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _install(transport: httpx.BaseTransport | None) -> None:
    pool = getattr(transport, "_pool", None)
    if pool is None:
        return  # not a network transport (a test's MockTransport, a mount set to None)
    # httpx offers no way to hand its connection pool a network backend, so it is wrapped in place; a test
    # over a trickling server proves it still works with the pinned httpx.
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        raise RuntimeError("httpcore's connection pool changed: the HTTP deadline cannot be installed")
    if not isinstance(backend, _Backend):
        pool._network_backend = _Backend(backend)


def deadline_client(**kwargs: typing.Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` whose every connection (proxies from the environment included) obeys
    ``deadline``."""
    client = httpx.Client(**kwargs)
    _install(client._transport)
    for transport in client._mounts.values():
        _install(transport)
    return client
