"""Per-generation rows, one UTC day at a time, with numpy.

Each day draws from its own generator seeded by ``(seed, date)`` only: fakes built with different ``now`` agree
exactly on the days they share, which is what lets a long-lived demo database keep its past across days.
Columns come out as index arrays into the catalog; ``dataset`` turns them into strings in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from fake_openrouter.account import Account, ApiKey
from fake_openrouter.billing import Requests, Sheet, bill_rows, per_token
from fake_openrouter.catalog import BYOK_PROVIDERS, ENDPOINT_TERMS, PROVIDERS, Model, Override

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BASE_PER_DAY = 190.0
GROWTH_ANCHOR = date(2025, 6, 1).toordinal()
WEEKDAY = np.array([1.05, 1.12, 1.12, 1.06, 0.96, 0.62, 0.55])
# UTC hours: quiet night in the Americas and Europe, busy in the EU/US overlap.
HOURS = np.array([4, 3, 2.5, 2, 2, 2.5, 3.5, 5, 6.5, 7.5, 8, 8.5, 9, 10, 11, 11.5, 11, 10.5, 9.5, 8, 7, 6, 5, 4.5])
FINISH = ("stop", "length", "tool_calls", "content_filter", "error")
FINISH_P = np.array([0.855, 0.04, 0.085, 0.005, 0.015])
NATIVE_FINISH = {  # per model family: the provider's own finish reasons, in FINISH order
    "openai": ("stop", "length", "tool_calls", "content_filter", "error"),
    "anthropic": ("end_turn", "max_tokens", "tool_use", "refusal", "error"),
    "google": ("STOP", "MAX_TOKENS", "STOP", "SAFETY", "OTHER"),
}
FAMILIES = tuple(NATIVE_FINISH)
EXTERNAL_USERS = 40
# Request countries (ISO 3166-1 alpha-2); a few requests have none (an unattributed bucket in analytics).
COUNTRIES = ("US", "DE", "GB", "FR", "IN", "CA", "NL", "BR", "JP", "SE", "AU", "SG")
COUNTRY_P = np.array([0.36, 0.12, 0.09, 0.07, 0.07, 0.05, 0.045, 0.04, 0.04, 0.03, 0.03, 0.025, 0.02])  # last: none
VARIANTS = ("standard", "nitro", "floor")
VARIANT_P = np.array([0.93, 0.045, 0.025])
GUARDRAIL_P = 0.004
ID_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
# The bill's draws (see ``_billing_draws``).
LONG_PROMPT_P = 0.006  # requests over 200k prompt tokens, for models with a long-context price
CACHE_WRITE_P = 0.3  # requests writing the prompt cache, for models that charge for it
CACHE_1H_P = 0.25  # of those, writes with the 1-hour TTL, where it is priced
TIER_P = (0.10, 0.04)  # flex, priority: for providers reporting a service tier
TIERED_PROVIDERS = frozenset({"OpenAI"})
SEARCH_P = 0.03  # requests searching the web, for models with a web-search price
# generations column -> Bill field
BILL_COLUMNS = {
    "usage": "usage",
    "byok_usage_inference": "byok_usage_inference",
    "upstream_inference_cost": "upstream",
    "cache_discount": "cache_discount",
    "list_cost": "list_cost",
    "endpoint_cost": "endpoint_cost",
    "web_cost": "web",
    "byok_fee": "byok_fee",
}


def day_volume(day: date, rng: np.random.Generator, volume: float = 1.0) -> int:
    """How many generations a day has: gentle growth, weekday seasonality, the odd busy day (``volume``
    times the demo account's)."""
    trend = float(np.clip(1.0 + 0.0012 * (day.toordinal() - GROWTH_ANCHOR), 0.6, 2.0))
    lam = BASE_PER_DAY * volume * trend * WEEKDAY[day.weekday()]
    if rng.random() < 0.02:
        lam *= 2.2
    return int(rng.poisson(lam))


def _cdf(weights: FloatArray) -> FloatArray:
    """Row-wise cumulative distribution; rows of zeros stay zeros."""
    total = weights.sum(axis=-1, keepdims=True)
    out: FloatArray = np.cumsum(weights, axis=-1) / np.where(total > 0, total, 1.0)
    return out


def _pick(cdf_rows: FloatArray, u: FloatArray) -> IntArray:
    idx: IntArray = (u[:, None] >= cdf_rows).sum(axis=1).astype(np.int64)
    clamped: IntArray = np.minimum(idx, cdf_rows.shape[1] - 1)
    return clamped


@dataclass(frozen=True)
class Tables:
    """Catalog facts as arrays, computed once per build."""

    models: tuple[Model, ...]
    model_index: dict[str, int]  # model id -> index
    keys: tuple[ApiKey, ...]  # traffic keys only
    provider_names: tuple[str, ...]
    app_ids: tuple[int, ...]
    created: IntArray  # per model: ordinal of its creation day
    popularity: FloatArray
    reasoning: npt.NDArray[np.bool_]
    has_cache: npt.NDArray[np.bool_]
    prompt_median: FloatArray
    completion_median: FloatArray
    family: IntArray
    prov_cdf: FloatArray  # [model, slot]
    prov_idx: IntArray  # [model, slot] -> provider index
    lat: FloatArray  # per provider
    tput: FloatArray
    byok: npt.NDArray[np.bool_]
    long_context: npt.NDArray[np.bool_]  # per model: prices prompts over a threshold apart
    writes_cache: npt.NDArray[np.bool_]  # per model: charges for cache writes
    writes_1h: npt.NDArray[np.bool_]  # per model: has a 1-hour cache-write price
    searches: npt.NDArray[np.bool_]  # per model: has a web-search price
    tiered: npt.NDArray[np.bool_]  # per provider: reports a service tier
    key_tilt: FloatArray  # [key, model]
    app_cdf: FloatArray  # [key, slot]
    app_idx: IntArray  # [key, slot] -> app index, -1 = unattributed

    @classmethod
    def build(cls, models: tuple[Model, ...], account: Account) -> Tables:
        keys = tuple(k for k in account.keys if k.traffic_share > 0)
        providers = tuple(sorted({p for m in models for p, _ in m.providers}))
        app_ids = tuple(a.app_id for a in account.apps)
        slots = max(len(m.providers) for m in models)
        prov_w = np.zeros((len(models), slots))
        prov_idx = np.zeros((len(models), slots), dtype=np.int64)
        for i, m in enumerate(models):
            for j, (name, share) in enumerate(m.providers):
                prov_w[i, j], prov_idx[i, j] = share, providers.index(name)
        app_slots = max(len(k.apps) for k in keys)
        app_w = np.zeros((len(keys), app_slots))
        app_idx = np.full((len(keys), app_slots), -1, dtype=np.int64)
        for i, k in enumerate(keys):
            for j, (app_id, share) in enumerate(k.apps):
                app_w[i, j] = share
                app_idx[i, j] = -1 if app_id is None else app_ids.index(app_id)
        reasoning = np.array([m.reasoning for m in models])
        return cls(
            models=models,
            model_index={m.id: i for i, m in enumerate(models)},
            keys=keys,
            provider_names=providers,
            app_ids=app_ids,
            created=np.array([m.created.toordinal() for m in models], dtype=np.int64),
            popularity=np.array([m.popularity for m in models]),
            reasoning=reasoning,
            has_cache=np.array([m.prices[0].prices.cache_read is not None for m in models]),
            prompt_median=np.array([m.prompt_median for m in models]),
            completion_median=np.array([m.completion_median for m in models]),
            family=np.array([_family(m) for m in models], dtype=np.int64),
            prov_cdf=_cdf(prov_w),
            prov_idx=prov_idx,
            lat=np.array([PROVIDERS[p].latency_ms for p in providers]),
            tput=np.array([PROVIDERS[p].throughput for p in providers]),
            byok=np.array([p in BYOK_PROVIDERS for p in providers]),
            long_context=np.array([any(o.min_prompt_tokens for o in m.prices[0].prices.overrides) for m in models]),
            writes_cache=np.array([m.prices[0].prices.cache_write is not None for m in models]),
            writes_1h=np.array([m.prices[0].prices.cache_write_1h is not None for m in models]),
            searches=np.array([m.prices[0].prices.web_search is not None and m.text_output for m in models]),
            tiered=np.array([p in TIERED_PROVIDERS for p in providers]),
            key_tilt=np.where(reasoning[None, :], np.array([k.reasoning_tilt for k in keys])[:, None], 1.0),
            app_cdf=_cdf(app_w),
            app_idx=app_idx,
        )


def _family(model: Model) -> int:
    return FAMILIES.index(model.author) if model.author in FAMILIES else 0


def _lognormal(rng: np.random.Generator, median: FloatArray, sigma: float) -> FloatArray:
    out: FloatArray = np.exp(rng.normal(np.log(np.maximum(median, 1e-9)), sigma))
    return out


def generate_day(
    tables: Tables, day: date, seed: int, volume: float = 1.0
) -> dict[str, npt.NDArray[np.generic]] | None:
    """One day's generations (all of it: the caller cuts today at ``now``), sorted by time."""
    rng = np.random.default_rng([seed, day.toordinal()])
    n = day_volume(day, rng, volume)
    active = np.array([k.active_on(day) for k in tables.keys])
    if n == 0 or not active.any():
        return None
    shares = np.array([k.traffic_share for k in tables.keys]) * active
    key = _pick(_cdf(shares)[None, :].repeat(n, axis=0), rng.random(n))

    age = day.toordinal() - tables.created
    ramp = np.where(age >= 0, np.clip((age + 1) / 45.0, 0.0, 1.0), 0.0)  # new models take ~6 weeks to catch on
    model_cdf = _cdf(tables.popularity * ramp * tables.key_tilt)
    model = _pick(model_cdf[key], rng.random(n))
    slot = _pick(tables.prov_cdf[model], rng.random(n))
    provider = tables.prov_idx[model, slot]
    app = tables.app_idx[key, _pick(tables.app_cdf[key], rng.random(n))]

    midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
    hour = _pick(_cdf(HOURS)[None, :].repeat(n, axis=0), rng.random(n))
    micros = midnight + hour * 3_600_000_000 + rng.integers(0, 3_600_000, n) * 1000
    order = np.argsort(micros, kind="stable")

    prompt = np.maximum(8, np.rint(_lognormal(rng, tables.prompt_median[model], 0.9))).astype(np.int64)
    visible = np.rint(_lognormal(rng, tables.completion_median[model], 0.8)).astype(np.int64)
    visible = np.where(tables.completion_median[model] > 0, np.maximum(visible, 1), 0)
    thinks = tables.reasoning[model] & (rng.random(n) < 0.85)
    reasoning = np.where(thinks, np.rint(_lognormal(rng, tables.completion_median[model] * 1.6, 0.9)), 0)
    reasoning = reasoning.astype(np.int64)
    cached_share = np.where(tables.has_cache[model] & (rng.random(n) < 0.35), rng.uniform(0.2, 0.95, n), 0.0)
    cached = np.floor(prompt * cached_share).astype(np.int64)

    finish = _pick(_cdf(FINISH_P)[None, :].repeat(n, axis=0), rng.random(n))
    cancelled = rng.random(n) < 0.012
    streamed = (rng.random(n) < 0.72) | cancelled
    visible = np.where(cancelled, visible // 3, visible)
    errored = (finish == FINISH.index("error")) & ~cancelled
    visible, reasoning = np.where(errored, 0, visible), np.where(errored, 0, reasoning)
    ttft = np.rint(_lognormal(rng, tables.lat[provider], 0.45))
    tput = _lognormal(rng, tables.tput[provider], 0.35)
    completion = visible + reasoning
    gen_time = np.rint(ttft + completion / tput * 1000.0)
    user = np.where(
        np.array([k.external_users for k in tables.keys])[key] & (rng.random(n) < 0.8),
        rng.integers(0, EXTERNAL_USERS, n),
        -1,
    )
    suffix = ID_ALPHABET[rng.integers(0, len(ID_ALPHABET), (n, 20))].view("S20").ravel()

    is_byok = tables.byok[provider]
    draws = _billing_draws(n, model, provider, prompt, cached, is_byok, day, seed, tables)
    prompt = draws.pop("prompt")
    hhmm = ((micros // 60_000_000) % 1440 // 60) * 100 + (micros // 60_000_000) % 60
    bills = _bills(tables, day, model, provider, prompt, cached, completion, reasoning, hhmm, is_byok, draws)
    cols: dict[str, npt.NDArray[np.generic]] = {
        "micros": micros,
        "suffix": suffix,
        "model_idx": model,
        "provider_idx": provider,
        "key_idx": key,
        "app_idx": app,
        "user_idx": user,
        "native_tokens_prompt": prompt,
        "visible_completion": visible,
        "native_tokens_reasoning": reasoning,
        "native_tokens_cached": cached,
        "is_byok": is_byok,
        "latency": ttft,
        "generation_time": gen_time,
        "finish_idx": np.where(cancelled, -1, finish),
        "family_idx": tables.family[model],
        "streamed": streamed,
        "cancelled": cancelled,
    }
    cols |= _extras(n, model, day, seed, tables)
    cols |= draws | bills
    return {name: col[order] for name, col in cols.items()}


def _extras(n: int, model: IntArray, day: date, seed: int, tables: Tables) -> dict[str, npt.NDArray[np.generic]]:
    """Columns added after the first release, drawn from a second stream seeded by (seed, date, 1).

    A separate stream leaves every draw of the main one, hence every older column, exactly as it was.
    """
    rng = np.random.default_rng([seed, day.toordinal(), 1])
    country = _pick(_cdf(COUNTRY_P)[None, :].repeat(n, axis=0), rng.random(n))
    variant = _pick(_cdf(VARIANT_P)[None, :].repeat(n, axis=0), rng.random(n))
    text_model = np.array([m.api_type == "completions" for m in tables.models])[model]
    return {
        "country_idx": np.where(country == len(COUNTRIES), -1, country),
        "variant_idx": np.where(text_model, variant, 0),  # nitro/floor routing exists for text models only
        "guardrail_invoked": rng.random(n) < GUARDRAIL_P,
    }


def _billing_draws(
    n: int,
    model: IntArray,
    provider: IntArray,
    prompt: IntArray,
    cached: IntArray,
    is_byok: npt.NDArray[np.bool_],
    day: date,
    seed: int,
    tables: Tables,
) -> dict[str, IntArray]:
    """What the bill depends on beyond tokens, from a third stream seeded by (seed, date, 2) (so the older
    columns keep their draws): long prompts where a model prices them apart, cache writes, the provider's
    service tier, web searches. Returns the (possibly longer) prompts too."""
    rng = np.random.default_rng([seed, day.toordinal(), 2])
    long = tables.long_context[model] & (rng.random(n) < LONG_PROMPT_P)
    prompt = np.where(long, rng.integers(200_001, 600_000, n), prompt)
    writes = tables.writes_cache[model] & (rng.random(n) < CACHE_WRITE_P)
    written = np.floor((prompt - cached) * rng.uniform(0.3, 0.9, n)).astype(np.int64)
    hour = tables.writes_1h[model] & (rng.random(n) < CACHE_1H_P)
    u = rng.random(n)
    tier = np.where(u < TIER_P[0], 1, np.where(u < TIER_P[0] + TIER_P[1], 2, 0))
    searches = 1 + (rng.random(n) < 0.3) + (rng.random(n) < 0.1)
    search = tables.searches[model] & ~is_byok & (rng.random(n) < SEARCH_P)
    return {
        "prompt": prompt.astype(np.int64),
        "write_5m": np.where(writes & ~hour, written, 0),
        "write_1h": np.where(writes & hour, written, 0),
        "tier_idx": np.where(tables.tiered[provider], tier, -1),
        "searches": np.where(search, searches, 0).astype(np.int64),
    }


def _bills(
    tables: Tables,
    day: date,
    model: IntArray,
    provider: IntArray,
    prompt: IntArray,
    cached: IntArray,
    completion: IntArray,
    reasoning: IntArray,
    hhmm: IntArray,
    is_byok: npt.NDArray[np.bool_],
    draws: dict[str, IntArray],
) -> dict[str, npt.NDArray[np.generic]]:
    """Every request billed at its endpoint's prices in force that day (``billing.bill_rows``)."""
    day_prices = [m.listed_at(day) for m in tables.models]
    lists = [per_token(p) for p in day_prices]
    columns = {key: np.array([row[key] for row in lists])[model] for key in lists[0]}
    overrides: list[tuple[npt.NDArray[np.bool_], Override]] = []
    for i, prices in enumerate(day_prices):
        overrides += [(model == i, o) for o in prices.overrides]
    discount = np.zeros(len(model))
    for (model_id, provider_name), endpoint in ENDPOINT_TERMS.items():
        if model_id not in tables.model_index or provider_name not in tables.provider_names:
            continue
        i = tables.model_index[model_id]
        rows = (model == i) & (provider == tables.provider_names.index(provider_name))
        discount = np.where(rows, endpoint.discount, discount)
        overrides += [(rows, o) for o in endpoint.overrides(day_prices[i])]  # after the models': later wins
    sheet = Sheet(**columns, discount=discount, overrides=tuple(overrides))
    requests = Requests(
        prompt=prompt,
        cached=cached,
        write_5m=draws["write_5m"],
        write_1h=draws["write_1h"],
        completion=completion,
        reasoning=reasoning,
        hhmm=hhmm,
        tier=draws["tier_idx"],
        searches=draws["searches"],
        byok=is_byok,
    )
    b = bill_rows(sheet, requests)
    return {name: getattr(b, field) for name, field in BILL_COLUMNS.items()}
