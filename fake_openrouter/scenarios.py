"""Seeded scenarios on a built data set, for testing and measuring the anomaly detector: spikes injected
into a model's day, and calm stretches with the generator's busy days taken out.

Both change the data set's own tables (``generations``, ``generation_extras`` and ``generation_bills``), so
every endpoint — activity, analytics, keys, credits, generations — sees the same story. Both are
deterministic for a seed.

* ``inject_spike``: copies of the model's own generations (from the same weekday of the weeks before, so
  with their apps, keys, providers, sizes and times of day) are added to the day until the model's spend
  that day reaches ``factor`` × its usual (the median of the four same weekdays before) and at least
  ``min_usd``.
* ``calm``: on each day of a stretch whose generation count is above 1.3 × the median of its weekday over
  the surrounding weeks (the generator's occasional busy days), generations are removed at random down to
  that median. What is left is ordinary traffic: every alert found there is a false alert.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from fake_openrouter.dataset import Dataset

SPEND = "usage + byok_usage_inference"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BUSY_RATIO = 1.3


@dataclass(frozen=True)
class Spike:
    day: date
    model: str  # permaslug
    usual: float  # the model's median spend on the four same weekdays before
    before: float  # its spend that day before the spike
    after: float  # and after
    added: int  # generations added


def _start(day: date) -> datetime:
    return datetime.combine(day, time())


def model_day_spend(ds: Dataset, model: str, day: date) -> float:
    row = ds.con.execute(
        f"SELECT coalesce(sum({SPEND}), 0) FROM generations "  # noqa: S608 -- constant
        "WHERE model_permaslug = ? AND created_at >= ? AND created_at < ?",
        [model, _start(day), _start(day + timedelta(days=1))],
    ).fetchone()
    return float(row[0]) if row else 0.0


def usual_spend(ds: Dataset, model: str, day: date) -> float:
    """The model's median spend on the four same weekdays before ``day``."""
    return statistics.median(model_day_spend(ds, model, day - timedelta(weeks=k)) for k in range(1, 5))


def apps_of(ds: Dataset, model: str, before: date) -> list[str]:
    """The apps (titles; '' for requests without one) that used ``model`` before ``before``, busiest first."""
    rows = ds.con.execute(
        f"""SELECT coalesce(app_name, ''), sum({SPEND}) FROM generations
            WHERE model_permaslug = ? AND created_at < ? GROUP BY 1 ORDER BY 2 DESC, 1""",  # noqa: S608
        [model, _start(before)],
    ).fetchall()
    return [str(r[0]) for r in rows]


def inject_spike(
    ds: Dataset,
    day: date,
    model: str,
    *,
    factor: float = 3.0,
    min_usd: float = 5.0,
    seed: int = 0,
    app: str | None = None,
) -> Spike:
    """Raise ``model``'s spend on ``day`` to max(``factor`` × usual, ``min_usd``) with copies of its own
    generations (only those of ``app``, a title as ``apps_of`` gives it, when given: a runaway app). The
    day must be within the data set (today only up to its ``now``)."""
    rng = np.random.default_rng([seed, day.toordinal(), sum(model.encode())])
    usual = usual_spend(ds, model, day)
    before = model_day_spend(ds, model, day)
    target = max(factor * usual, min_usd)
    app_filter = "true" if app is None else "coalesce(app_name, '') = ?"
    app_param = [] if app is None else [app]
    # Source rows: the model's generations on the same weekdays before, else any day before.
    offset = "epoch_us(created_at) - epoch_us(date_trunc('day', created_at))"
    sources = ds.con.execute(
        f"""SELECT id, {SPEND}, {offset} FROM generations WHERE model_permaslug = ? AND created_at < ?
            AND dayofweek(created_at) = ? AND {app_filter} ORDER BY created_at, id""",  # noqa: S608
        [model, _start(day), day.isoweekday() % 7, *app_param],
    ).fetchall()
    if not sources:
        sources = ds.con.execute(
            f"""SELECT id, {SPEND}, {offset} FROM generations WHERE model_permaslug = ? AND created_at < ?
                AND {app_filter} ORDER BY created_at, id""",  # noqa: S608
            [model, _start(day), *app_param],
        ).fetchall()
    if not sources:
        raise ValueError(f"{model} has no generations before {day} to copy")
    limit = ds.now.replace(tzinfo=None) if day == ds.today else None
    picked: list[tuple[str, str, datetime]] = []
    total = before
    while total < target:
        source_id, spend, offset_us = sources[int(rng.integers(0, len(sources)))]
        when = _start(day) + timedelta(microseconds=int(offset_us))
        if limit is not None and when > limit:
            when = _start(day) + (limit - _start(day)) * float(rng.random())
        suffix = "".join(_ALPHABET[int(i)] for i in rng.integers(0, len(_ALPHABET), 20))
        picked.append((source_id, f"gen-{int(when.timestamp())}-{suffix}", when))
        total += float(spend) if float(spend) > 0 else 0.0
        if len(picked) > 200_000:
            raise ValueError(f"{model} costs too little per generation to reach {target:.2f} on {day}")
    _copy(ds, picked)
    return Spike(day, model, usual, before, model_day_spend(ds, model, day), len(picked))


def _copy(ds: Dataset, picked: list[tuple[str, str, datetime]]) -> None:
    """Insert copies of generations under new ids and times (their extras too)."""
    ds.con.execute("CREATE OR REPLACE TEMP TABLE _picked (source VARCHAR, id VARCHAR, created_at TIMESTAMP)")
    ds.con.executemany("INSERT INTO _picked VALUES (?, ?, ?)", picked)
    columns = [r[0] for r in ds.con.execute("DESCRIBE generations").fetchall()]
    select = ", ".join(f"p.{c}" if c in ("id", "created_at") else f"g.{c}" for c in columns)
    ds.con.execute(f"INSERT INTO generations SELECT {select} FROM _picked p JOIN generations g ON g.id = p.source")  # noqa: S608
    for table in ("generation_extras", "generation_bills"):  # what the bill was made of travels with it
        extras = [r[0] for r in ds.con.execute(f"DESCRIBE {table}").fetchall()]
        select = ", ".join("p.id" if c == "id" else f"x.{c}" for c in extras)
        sql = f"INSERT INTO {table} SELECT {select} FROM _picked p JOIN {table} x ON x.id = p.source"  # noqa: S608
        ds.con.execute(sql)
    with ds.lock:
        ds.derived.pop("generation", None)  # /generation's lookup predates these ids
    ds.con.execute("DROP TABLE _picked")


def day_counts(ds: Dataset, first: date, last: date) -> dict[date, int]:
    rows = ds.con.execute(
        "SELECT CAST(created_at AS DATE), count(*) FROM generations "
        "WHERE created_at >= ? AND created_at < ? GROUP BY 1",
        [_start(first), _start(last + timedelta(days=1))],
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def calm(ds: Dataset, first: date, last: date, *, seed: int = 0) -> list[date]:
    """Take the busy days out of ``first..last``: each day above 1.3 × its weekday's median count over the
    four weeks either side is thinned at random to that median. Returns the days thinned."""
    counts = day_counts(ds, first - timedelta(weeks=4), last + timedelta(weeks=4))
    thinned: list[date] = []
    day = first
    while day <= last:
        around = [counts.get(day + timedelta(weeks=k), 0) for k in range(-4, 5) if k != 0]
        usual = statistics.median(around)
        count = counts.get(day, 0)
        if usual > 0 and count > BUSY_RATIO * usual:
            rng = np.random.default_rng([seed, day.toordinal(), 2])
            ids = [
                r[0]
                for r in ds.con.execute(
                    "SELECT id FROM generations WHERE created_at >= ? AND created_at < ? ORDER BY id",
                    [_start(day), _start(day + timedelta(days=1))],
                ).fetchall()
            ]
            drop = [ids[int(i)] for i in rng.choice(len(ids), size=count - int(usual), replace=False)]
            ds.con.execute("DELETE FROM generations WHERE list_contains(?, id)", [drop])
            ds.con.execute("DELETE FROM generation_extras WHERE list_contains(?, id)", [drop])
            ds.con.execute("DELETE FROM generation_bills WHERE list_contains(?, id)", [drop])
            thinned.append(day)
        day += timedelta(days=1)
    with ds.lock:
        ds.derived.pop("generation", None)  # /generation's lookup still holds the ids removed
    return thinned


OUTLIER_FACTOR = 20.0  # a request costing this many times its model's median request …
OUTLIER_MIN_USD = 0.5  # … and at least this much is a one-off (a prompt of 200k+ tokens at a long-context price)


def drop_outliers(ds: Dataset, first: date, last: date) -> int:
    """Take the one-off requests out of ``first..last``: those costing over ``OUTLIER_FACTOR`` × their model's
    median request (over the whole dataset) and over ``OUTLIER_MIN_USD``. With ``calm`` this makes an account
    on which nothing unusual happens; returns how many requests were removed."""
    ids = [
        r[0]
        for r in ds.con.execute(
            f"""WITH g AS (SELECT id, model_permaslug, {SPEND} AS spend, created_at FROM generations)
                SELECT id FROM g JOIN (SELECT model_permaslug, median(spend) AS usual FROM g GROUP BY 1)
                     USING (model_permaslug)
                WHERE created_at >= ? AND created_at < ? AND spend > ? * usual AND spend > ?
                ORDER BY id""",  # noqa: S608 -- constant
            [_start(first), _start(last + timedelta(days=1)), OUTLIER_FACTOR, OUTLIER_MIN_USD],
        ).fetchall()
    ]
    for table in ("generations", "generation_extras", "generation_bills"):
        ds.con.execute(f"DELETE FROM {table} WHERE list_contains(?, id)", [ids])  # noqa: S608 -- constant names
    with ds.lock:
        ds.derived.pop("generation", None)  # /generation's lookup still holds the ids removed
    return len(ids)
