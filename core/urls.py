"""Checking URLs and other text from settings and config files when they are read, not when they are used.

A webhook URL with a control character or a space would make every later delivery fail (and keep the alert
pending); found at read time it is one line naming the setting. The problems never quote the value: a
webhook URL carries a token.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# C0 controls, DEL and C1 controls: never meaningful in a URL, a host name, an address or a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# RFC 1123 host names (letters, digits, hyphens; dots between labels), or a bracketed/bare IP literal.
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# Anything that looks like an absolute URL (scheme://…) up to whitespace or a quote or bracket.
_ANY_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>()\[\]{}]*")
URL_PLACEHOLDER = "<url>"


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a host name or IP address, or None when it is one."""
    if not host:
        return "has no host"
    if has_control(host) or any(c.isspace() for c in host):
        return "has a control character or a space in its host name"
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(literal)
        return None
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return "has a host that is not a host name or an IP address"
    return None


def http_url_problem(url: str) -> str | None:
    """Why ``url`` is not an absolute http(s) URL a client can send to, or None. Never quotes the URL."""
    if has_control(url) or any(c.isspace() for c in url):
        return "has a control character or a space (percent-encode it)"
    if not url.lower().startswith(("http://", "https://")):
        return "expected an http:// or https:// URL"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in 0..65535
    except ValueError:
        return "is not a valid URL (its host or port cannot be read)"
    if port == 0:
        return "has port 0"
    return host_problem(parts.hostname or "")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): reachable from this machine only."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def without_urls(text: str) -> str:
    """``text`` with every absolute URL replaced by ``<url>``: for error texts shown on a page, which must never
    show a webhook's address (it carries a token), however the peer spelled it back."""
    return _ANY_URL.sub(URL_PLACEHOLDER, text)
