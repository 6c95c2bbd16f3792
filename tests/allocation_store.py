"""A tiny store whose team allocation is known by hand: written through ``queries.writes`` as the ingest
writes, with teams stored as ``orusage alerts check`` stores them.

One model (``acme/model-a``, one provider endpoint) on three days:

* ``D0`` (2026-08-31): only key K1 spends ($1); the model's first list price is seen later, so the day is
  priced at the earliest known price (``earliest-known``).
* ``D1`` (2026-10-10) and ``D2`` (2026-10-11): the account spends $10 = K1 $4 + K2 $3 (of which $1 BYOK
  upstream) + K3 $2 + $1 from a key the store does not know. Analytics put $2.50 (D1) and $7 (D2) of it on
  the app "Helpdesk"; the rest is unattributed. The list price changes between D1 and D2.

Teams: ``alpha`` and ``zeta`` both claim K1 (it goes to alpha, first by name), ``beta`` the app
"Helpdesk", ``gamma`` the member who created K3. So, by the rules (queries.allocation):

* D1: alpha $4; beta takes its $2.50 from the $6 no key rule claims (K2, K3, the unknown key), i.e.
  2.5/6 of each of those; gamma the rest of K3, 2 × 3.5/6; unallocated the rest of K2 and the unknown
  key, 4 × 3.5/6.
* D2: beta's $7 exceeds the $6 left, so beta takes all of it: gamma and unallocated get nothing.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from queries import alert_state, writes
from queries.store import Writer

MODEL = "acme/model-a"
PROVIDER = "ProvA"
D0, D1, D2 = date(2026, 8, 31), date(2026, 10, 10), date(2026, 10, 11)
TODAY = date(2026, 10, 20)
FETCHED = datetime(2026, 10, 12, 12, 0)
APP = "Helpdesk"
WORKSPACE_ID, WORKSPACE = "ws-1", "Main"
MEMBER_ID, MEMBER_EMAIL = "user_gamma", "gina@example.com"


def key_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


K1, K2, K3 = key_hash("k1"), key_hash("k2"), key_hash("k3")
# Prices (USD per token): seen on 2026-09-01 (in force on D1; D0 is before it) and on D2.
PRICE_SEP = (2e-6, 4e-6)
PRICE_D2 = (1e-6, 2e-6)

# (requests, prompt, completion, reasoning, usage, byok) per day and key; None: the key the store lacks.
_CELLS: dict[date, dict[str | None, tuple[int, int, int, int, float, float]]] = {
    D0: {K1: (10, 100, 50, 0, 1.0, 0.0)},
    D1: {
        K1: (40, 400, 200, 20, 4.0, 0.0),
        K2: (30, 300, 150, 0, 2.0, 1.0),
        K3: (20, 200, 100, 10, 2.0, 0.0),
        None: (10, 100, 50, 0, 1.0, 0.0),
    },
}
_CELLS[D2] = dict(_CELLS[D1])
APP_SPEND = {D1: 2.5, D2: 7.0}
ACCOUNT = {day: sum(c[4] + c[5] for c in cells.values()) for day, cells in _CELLS.items()}

# What each team gets per day, by the rules (the module docstring).
EXPECTED: dict[date, dict[str, float]] = {
    D0: {"alpha": 1.0},
    D1: {"alpha": 4.0, "beta": 2.5, "gamma": 2 * 3.5 / 6, "unallocated": 4 * 3.5 / 6},
    D2: {"alpha": 4.0, "beta": 6.0},
}


def cells(day: date) -> dict[str | None, tuple[int, int, int, int, float, float]]:
    return _CELLS[day]


def _activity(day: date, values: tuple[int, int, int, int, float, float]) -> dict[str, Any]:
    requests, prompt, completion, reasoning, usage, byok = values
    return {"date": day, "model": MODEL, "model_permaslug": MODEL, "endpoint_id": "ep-a", "provider_name": PROVIDER,
            "requests": requests, "prompt_tokens": prompt, "completion_tokens": completion,
            "reasoning_tokens": reasoning, "usage": usage, "byok_usage_inference": byok}  # fmt: skip


def _total(values: list[tuple[int, int, int, int, float, float]]) -> tuple[int, int, int, int, float, float]:
    return (sum(v[0] for v in values), sum(v[1] for v in values), sum(v[2] for v in values),
            sum(v[3] for v in values), sum(v[4] for v in values), sum(v[5] for v in values))  # fmt: skip


def _key(hash_: str, name: str, creator: str | None) -> dict[str, Any]:
    return {"hash": hash_, "name": name, "label": f"sk-or-v1-{name}", "disabled": False,
            "creator_user_id": creator, "workspace_id": WORKSPACE_ID, "created_at": datetime(2026, 1, 1)}  # fmt: skip


def _model(price: tuple[float, float]) -> dict[str, Any]:
    return {"canonical_slug": MODEL, "id": MODEL, "name": "Acme: Model A", "context_length": 8192,
            "pricing_prompt": price[0], "pricing_completion": price[1], "pricing_request": 0.0}  # fmt: skip


def _analytics_app(day: date, app: str, spend: float) -> dict[str, Any]:
    return {"date": day, "dimensions": "model,app", "dim_key": f"{MODEL}|{app}", "model": MODEL, "app": app,
            "request_count": 1, "tokens_prompt": 1, "tokens_completion": 1, "total_usage": spend,
            "byok_usage": 0.0}  # fmt: skip


def write(db: Path, teams: tuple[tuple[str, str, str], ...] | None = None) -> Path:
    """The store at ``db`` (a snapshot is published): teams as the module docstring says, unless given."""
    with Writer(db) as writer, writer.transaction() as con:
        writes.upsert_workspaces(con, [{"id": WORKSPACE_ID, "name": WORKSPACE, "slug": "main"}], FETCHED)
        writes.upsert_members(con, [{"id": MEMBER_ID, "first_name": "Gina", "last_name": "Gamma",
                                     "email": MEMBER_EMAIL, "role": "org:member"}], FETCHED)  # fmt: skip
        writes.upsert_api_keys(con, [_key(K1, "k1", None), _key(K2, "k2", None), _key(K3, "k3", MEMBER_ID)],
                               FETCHED, complete=True)  # fmt: skip
        writes.upsert_models(con, [_model(PRICE_SEP)], datetime(2026, 9, 1, 8, 0))
        writes.upsert_models(con, [_model(PRICE_D2)], datetime(2026, 10, 11, 0, 30))
        for day, by_key in _CELLS.items():
            writes.replace_activity_day(con, day, [_activity(day, _total(list(by_key.values())))], FETCHED)
            for hash_, values in by_key.items():
                if hash_ is not None:
                    writes.replace_activity_for_key(con, hash_, [day], [_activity(day, values)], FETCHED)
        rows = [
            _analytics_app(day, name, spend)
            for day, app_spend in APP_SPEND.items()
            for name, spend in ((APP, app_spend), ("unattributed", ACCOUNT[day] - app_spend))
        ]
        writes.upsert_analytics(con, rows, ["request_count", "tokens_prompt", "tokens_completion", "total_usage",
                                            "byok_usage"], FETCHED)  # fmt: skip
        for scope in ("", K1, K2, K3):
            writes.record_coverage(con, source="activity", dimensions="", scope=scope, metrics="", first_day=D0,
                                   last_day=D2, fetched_at=FETCHED, rows_received=1)  # fmt: skip
        writes.record_coverage(con, source="analytics", dimensions="model,app", scope="", metrics="long",
                               first_day=D0, last_day=D2, fetched_at=FETCHED, rows_received=len(rows))  # fmt: skip
        stored = (
            teams
            if teams is not None
            else (("alpha", "key", K1), ("zeta", "key", K1), ("beta", "app", APP), ("gamma", "member", MEMBER_EMAIL))
        )
        alert_state.replace_budget_status(con, [], [], list(stored))
    return db
