"""GET /analytics/meta and POST /analytics/query (management key; the query route is rate limited in routes)."""

from __future__ import annotations

import duckdb

from fake_openrouter.analytics_engine import run_query
from fake_openrouter.analytics_request import parse_query
from fake_openrouter.analytics_schema import meta_body
from fake_openrouter.api_common import ApiRequest, JsonObject
from fake_openrouter.dataset import Dataset


def analytics_meta(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    return meta_body()


def analytics_query(ds: Dataset, cur: duckdb.DuckDBPyConnection, req: ApiRequest) -> JsonObject:
    # The data set's own present, not the clock's: the data stop at ds.now, and so does "the last 7 days".
    query = parse_query(req.body, ds.account, ds.now)
    return run_query(cur, query, ds.quirks)
