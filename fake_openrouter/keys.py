"""Demo credentials accepted by the fake OpenRouter server.

These strings are **not** secrets: they only work against ``fake_openrouter`` and are published here so that
demos, tests and screenshots can use them freely (printing them is fine). Real OpenRouter keys look alike
(``sk-or-v1-`` followed by 64 hex digits); these ones say ``demo`` in the clear so nobody mistakes them for
a real key.

- ``DEMO_MANAGEMENT_KEY``: a management key. It works on every endpoint, like a real management key.
- ``DEMO_API_KEY``: a regular (inference) key. It belongs to the account's ``production-backend`` key, so
  ``/key`` describes that key; management endpoints answer it with 403.
- ``DEMO_SECOND_MANAGEMENT_KEY`` / ``DEMO_SECOND_API_KEY``: the same for a second, separate account
  (``account.second_account``), served beside the first by one server (``FakeServer(..., others=...)``): as on
  OpenRouter, the key chooses the account.
"""

from __future__ import annotations

import hashlib

DEMO_MANAGEMENT_KEY = "sk-or-v1-demo-management-0000000000000000000000000000000000000000000000000000"
DEMO_API_KEY = "sk-or-v1-demo-0000000000000000000000000000000000000000000000000000000000000000"

DEMO_MANAGEMENT_KEY_NAME = "demo-management"
DEMO_API_KEY_NAME = "production-backend"

DEMO_SECOND_MANAGEMENT_KEY = "sk-or-v1-demo-second-management-000000000000000000000000000000000000000000000"
DEMO_SECOND_API_KEY = "sk-or-v1-demo-second-000000000000000000000000000000000000000000000000000000000"

DEMO_SECOND_MANAGEMENT_KEY_NAME = "demo-second-management"
DEMO_SECOND_API_KEY_NAME = "storefront"


def key_hash(secret: str) -> str:
    """The 64-hex ``hash`` OpenRouter shows for a key (here: SHA-256 of the secret)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def key_label(hash_hex: str) -> str:
    """A masked label in the style of real keys (``sk-or-v1-abc...xyz``)."""
    return f"sk-or-v1-{hash_hex[:3]}...{hash_hex[-3:]}"
