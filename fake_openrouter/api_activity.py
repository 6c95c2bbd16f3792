"""GET /activity: the last 30 completed UTC days, one row per (date, model, endpoint)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import duckdb

from fake_openrouter.api_common import ApiError, ApiRequest, JsonObject, uuid_param
from fake_openrouter.dataset import Dataset

WINDOW_DAYS = 30


def window(today: date) -> tuple[date, date]:
    """First and last day /activity covers: today is never there."""
    return today - timedelta(days=WINDOW_DAYS), today - timedelta(days=1)


def _date_param(raw: str | None, first: date, last: date) -> date | None:
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "Invalid 'date': expected YYYY-MM-DD") from None
    if not first <= day <= last:
        raise ApiError(400, f"Date must be within the last {WINDOW_DAYS} completed UTC days")
    return day


def activity(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    first, last = window(ds.today)
    day = _date_param(req.query.get("date"), first, last)
    if day is not None:
        first = last = day
    group_by = req.query.get("group_by")
    if group_by not in (None, "workspace"):
        raise ApiError(400, "Invalid 'group_by': expected 'workspace'")
    workspace_id = uuid_param(req.query, "workspace_id")
    if workspace_id is not None and ds.account.workspace(workspace_id) is None:
        raise ApiError(404, "Workspace not found")
    where = ["created_at >= ?", "created_at < ?"]
    params: list[object] = [datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())]
    if "user_id" in req.query:
        # An organization account: a member's activity is that of the keys they created.
        hashes = [k.hash for k in ds.account.keys if k.creator_user_id == req.query["user_id"]]
        if not hashes:
            return {"data": []}
        where.append("list_contains(?, api_key_hash)")
        params.append(hashes)
    if "api_key_hash" in req.query:
        where.append("api_key_hash = ?")
        params.append(req.query["api_key_hash"])
    if workspace_id is not None:
        where.append("workspace_id = ?")
        params.append(workspace_id)
    hidden = req.state.hidden_from_activity
    if hidden:  # an injected discrepancy (ServerState.hide_from_activity)
        where.append("NOT list_contains(?, id)")
        params.append(sorted(hidden))
    by_ws = group_by == "workspace"
    ws_col = ", workspace_id" if by_ws else ""
    rows = cur.execute(
        f"""
        SELECT CAST(created_at AS DATE) AS day, model, model_permaslug, endpoint_id, provider_name{ws_col},
               sum(usage), sum(byok_usage_inference), count(*), sum(native_tokens_prompt),
               sum(native_tokens_completion), sum(native_tokens_reasoning)
        FROM generations
        WHERE {" AND ".join(where)}
        GROUP BY ALL
        ORDER BY day, model, provider_name{ws_col}
        """,  # noqa: S608 - only fixed column names are interpolated
        params,
    ).fetchall()
    data: list[JsonObject] = []
    for row in rows:
        day_value, model, permaslug, endpoint, provider = row[:5]
        rest = row[5:]
        item: JsonObject = {
            "date": f"{day_value.isoformat()} 00:00:00" if ds.quirks else day_value.isoformat(),
            "model": model,
            "model_permaslug": permaslug,
            "endpoint_id": endpoint,
            "provider_name": provider,
        }
        if by_ws:
            item["workspace_id"], rest = rest[0], rest[1:]
        usage, byok, requests, prompt, completion, reasoning = rest
        item |= {
            "usage": float(usage),
            "byok_usage_inference": float(byok),
            "requests": int(requests),
            "prompt_tokens": int(prompt),
            "completion_tokens": int(completion),
            "reasoning_tokens": int(reasoning),
        }
        if ds.quirks:
            item["variant"] = "standard"  # a field the spec does not know
        data.append(item)
    return {"data": data}
