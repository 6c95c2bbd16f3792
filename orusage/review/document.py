"""The weekly report's content as plain blocks (headings, paragraphs, lists, tables, figures): one content
definition, rendered to Markdown and HTML by ``orusage.review.render``. Pure: a ``Review`` in, blocks out.

Numbers are formatted with the dashboard's own formatters, so the report reads as the page does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from charts.weekly import BRIDGE, DAILY, MODEL_PARTS, MOVERS, WHAT_IF, efficiency_change, efficiency_text
from core import fmt
from review.inputs import rows
from review.model import KIND_TITLES, NO_DATA, Review
from review.movers import BACK, NEW, Movers
from review.whatif import MIN_SAVING

KIND_SOURCES = {
    "model": "activity, analytics by model before it",
    "app": "analytics by model × app",
    "key": "activity per API key, analytics by key × model before it",
    "provider": "activity, analytics by model × provider before it (31 days)",
}
TOP_MODELS_TABLE = 10


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str  # `backticks` mark code; nothing else is markup


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]  # right-aligned columns


@dataclass(frozen=True)
class Figure:
    name: str  # the chart's name (charts.weekly)


Block = Heading | Paragraph | Bullets | Table | Figure


def signed_usd(amount: float | None) -> str:
    return "—" if amount is None else fmt.signed_usd(amount)


def signed_share(value: float | None) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:+.1%}".replace("-", "−")


def _pct(now: float, before: float | None) -> float | None:
    return (now - before) / abs(before) if before else None


def title(review: Review) -> str:
    return f"Weekly cost review {review.week}"


def period_line(review: Review) -> str:
    partial = " (so far: the week is still running)" if review.partial else ""
    return (
        f"{fmt.day_range(review.first, review.last)} (UTC){partial}, compared with "
        f"{review.previous_week} ({fmt.day_range(review.previous_first, review.previous_last)}). "
        f"Data as of {fmt.utc_time(review.data_as_of)}."
    )


def summary_rows(review: Review) -> list[tuple[str, str, str, str]]:
    """(what, this week, the week before, change) for the headline numbers."""
    t = review.totals
    return [
        ("Spend", fmt.usd(t.spend), fmt.usd(t.spend_prev), _change(t.spend, t.spend_prev, money=True)),
        (
            "Requests",
            _opt(t.requests, fmt.count),
            _opt(t.requests_prev, fmt.count),
            _change(t.requests, t.requests_prev),
        ),
        ("Tokens", _opt(t.tokens, fmt.tokens), _opt(t.tokens_prev, fmt.tokens), _change(t.tokens, t.tokens_prev)),
        ("of which BYOK spend", fmt.usd(t.byok), fmt.usd(t.byok_prev), _change(t.byok, t.byok_prev, money=True)),
    ]


def _opt(value: float | None, show: Callable[[float], str]) -> str:
    return "—" if value is None else show(value)


def _change(
    now: float | None, before: float | None, show: Callable[[float], str] = fmt.count, money: bool = False
) -> str:
    if now is None or before is None:
        return "—"
    pct, delta = _pct(now, before), now - before
    head = signed_usd(delta) if money else ("+" if delta >= 0 else "−") + show(abs(delta))
    return f"{head} ({signed_share(pct)})" if pct is not None else head


def change_sentence(review: Review) -> str:
    c = review.change
    if c is None:
        return "No comparison: the week before is not stored."
    return (
        f"Spend changed by {signed_usd(c.total)}: volume {signed_usd(c.volume)} (how many tokens), "
        f"mix {signed_usd(c.mix)} (which models, new and vanished ones included), price {signed_usd(c.price)} "
        "(cost per token of each model). The three parts add up to the change."
    )


def model_rows(review: Review, top: int = TOP_MODELS_TABLE) -> list[tuple[str, ...]]:
    return [
        (
            str(r["label"]),
            fmt.usd(r["spend_prev"]),
            fmt.usd(r["spend"]),
            signed_usd(r["change"]),
            signed_usd(r["volume"]),
            signed_usd(r["mix"]),
            signed_usd(r["price"]),
        )
        for r in rows(review.by_model.head(top))
    ]


def mover_rows(m: Movers) -> list[tuple[str, ...]]:
    frame = pd.concat([m.increases, m.decreases]).drop_duplicates("value")
    return [
        (
            str(r["label"]),
            fmt.usd(r["spend_prev"]),
            fmt.usd(r["spend"]),
            signed_usd(r["change"]),
            signed_share(r["change_pct"]),
        )
        for r in rows(frame)
    ]


def _names(frame: pd.DataFrame, money: str) -> str:
    return ", ".join(f"{label} ({fmt.usd(v)})" for label, v in zip(frame["label"], frame[money], strict=True))


def mover_lines(m: Movers, relative: bool = True) -> list[str]:
    lines = []
    if relative and not m.relative.empty:
        lines.append(
            "Largest relative changes: "
            + ", ".join(f"{r['label']} {signed_share(r['change_pct'])}" for r in rows(m.relative))
        )
    new = m.appeared.loc[m.appeared["status"] == NEW]
    back = m.appeared.loc[m.appeared["status"] == BACK]
    if not new.empty:
        lines.append("New this week: " + _names(new, "spend"))
    if not back.empty:
        lines.append("Back after a pause: " + _names(back, "spend"))
    if not m.silent.empty:
        lines.append("Went silent: " + _names(m.silent, "spend_prev") + " the week before")
    return lines


def efficiency_rows(review: Review) -> list[tuple[str, ...]]:
    return [
        (
            e.label,
            efficiency_text(e.unit, e.current),
            efficiency_text(e.unit, e.previous),
            efficiency_change(e.unit, e.change),
            e.note,
        )
        for e in review.efficiency
    ]


def budget_lines(review: Review) -> list[str]:
    b = review.budget
    lines = [
        f"{b.month} so far (completed days, as of {b.today}): {fmt.usd(b.month_done)}.",
        (
            f"Month-end forecast: {fmt.usd(b.projection)} ({b.projection_note}), made as the budgets make theirs."
            if b.projection is not None
            else "Month-end forecast: not enough recent days stored (it takes a week)."
        ),
    ]
    if b.credits_left is not None:
        days = f", about {b.days_of_credit:,.0f} days at the projected pace" if b.days_of_credit is not None else ""
        lines.append(f"Credits left: {fmt.usd(b.credits_left)}{days}.")
    return lines


WATERFALL_COLUMNS = ("Model", "At list", "Cache", "Endpoint", "Tier", "BYOK fee", "Fees", "Residual", "Billed")


def waterfall_rows(review: Review, top: int = TOP_MODELS_TABLE) -> list[tuple[str, ...]]:
    """Per model (the biggest spenders, the rest as one row, then the total): list price, each step, the
    residual, billed. Unpriced spend counts in the residual column's row apart."""
    w = review.waterfall
    if w.empty:
        return []
    steps = ["list_cost", "cache", "endpoint", "tier", "byok_fee", "fees", "residual", "billed"]
    per = w.groupby(["model", "label"], as_index=False)[[*steps, "unpriced"]].sum()
    per = per.sort_values("billed", ascending=False)
    shown = per.head(top)
    rest = per.iloc[top:]
    out = [(str(r["label"]), *(fmt.usd(float(r[s])) for s in steps)) for r in rows(shown)]
    if len(rest):
        out.append((f"other ({len(rest)} models)", *(fmt.usd(float(rest[s].sum())) for s in steps)))
    if float(per["unpriced"].sum()):
        out.append(("unpriced (no list price)", *(["—"] * 7), fmt.usd(float(per["unpriced"].sum()))))
    out.append(("Total", *(fmt.usd(float(per[s].sum())) for s in steps)))
    return out


def budget_rows(review: Review) -> list[tuple[str, ...]]:
    return [
        (
            str(r["budget"]),
            str(r["scope"]),
            str(r["period_label"]),
            fmt.usd(r["spend_usd"]),
            fmt.usd(r["limit_usd"]),
            fmt.share(r["used_share"]),
            fmt.usd(None if pd.isna(r["forecast_usd"]) else float(r["forecast_usd"])),
        )
        for r in rows(review.budget.budgets)
    ]


def what_if_rows(review: Review) -> list[tuple[str, ...]]:
    return [
        (
            str(r["label"]),
            fmt.usd(r["spend"]),
            fmt.usd(r["list_cost"]),
            str(r["alternative_label"]),
            fmt.usd(r["alternative_cost"]),
            fmt.usd(r["saving"]),
            fmt.share(r["saving_share"]),
        )
        for r in rows(review.what_if.suggestions)
    ]


def what_if_intro(review: Review) -> str:
    w = review.what_if
    cached = (
        "Cached prompt tokens are priced at each model's cache-read price."
        if w.cached_days >= (review.last - review.first).days + 1
        else f"Cached tokens are known for {w.cached_days} of the week's days only; the rest count as uncached."
    )
    return (
        "This week's real token volume of the top models, re-priced at cheaper models' list prices (prompt, "
        "completion, cache read, per-request fee), against its cost at the used model's own list prices — not the "
        f"billed spend — so the difference is the model choice alone. Prices: {w.basis}. Alternatives are text "
        f"models with at least the same context length and at least {MIN_SAVING:.0%} cheaper on this volume, "
        f"the closest in cost first; a price comparison, not a quality judgement. {cached}"
    )


def blocks(review: Review, charts: frozenset[str]) -> list[Block]:
    """The report, top to bottom. ``charts``: the names of the charts available as images."""
    out: list[Block] = [Heading(1, title(review)), Paragraph(period_line(review))]
    if review.notes:
        out.append(Bullets(review.notes))
    if review.status == NO_DATA:
        return out
    out += [Heading(2, "Summary"), Table(("", "This week", "Week before", "Change"), tuple(summary_rows(review)),
                                         (False, True, True, True))]  # fmt: skip
    out += [Heading(2, "Why spend changed"), Paragraph(change_sentence(review))]
    if review.change is not None:
        out += [Figure(n) for n in (BRIDGE,) if n in charts]
        columns = ("Model", "Week before", "This week", "Change", "Volume", "Mix", "Price")
        out.append(Table(columns, tuple(model_rows(review)), (False, *([True] * 6))))
        out += [Figure(n) for n in (MODEL_PARTS,) if n in charts]
    out += [Heading(2, "Spend per day")] + [Figure(n) for n in (DAILY,) if n in charts]
    out.append(Heading(2, "Top movers"))
    for kind, m in review.movers.items():
        out.append(Heading(3, KIND_TITLES[kind]))
        if not m.comparable:
            out.append(Paragraph("No comparison: the week before is not stored for this."))
            continue
        changed = mover_rows(m)
        if changed:
            out.append(Table(("", "Week before", "This week", "Change", "Change %"), tuple(changed),
                             (False, True, True, True, True)))  # fmt: skip
        else:
            out.append(Paragraph("No change."))
        if kind == "model":
            out += [Figure(n) for n in (f"{MOVERS}_model",) if n in charts]
        lines = mover_lines(m)
        if lines:
            out.append(Bullets(tuple(lines)))
        out.append(Paragraph(f"From {KIND_SOURCES[kind]}. Percentages only where either week spent at least $1."))
    out.append(Heading(2, "Efficiency"))
    out.append(Table(("", "This week", "Week before", "Change", "Note"), tuple(efficiency_rows(review)),
                     (False, True, True, True, False)))  # fmt: skip
    waterfall = waterfall_rows(review)
    if waterfall:
        out += [
            Heading(2, "Effective price: from list price to billed"),
            Table(WATERFALL_COLUMNS, tuple(waterfall), (False, *([True] * 8))),
            Paragraph(
                "Each step from its own source (docs/definitions.md): list prices in force each day, cache savings, "
                "endpoint prices and overrides and service tiers per generation where records hold the day, BYOK "
                "and other fees from analytics. The residual is what no stored field explains."
            ),
        ]
    out += [Heading(2, "Budget and month-end forecast"), Bullets(tuple(budget_lines(review)))]
    if not review.budget.budgets.empty:
        columns = ("Budget", "Scope", "Period", "Spent", "Limit", "Used", "Forecast")
        out.append(Table(columns, tuple(budget_rows(review)), (False, False, False, True, True, True, True)))
        out.append(Paragraph("Budgets as the last `orusage alerts check` evaluated them."))
    out += [Heading(2, "What if: cheaper models"), Paragraph(what_if_intro(review))]
    suggested = what_if_rows(review)
    if suggested:
        columns = ("Model", "Billed", "At its list prices", "Alternative", "At the alternative's", "Saving", "Saving %")
        out.append(Table(columns, tuple(suggested), (False, True, True, False, True, True, True)))
        out += [Figure(n) for n in (WHAT_IF,) if n in charts]
    else:
        out.append(Paragraph("No cheaper alternative found for this week's top models."))
    if review.what_if.unpriced:
        out.append(Paragraph("No list prices stored for: " + ", ".join(review.what_if.unpriced) + "."))
    out.append(
        Paragraph(
            "Spend = usage + BYOK inference (OpenRouter's total_usage). Days are UTC; weeks run Monday to Sunday. "
            "Generated by `orusage report weekly`."
        )
    )
    return out


def summary_text(review: Review) -> str:
    """A few plain lines for chat and terminals (Slack, stdout): the headline, the split, the top movers."""
    lines = [period_line(review)]
    if review.status == NO_DATA:
        return "\n".join([*lines, *review.notes])
    t = review.totals
    lines.append(f"Spend {fmt.usd(t.spend)} (week before {fmt.usd(t.spend_prev)}).")
    lines.append(change_sentence(review))
    m = review.movers["model"]
    if m.comparable and not m.increases.empty:
        lines.append(
            "Up most: " + ", ".join(f"{r['label']} {signed_usd(r['change'])}" for r in rows(m.increases.head(3)))
        )
    if m.comparable and not m.decreases.empty:
        lines.append(
            "Down most: " + ", ".join(f"{r['label']} {signed_usd(r['change'])}" for r in rows(m.decreases.head(3)))
        )
    lines += budget_lines(review)[1:2]
    return "\n".join(lines)
