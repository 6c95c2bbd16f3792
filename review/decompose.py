"""Split a week's spend change into volume, mix and price, per model, by a symmetric (Shapley) split.

spend = V · Σₘ sₘ · pₘ with V the total tokens, sₘ model m's share of them and pₘ its cost per token.
For one model's term V·s·p, the Shapley value of each factor averages its marginal effect over every
order in which the three factors could change; for a product of three that is, for volume,

    ΔV · [ (s₀p₀ + s₁p₁)/3 + (s₀p₁ + s₁p₀)/6 ]

and the same with the roles turned for mix (s) and price (p). The three parts add up exactly to the
term's change, and a factor that did not change gets zero. A model that appears or vanishes has no
price on one side, so its whole term counts as mix: a change of which models are used.

The arithmetic is exact (fractions): shares of a few tokens against a price of dollars per token
cancel badly in floating point, and the parts must add up to the change to the cent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class ModelWeek:
    tokens: float
    spend: float


@dataclass(frozen=True)
class Parts:
    volume: float
    mix: float
    price: float

    @property
    def total(self) -> float:
        return self.volume + self.mix + self.price


@dataclass(frozen=True)
class Decomposition:
    before: float
    after: float
    by_model: dict[str, Parts]
    overall: Parts
    exact_overall: tuple[Fraction, Fraction, Fraction]  # volume, mix, price, for rounding to cents

    @property
    def change(self) -> float:
        return self.after - self.before


def _shapley3(a0: Fraction, a1: Fraction, b0: Fraction, b1: Fraction, c0: Fraction, c1: Fraction) -> Fraction:
    """Shapley value of factor a in the product a·b·c going from (a0,b0,c0) to (a1,b1,c1)."""
    return (a1 - a0) * ((b0 * c0 + b1 * c1) / 3 + (b0 * c1 + b1 * c0) / 6)


def _parts(v0: Fraction, v1: Fraction, t0: Fraction, t1: Fraction, x0: Fraction, x1: Fraction) -> tuple[Fraction, ...]:
    """``_shapley3`` for volume, mix and price of one model (tokens t, spend x, total tokens v), exactly.

    With s = t/v and p = x/t the three values share the denominator 6·v0·v1·t0·t1, so they are worked out
    on integers (every input is a float, hence a dyadic fraction: scaled by the largest denominator, all are
    integers) and reduced once each, rather than through some thirty Fraction operations.
    """
    q = max(f.denominator for f in (v0, v1, t0, t1, x0, x1))
    V0, V1, T0, T1, X0, X1 = (f.numerator * (q // f.denominator) for f in (v0, v1, t0, t1, x0, x1))
    den = 6 * V0 * V1 * T0 * T1 * q
    volume = (V1 - V0) * (2 * (X0 * V1 + X1 * V0) * T0 * T1 + T0 * T0 * X1 * V1 + T1 * T1 * X0 * V0)
    mix = (T1 * V0 - T0 * V1) * (2 * (V0 * X0 * T1 + V1 * X1 * T0) + V0 * X1 * T0 + V1 * X0 * T1)
    price = (X1 * T0 - X0 * T1) * (2 * (T0 + T1) * V0 * V1 + V0 * V0 * T1 + V1 * V1 * T0)
    return Fraction(volume, den), Fraction(mix, den), Fraction(price, den)


def decompose(before: Mapping[str, ModelWeek], after: Mapping[str, ModelWeek]) -> Decomposition:
    v0 = sum((Fraction(m.tokens) for m in before.values()), Fraction(0))
    v1 = sum((Fraction(m.tokens) for m in after.values()), Fraction(0))
    exact: dict[str, tuple[Fraction, ...]] = {}
    for model in sorted(set(before) | set(after)):
        w0, w1 = before.get(model), after.get(model)
        spend0 = w0.spend if w0 else 0.0
        spend1 = w1.spend if w1 else 0.0
        if not w0 or not w1 or w0.tokens <= 0 or w1.tokens <= 0:
            # Appeared, vanished, or no tokens on one side (no price per token to compare): all mix.
            exact[model] = (Fraction(0), Fraction(spend1) - Fraction(spend0), Fraction(0))
            continue
        exact[model] = _parts(v0, v1, Fraction(w0.tokens), Fraction(w1.tokens), Fraction(w0.spend), Fraction(w1.spend))
    by_model = {model: Parts(float(v), float(m), float(p)) for model, (v, m, p) in exact.items()}
    totals = (
        sum((e[0] for e in exact.values()), Fraction(0)),
        sum((e[1] for e in exact.values()), Fraction(0)),
        sum((e[2] for e in exact.values()), Fraction(0)),
    )
    overall = Parts(float(totals[0]), float(totals[1]), float(totals[2]))
    return Decomposition(
        before=sum(m.spend for m in before.values()),
        after=sum(m.spend for m in after.values()),
        by_model=by_model,
        overall=overall,
        exact_overall=totals,
    )


def to_cents(decomposition: Decomposition) -> tuple[float, float, float]:
    """Volume, mix and price rounded to cents so that they add up exactly to the change rounded to cents
    (the largest remainders take the leftover cents)."""
    exact = decomposition.exact_overall
    target = round((Fraction(decomposition.after) - Fraction(decomposition.before)) * 100)
    raw = [part * 100 for part in exact]
    floors = [math.floor(x) for x in raw]
    leftover = target - sum(floors)
    order = sorted(range(3), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[: max(leftover, 0)]:
        floors[i] += 1
    for i in order[::-1][: max(-leftover, 0)]:
        floors[i] -= 1
    return floors[0] / 100, floors[1] / 100, floors[2] / 100
