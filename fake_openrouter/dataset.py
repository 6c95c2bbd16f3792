"""The fake's one data set: every endpoint answers from the same ``generations`` table, so totals agree.

``build(now)`` generates ``HISTORY_DAYS`` days before ``now`` plus today up to ``now`` and loads them into an
in-memory DuckDB connection. Request threads must each take ``Dataset.cursor()``: a DuckDB connection is not
shared across threads.

Tables: ``generations`` (one row per generation, the columns of ``COLUMNS``: frozen, since other code and tests
fingerprint it), ``generation_extras`` (same ids: ``user_id`` = the key's creator, ``country``, ``variant``,
``guardrail_invoked``), ``generation_bills`` (same ids: what each bill was made of, see ``billing``: cache
writes, ``service_tier``, web searches, the cost at list and at endpoint prices, the web and BYOK fees),
``members`` and ``workspace_names`` (labels), and the view ``analytics_generations`` joining them for the
analytics engine.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from fake_openrouter.account import SECOND_VOLUME, Account, build_account, second_account
from fake_openrouter.billing import TIERS
from fake_openrouter.catalog import MODELS, Model
from fake_openrouter.generate import (
    COUNTRIES,
    EXTERNAL_USERS,
    FINISH,
    NATIVE_FINISH,
    VARIANTS,
    Tables,
    generate_day,
)
from fake_openrouter.large import LargeAccount
from fake_openrouter.large import account as large_account
from fake_openrouter.large import catalog as large_catalog

HISTORY_DAYS = 430
# The second account draws its days from its own random streams (seed + this), even under the same seed.
SECOND_SEED_OFFSET = 1009
RESULTS_PER_SEARCH = 5

COLUMNS = (
    "id",
    "created_at",
    "model",
    "model_permaslug",
    "provider_name",
    "endpoint_id",
    "api_key_hash",
    "api_key_name",
    "workspace_id",
    "app_id",
    "app_name",
    "origin",
    "http_referer",
    "external_user",
    "api_type",
    "tokens_prompt",
    "tokens_completion",
    "native_tokens_prompt",
    "native_tokens_completion",
    "native_tokens_reasoning",
    "native_tokens_cached",
    "usage",
    "total_cost",
    "byok_usage_inference",
    "upstream_inference_cost",
    "cache_discount",
    "is_byok",
    "latency",
    "generation_time",
    "finish_reason",
    "native_finish_reason",
    "streamed",
    "cancelled",
)


@dataclass(frozen=True)
class Dataset:
    now: datetime
    seed: int
    quirks: bool
    models: tuple[Model, ...]
    account: Account
    con: duckdb.DuckDBPyConnection
    first_day: date
    total_credits: float  # the account's top-ups, comfortably above its all-time usage
    # Seconds, for what depends on elapsed time (rate limits, "fresh" generations): tests pass a fake clock.
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    # What endpoints derive from the data once and keep (e.g. /generation's lookup by id), under ``lock``.
    derived: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def today(self) -> date:
        return self.now.date()

    def model(self, model_id: str) -> Model | None:
        """A model of this data set's catalogue by its id."""
        return next((m for m in self.models if m.id == model_id), None)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not thread-safe)."""
        return self.con.cursor()


def as_utc(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def build(
    now: datetime,
    seed: int = 7,
    quirks: bool = False,
    idle_keys: int = 0,
    clock: Callable[[], float] = time.monotonic,
    large: LargeAccount | None = None,
    second: bool = False,
) -> Dataset:
    """The data set as of ``now`` (naive datetimes are taken as UTC).

    ``quirks`` makes the models flagged ``completion_excludes_reasoning`` report completion tokens without
    their reasoning tokens, as some real rows do; costs are the same either way. ``idle_keys`` adds keys
    without traffic. ``clock`` is the default clock of servers over this data set (see ``FakeServer``).
    ``large`` replaces the demo account with a large organisation's (``fake_openrouter.large``). ``second``
    builds the second account instead (``account.second_account``: its own keys, about a third of the traffic,
    its days drawn with ``seed + SECOND_SEED_OFFSET``), to serve beside the demo's (``FakeServer(others=...)``).
    """
    now = as_utc(now)
    if seed < 0:
        raise ValueError("seed must be >= 0")
    if second and large is not None:
        raise ValueError("a data set is either the second account's or a large account's, not both")
    models = MODELS if large is None else large_catalog(large.models)
    volume, draw_seed = 1.0, seed
    if large is not None:
        account, volume = large_account(large), large.volume
    elif second:
        account, volume, draw_seed = second_account(idle_keys), SECOND_VOLUME, seed + SECOND_SEED_OFFSET
    else:
        account = build_account(idle_keys)
    tables = Tables.build(models, account)
    first_day = now.date() - timedelta(days=HISTORY_DAYS)
    days = [first_day + timedelta(days=i) for i in range(HISTORY_DAYS + 1)]
    parts = [p for p in (generate_day(tables, d, draw_seed, volume) for d in days) if p is not None]
    cols = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    cutoff = int(now.timestamp() * 1_000_000)
    keep = cols["micros"] <= cutoff
    cols = {name: col[keep] for name, col in cols.items()}

    con = duckdb.connect(":memory:")
    _load(con, tables, account, cols, quirks)
    total_usage = con.execute("SELECT coalesce(sum(usage), 0) FROM generations").fetchone()
    used = float(total_usage[0]) if total_usage else 0.0
    return Dataset(
        now=now,
        seed=seed,
        quirks=quirks,
        models=models,
        account=account,
        con=con,
        first_day=first_day,
        total_credits=float(math.ceil((used * 1.2 + 100) / 250) * 250),
        clock=clock,
    )


def _load(
    con: duckdb.DuckDBPyConnection,
    tables: Tables,
    account: Account,
    cols: dict[str, npt.NDArray[np.generic]],
    quirks: bool,
) -> None:
    models = tables.models
    excludes = np.array([quirks and m.completion_excludes_reasoning for m in models])
    raw = pd.DataFrame({k: v for k, v in cols.items() if k != "suffix"})
    raw["suffix"] = cols["suffix"].astype(str)
    raw["completion_excludes_reasoning"] = excludes[cols["model_idx"].astype(np.int64)]
    dim_model = pd.DataFrame(
        {
            "model_idx": range(len(models)),
            "model": [m.id for m in models],
            "permaslug": [m.canonical_slug for m in models],
            "token_ratio": [m.token_ratio for m in models],
            "api_type": [m.api_type for m in models],
        }
    )
    endpoints = pd.DataFrame(
        [(i, tables.provider_names.index(p), m.endpoint_id(p)) for i, m in enumerate(models) for p, _ in m.providers],
        columns=["model_idx", "provider_idx", "endpoint_id"],
    )
    dim_provider = pd.DataFrame({"provider_idx": range(len(tables.provider_names)), "name": tables.provider_names})
    dim_key = pd.DataFrame(
        {
            "key_idx": range(len(tables.keys)),
            "hash": [k.hash for k in tables.keys],
            "name": [k.name for k in tables.keys],
            "workspace_id": [k.workspace_id for k in tables.keys],
            "creator": [k.creator_user_id for k in tables.keys],
        }
    )
    apps = {a.app_id: a for a in account.apps}
    dim_app = pd.DataFrame(
        {
            "app_idx": range(len(tables.app_ids)),
            "app_id": list(tables.app_ids),
            "label": [apps[i].label for i in tables.app_ids],
            "origin": [apps[i].origin for i in tables.app_ids],
            "referer": [apps[i].http_referer for i in tables.app_ids],
        }
    )
    dim_user = pd.DataFrame({"user_idx": range(EXTERNAL_USERS), "user": [f"user_{1000 + i}" for i in range(40)]})
    dim_finish = pd.DataFrame(
        [(f, i, FINISH[i], NATIVE_FINISH[fam][i]) for f, fam in enumerate(NATIVE_FINISH) for i in range(len(FINISH))],
        columns=["family_idx", "finish_idx", "finish", "native"],
    )
    for name, frame in {
        "raw": raw,
        "dim_model": dim_model,
        "endpoints": endpoints,
        "dim_provider": dim_provider,
        "dim_key": dim_key,
        "dim_app": dim_app,
        "dim_user": dim_user,
        "dim_finish": dim_finish,
    }.items():
        con.register(f"_{name}", frame)
    # Spec mode: completion tokens include reasoning. Quirks: the flagged models leave reasoning out, as the
    # real Gemini rows do; costs always bill the full completion.
    con.execute(
        """
        CREATE TABLE generations AS
        SELECT
            'gen-' || (r.micros // 1000000)::VARCHAR || '-' || r.suffix AS id,
            make_timestamp(r.micros) AS created_at,
            m.model, m.permaslug AS model_permaslug, p.name AS provider_name, e.endpoint_id,
            k.hash AS api_key_hash, k.name AS api_key_name, k.workspace_id,
            a.app_id, a.label AS app_name, a.origin, a.referer AS http_referer,
            u."user" AS external_user, m.api_type,
            round(r.native_tokens_prompt / m.token_ratio)::BIGINT AS tokens_prompt,
            round(c.native_completion / m.token_ratio)::BIGINT AS tokens_completion,
            r.native_tokens_prompt, c.native_completion AS native_tokens_completion, r.native_tokens_reasoning,
            r.native_tokens_cached, r.usage, r.usage AS total_cost, r.byok_usage_inference,
            r.upstream_inference_cost, r.cache_discount, r.is_byok, r.latency, r.generation_time,
            f.finish AS finish_reason, f.native AS native_finish_reason, r.streamed, r.cancelled
        FROM _raw r
        CROSS JOIN LATERAL (
            SELECT CASE WHEN r.completion_excludes_reasoning THEN r.visible_completion
                        ELSE r.visible_completion + r.native_tokens_reasoning END AS native_completion
        ) c
        JOIN _dim_model m USING (model_idx)
        JOIN _dim_provider p USING (provider_idx)
        JOIN _endpoints e USING (model_idx, provider_idx)
        JOIN _dim_key k USING (key_idx)
        LEFT JOIN _dim_app a USING (app_idx)
        LEFT JOIN _dim_user u USING (user_idx)
        LEFT JOIN _dim_finish f USING (family_idx, finish_idx)
        ORDER BY r.micros, id
        """
    )
    _load_extras(con, account)
    for name in ("raw", "dim_model", "endpoints", "dim_provider", "dim_key", "dim_app", "dim_user", "dim_finish"):
        con.unregister(f"_{name}")


def _load_extras(con: duckdb.DuckDBPyConnection, account: Account) -> None:
    """``generation_extras``, the label tables and the analytics view (``_raw`` and ``_dim_key`` registered)."""
    frames = {
        "dim_country": pd.DataFrame({"country_idx": range(len(COUNTRIES)), "country": list(COUNTRIES)}),
        "dim_variant": pd.DataFrame({"variant_idx": range(len(VARIANTS)), "variant": list(VARIANTS)}),
        "members": pd.DataFrame(
            {
                "id": [m.id for m in account.members],
                "name": [m.display_name for m in account.members],
                "email": [m.email for m in account.members],
            }
        ),
        "workspace_names": pd.DataFrame(
            {"id": [w.id for w in account.workspaces], "name": [w.name for w in account.workspaces]}
        ),
    }
    for name, frame in frames.items():
        con.register(f"_{name}", frame)
    con.execute("CREATE TABLE members AS SELECT * FROM _members")
    # What each bill was made of, beyond the columns /generation shares with the other endpoints.
    con.execute(
        f"""
        CREATE TABLE generation_bills AS
        SELECT
            'gen-' || (r.micros // 1000000)::VARCHAR || '-' || r.suffix AS id,
            r.write_5m, r.write_1h,
            CASE WHEN r.tier_idx >= 0 THEN list_extract({list(TIERS)!r}, r.tier_idx + 1) END AS service_tier,
            r.searches, r.searches * {RESULTS_PER_SEARCH} AS num_search_results,
            CASE WHEN r.searches > 0 THEN 'native' END AS web_search_engine,
            r.list_cost, r.endpoint_cost, r.web_cost, r.byok_fee
        FROM _raw r
        ORDER BY r.micros, id
        """  # noqa: S608 - constants only
    )
    con.execute("CREATE TABLE workspace_names AS SELECT * FROM _workspace_names")
    con.execute(
        """
        CREATE TABLE generation_extras AS
        SELECT
            'gen-' || (r.micros // 1000000)::VARCHAR || '-' || r.suffix AS id,
            k.creator AS user_id, c.country, v.variant, r.guardrail_invoked
        FROM _raw r
        JOIN _dim_key k USING (key_idx)
        LEFT JOIN _dim_country c USING (country_idx)
        JOIN _dim_variant v USING (variant_idx)
        ORDER BY r.micros, id
        """
    )
    for name in frames:
        con.unregister(f"_{name}")
    # Labels sit next to the ids they describe, so the engine can group by id and show the label.
    con.execute(
        """
        CREATE VIEW analytics_generations AS
        SELECT g.*, x.user_id, x.country, x.variant, x.guardrail_invoked,
               m.name AS user_name, m.email AS user_email, w.name AS workspace_name,
               b.service_tier, b.searches, b.web_cost, b.byok_fee
        FROM generations g
        JOIN generation_extras x USING (id)
        JOIN generation_bills b USING (id)
        LEFT JOIN members m ON m.id = x.user_id
        LEFT JOIN workspace_names w ON w.id = g.workspace_id
        """
    )
