"""The fake's model catalog: models, their providers and endpoints, and each model's list-price history.

Everything here is fixed in absolute time (creation dates, price-change dates), never relative to ``now``,
so that fakes built for different days agree on their common past.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date

from fake_openrouter.prices import EndpointTerms, Override, Prices, usd_string

__all__ = ["ENDPOINT_TERMS", "MODELS", "MODELS_BY_ID", "EndpointTerms", "Model", "Override", "Prices", "usd_string"]

_NS = uuid.UUID("6f1c2a52-4d0e-4b8e-9a57-0a1d7c0ffee1")


@dataclass(frozen=True)
class PriceChange:
    effective: date  # in force from 00:00 UTC of this day
    prices: Prices


@dataclass(frozen=True)
class Provider:
    name: str  # from the spec's ProviderName enum
    latency_ms: float  # median time to first token
    throughput: float  # median tokens per second


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("OpenAI", 550, 85),
        Provider("Azure", 650, 75),
        Provider("Anthropic", 900, 60),
        Provider("Amazon Bedrock", 1100, 55),
        Provider("Google", 800, 110),
        Provider("Google AI Studio", 700, 130),
        Provider("DeepInfra", 450, 70),
        Provider("Together", 400, 95),
        Provider("Groq", 180, 400),
        Provider("Fireworks", 350, 120),
        Provider("Mistral", 450, 90),
        Provider("DeepSeek", 1500, 35),
        Provider("Novita", 600, 45),
        Provider("Alibaba", 900, 60),
        Provider("xAI", 700, 80),
        Provider("Black Forest Labs", 4000, 1),
        Provider("Parasail", 500, 80),
        Provider("Cerebras", 150, 900),
    )
}

# The account brought its own Azure key: everything Azure serves is BYOK.
BYOK_PROVIDERS = frozenset({"Azure"})


@dataclass(frozen=True)
class Model:
    id: str
    canonical_slug: str
    name: str
    created: date
    context_length: int
    prices: tuple[PriceChange, ...]  # first entry at ``created``, then changes in date order
    providers: tuple[tuple[str, float], ...]  # (provider name, share of traffic)
    popularity: float
    prompt_median: float
    completion_median: float
    reasoning: bool = False
    input_modalities: tuple[str, ...] = ("text",)
    output_modalities: tuple[str, ...] = ("text",)
    tokenizer: str = "GPT"
    token_ratio: float = 1.0  # native tokens per normalized (GPT) token
    # Real Gemini rows report completion tokens without the reasoning ("thoughts") tokens: in quirks mode
    # these models do the same, which is why reasoning can exceed completion there.
    completion_excludes_reasoning: bool = False
    api_type: str = "completions"

    @property
    def author(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def text_output(self) -> bool:
        return "text" in self.output_modalities

    def price_at(self, day: date) -> Prices:
        current = self.prices[0].prices
        for change in self.prices[1:]:
            if change.effective <= day:
                current = change.prices
        return current

    def listed_at(self, day: date) -> Prices:
        """The prices ``/models`` lists on ``day``: a reasoning model without a reasoning price of its own
        lists ``internal_reasoning`` at its completion price (and is billed at it: no override changes it)."""
        prices = self.price_at(day)
        if self.reasoning and prices.reasoning is None:
            return replace(prices, reasoning=prices.completion)
        return prices

    def endpoint_id(self, provider: str) -> str:
        return endpoint_id(self.id, provider)


def endpoint_id(model_id: str, provider: str) -> str:
    return str(uuid.uuid5(_NS, f"endpoint/{model_id}/{provider}"))


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _model(
    slug: str,
    permaslug: str,
    name: str,
    created: str,
    ctx: int,
    prices: Prices,
    providers: tuple[tuple[str, float], ...],
    popularity: float,
    sizes: tuple[float, float],
    changes: tuple[tuple[str, float], ...] = (),
    *,
    reasoning: bool = False,
    vision: bool = False,
    tokenizer: tuple[str, float] = ("GPT", 1.0),
    outputs: tuple[str, ...] = ("text",),
    api_type: str = "completions",
    quirky: bool = False,
) -> Model:
    """A model; ``changes`` are (date, factor on the launch prices) list-price changes."""
    history = [PriceChange(_d(created), prices)]
    history += [PriceChange(_d(day), prices.scaled(factor)) for day, factor in changes]
    return Model(
        id=slug,
        canonical_slug=permaslug,
        name=name,
        created=_d(created),
        context_length=ctx,
        prices=tuple(history),
        providers=providers,
        popularity=popularity,
        prompt_median=sizes[0],
        completion_median=sizes[1],
        reasoning=reasoning,
        input_modalities=("text", "image") if vision else ("text",),
        output_modalities=outputs,
        tokenizer=tokenizer[0],
        token_ratio=tokenizer[1],
        completion_excludes_reasoning=quirky,
        api_type=api_type,
    )


_OAI = (("OpenAI", 0.7), ("Azure", 0.3))
_ANT = (("Anthropic", 0.6), ("Amazon Bedrock", 0.25), ("Google", 0.15))
_GOO = (("Google AI Studio", 0.55), ("Google", 0.45))
_LLAMA = (("DeepInfra", 0.35), ("Together", 0.25), ("Groq", 0.25), ("Cerebras", 0.15))
_MIS = (("Mistral", 0.8), ("DeepInfra", 0.2))
_DS = (("DeepSeek", 0.4), ("DeepInfra", 0.25), ("Fireworks", 0.2), ("Novita", 0.15))
_QW = (("Alibaba", 0.4), ("DeepInfra", 0.3), ("Together", 0.2), ("Parasail", 0.1))
_XAI = (("xAI", 0.75), ("Azure", 0.25))
_CLAUDE = ("Claude", 1.12)
_GEMINI = ("Gemini", 0.96)
_LLAMA3 = ("Llama3", 1.05)
_MISTRAL = ("Mistral", 1.08)
_DEEPSEEK = ("DeepSeek", 0.94)
_QWEN = ("Qwen", 0.98)
_QWEN3 = ("Qwen3", 0.98)

# Long-context prices (prompts over 200k tokens), as the real catalogue lists them.
_LONG_SONNET = (
    Override(min_prompt_tokens=200_000, prompt=6, completion=22.5, cache_read=0.6, cache_write=7.5, cache_write_1h=12),
)
_LONG_GEMINI_PRO = (
    Override(min_prompt_tokens=200_000, prompt=2.5, completion=15, cache_read=0.625, cache_write=2.875),
)
_LONG_GEMINI_3 = (Override(min_prompt_tokens=200_000, prompt=4, completion=18, cache_read=0.4),)
# Launch prices of the models with the most pricing fields (cache writes are 1.25× / 2× the prompt price
# for 5-minute / 1-hour writes, as Anthropic's are).
_HAIKU_35 = Prices(0.8, 4, 0.08, cache_write=1.0, cache_write_1h=1.6)
_SONNET = Prices(3, 15, 0.3, cache_write=3.75, cache_write_1h=6, overrides=_LONG_SONNET)
_SONNET_45 = replace(_SONNET, web_search=0.01)
_OPUS_41 = Prices(15, 75, 1.5, cache_write=18.75, cache_write_1h=30)
_HAIKU_45 = Prices(1, 5, 0.1, cache_write=1.25, cache_write_1h=2)
_OPUS_45 = Prices(5, 25, 0.5, cache_write=6.25, cache_write_1h=10, web_search=0.01)
_GEMINI_FLASH = Prices(0.3, 2.5, 0.075, cache_write=0.3833, reasoning=3.5)
_GEMINI_PRO = Prices(1.25, 10, 0.31, cache_write=1.625, web_search=0.035, overrides=_LONG_GEMINI_PRO)
_GEMINI_3 = Prices(2, 12, 0.2, overrides=_LONG_GEMINI_3)
_QWEN3_235B = Prices(0.18, 0.54, reasoning=1.6)
_GROK_4 = Prices(3, 15, 0.75, web_search=0.025)

# Columns: slug, permaslug, name, created, context, launch prices ($/M prompt, completion, cache read),
# providers, popularity, (median prompt, median completion) tokens, price changes.
# fmt: off
MODELS: tuple[Model, ...] = (
    _model("openai/gpt-4o", "openai/gpt-4o-2024-05-13", "OpenAI: GPT-4o", "2024-05-13", 128_000,
           Prices(2.5, 10, 1.25, web_search=0.01), _OAI, 6, (2600, 420), (("2026-05-01", 0.8),), vision=True),
    _model("openai/gpt-4o-mini", "openai/gpt-4o-mini-2024-07-18", "OpenAI: GPT-4o-mini", "2024-07-18",
           128_000, Prices(0.15, 0.6, 0.075), _OAI, 9, (1800, 300), vision=True),
    _model("openai/gpt-4.1", "openai/gpt-4.1-2025-04-14", "OpenAI: GPT-4.1", "2025-04-14", 1_047_576,
           Prices(2, 8, 0.5, web_search=0.01), _OAI, 5, (4200, 520), vision=True),
    _model("openai/gpt-4.1-mini", "openai/gpt-4.1-mini-2025-04-14", "OpenAI: GPT-4.1 Mini", "2025-04-14",
           1_047_576, Prices(0.4, 1.6, 0.1), _OAI, 6, (3000, 380), vision=True),
    _model("openai/o3", "openai/o3-2025-04-16", "OpenAI: o3", "2025-04-16", 200_000,
           Prices(10, 40, 2.5), _OAI, 2, (3500, 700), (("2026-01-15", 0.2),), reasoning=True, vision=True),
    _model("openai/o4-mini", "openai/o4-mini-2025-04-16", "OpenAI: o4 Mini", "2025-04-16", 200_000,
           Prices(1.1, 4.4, 0.275), _OAI, 3, (2500, 500), reasoning=True, vision=True),
    _model("openai/gpt-5", "openai/gpt-5-2025-08-07", "OpenAI: GPT-5", "2025-08-07", 400_000,
           Prices(1.25, 10, 0.125, web_search=0.01), _OAI, 5, (5000, 800), reasoning=True, vision=True),
    _model("openai/gpt-5-mini", "openai/gpt-5-mini-2025-08-07", "OpenAI: GPT-5 Mini", "2025-08-07",
           400_000, Prices(0.25, 2, 0.025), _OAI, 5, (3000, 600), reasoning=True, vision=True),
    _model("openai/gpt-5.1", "openai/gpt-5.1-20251113", "OpenAI: GPT-5.1", "2025-11-13", 400_000,
           Prices(1.25, 10, 0.125, web_search=0.01), _OAI, 6, (5200, 800), reasoning=True, vision=True),
    _model("openai/gpt-image-1", "openai/gpt-image-1", "OpenAI: GPT Image 1", "2025-04-23", 32_000,
           Prices(5, 40, 1.25), (("OpenAI", 0.8), ("Azure", 0.2)), 0.4, (120, 1056), vision=True,
           outputs=("image",), api_type="image"),
    _model("openai/text-embedding-3-small", "openai/text-embedding-3-small", "OpenAI: Text Embedding 3 Small",
           "2024-01-25", 8_192, Prices(0.02, 0), _OAI, 1.5, (900, 0), outputs=("embeddings",),
           api_type="embeddings"),
    _model("anthropic/claude-3.5-haiku", "anthropic/claude-3-5-haiku-20241022", "Anthropic: Claude 3.5 Haiku",
           "2024-11-04", 200_000, _HAIKU_35, _ANT, 3, (2200, 350), tokenizer=_CLAUDE),
    _model("anthropic/claude-sonnet-4", "anthropic/claude-4-sonnet-20250522", "Anthropic: Claude Sonnet 4",
           "2025-05-22", 1_000_000, _SONNET, _ANT, 8, (6000, 650), tokenizer=_CLAUDE, vision=True),
    _model("anthropic/claude-opus-4.1", "anthropic/claude-4.1-opus-20250805", "Anthropic: Claude Opus 4.1",
           "2025-08-05", 200_000, _OPUS_41, _ANT, 1.2, (5000, 700), (("2026-04-01", 0.6),),
           tokenizer=_CLAUDE, vision=True),
    _model("anthropic/claude-sonnet-4.5", "anthropic/claude-4.5-sonnet-20250929", "Anthropic: Claude Sonnet 4.5",
           "2025-09-29", 1_000_000, _SONNET_45, _ANT, 9, (6500, 700), tokenizer=_CLAUDE, reasoning=True,
           vision=True),
    _model("anthropic/claude-haiku-4.5", "anthropic/claude-4.5-haiku-20251001", "Anthropic: Claude Haiku 4.5",
           "2025-10-15", 200_000, _HAIKU_45, _ANT, 5, (3000, 400), tokenizer=_CLAUDE, vision=True),
    _model("anthropic/claude-opus-4.5", "anthropic/claude-4.5-opus-20251124", "Anthropic: Claude Opus 4.5",
           "2025-11-24", 200_000, _OPUS_45, _ANT, 3, (6000, 800), tokenizer=_CLAUDE, reasoning=True,
           vision=True),
    _model("google/gemini-2.0-flash-001", "google/gemini-2.0-flash-001", "Google: Gemini 2.0 Flash",
           "2025-02-05", 1_048_576, Prices(0.1, 0.4, 0.025), _GOO, 4, (2500, 300), tokenizer=_GEMINI, vision=True),
    _model("google/gemini-2.5-flash", "google/gemini-2.5-flash", "Google: Gemini 2.5 Flash", "2025-06-17",
           1_048_576, _GEMINI_FLASH, _GOO, 7, (3500, 450), (("2026-03-10", 1.2),), tokenizer=_GEMINI,
           reasoning=True, vision=True, quirky=True),
    _model("google/gemini-2.5-pro", "google/gemini-2.5-pro", "Google: Gemini 2.5 Pro", "2025-06-17", 1_048_576,
           _GEMINI_PRO, _GOO, 4, (5000, 600), tokenizer=_GEMINI, reasoning=True, vision=True,
           quirky=True),
    _model("google/gemini-3-pro-preview", "google/gemini-3-pro-preview-20251117", "Google: Gemini 3 Pro Preview",
           "2025-11-18", 1_048_576, _GEMINI_3, _GOO, 5, (5500, 700), tokenizer=_GEMINI, reasoning=True,
           vision=True),
    _model("meta-llama/llama-3.1-8b-instruct", "meta-llama/llama-3.1-8b-instruct", "Meta: Llama 3.1 8B Instruct",
           "2024-07-23", 131_072, Prices(0.02, 0.03), _LLAMA, 3, (900, 200), tokenizer=_LLAMA3),
    _model("meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct",
           "Meta: Llama 3.3 70B Instruct", "2024-12-06", 131_072, Prices(0.13, 0.39), _LLAMA, 4, (1600, 280),
           (("2025-12-01", 0.8), ("2026-07-01", 0.6)), tokenizer=_LLAMA3),
    _model("meta-llama/llama-4-maverick", "meta-llama/llama-4-maverick-17b-128e-instruct",
           "Meta: Llama 4 Maverick", "2025-04-05", 1_048_576, Prices(0.15, 0.6), _LLAMA, 2, (2000, 300),
           tokenizer=("Llama4", 1.03), vision=True),
    _model("mistralai/mistral-large-2411", "mistralai/mistral-large-2411", "Mistral Large 2411", "2024-11-18",
           131_072, Prices(2, 6), _MIS, 1.2, (2200, 350), tokenizer=_MISTRAL),
    _model("mistralai/mistral-small-3.2-24b-instruct", "mistralai/mistral-small-3.2-24b-instruct-2506",
           "Mistral: Mistral Small 3.2 24B", "2025-06-20", 131_072, Prices(0.05, 0.1), _MIS, 2, (1500, 250),
           tokenizer=_MISTRAL, vision=True),
    _model("mistralai/codestral-2508", "mistralai/codestral-2508", "Mistral: Codestral 2508", "2025-08-01",
           256_000, Prices(0.3, 0.9), _MIS, 1.5, (4000, 500), tokenizer=_MISTRAL),
    _model("deepseek/deepseek-chat-v3-0324", "deepseek/deepseek-chat-v3-0324", "DeepSeek: DeepSeek V3 0324",
           "2025-03-24", 163_840, Prices(0.25, 0.88, 0.07), _DS, 5, (2800, 420),
           (("2026-02-09", 0.5), ("2026-09-01", 0.64)), tokenizer=_DEEPSEEK),
    _model("deepseek/deepseek-r1-0528", "deepseek/deepseek-r1-0528", "DeepSeek: R1 0528", "2025-05-28", 163_840,
           Prices(0.5, 2.15), _DS, 3, (2500, 600), tokenizer=_DEEPSEEK, reasoning=True),
    _model("deepseek/deepseek-v3.2", "deepseek/deepseek-v3.2-20251201", "DeepSeek: DeepSeek V3.2", "2025-12-01",
           163_840, Prices(0.27, 0.4, 0.027), _DS, 5, (3200, 450), tokenizer=_DEEPSEEK),
    _model("qwen/qwen-2.5-72b-instruct", "qwen/qwen-2.5-72b-instruct", "Qwen2.5 72B Instruct", "2024-09-19",
           32_768, Prices(0.12, 0.39), _QW, 1.5, (1500, 280), tokenizer=_QWEN),
    _model("qwen/qwen3-235b-a22b", "qwen/qwen3-235b-a22b-04-28", "Qwen: Qwen3 235B A22B", "2025-04-28", 131_072,
           _QWEN3_235B, _QW, 2.5, (2500, 450), (("2026-06-15", 0.7),), tokenizer=_QWEN3, reasoning=True),
    _model("qwen/qwen3-coder", "qwen/qwen3-coder-480b-a35b-07-25", "Qwen: Qwen3 Coder 480B A35B", "2025-07-23",
           262_144, Prices(0.22, 0.95), _QW, 3, (7000, 600), tokenizer=_QWEN3),
    _model("x-ai/grok-3-mini", "x-ai/grok-3-mini", "xAI: Grok 3 Mini", "2025-04-09", 131_072,
           Prices(0.3, 0.5, 0.075), _XAI, 2, (2000, 300), (("2026-08-20", 0.9),), tokenizer=("Grok", 1.0),
           reasoning=True),
    _model("x-ai/grok-4", "x-ai/grok-4-07-09", "xAI: Grok 4", "2025-07-09", 256_000, _GROK_4, _XAI,
           2, (4000, 600), tokenizer=("Grok", 1.0), reasoning=True, vision=True),
    _model("black-forest-labs/flux.2-pro", "black-forest-labs/flux.2-pro", "Black Forest Labs: FLUX.2 [pro]",
           "2025-11-25", 46_864, Prices(0, 0, request=0.03), (("Black Forest Labs", 0.7), ("Together", 0.3)),
           0.5, (80, 0), tokenizer=("Other", 1.0), vision=True, outputs=("image",), api_type="image"),
)
# fmt: on

MODELS_BY_ID: dict[str, Model] = {m.id: m for m in MODELS}

_OFF_PEAK = (1630, 30)  # 16:30–00:30 UTC, DeepSeek's discounted hours
# (model id, provider) -> what that endpoint charges beyond the model's list prices.
ENDPOINT_TERMS: dict[tuple[str, str], EndpointTerms] = {
    ("meta-llama/llama-3.3-70b-instruct", "DeepInfra"): EndpointTerms(discount=0.1),
    ("meta-llama/llama-4-maverick", "Together"): EndpointTerms(discount=0.15),
    ("deepseek/deepseek-chat-v3-0324", "DeepInfra"): EndpointTerms(discount=0.1),
    ("qwen/qwen3-coder", "Parasail"): EndpointTerms(discount=0.2),
    ("openai/gpt-4o-mini", "Azure"): EndpointTerms(discount=0.05),
    ("anthropic/claude-sonnet-4.5", "Amazon Bedrock"): EndpointTerms(discount=0.05),
    ("google/gemini-2.5-flash", "Google"): EndpointTerms(discount=0.1),
    ("deepseek/deepseek-chat-v3-0324", "DeepSeek"): EndpointTerms(window=_OFF_PEAK, window_factor=0.5),
    ("deepseek/deepseek-r1-0528", "DeepSeek"): EndpointTerms(window=_OFF_PEAK, window_factor=0.25),
    ("deepseek/deepseek-v3.2", "DeepSeek"): EndpointTerms(window=_OFF_PEAK, window_factor=0.5),
}
NO_TERMS = EndpointTerms()


def terms(model_id: str, provider: str) -> EndpointTerms:
    return ENDPOINT_TERMS.get((model_id, provider), NO_TERMS)
