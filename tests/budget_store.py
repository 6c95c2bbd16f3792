"""A hand-made store with known numbers for the budget and alert tests (``build``): activity (account:
days 1-5 ago, covered 1-30 ago; key A: days 1-3, covered 1-30 ago), analytics (account and both keys: days
1-40 ago, deliberately different numbers), apps, members, two /keys fetches today and one yesterday,
credits and a good ingest."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from queries import writes
from queries.store import Writer

TODAY = date(2026, 11, 20)  # a Friday
NOW = datetime(2026, 11, 20, 12, 30)
A, B = "a" * 64, "b" * 64


def d(n: int) -> date:
    return TODAY - timedelta(days=n)


def activity(model: str, permaslug: str, provider: str, usage: float, byok: float) -> dict[str, Any]:
    return {"model": model, "model_permaslug": permaslug, "endpoint_id": f"ep-{provider}", "provider_name": provider,
            "requests": 1, "prompt_tokens": 1, "completion_tokens": 1, "reasoning_tokens": 0, "usage": usage,
            "byok_usage_inference": byok}  # fmt: skip


def analytics(day: date, dimensions: str, total: float, byok: float = 0.0, **dims: str) -> dict[str, Any]:
    return {"date": day, "dimensions": dimensions, "dim_key": "|".join(dims.values()), "total_usage": total,
            "byok_usage": byok, **dims}  # fmt: skip


def key(hash_: str, name: str, workspace: str, daily: float, byok_daily: float = 0.0) -> dict[str, Any]:
    return {"hash": hash_, "name": name, "label": f"sk-or-v1-{name}", "disabled": False, "usage": 10.0,
            "usage_daily": daily, "byok_usage": 0.0, "byok_usage_daily": byok_daily,
            "workspace_id": workspace}  # fmt: skip


def build(db: Path) -> None:
    """Activity (account: days 1-5 ago, covered 1-30 ago; key A: days 1-3, covered 1-30 ago), analytics
    (account and both keys: days 1-40 ago, deliberately different numbers), apps, members, two /keys
    fetches today and one yesterday, credits and a good ingest."""
    with Writer(db) as writer, writer.transaction() as con:
        for n in range(1, 6):
            rows = [activity("acme/a", "acme/a-1", "Acme", 1.0, 0.5), activity("other/b", "other/b-2", "Other", 2.0, 0)]
            writes.replace_activity_day(con, d(n), [{**r, "date": d(n)} for r in rows], NOW)
        writes.replace_activity_for_key(con, A, [d(n) for n in range(1, 4)],
                                        [{**activity("acme/a", "acme/a-1", "Acme", 1.0, 0), "date": d(n)}
                                         for n in range(1, 4)], NOW)  # fmt: skip
        for scope in ("", A):
            writes.record_coverage(con, source="activity", dimensions="", scope=scope, metrics="", first_day=d(30),
                                   last_day=d(1), fetched_at=NOW, rows_received=1)  # fmt: skip
        rows = []
        for n in range(1, 41):
            rows.append(analytics(d(n), "model", 100.0, 10.0, model="acme/a-1"))
            rows += [analytics(d(n), "api_key_hash,model", 50.0, api_key_hash=h, model="acme/a-1") for h in (A, B)]
        rows += [analytics(d(n), "model,app", 7.0, model="acme/a-1", app="Docs") for n in range(1, 4)]
        rows.append(analytics(d(1), "user", 4.0, user="Dana", user_email="dana@example.test"))
        for dims in ("model", "api_key_hash,model", "model,app", "user"):
            part = [r for r in rows if r["dimensions"] == dims]
            writes.upsert_analytics(con, part, ("total_usage", "byok_usage"), NOW)
        writes.upsert_workspaces(con, [{"id": "w1", "name": "Research", "slug": "research"},
                                       {"id": "w2", "name": "Ops", "slug": "ops"}], NOW)  # fmt: skip
        writes.upsert_api_keys(con, [key(A, "alpha", "w1", 9.0)], datetime(2026, 11, 19, 23), True)
        writes.upsert_api_keys(con, [key(A, "alpha", "w1", 1.0), key(B, "beta", "w2", 2.0)], NOW.replace(hour=8), True)
        writes.upsert_api_keys(con, [key(A, "alpha", "w1", 3.0, 0.5), key(B, "beta", "w2", 4.0)], NOW, True)
        writes.insert_credits(con, NOW, 100.0, 95.0)
        run = writes.start_run(con, "ingest", NOW - timedelta(minutes=5))
        writes.finish_run(con, run, "ok", NOW, 1, 1)
