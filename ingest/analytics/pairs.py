"""The two-dimension groupings the store needs beyond ``catalog.GROUPINGS``, so that any two of model,
provider, API key, app, member and end user can be shown together (a workspace through its keys).

Each is one more analytics query per run (per key, for the groupings with a key): asked for the usage
metrics only (requests, tokens, cached tokens, spend), over its reach: 365 days, or 31 when a dimension is
a per-request one (provider, end user). Members exist only for organization accounts. The names are
``analytics_daily.dimensions`` and the routed sources' (``queries.reads_routing.PAIRS``).
"""

from __future__ import annotations

from ingest.analytics.catalog import Grouping

PAIRS: tuple[Grouping, ...] = (
    Grouping("app,provider", ("app", "provider"), usage_only=True),
    Grouping("model,user", ("model", "user"), needs_organization=True, usage_only=True),
    Grouping("app,user", ("app", "user"), needs_organization=True, usage_only=True),
    Grouping("provider,user", ("provider", "user"), needs_organization=True, usage_only=True),
    Grouping("model,external_user", ("model", "external_user"), usage_only=True),
    Grouping("app,external_user", ("app", "external_user"), usage_only=True),
    Grouping("provider,external_user", ("provider", "external_user"), usage_only=True),
    Grouping("user,external_user", ("user", "external_user"), needs_organization=True, usage_only=True),
    # Filtered by each key's hash in turn: rows carry the hash, never an ambiguous key name.
    Grouping("api_key_hash,app", ("app",), per_key=True, usage_only=True),
    Grouping("api_key_hash,user", ("user",), per_key=True, needs_organization=True, usage_only=True),
    Grouping("api_key_hash,external_user", ("external_user",), per_key=True, usage_only=True),
)
