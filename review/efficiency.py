"""Efficiency, week over week: what a token and a request cost, how much reasoning and caching there was.

* blended price = spend ÷ (prompt + completion tokens), per million tokens: every model's tokens together;
* reasoning share = reasoning ÷ completion tokens (reasoning is billed as completion);
* reasoning at list prices = reasoning tokens (counted within completion) × ``internal_reasoning`` (the
  completion price where none is listed) in force each day;
* cache hit rate = cached ÷ prompt tokens, both from analytics (``/activity`` has no cached tokens), over the
  days analytics covers;
* cache savings = ``queries.cache_savings`` (the one definition: −``usage_cache`` where analytics covers a
  day, else Σ ``cache_discount`` of per-generation records; net of cache writes, so it can be negative), over
  the days either reports;
* cost per request = spend ÷ requests.

``None`` means unknown (no tokens, no analytics), never zero. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from review.inputs import WeekFacts

PER_MILLION = 1_000_000

# (key, label, unit). Units tell renderers how to format: usd_per_m, share, usd, usd_fine (cents are too coarse).
METRICS: tuple[tuple[str, str, str], ...] = (
    ("price_per_m", "Blended price per million tokens", "usd_per_m"),
    ("reasoning_share", "Reasoning share of completion tokens", "share"),
    ("reasoning_cost", "Reasoning tokens at list prices", "usd"),
    ("cache_hit_rate", "Cache hit rate (cached ÷ prompt tokens)", "share"),
    ("cache_savings", "Cache savings (net of cache writes)", "usd"),
    ("cost_per_request", "Average cost per request", "usd_fine"),
)


@dataclass(frozen=True)
class Efficiency:
    key: str
    label: str
    unit: str
    current: float | None
    previous: float | None
    note: str

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def change_pct(self) -> float | None:
        if self.change is None or not self.previous:
            return None
        return self.change / abs(self.previous)


def _div(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return numerator / denominator * scale if denominator > 0 else None


def _values(week: WeekFacts) -> dict[str, float | None]:
    models = week.by["model"]
    spend = float(models["spend"].sum())
    prompt = float(models["prompt"].sum())
    completion = float(models["completion"].sum())
    cache_prompt = float(week.cache["prompt"].fillna(0).sum())
    return {
        "price_per_m": _div(spend, prompt + completion, PER_MILLION),
        "reasoning_share": _div(float(models["reasoning"].sum()), completion),
        "reasoning_cost": week.reasoning_cost,
        "cache_hit_rate": _div(float(week.cache["cached"].fillna(0).sum()), cache_prompt) if week.cache_days else None,
        "cache_savings": week.cache_savings.total,
        "cost_per_request": _div(spend, float(models["requests"].sum())),
    }


def _days(week: WeekFacts, known: int) -> str:
    return f"{known} of {week.days} days" if known < week.days else f"all {known} days"


def efficiency(current: WeekFacts, previous: WeekFacts | None) -> list[Efficiency]:
    """One row per metric; ``previous`` None when the week before is not stored."""
    now = _values(current)
    before = _values(previous) if previous is not None else {}
    notes = {
        "cache_hit_rate": f"from OpenRouter's analytics ({_days(current, current.cache_days)} of this week)",
        "cache_savings": f"what OpenRouter billed less: {current.cache_savings.note()}",
    }
    return [Efficiency(key, label, unit, now[key], before.get(key), notes.get(key, "")) for key, label, unit in METRICS]
