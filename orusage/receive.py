"""`orusage receive`: the Broadcast receiver, and its merge of the spool into the store on a timer.

The receiver (``ingest.broadcast.server``) answers deliveries on a thread of its own and only ever writes
the spool. This loop, every ``every_s`` seconds, merges the spool into the store in a short writer session
of its own (``queries.store.MERGE``: other writers wait for it rather than fail) and publishes the
snapshot, so readers see new generations at most ``every_s`` later, and the snapshot is copied at most
that often. While another writer (an ingest) holds the store, the tick is skipped: that ingest merges the
spool itself, and the spool keeps everything meanwhile.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from core.clock import utcnow
from core.errors import ConfigError, StoreError, StoreLockedError
from core.settings import Settings
from ingest.broadcast.merge import MergeResult, merge_spool
from ingest.broadcast.server import Receiver, ReceiverConfig
from ingest.broadcast.spool import Spool, spool_path
from queries.store import MERGE, Writer

log = logging.getLogger("orusage.receive")

DEFAULT_PORT = 4318  # OTLP/HTTP's port
MIN_EVERY_S = 1.0


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_loopback for info in found)


def check_exposure(host: str, settings: Settings) -> str | None:
    """Refuse to listen beyond loopback without a token (ConfigError); a warning to show when listening
    on loopback without one."""
    if settings.orusage_receive_token is not None:
        return None
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without ORUSAGE_RECEIVE_TOKEN: anyone could post to the store.",
            "Set ORUSAGE_RECEIVE_TOKEN (e.g. `openssl rand -hex 32`) and the same Authorization: Bearer header "
            "on the Broadcast destination, or listen on 127.0.0.1 behind a proxy.",
        )
    return (
        "ORUSAGE_RECEIVE_TOKEN is not set: deliveries are accepted without a token, on loopback only. "
        "Set it before putting a proxy in front of the receiver."
    )


def merge_once(db: Path, spool: Spool) -> MergeResult | None:
    """One merge in a short writer session of its own; None when another writer holds the store (that
    writer's run merges the spool itself, or the next tick does)."""
    if not spool.pending(1):
        return MergeResult()
    try:
        with Writer(db, role=MERGE, patience_s=0) as writer:
            return merge_spool(writer, spool)
    except StoreLockedError:
        return None


def run_receiver(
    settings: Settings,
    *,
    host: str,
    port: int,
    every_s: float,
    echo: Callable[[str], None],
    stop: threading.Event | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop``), merging every ``every_s`` seconds; a last merge on the way
    out. Returns the exit code."""
    if every_s < MIN_EVERY_S:
        raise ConfigError(f"--every {every_s:g} is too short.", f"Merge at most every {MIN_EVERY_S:g} s.")
    warning = check_exposure(host, settings)
    db = settings.orusage_db
    spool = Spool(spool_path(db))
    config = ReceiverConfig(
        spool=spool, token=settings.orusage_receive_token, max_bytes=settings.orusage_receive_max_bytes, clock=utcnow
    )
    try:
        receiver = Receiver(host, port, config).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}.", "Pick another --port, or stop what uses it."
        ) from None
    stop = stop or threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    in_main = threading.current_thread() is threading.main_thread()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if in_main:
        for sig in previous:
            signal.signal(sig, _stop)
    if warning:
        echo(f"warning: {warning}")
    echo(
        f"Receiving Broadcast deliveries at {receiver.url} (POST or PUT, OTLP/JSON); spool {spool.root}; "
        f"merging into {db} every {every_s:g} s. Ctrl-C to stop."
    )
    try:
        _tick(db, spool, echo)
        while not stop.wait(every_s):
            _tick(db, spool, echo)
        _tick(db, spool, echo)  # what arrived since the last tick, before going
    finally:
        receiver.stop()
        if in_main:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    counts = receiver.counts.snapshot()
    refused = ", ".join(f"{n}× {status}" for status, n in counts["refused"].items()) or "none"
    kept, tests = counts["deliveries"], counts["tests"]
    echo(f"Receiver stopped: {kept} deliveries kept, {tests} connection tests answered, refused: {refused}.")
    return 0


def _tick(db: Path, spool: Spool, echo: Callable[[str], None]) -> None:
    try:
        result = merge_once(db, spool)
    except StoreError as exc:  # the disk, a damaged file: say it, keep receiving (the spool keeps everything)
        echo(f"{utcnow():%Y-%m-%d %H:%M:%S} UTC merge failed, retrying at the next tick: {exc}")
        return
    except Exception as exc:
        log.exception("receive: merge failed")
        echo(f"{utcnow():%Y-%m-%d %H:%M:%S} UTC merge failed ({type(exc).__name__}), retrying at the next tick")
        return
    if result is None:
        log.info("receive: another writer holds the store; merging at the next tick")
    elif result.changed or result.unreadable:
        echo(f"{utcnow():%Y-%m-%d %H:%M:%S} UTC {result.summary()}")
