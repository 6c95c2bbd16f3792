"""The weekly change split into volume, mix and price: known answers."""

from __future__ import annotations

from dataclasses import astuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from review.decompose import ModelWeek, decompose, to_cents

BASE = {"a": ModelWeek(tokens=1_000_000, spend=10.0), "b": ModelWeek(tokens=3_000_000, spend=6.0)}


def scaled(weeks: dict[str, ModelWeek], tokens: float = 1.0, price: float = 1.0) -> dict[str, ModelWeek]:
    return {m: ModelWeek(w.tokens * tokens, w.spend * tokens * price) for m, w in weeks.items()}


def test_pure_volume() -> None:
    d = decompose(BASE, scaled(BASE, tokens=1.5))
    assert d.change == pytest.approx(8.0)
    assert d.overall.volume == pytest.approx(8.0) and d.overall.mix == pytest.approx(0) and d.overall.price == 0


def test_pure_price() -> None:
    d = decompose(BASE, scaled(BASE, price=0.5))
    assert d.overall.price == pytest.approx(-8.0) and d.overall.volume == 0 and d.overall.mix == pytest.approx(0)


def test_pure_mix() -> None:
    # Same total tokens and per-model prices; 1M tokens move from cheap b to expensive a.
    after = {"a": ModelWeek(2_000_000, 20.0), "b": ModelWeek(2_000_000, 4.0)}
    d = decompose(BASE, after)
    assert d.change == pytest.approx(8.0)
    assert d.overall.mix == pytest.approx(8.0) and d.overall.volume == 0 and d.overall.price == pytest.approx(0)


def test_all_three_sum_exactly_to_the_change() -> None:
    after = {"a": ModelWeek(2_500_000, 30.0), "b": ModelWeek(2_000_000, 5.0)}
    d = decompose(BASE, after)
    assert d.overall.total == pytest.approx(d.change, abs=1e-12)
    assert all(p.volume and p.mix and p.price for p in d.by_model.values())
    for model, parts in d.by_model.items():
        assert parts.total == pytest.approx(after[model].spend - BASE[model].spend, abs=1e-12)


def test_a_new_model_and_a_vanished_one_count_as_mix() -> None:
    after = {"a": ModelWeek(1_000_000, 10.0), "c": ModelWeek(3_000_000, 9.0)}
    d = decompose(BASE, after)
    assert astuple(d.by_model["c"]) == pytest.approx((0.0, 9.0, 0.0))
    assert astuple(d.by_model["b"]) == pytest.approx((0.0, -6.0, 0.0))
    assert d.overall.total == pytest.approx(d.change)


def test_first_week_of_history_and_empty_weeks() -> None:
    assert astuple(decompose({}, BASE).overall) == pytest.approx((0.0, 16.0, 0.0))
    empty = decompose({}, {})
    assert empty.change == pytest.approx(0) and astuple(empty.overall) == pytest.approx((0.0, 0.0, 0.0))


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from("abcdef"),
        st.tuples(st.floats(1, 1e9), st.floats(0, 1e4)),
        max_size=6,
    ),
    st.dictionaries(
        st.sampled_from("abcdef"),
        st.tuples(st.floats(1, 1e9), st.floats(0, 1e4)),
        max_size=6,
    ),
)
def test_parts_always_sum_to_the_change_to_the_cent(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> None:
    d = decompose(
        {m: ModelWeek(t, s) for m, (t, s) in before.items()}, {m: ModelWeek(t, s) for m, (t, s) in after.items()}
    )
    scale = max(abs(d.overall.volume), abs(d.overall.mix), abs(d.overall.price), 1.0)
    assert d.overall.total == pytest.approx(d.change, abs=1e-12 * scale + 1e-9)
    cents = to_cents(d)
    assert round(sum(cents) * 100) == round(d.change * 100)  # the parts shown add up to the change shown
