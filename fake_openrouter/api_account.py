"""Account endpoints: GET /key, /keys, /credits, /workspaces, /organization/members.

Usage counters come from the generations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from fake_openrouter.account import ApiKey, Member, Workspace
from fake_openrouter.api_common import ApiError, ApiRequest, JsonObject, bool_param, int_param, iso, uuid_param
from fake_openrouter.dataset import Dataset

KEYS_PAGE = 100
RATE_LIMIT = {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."}
# Before workspaces existed, keys had no workspace and no recorded creator: real /keys rows still show that.
PRE_WORKSPACE_ERA = datetime.fromisoformat("2025-06-01T00:00:00+00:00")


@dataclass(frozen=True)
class KeyUsage:
    """USD spent by one key: credits (``usage*``) and upstream BYOK cost (``byok*``), per UTC period."""

    usage: float = 0.0
    daily: float = 0.0
    weekly: float = 0.0
    monthly: float = 0.0
    byok: float = 0.0
    byok_daily: float = 0.0
    byok_weekly: float = 0.0
    byok_monthly: float = 0.0


def period_starts(now: datetime) -> tuple[datetime, datetime, datetime]:
    """Naive UTC starts of the current day, week (Monday) and calendar month, to compare with created_at."""
    day = datetime(now.year, now.month, now.day)
    return day, day - timedelta(days=now.weekday()), day.replace(day=1)


def key_usage(ds: Dataset, cur: duckdb.DuckDBPyConnection) -> dict[str, KeyUsage]:
    day, week, month = period_starts(ds.now)
    rows = cur.execute(
        """
        SELECT api_key_hash,
               sum(usage), sum(usage) FILTER (WHERE created_at >= $day),
               sum(usage) FILTER (WHERE created_at >= $week), sum(usage) FILTER (WHERE created_at >= $month),
               sum(byok_usage_inference), sum(byok_usage_inference) FILTER (WHERE created_at >= $day),
               sum(byok_usage_inference) FILTER (WHERE created_at >= $week),
               sum(byok_usage_inference) FILTER (WHERE created_at >= $month)
        FROM generations GROUP BY api_key_hash
        """,
        {"day": day, "week": week, "month": month},
    ).fetchall()
    return {row[0]: KeyUsage(*(float(v or 0.0) for v in row[1:])) for row in rows}


def _limit_fields(key: ApiKey, used: KeyUsage) -> JsonObject:
    if key.limit is None:
        return {"limit": None, "limit_remaining": None, "limit_reset": None}
    spent = {"daily": used.daily, "weekly": used.weekly, "monthly": used.monthly}.get(key.limit_reset or "", used.usage)
    if key.include_byok_in_limit:
        byok = {"daily": used.byok_daily, "weekly": used.byok_weekly, "monthly": used.byok_monthly}
        spent += byok.get(key.limit_reset or "", used.byok)
    return {"limit": key.limit, "limit_remaining": max(0.0, key.limit - spent), "limit_reset": key.limit_reset}


def _usage_fields(used: KeyUsage) -> JsonObject:
    return {
        "usage": used.usage,
        "usage_daily": used.daily,
        "usage_weekly": used.weekly,
        "usage_monthly": used.monthly,
        "byok_usage": used.byok,
        "byok_usage_daily": used.byok_daily,
        "byok_usage_weekly": used.byok_weekly,
        "byok_usage_monthly": used.byok_monthly,
    }


def current_key(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    principal = req.principal
    assert principal is not None  # the route needs a key
    common = {"is_free_tier": False, "rate_limit": RATE_LIMIT, "expires_at": None}
    if principal.key is None:
        data: JsonObject = {
            "label": ds.account.management_key.label,
            "limit": None,
            "limit_remaining": None,
            "limit_reset": None,
            "include_byok_in_limit": False,
            **_usage_fields(KeyUsage()),
            "is_management_key": True,
            "is_provisioning_key": True,
            "creator_user_id": ds.account.user_id,
            **common,
        }
    else:
        key = principal.key
        used = key_usage(ds, cur).get(key.hash, KeyUsage())
        data = {
            "label": key.label,
            **_limit_fields(key, used),
            "include_byok_in_limit": key.include_byok_in_limit,
            **_usage_fields(used),
            "is_management_key": False,
            "is_provisioning_key": False,
            "creator_user_id": key.creator_user_id,
            **common,
        }
    if ds.quirks:
        data["rate_limit_tier"] = "standard"
    return {"data": data}


def _key_item(ds: Dataset, key: ApiKey, used: KeyUsage) -> JsonObject:
    item: JsonObject = {
        "hash": key.hash,
        "name": key.name,
        "label": key.label,
        "disabled": key.disabled(ds.now),
        **_limit_fields(key, used),
        "include_byok_in_limit": key.include_byok_in_limit,
        **_usage_fields(used),
        "created_at": iso(key.created_at),
        "updated_at": iso(key.updated_at(ds.now)),
        "expires_at": None,
        "creator_user_id": key.creator_user_id,
        "workspace_id": key.workspace_id,
    }
    if ds.quirks:
        item["rate_limit_tier"] = "standard"
        if key.created_at < PRE_WORKSPACE_ERA:
            del item["creator_user_id"]
            if key.workspace_id == ds.account.default_workspace.id:
                del item["workspace_id"]
    return item


def list_keys(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    offset = int_param(req.query, "offset", 0, 0)
    include_disabled = bool_param(req.query, "include_disabled")
    workspace_id = uuid_param(req.query, "workspace_id") or ds.account.default_workspace.id
    if ds.account.workspace(workspace_id) is None:
        raise ApiError(404, "Workspace not found")
    keys = sorted(
        (k for k in ds.account.keys if k.workspace_id == workspace_id and k.created_at <= ds.now),
        key=lambda k: (k.created_at, k.hash),
    )
    if not include_disabled:
        keys = [k for k in keys if not k.disabled(ds.now)]
    page = keys[offset : offset + KEYS_PAGE]
    usage = key_usage(ds, cur) if page else {}
    items = [_key_item(ds, k, usage.get(k.hash, KeyUsage())) for k in page]
    if ds.quirks and page:
        # Real /keys answers now carry last_used_at, which the spec held here does not list.
        last = dict(cur.execute("SELECT api_key_hash, max(created_at) FROM generations GROUP BY 1").fetchall())
        for key, item in zip(page, items, strict=True):
            item["last_used_at"] = iso(last[key.hash].replace(tzinfo=ds.now.tzinfo)) if key.hash in last else None
    return {"data": items}


def credits(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    row = cur.execute("SELECT coalesce(sum(usage), 0), coalesce(sum(byok_usage_inference), 0) FROM generations")
    usage, byok = row.fetchone() or (0.0, 0.0)
    data: JsonObject = {"total_credits": ds.total_credits, "total_usage": float(usage)}
    if ds.quirks:
        data["total_byok_usage"] = float(byok)
    return {"data": data}


def _workspace_item(ds: Dataset, ws: Workspace) -> JsonObject:
    item: JsonObject = {
        "id": ws.id,
        "default_guardrail_id": ws.default_guardrail_id,
        "name": ws.name,
        "slug": ws.slug,
        "description": ws.description,
        "default_text_model": None,
        "default_image_model": None,
        "default_provider_sort": None,
        "is_observability_io_logging_enabled": False,
        "is_observability_broadcast_enabled": False,
        "is_data_discount_logging_enabled": False,
        "io_logging_sampling_rate": 1,
        "io_logging_api_key_ids": None,
        "include_byok_in_budgets": False,
        "created_at": iso(ws.created_at),
        "updated_at": None,
        "created_by": ws.created_by,
    }
    if ds.quirks:
        item["member_count"] = 2
    return item


def list_workspaces(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    offset = int_param(req.query, "offset", 0, 0)
    limit = int_param(req.query, "limit", 50, 1, 100)
    spaces = [w for w in ds.account.workspaces if w.created_at <= ds.now]
    spaces.sort(key=lambda w: (not w.is_default, w.created_at))
    return {
        "data": [_workspace_item(ds, w) for w in spaces[offset : offset + limit]],
        "total_count": len(spaces),
    }


def _member_item(member: Member) -> JsonObject:
    return {
        "id": member.id,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": member.role,
    }


def list_members(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    offset = int_param(req.query, "offset", 0, 0)
    limit = int_param(req.query, "limit", 50, 1, 100)
    members = sorted((m for m in ds.account.members if m.joined_at <= ds.now), key=lambda m: (m.joined_at, m.id))
    return {"data": [_member_item(m) for m in members[offset : offset + limit]], "total_count": len(members)}
