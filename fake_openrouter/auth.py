"""Bearer-key authentication, as the real API does it (see NOTES.md, "Keys")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from fake_openrouter.account import Account, ApiKey
from fake_openrouter.keys import key_hash

FORBIDDEN_MESSAGE = "Only management keys can perform this operation"


class Access(Enum):
    PUBLIC = "public"  # answers without a key (a key, if sent, must be valid)
    ANY_KEY = "any_key"  # any valid key, a management key included
    MANAGEMENT = "management"  # management keys only; a regular key gets 403


@dataclass(frozen=True)
class Principal:
    """Who is calling: the management key (``key`` is None) or one of the account's regular keys."""

    is_management: bool
    key: ApiKey | None


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def holds(account: Account, hashed: str) -> bool:
    """Whether the key with this hash is the account's management key or one of its regular keys."""
    return hashed == account.management_key.hash or account.key_by_hash(hashed) is not None


def authenticate(account: Account, authorization: str | None, access: Access) -> Principal | None:
    """The caller for a route needing ``access``; raises AuthError (401/403) when not allowed."""
    token = bearer_token(authorization)
    if token is None:
        if access is Access.PUBLIC:
            return None
        raise AuthError(401, "No auth credentials found")
    hashed = key_hash(token)
    if hashed == account.management_key.hash:
        return Principal(is_management=True, key=None)
    key = account.key_by_hash(hashed)
    if key is None:
        raise AuthError(401, "User not found.")
    if access is Access.MANAGEMENT:
        raise AuthError(403, FORBIDDEN_MESSAGE)
    return Principal(is_management=False, key=key)
