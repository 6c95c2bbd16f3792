"""Secrets out of text that came from elsewhere: the one scrubber for every error, log line and stored message.

A peer (a gateway, a proxy, a webhook receiver) may echo what it was sent: the ``Authorization`` header, the
request's path ("Cannot POST /hook/TOKEN"), its query. So every text from a peer is passed through ``scrub``
before it is printed, logged, stored or shown. What is removed:

* the value of every secret setting (``core.settings.secret_values``: keys, webhook URLs, passwords), and any
  secret handed in (a webhook URL from the alerts config, say);
* for a secret that is a URL, also each path segment and each query value of 8 characters or more (a token
  is rarely shorter; shorter parts, such as ``hooks`` or ``services``, are not secret and are common words);
* each of those in plain, percent-encoded (either case) and base64 forms. Base64 is searched for at the three
  alignments a secret can have inside a longer encoded text (``Basic`` credentials, a JSON blob): the
  characters that depend on the secret alone, which is what a reader could decode back.

Values shorter than ``MIN_SECRET`` characters are not searched for: they would blank out ordinary words.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from pydantic import SecretStr

from core import settings

MASK = "[secret]"
MIN_SECRET = 4  # a secret setting's whole value
MIN_URL_PART = 8  # a path segment or query value of a secret URL
MIN_BASE64 = 8  # the shortest base64 core searched for

Secret = SecretStr | str | None


def _url_parts(value: str) -> list[str]:
    """The path segments, query values and password of a URL, of ``MIN_URL_PART`` characters or more."""
    if not value.strip().lower().startswith(("http://", "https://")):
        return []
    try:
        parts = urlsplit(value.strip())
        query = parse_qsl(parts.query, keep_blank_values=True)
        password = parts.password
    except ValueError:
        return []
    found = [p for p in parts.path.split("/") if p]
    found += [v for _, v in query]
    found += [password] if password else []
    return [p for p in found if len(p) >= MIN_URL_PART]


def _base64_cores(value: str) -> list[str]:
    """Base64 of ``value`` at each of the three byte alignments, trimmed to the characters that depend on
    ``value`` only (so they are found inside any longer base64 text holding it)."""
    raw = value.encode("utf-8")
    cores: list[str] = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
        start = -(-shift * 4 // 3)  # characters touched by the padding bytes in front
        end = ((shift + len(raw)) // 3) * 4  # whole groups only: the last partial one depends on what follows
        core = encoded[start:end]
        if len(core) >= MIN_BASE64:
            cores.append(core)
            cores.append(core.replace("+", "-").replace("/", "_"))  # the URL-safe alphabet
    return cores


def forms(value: str) -> set[str]:
    """Every spelling of one secret (and, for a URL, of its secret parts) that ``scrub`` removes."""
    if len(value) < MIN_SECRET:
        return set()
    found: set[str] = set()
    for part in {value, *_url_parts(value)}:
        for spelled in (part, quote(part, safe=""), quote(part), quote_plus(part)):
            found.add(spelled)
            found.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), spelled))
        found.add(base64.b64encode(part.encode("utf-8")).decode("ascii"))
        found.update(_base64_cores(part))
    return {f for f in found if len(f) >= MIN_SECRET}


@functools.lru_cache(maxsize=32)
def _pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    needles = set().union(*(forms(v) for v in values)) if values else set()
    if not needles:
        return None
    # Longest first: a whole URL goes before its segments, so the mask replaces it in one piece.
    return re.compile("|".join(re.escape(n) for n in sorted(needles, key=lambda n: (-len(n), n))))


def _plain(secrets: Iterable[Secret]) -> list[str]:
    out: list[str] = []
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and value.strip():
            out.append(value.strip())
            if value != value.strip():
                out.append(value)
    return out


def scrub(text: str, *extra: Secret) -> str:
    """``text`` without any secret setting's value or any of ``extra``, in any of their ``forms``."""
    if not text:
        return text
    values = tuple(sorted(set(_plain(settings.secret_values())) | set(_plain(extra))))
    pattern = _pattern(values)
    return pattern.sub(MASK, text) if pattern is not None else text


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs each record's message (install it on the handlers that write out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
