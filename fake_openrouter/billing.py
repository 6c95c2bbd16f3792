"""How the fake bills a generation, from the pricing fields of OpenRouter's spec: one bill that every endpoint
(activity, analytics, /generation, the website export) reports its part of.

For the requests of one endpoint (model × provider) on one UTC day, prices per token:

* **list**: the model's ``/models`` prices in force that day: prompt × ``prompt`` + (completion − reasoning)
  × ``completion`` + reasoning × ``internal_reasoning`` (the completion price where none is listed) +
  ``request``. Prompt tokens include cached and cache-written ones; completion includes reasoning.
* **endpoint prices**: the same keys after the ``overrides`` that apply to the request (a prompt of strictly
  more than ``min_prompt_tokens``; a UTC clock time in ``[utc_start, utc_end)``, wrapping past midnight;
  the model's entries first, then the endpoint's; later entries win per key; absent keys inherit), then
  × (1 − the endpoint's ``discount``). The web-search fee is not discounted.
* **cache**: ``cache_discount`` = cached × (prompt − ``input_cache_read``) − 5-minute writes ×
  (``input_cache_write`` − prompt) − 1-hour writes × (``input_cache_write_1h`` − prompt), at the endpoint
  prices: negative when writing the cache cost more than reading it saved.
* **tier**: the provider's ``service_tier`` multiplies the endpoint's cost: flex × 0.5, priority × 1.75. An
  assumption (OpenRouter publishes no per-tier price); docs/definitions.md says so too.
* **upstream** (``upstream_inference_cost``) = (endpoint cost without caching − ``cache_discount``) × tier.
* **BYOK**: the provider bills your own key the upstream cost (``byok_usage_inference``); OpenRouter charges
  a fee of 5 % of it in credits.
* **web search**: searches × ``web_search`` (USD per search), charged in credits.
* **usage** (credits) = upstream (or the BYOK fee) + web search (the fake's BYOK requests never search).

Amounts are rounded to whole nano-dollars (1e-9 USD), as billed, each on its own.

Kept free of everything else in the fake so that tests can bill a handful of hand-made requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fake_openrouter.catalog import EndpointTerms, Override, Prices

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TIERS = ("standard", "flex", "priority")  # service_tier values; -1 in ``Requests.tier``: not reported
TIER_MULTIPLIER = {"standard": 1.0, "flex": 0.5, "priority": 1.75}
BYOK_FEE = 0.05
DECIMALS = 9  # bills are kept in nano-dollars
PER_MILLION = 1e6
_KEYS = ("prompt", "completion", "cache_read", "cache_write", "cache_write_1h")


@dataclass(frozen=True)
class Requests:
    """Requests to one endpoint on one day, as arrays of equal length."""

    prompt: IntArray  # native prompt tokens (cached and cache-written ones included)
    cached: IntArray  # cache reads
    write_5m: IntArray  # cache writes, 5-minute TTL
    write_1h: IntArray  # cache writes, 1-hour TTL
    completion: IntArray  # billed completion tokens, reasoning included
    reasoning: IntArray
    hhmm: IntArray  # UTC clock time of the request, as HHMM
    tier: IntArray  # index into TIERS, -1 when the provider reports none (billed as standard)
    searches: IntArray
    byok: BoolArray


@dataclass(frozen=True)
class Bill:
    """Each request's bill (USD), unrounded parts and the rounded amounts the API reports."""

    list_cost: FloatArray  # at the model's list prices
    endpoint_cost: FloatArray  # at the endpoint's prices (overrides, discount), before caching and tier
    cache_discount: FloatArray  # rounded
    upstream: FloatArray  # rounded: upstream_inference_cost
    web: FloatArray  # rounded: the web-search fee
    byok_fee: FloatArray  # rounded: OpenRouter's fee on BYOK requests, 0 otherwise
    usage: FloatArray  # rounded: credits charged
    byok_usage_inference: FloatArray  # rounded: what the provider charged your own key, 0 otherwise


def _applies(o: Override, r: Requests) -> BoolArray:
    hit: BoolArray = np.ones(len(r.prompt), dtype=bool)
    if o.min_prompt_tokens is not None:
        hit &= r.prompt > o.min_prompt_tokens
    if o.utc_start is not None and o.utc_end is not None:
        start, end = o.utc_start, o.utc_end
        inside = (r.hhmm >= start) & (r.hhmm < end) if start <= end else (r.hhmm >= start) | (r.hhmm < end)
        hit &= inside
    return hit


@dataclass(frozen=True)
class Sheet:
    """Per request, the list prices of its model that day (USD per token; ``request`` per request,
    ``web_search`` per search), its endpoint's discount, and the overrides that may apply to it, in order,
    each with the requests it belongs to (the model's entries, then the endpoint's)."""

    prompt: FloatArray
    completion: FloatArray
    reasoning: FloatArray  # NaN where no internal_reasoning price is listed
    cache_read: FloatArray  # the prompt price where none is listed
    cache_write: FloatArray
    cache_write_1h: FloatArray
    request: FloatArray
    web_search: FloatArray
    discount: FloatArray
    overrides: tuple[tuple[BoolArray, Override], ...] = ()

    @classmethod
    def of(cls, prices: Prices, terms: EndpointTerms, n: int) -> Sheet:
        """``n`` requests to one endpoint."""
        everyone: BoolArray = np.ones(n, dtype=bool)
        entries = (*prices.overrides, *terms.overrides(prices))
        return cls(
            **{k: np.full(n, v) for k, v in per_token(prices).items()},
            discount=np.full(n, terms.discount),
            overrides=tuple((everyone, o) for o in entries),
        )


def per_token(prices: Prices) -> dict[str, float]:
    """A model's list prices per token (a cache price it does not list is the prompt price)."""
    m = PER_MILLION
    return {
        "prompt": prices.prompt / m,
        "completion": prices.completion / m,
        "reasoning": float("nan") if prices.reasoning is None else prices.reasoning / m,
        "cache_read": (prices.prompt if prices.cache_read is None else prices.cache_read) / m,
        "cache_write": (prices.prompt if prices.cache_write is None else prices.cache_write) / m,
        "cache_write_1h": (prices.prompt if prices.cache_write_1h is None else prices.cache_write_1h) / m,
        "request": prices.request,
        "web_search": prices.web_search or 0.0,
    }


def endpoint_prices(s: Sheet, r: Requests) -> dict[str, FloatArray]:
    """Per request and key, USD per token at the endpoint: overrides applied in order, then the discount."""
    out = {k: getattr(s, k).copy() for k in _KEYS}
    for rows, o in s.overrides:
        hit = rows & _applies(o, r)
        for key in _KEYS:
            value = getattr(o, key)
            if value is not None:
                out[key] = np.where(hit, value / PER_MILLION, out[key])
    keep = 1.0 - s.discount
    return {k: v * keep for k, v in out.items()}


def bill(prices: Prices, terms: EndpointTerms, r: Requests) -> Bill:
    """The requests' bills at one endpoint."""
    return bill_rows(Sheet.of(prices, terms, len(r.prompt)), r)


def bill_rows(s: Sheet, r: Requests) -> Bill:
    """Each request's bill at its own prices (``s``, row for row with ``r``)."""
    listed = ~np.isnan(s.reasoning)
    reasoning_list = np.where(listed, s.reasoning, s.completion)
    visible = r.completion - r.reasoning
    list_cost = r.prompt * s.prompt + visible * s.completion + r.reasoning * reasoning_list + s.request

    e = endpoint_prices(s, r)
    keep = 1.0 - s.discount
    # An internal_reasoning price is not overridden (the spec's overrides have no such key); without one,
    # reasoning is completion and follows its overrides.
    e_reasoning = np.where(listed, reasoning_list * keep, e["completion"])
    endpoint_cost = r.prompt * e["prompt"] + visible * e["completion"] + r.reasoning * e_reasoning + s.request * keep
    cache = (
        r.cached * (e["prompt"] - e["cache_read"])
        - r.write_5m * (e["cache_write"] - e["prompt"])
        - r.write_1h * (e["cache_write_1h"] - e["prompt"])
    )
    multiplier = np.array([TIER_MULTIPLIER[t] for t in TIERS])[np.maximum(r.tier, 0)]
    upstream = (endpoint_cost - cache) * multiplier
    web = r.searches * s.web_search
    fee = np.where(r.byok, upstream * BYOK_FEE, 0.0)

    def rounded(x: FloatArray) -> FloatArray:
        out: FloatArray = np.round(x, DECIMALS)
        return out

    upstream, web, fee = rounded(upstream), rounded(web), rounded(fee)
    return Bill(
        list_cost=list_cost.astype(np.float64),
        endpoint_cost=endpoint_cost.astype(np.float64),
        cache_discount=rounded(cache),
        upstream=upstream,
        web=web,
        byok_fee=fee,
        # The sum of the rounded parts, so that every part any endpoint reports adds up to it.
        usage=np.where(r.byok, fee, upstream) + web,
        byok_usage_inference=np.where(r.byok, upstream, 0.0),
    )
