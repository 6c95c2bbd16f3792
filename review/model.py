"""The weekly review as numbers: assembled from ``ReviewInputs`` by pure functions.

``Review`` is what the dashboard page shows and what ``orusage report weekly`` renders, so the page, the
HTML, the Markdown and the JSON hold the same numbers by construction. ``review.as_json.to_json`` is the one place
those numbers are written out.

Honest output over silent zeros: a week nothing is stored for says so (``status`` ``no_data``), a week
whose previous week is not stored has no comparison (``comparable`` False, no decomposition, no movers),
and every gap or partial day range is said in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from core import fmt
from queries.reads_routing import Route, reach_note
from review.decompose import ModelWeek, decompose, to_cents
from review.efficiency import Efficiency, efficiency
from review.inputs import KINDS, ReviewInputs, WeekFacts
from review.movers import Movers, compare, movers
from review.weeks import Period
from review.whatif import suggestions, volumes

OK = "ok"
NO_DATA = "no_data"  # no day of the week is stored
NO_USAGE = "no_usage"  # stored, and nothing was used

KIND_WORDS = {"model": "models", "app": "apps", "key": "API keys", "provider": "providers"}
KIND_TITLES = {"model": "Models", "app": "Apps", "key": "API keys", "provider": "Providers", "account": "Accounts"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Totals:
    """This week's and the week before's headline sums; None means not stored (never zero)."""

    spend: float | None
    spend_prev: float | None
    requests: int | None
    requests_prev: int | None
    tokens: int | None
    tokens_prev: int | None
    byok: float | None
    byok_prev: float | None


@dataclass(frozen=True)
class Change:
    """The spend change split into volume, mix and price, rounded to cents so that the parts add up to
    the total exactly (``decompose.to_cents``)."""

    total: float
    volume: float
    mix: float
    price: float


@dataclass(frozen=True)
class Budget:
    """Where this month stands today (not in the reviewed week): account-wide, and per configured budget."""

    today: date
    month: str  # '2026-11'
    month_done: float  # completed days of the month
    days_remaining: int  # today included
    spend_per_day: float | None  # average of the last 7 completed days
    burn_days: int
    projection: float | None  # the month-end forecast (queries.reads_overview.month_forecast), the budgets' own
    projection_low: float | None  # its 80 % band (None: flat, under 4 weeks of history)
    projection_high: float | None
    projection_pace: float | None  # USD a day, the last 28 completed days
    projection_note: str  # how it was made, in words (core.fmt.forecast_caption)
    credits_left: float | None
    days_of_credit: float | None
    budgets: pd.DataFrame  # queries.budgets.budget_overview: one row per configured budget


@dataclass(frozen=True)
class WhatIf:
    basis: str
    suggestions: pd.DataFrame  # review.whatif.SUGGESTION_COLUMNS
    unpriced: tuple[str, ...]  # top models without list prices
    volume: pd.DataFrame  # the week's volume per model (review_whatif.VOLUME_COLUMNS)
    cached_days: int  # days whose cached tokens are known


@dataclass(frozen=True)
class Review:
    week: str
    first: date
    last: date
    previous_week: str
    previous_first: date
    previous_last: date
    partial: bool
    today: date
    data_as_of: datetime | None
    known_from: date | None
    status: str
    comparable: bool
    notes: tuple[str, ...]
    totals: Totals
    change: Change | None
    by_model: pd.DataFrame  # model, label, spend_prev, spend, change, tokens_prev, tokens, volume, mix, price
    movers: dict[str, Movers]
    efficiency: list[Efficiency]
    budget: Budget
    what_if: WhatIf
    daily: pd.DataFrame  # weekday, day, day_prev, spend, spend_prev (None: day not stored)
    prices: pd.DataFrame  # models_current, for re-pricing at any model on the page
    waterfall: pd.DataFrame  # per model: list price → each step → billed (queries.waterfall), the reviewed days


def _range(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"


def _gap_notes(what: str, route: Route, days: int) -> list[str]:
    if not route.answerable:
        return [f"{what}: {route.unanswerable}"]
    notes = []
    missing = sum((g.last - g.first).days + 1 for g in route.gaps)
    for gap in route.gaps:
        why = reach_note(route) if gap.beyond_reach else "they are not stored yet (run `orusage ingest`)"
        notes.append(f"{what}: {days - missing} of {days} days stored; {_range(gap.first, gap.last)} missing: {why}.")
    return notes


def _notes(inputs: ReviewInputs, status: str, comparable: bool) -> list[str]:
    p, cur, prev = inputs.periods, inputs.current, inputs.previous
    notes: list[str] = []
    if p.partial:
        notes.append(
            f"{p.week.label} is still running: its completed days {_range(p.current.first, p.current.last)} "
            f"are compared with the same weekdays of {p.previous_week.label} "
            f"({_range(p.previous.first, p.previous.last)})."
        )
    if status == NO_DATA:
        if inputs.data.known_from is None:
            notes.append("Nothing has been ingested yet: run `orusage ingest`.")
        elif p.current.last < inputs.data.known_from:
            notes.append(
                f"No data is stored for {p.week.label}: the store's history starts on {inputs.data.known_from}."
            )
        else:
            notes.append(f"No data is stored for {p.week.label}: run `orusage ingest` (see `orusage status`).")
        return notes
    notes += _gap_notes(f"{p.week.label}", cur.routes["model"], cur.days)
    stored_before = prev.stored("model")
    if not comparable:
        first = f" (the store's history starts on {inputs.data.known_from})" if inputs.data.known_from else ""
        notes.append(
            f"Nothing is stored for the week before, {_range(p.previous.first, p.previous.last)}{first}: "
            "there is nothing to compare with, so no change, decomposition or movers are shown."
        )
    elif stored_before < p.previous.days:
        notes.append(
            f"Only {stored_before} of {p.previous.days} days of the week before are stored: changes against it "
            "are overstated."
        )
    # Apps, keys and providers come from other tables, which may reach less far back: say where they differ.
    for kind in KINDS[1:]:
        weeks = ((cur, p.week.label), (prev, "the week before")) if comparable else ((cur, p.week.label),)
        for week, name in weeks:
            if week.routes[kind].gaps != week.routes["model"].gaps or not week.routes[kind].answerable:
                notes += _gap_notes(f"{KIND_TITLES[kind]}, {name}", week.routes[kind], week.days)
    if status == NO_USAGE:
        notes.append(f"No usage in {_range(p.current.first, p.current.last)}.")
    return notes


def _totals(cur: WeekFacts, prev: WeekFacts, comparable: bool) -> Totals:
    def sums(week: WeekFacts) -> tuple[float, int, int, float]:
        m = week.by["model"]
        return (
            float(m["spend"].sum()),
            int(m["requests"].sum()),
            int((m["prompt"] + m["completion"]).sum()),
            float(m["byok"].sum()),
        )

    if not cur.stored("model"):
        return Totals(None, None, None, None, None, None, None, None)
    s, r, t, b = sums(cur)
    if not comparable:
        return Totals(s, None, r, None, t, None, b, None)
    ps, pr, pt, pb = sums(prev)
    return Totals(s, ps, r, pr, t, pt, b, pb)


def _model_weeks(frame: pd.DataFrame) -> dict[str, ModelWeek]:
    columns = (frame["model"].tolist(), frame["prompt"].tolist(), frame["completion"].tolist(), frame["spend"].tolist())
    return {
        str(model): ModelWeek(tokens=float(prompt + completion), spend=float(spend))
        for model, prompt, completion, spend in zip(*columns, strict=True)
    }


def _decomposition(cur: WeekFacts, prev: WeekFacts, labels: dict[str, str]) -> tuple[Change, pd.DataFrame]:
    before, after = _model_weeks(prev.by["model"]), _model_weeks(cur.by["model"])
    d = decompose(before, after)
    volume, mix, price = to_cents(d)
    change = Change(round(volume + mix + price, 2), volume, mix, price)
    rows = []
    for model, parts in d.by_model.items():
        b, a = before.get(model), after.get(model)
        rows.append(
            {
                "model": model,
                "label": labels.get(model, model),
                "spend_prev": b.spend if b else 0.0,
                "spend": a.spend if a else 0.0,
                "change": (a.spend if a else 0.0) - (b.spend if b else 0.0),
                "tokens_prev": int(b.tokens) if b else 0,
                "tokens": int(a.tokens) if a else 0,
                "volume": parts.volume,
                "mix": parts.mix,
                "price": parts.price,
            }
        )
    frame = pd.DataFrame(rows, columns=BY_MODEL_COLUMNS)
    if not frame.empty:
        frame = frame.assign(_size=frame["change"].abs()).sort_values(["_size", "model"], ascending=[False, True])
        frame = frame.drop(columns="_size").reset_index(drop=True)
    return change, frame


BY_MODEL_COLUMNS = [
    "model",
    "label",
    "spend_prev",
    "spend",
    "change",
    "tokens_prev",
    "tokens",
    "volume",
    "mix",
    "price",
]


def _daily(cur: WeekFacts, prev: WeekFacts, comparable: bool) -> pd.DataFrame:
    def spend_by_day(week: WeekFacts) -> dict[date, float | None]:
        stored = {d for s in week.routes["model"].segments for d in _days(s.first, s.last)}
        spent = {d: float(v) for d, v in zip(week.daily["date"], week.daily["spend"], strict=True)}
        return {d: (spent.get(d, 0.0) if d in stored else None) for d in _days(week.first, week.last)}

    now, before = spend_by_day(cur), spend_by_day(prev)
    rows = []
    for day in _days(cur.first, cur.last):
        day_prev = day - timedelta(days=7)
        rows.append(
            {
                "weekday": WEEKDAYS[day.weekday()],
                "day": day,
                "day_prev": day_prev,
                "spend": now[day],
                "spend_prev": before.get(day_prev) if comparable else None,
            }
        )
    return pd.DataFrame(rows, columns=["weekday", "day", "day_prev", "spend", "spend_prev"])


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _budget(inputs: ReviewInputs) -> Budget:
    o = inputs.data.outlook
    return Budget(
        today=o.today,
        month=f"{o.month_start:%Y-%m}",
        month_done=o.month_done,
        days_remaining=o.days_remaining,
        spend_per_day=o.spend_per_day,
        burn_days=o.burn_days,
        projection=o.month_forecast,
        projection_low=o.month_low,
        projection_high=o.month_high,
        projection_pace=o.forecast.pace if o.forecast else None,
        projection_note=fmt.forecast_caption(o.forecast),
        credits_left=o.credits_left,
        days_of_credit=o.days_left,
        budgets=inputs.data.budgets,
    )


def _labels(inputs: ReviewInputs, kind: str) -> dict[str, str]:
    if kind == "model":
        return inputs.data.model_labels
    if kind == "key":
        # A key the store never saw listed keeps its hash's first characters as a name, as elsewhere.
        hashes = {str(v) for week in (inputs.current, inputs.previous) for v in week.by["key"]["key"]}
        return {h: inputs.data.key_names.get(h, h[:10]) for h in hashes}
    return {}


def assemble(inputs: ReviewInputs) -> Review:
    p, cur, prev = inputs.periods, inputs.current, inputs.previous
    status = NO_DATA if cur.stored("model") == 0 else (NO_USAGE if cur.by["model"].empty else OK)
    comparable = status != NO_DATA and prev.stored("model") > 0
    change, by_model = (None, pd.DataFrame(columns=BY_MODEL_COLUMNS))
    if comparable:
        change, by_model = _decomposition(cur, prev, inputs.data.model_labels)
    found: dict[str, Movers] = {}
    for kind in KINDS:
        if kind == "account" and len({*cur.by[kind][kind], *prev.by[kind][kind]}) < 2:
            continue  # one account: its movers would be the whole week again
        table = compare(
            cur.by[kind],
            prev.by[kind],
            kind,
            Period(cur.first, cur.last),
            inputs.data.first_seen.get(kind, {}),
            _labels(inputs, kind),
        )
        kind_comparable = comparable and prev.stored(kind) > 0 and cur.stored(kind) > 0
        found[kind] = movers(table, kind, kind_comparable)
    volume = volumes(cur.by["model"], cur.cache)
    suggested, unpriced = suggestions(volume, inputs.data.prices, inputs.today, inputs.data.model_labels)
    return Review(
        week=p.week.label,
        first=p.current.first,
        last=p.current.last,
        previous_week=p.previous_week.label,
        previous_first=p.previous.first,
        previous_last=p.previous.last,
        partial=p.partial,
        today=inputs.today,
        data_as_of=inputs.data.as_of.finished_at,
        known_from=inputs.data.known_from,
        status=status,
        comparable=comparable,
        notes=tuple(_notes(inputs, status, comparable)),
        totals=_totals(cur, prev, comparable),
        change=change,
        by_model=by_model,
        movers=found,
        efficiency=efficiency(cur, prev if comparable else None),
        budget=_budget(inputs),
        what_if=WhatIf(
            basis="list prices as last fetched from /models (models_current), for both sides",
            suggestions=suggested,
            unpriced=unpriced,
            volume=volume,
            cached_days=cur.cache_days,
        ),
        daily=_daily(cur, prev, comparable),
        prices=inputs.data.prices,
        waterfall=inputs.data.waterfall.assign(
            label=[inputs.data.model_labels.get(str(m), str(m)) for m in inputs.data.waterfall["model"]]
        ),
    )
