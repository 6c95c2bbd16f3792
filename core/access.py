"""Who may open the dashboard: the password's scrypt hash (what ``orusage dashboard`` hands its Streamlit child
instead of the password) and the sign-in allowlist of e-mail addresses and domains. Pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
# scrypt's cost: ~16 MB and ~50 ms per check here. Checks are few (the gate throttles guessing), and a stolen
# hash file should cost an attacker as much per guess.
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES, _HASH_BYTES = 16, 32


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=_HASH_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$SALT$HASH`` (URL-safe base64): one line, safe to keep in a private file."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    return "$".join((SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(_scrypt(password, salt, _N, _R, _P))))


def parse_hash(encoded: str) -> tuple[bytes, int, int, int, bytes]:
    """(salt, n, r, p, hash) of an encoded hash; ValueError when it is not one ``hash_password`` writes."""
    parts = encoded.strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("not a scrypt password hash")
    n, r, p = (int(x) for x in parts[1:4])
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("scrypt parameters out of range")
    salt, digest = _unb64(parts[4]), _unb64(parts[5])
    if len(salt) < 8 or len(digest) != _HASH_BYTES:
        raise ValueError("salt or hash of the wrong length")
    return salt, n, r, p, digest


def password_matches_hash(given: str, encoded: str) -> bool:
    """Constant-time comparison of ``given``'s scrypt hash with ``encoded``'s (False when it is malformed)."""
    try:
        salt, n, r, p, digest = parse_hash(encoded)
    except ValueError:
        return False
    return hmac.compare_digest(_scrypt(given, salt, n, r, p), digest)


def parse_allowlist(text: str) -> tuple[str, ...]:
    """``alice@example.com, @example.org example.net`` → entries, lowercased. An entry with a local part is one
    address; ``@domain`` or a bare ``domain`` is everyone at exactly that domain. ValueError on a bad entry."""
    entries: list[str] = []
    for raw in text.replace(",", " ").split():
        entry = raw.strip().lower()
        local, at, domain = entry.rpartition("@")
        if not at:
            local, domain = "", entry
        if not domain or "." not in domain or "@" in local or any(c in entry for c in "*?/\\<>\"'"):
            raise ValueError(f"{raw!r} is not an e-mail address or a domain (e.g. alice@example.com, @example.com)")
        entries.append(f"{local}@{domain}" if local else f"@{domain}")
    if not entries:
        raise ValueError("no e-mail address or domain given")
    return tuple(dict.fromkeys(entries))


def email_allowed(email: str, allow: tuple[str, ...]) -> bool:
    """True when ``email`` is on the allowlist, itself or by its domain (case-insensitive, exact domain)."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return False
    return address in allow or f"@{domain}" in allow
