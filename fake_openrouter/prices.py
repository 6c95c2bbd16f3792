"""Prices as the fake's catalogue writes them: list prices (with conditional overrides), an endpoint's own
terms (discount, a daily price window), and the API's string form of a price."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal


@dataclass(frozen=True)
class Override:
    """A conditional price (the spec's ``PricingOverride``): applies when every condition holds; a price left
    None inherits. Prices in USD per *million* tokens, like ``Prices``."""

    min_prompt_tokens: int | None = None  # applies when the prompt has strictly more tokens
    utc_start: int | None = None  # HHMM, inclusive; the window may wrap past midnight
    utc_end: int | None = None  # HHMM, exclusive
    prompt: float | None = None
    completion: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None

    def scaled(self, factor: float) -> Override:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x * factor, 6)

        return replace(
            self,
            prompt=r(self.prompt),
            completion=r(self.completion),
            cache_read=r(self.cache_read),
            cache_write=r(self.cache_write),
            cache_write_1h=r(self.cache_write_1h),
        )


@dataclass(frozen=True)
class Prices:
    """List prices. Token prices in USD per *million* tokens (readable); ``request`` in USD per request,
    ``web_search`` in USD per search. ``reasoning`` is the ``internal_reasoning`` price (None: reasoning
    bills as completion); cache writes are the 5-minute and 1-hour prices (None: the model does not charge
    for writing its cache)."""

    prompt: float
    completion: float
    cache_read: float | None = None
    request: float = 0.0
    cache_write: float | None = None
    cache_write_1h: float | None = None
    reasoning: float | None = None
    web_search: float | None = None
    overrides: tuple[Override, ...] = ()

    def scaled(self, factor: float) -> Prices:
        # Rounding keeps prices "list-like" (no 2.0000000000000004) so their string form stays short.
        def r(x: float) -> float:
            return round(x * factor, 6)

        def o(x: float | None) -> float | None:
            return None if x is None else r(x)

        return Prices(
            prompt=r(self.prompt),
            completion=r(self.completion),
            cache_read=o(self.cache_read),
            request=r(self.request),
            cache_write=o(self.cache_write),
            cache_write_1h=o(self.cache_write_1h),
            reasoning=o(self.reasoning),
            web_search=self.web_search,  # a tool's fee: model price changes leave it alone
            overrides=tuple(x.scaled(factor) for x in self.overrides),
        )

    def per_token(self) -> tuple[float, float, float, float]:
        """(prompt, completion, cache read, request) in USD per token / per request."""
        cache = self.prompt if self.cache_read is None else self.cache_read
        return self.prompt / 1e6, self.completion / 1e6, cache / 1e6, self.request


@dataclass(frozen=True)
class EndpointTerms:
    """What one provider's endpoint of a model charges beyond the model's list prices: a fractional
    ``discount`` on every token and request price, and a daily UTC window (``window``: HHMM start, end)
    in which its prompt, completion and cache-read prices are multiplied by ``window_factor``."""

    discount: float = 0.0
    window: tuple[int, int] | None = None
    window_factor: float = 1.0

    def overrides(self, prices: Prices) -> tuple[Override, ...]:
        """The endpoint's own overrides at ``prices`` (they come after the model's: later entries win)."""
        if self.window is None:
            return ()
        f = self.window_factor
        cache = None if prices.cache_read is None else round(prices.cache_read * f, 6)
        return (
            Override(
                utc_start=self.window[0],
                utc_end=self.window[1],
                prompt=round(prices.prompt * f, 6),
                completion=round(prices.completion * f, 6),
                cache_read=cache,
            ),
        )


def usd_string(per_million: float) -> str:
    """A per-token price as OpenRouter writes it: a plain decimal string, never exponent notation."""
    value = (Decimal(repr(per_million)) / Decimal(1_000_000)).normalize()
    text = format(value, "f")
    return "0" if value == 0 else text
