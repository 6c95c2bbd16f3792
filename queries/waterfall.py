# ruff: noqa: S608 -- statements are composed from this module's, reads_facts' and cache_savings' constants
"""The effective-price waterfall: from what a model's tokens cost at list prices to what was billed, per UTC
day and model, summed by model and ISO week (docs/definitions.md#the-effective-price-waterfall).

    list → cache → endpoint (prices, discount, overrides) → tier → BYOK fee → fees and add-ons → billed

Each step from the best source of its day, and whatever the steps leave unexplained is the **residual**,
shown as a step of its own:

* **list** = prompt × ``prompt`` + completion-only × ``completion`` + reasoning × ``internal_reasoning``
  (the completion price where none is listed) + requests × ``request``, at the ``/models`` prices in force
  that day, over the day's routed facts (activity, analytics before it). A day without prices is *unpriced*:
  its billed spend is counted apart, never waterfalled;
* **cache** = −cache savings (``queries.cache_savings``: analytics' ``usage_cache``, else per-generation
  ``cache_discount``);
* **endpoint** = what the endpoint's prices (its ``discount``, and its ``overrides`` for the request's prompt
  size and clock time) change against list: per generation on days whose records are all stored; estimated
  per provider from the endpoint prices where only daily facts split by provider (activity, analytics'
  31 days; overrides are invisible there); not measured otherwise;
* **tier** = (multiplier − 1) × the request's cost after caching, per generation, by its ``service_tier``
  (``core.pricing``: an assumption, no per-tier price is published); generation days only;
* **BYOK fee** = analytics' ``byok_fees`` (31 days), else ``core.pricing.BYOK_FEE_RATE`` × BYOK spend
  (estimated);
* **fees** = analytics' ``usage_web`` + ``usage_data`` + ``usage_file`` + ``usage_web_fetch``, else an
  export's web-search and file-processing costs;
* **billed** = spend (``usage + byok_usage_inference``) from the day's routed facts.

Only models filter the waterfall (it is per model, for all keys, apps and providers).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from core.pricing import BYOK_FEE_RATE, SERVICE_TIER_MULTIPLIERS
from queries.cache_savings import generation_days, savings_rows
from queries.filters import Filters
from queries.reads_facts import rows_sql, source_spans
from queries.reads_routing import Dim, Need, Route, Spans, route

STEPS = ("list_cost", "cache", "endpoint", "tier", "byok_fee", "fees", "residual")
# On how many of a row's days each step was measured (the rest: not reported, so in the residual).
MEASURED = ("generation_days", "cache_days", "endpoint_days", "byok_days", "fees_days", "unpriced_days")
GROUPS: dict[str, str] = {  # what a waterfall may be summed by -> its SQL
    "model": "model",
    "week": "strftime(date, '%G-W%V')",
}

# Model list prices in force per UTC day: the newest state seen by the day's end; the earliest stands in for
# the days before it (as in reads_models).
_MODEL_STATES = """
    SELECT canonical_slug AS model,
           CASE WHEN row_number() OVER w = 1 THEN DATE '0001-01-01' ELSE CAST(valid_from AS DATE) END AS from_day,
           coalesce(CAST(lead(valid_from) OVER w AS DATE), DATE '9999-12-31') AS to_day,
           pricing_prompt AS p, pricing_completion AS c,
           coalesce(pricing_internal_reasoning, pricing_completion) AS r, coalesce(pricing_request, 0) AS q
    FROM models WINDOW w AS (PARTITION BY canonical_slug ORDER BY valid_from)
"""
# Endpoint prices per UTC day, per (model, provider) (a provider's several endpoints: its first tag).
_OVERRIDE_TYPE = (
    '[{"min_prompt_tokens":"DOUBLE","utc_start":"DOUBLE","utc_end":"DOUBLE","prompt":"DOUBLE",'
    '"completion":"DOUBLE","input_cache_read":"DOUBLE","input_cache_write":"DOUBLE","input_cache_write_1h":"DOUBLE"}]'
)
_ENDPOINT_STATES = f"""
    SELECT model, provider,
           CASE WHEN row_number() OVER w = 1 THEN DATE '0001-01-01' ELSE CAST(fetched_at AS DATE) END AS from_day,
           coalesce(CAST(lead(fetched_at) OVER w AS DATE), DATE '9999-12-31') AS to_day,
           p, c, r, q, coalesce(d, 0) AS d, from_json(ov, '{_OVERRIDE_TYPE}') AS ov
    FROM (SELECT model_permaslug AS model, provider_name AS provider, fetched_at,
                 arg_min(pricing_prompt, tag) AS p, arg_min(pricing_completion, tag) AS c,
                 arg_min(pricing_internal_reasoning, tag) AS r, coalesce(arg_min(pricing_request, tag), 0) AS q,
                 arg_min(pricing_discount, tag) AS d, arg_min(pricing_overrides, tag) AS ov
          FROM model_endpoints GROUP BY ALL)
    WINDOW w AS (PARTITION BY model, provider ORDER BY fetched_at)
"""
# One row per generation on the days records hold whole, with its list and endpoint cost (before caching).
_RECORDS = f"""
    recs AS (
        SELECT g.id, CAST(g.created_at AS DATE) AS date, coalesce(g.model_permaslug, g.model) AS model,
               g.provider_name AS provider, hour(g.created_at) * 100 + minute(g.created_at) AS hhmm,
               coalesce(g.native_tokens_prompt, 0) AS tp, coalesce(g.native_tokens_completion, 0) AS tc,
               least(coalesce(g.native_tokens_reasoning, 0), coalesce(g.native_tokens_completion, 0)) AS tr,
               coalesce(g.cache_discount, -g.cost_cache, 0) AS cd, g.service_tier,
               coalesce(g.cost_web_search, 0) + coalesce(g.cost_file_processing, 0) AS export_fees
        FROM generations g
        WHERE {{days}} AND (? OR list_contains(?::VARCHAR[], coalesce(g.model_permaslug, g.model)))),
    estates AS ({_ENDPOINT_STATES}),
    ovr AS (SELECT model, provider, from_day, to_day, unnest(generate_series(1, len(ov))) AS i, unnest(ov) AS o
            FROM estates WHERE ov IS NOT NULL),
    won AS (
        SELECT recs.id,
               arg_max(ovr.o.prompt, ovr.i) FILTER (WHERE ovr.o.prompt IS NOT NULL) AS op,
               arg_max(ovr.o.completion, ovr.i) FILTER (WHERE ovr.o.completion IS NOT NULL) AS oc
        FROM recs JOIN ovr ON ovr.model = recs.model AND ovr.provider = recs.provider
                          AND recs.date >= ovr.from_day AND recs.date < ovr.to_day
        WHERE (ovr.o.min_prompt_tokens IS NULL OR recs.tp > ovr.o.min_prompt_tokens)
          AND (ovr.o.utc_start IS NULL OR ovr.o.utc_end IS NULL
               OR CASE WHEN ovr.o.utc_start <= ovr.o.utc_end
                       THEN recs.hhmm >= ovr.o.utc_start AND recs.hhmm < ovr.o.utc_end
                       ELSE recs.hhmm >= ovr.o.utc_start OR recs.hhmm < ovr.o.utc_end END)
        GROUP BY recs.id),
    costed AS (
        SELECT recs.*, ms.p IS NOT NULL AND es.p IS NOT NULL AS known,
               recs.tp * ms.p + (recs.tc - recs.tr) * ms.c + recs.tr * ms.r + ms.q AS l,
               (recs.tp * coalesce(won.op, es.p) + (recs.tc - recs.tr) * coalesce(won.oc, es.c)
                + recs.tr * coalesce(es.r, won.oc, es.c) + es.q) * (1 - es.d) AS e,
               CASE recs.service_tier WHEN 'flex' THEN ? WHEN 'priority' THEN ? ELSE 1.0 END AS mu
        FROM recs
        LEFT JOIN ({_MODEL_STATES}) ms ON ms.model = recs.model AND recs.date >= ms.from_day AND recs.date < ms.to_day
        LEFT JOIN estates es ON es.model = recs.model AND es.provider = recs.provider
                            AND recs.date >= es.from_day AND recs.date < es.to_day
        LEFT JOIN won USING (id)),
    gen AS (
        SELECT date, model, sum(e - l) AS endpoint, sum((mu - 1) * (e - cd)) AS tier, bool_and(known) AS known,
               sum(export_fees) AS export_fees
        FROM costed GROUP BY date, model)
"""


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def _covered(spans: Spans, key: tuple[str, str], first: date, last: date) -> list[date]:
    days: list[date] = []
    for a, b in spans.get(key, ()):
        day = max(a, first)
        while day <= min(b, last):
            days.append(day)
            day += timedelta(days=1)
    return days


def _rows(r: Route, filters: Filters, needed: Sequence[str] | None) -> tuple[str, list[Any]]:
    if not r.answerable or not r.has_data_days:
        return "", []
    return rows_sql(r, filters, needed)


def daily_sql(con: duckdb.DuckDBPyConnection, filters: Filters, today: date) -> tuple[str, list[Any]]:
    """One row per UTC day and model with traffic: each step (NULL where not measured), billed, and which
    source measured what (``per_generation``, ``endpoint_known``, ``cache_known``, ``byok_measured``,
    ``fees_known``, ``priced``)."""
    f = Filters(filters.start, filters.end, models=filters.models)
    spans = source_spans(con)
    r_model = route([Dim.MODEL], f.start, f.end, spans, today)
    facts, params = _rows(r_model, f, ("model",))
    if not facts:
        return "", []
    cache = savings_rows(con, f, today)
    r_an = route([Dim.MODEL], f.start, f.end, spans, today, [Need.CACHED])
    analytics, an_params = _rows(r_an, f, None)
    whole = sorted(d for d in generation_days(con) if f.start <= d <= f.end)
    r_prov = route([Dim.MODEL, Dim.PROVIDER], f.start, f.end, spans, today)
    providers, prov_params = _rows(r_prov, f, ("model", "provider"))
    short = _covered(spans, ("analytics:model", "short"), f.start, f.end)
    cache_days = [*cache.analytics_days, *cache.generation_days]

    ctes = [f"facts AS (SELECT date, model, sum(requests) AS requests, sum(prompt) AS prompt, "
            f"sum(completion) AS completion, sum(completion_only) AS completion_only, sum(spend) AS spend, "
            f"sum(byok) AS byok FROM ({facts}) GROUP BY date, model)"]  # fmt: skip
    ctes.append(f"mstates AS ({_MODEL_STATES})")
    ctes.append(
        """listed AS (
            SELECT f.*, ms.p IS NOT NULL AND ms.c IS NOT NULL AS priced,
                   f.prompt * ms.p + f.completion_only * ms.c + (f.completion - f.completion_only) * ms.r
                   + f.requests * ms.q AS list_cost
            FROM facts f LEFT JOIN mstates ms ON ms.model = f.model AND f.date >= ms.from_day AND f.date < ms.to_day)"""
    )
    ctes.append(
        f"cache AS (SELECT date, model, sum(savings) AS savings FROM ({cache.sql}) GROUP BY date, model)"
        if cache.sql
        else "cache AS (SELECT NULL::DATE AS date, NULL::VARCHAR AS model, NULL::DOUBLE AS savings WHERE false)"
    )
    params += cache.params
    ctes.append(
        f"an AS (SELECT date, model, sum(fees) AS fees, sum(byok_fees) AS byok_fees FROM ({analytics}) "
        "GROUP BY date, model)"
        if analytics
        else "an AS (SELECT NULL::DATE AS date, NULL::VARCHAR AS model, NULL::DOUBLE AS fees, "
        "NULL::DOUBLE AS byok_fees WHERE false)"
    )
    params += an_params
    # Without a day the records hold whole, a constant false spares a scan of every stored generation.
    ctes.append(
        _RECORDS.strip().replace("{days}", "list_contains(?::DATE[], CAST(g.created_at AS DATE))" if whole else "false")
    )
    params += [whole] if whole else []
    params += [not f.models, list(f.models)]
    params += [SERVICE_TIER_MULTIPLIERS["flex"], SERVICE_TIER_MULTIPLIERS["priority"]]
    if providers:
        ctes.append(
            f"""pest AS (
                SELECT pv.date, pv.model,
                       sum((pv.prompt * es.p + pv.completion_only * es.c + (pv.completion - pv.completion_only)
                            * coalesce(es.r, es.c) + pv.requests * es.q) * (1 - es.d)
                           - (pv.prompt * ms.p + pv.completion_only * ms.c
                              + (pv.completion - pv.completion_only) * ms.r + pv.requests * ms.q)) AS endpoint,
                       bool_and(es.p IS NOT NULL AND ms.p IS NOT NULL) AS known
                FROM (SELECT date, model, provider, sum(requests) AS requests, sum(prompt) AS prompt,
                             sum(completion) AS completion, sum(completion_only) AS completion_only
                      FROM ({providers}) GROUP BY ALL) pv
                LEFT JOIN estates es ON es.model = pv.model AND es.provider = pv.provider
                                    AND pv.date >= es.from_day AND pv.date < es.to_day
                LEFT JOIN mstates ms ON ms.model = pv.model AND pv.date >= ms.from_day AND pv.date < ms.to_day
                WHERE NOT list_contains(?::DATE[], pv.date)
                GROUP BY pv.date, pv.model)"""
        )
        params += [*prov_params, whole]
    else:
        ctes.append(
            "pest AS (SELECT NULL::DATE AS date, NULL::VARCHAR AS model, NULL::DOUBLE AS endpoint, "
            "NULL::BOOLEAN AS known WHERE false)"
        )
    sql = f"""WITH {", ".join(ctes)}
        SELECT l.date, l.model, l.priced, l.list_cost, l.spend AS billed, l.byok, l.prompt, l.completion,
               l.completion_only, l.requests,
               CASE WHEN list_contains(?::DATE[], l.date) THEN -coalesce(c.savings, 0) END AS cache,
               CASE WHEN g.model IS NOT NULL AND g.known THEN g.endpoint
                    WHEN g.model IS NULL AND pe.model IS NOT NULL AND pe.known THEN pe.endpoint END AS endpoint,
               CASE WHEN g.model IS NOT NULL THEN g.tier END AS tier,
               CASE WHEN list_contains(?::DATE[], l.date) THEN coalesce(a.byok_fees, 0)
                    ELSE l.byok * ? END AS byok_fee,
               coalesce(a.fees, g.export_fees) AS fees,
               g.model IS NOT NULL AS per_generation,
               list_contains(?::DATE[], l.date) AS cache_known,
               (g.model IS NOT NULL AND g.known) OR (g.model IS NULL AND pe.model IS NOT NULL AND pe.known)
                   AS endpoint_known,
               list_contains(?::DATE[], l.date) OR l.byok = 0 AS byok_measured,
               a.model IS NOT NULL OR g.model IS NOT NULL AS fees_known
        FROM listed l
        LEFT JOIN cache c USING (date, model) LEFT JOIN an a USING (date, model)
        LEFT JOIN gen g USING (date, model) LEFT JOIN pest pe USING (date, model)"""
    params += [cache_days, short, BYOK_FEE_RATE, cache_days, short]
    return sql, params


def waterfall(
    con: duckdb.DuckDBPyConnection, filters: Filters, today: date, by: Sequence[str] = ("model", "week")
) -> pd.DataFrame:
    """The waterfall summed by ``by`` (``model``, ``week``: the ISO week as ``2026-W47``), over the days with
    prices (``unpriced``: billed spend of the days without, never waterfalled). Columns: the groups, first,
    last, days, each of ``STEPS`` (NULL steps count 0; the ``*_days`` columns say on how many days each was
    measured), billed, unpriced, tokens (prompt + completion)."""
    unknown = [b for b in by if b not in GROUPS]
    if unknown:
        raise ValueError(f"cannot group a waterfall by {unknown}: allowed are {tuple(GROUPS)}")
    daily, params = daily_sql(con, filters, today)
    keys = [f"{GROUPS[b]} AS {b}" for b in by]
    if not daily:
        return pd.DataFrame(columns=[*by, "first", "last", "days", *STEPS, "billed", "unpriced", "tokens", *MEASURED])
    head = "".join(f"{k}, " for k in keys)
    group = f"GROUP BY {', '.join(GROUPS[b] for b in by)}" if by else ""
    order = ", ".join(by) if by else "first"
    sql = f"""
        WITH d AS ({daily}),
        w AS (SELECT {head}min(date) AS first, max(date) AS last, CAST(count(*) AS BIGINT) AS days,
                     coalesce(sum(list_cost) FILTER (WHERE priced), 0) AS list_cost,
                     coalesce(sum(cache) FILTER (WHERE priced), 0) AS cache,
                     coalesce(sum(endpoint) FILTER (WHERE priced), 0) AS endpoint,
                     coalesce(sum(tier) FILTER (WHERE priced), 0) AS tier,
                     coalesce(sum(byok_fee) FILTER (WHERE priced), 0) AS byok_fee,
                     coalesce(sum(fees) FILTER (WHERE priced), 0) AS fees,
                     sum(billed) AS billed, coalesce(sum(billed) FILTER (WHERE NOT priced), 0) AS unpriced,
                     CAST(sum(prompt + completion) AS BIGINT) AS tokens,
                     CAST(count(*) FILTER (WHERE per_generation) AS BIGINT) AS generation_days,
                     CAST(count(*) FILTER (WHERE cache_known) AS BIGINT) AS cache_days,
                     CAST(count(*) FILTER (WHERE endpoint_known) AS BIGINT) AS endpoint_days,
                     CAST(count(*) FILTER (WHERE byok_measured) AS BIGINT) AS byok_days,
                     CAST(count(*) FILTER (WHERE fees_known) AS BIGINT) AS fees_days,
                     CAST(count(*) FILTER (WHERE NOT priced) AS BIGINT) AS unpriced_days
              FROM d {group})
        SELECT *, billed - unpriced - (list_cost + cache + endpoint + tier + byok_fee + fees) AS residual
        FROM w ORDER BY {order}"""
    frame = _frame(con, sql, params)
    return frame[[*by, "first", "last", "days", *STEPS, "billed", "unpriced", "tokens", *MEASURED]]
