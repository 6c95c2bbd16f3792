"""The fake's seeded scenarios (``fake_openrouter.scenarios``): a spike injected through one app reaches its
target and is seen by every endpoint's data; a calm stretch has its busy days thinned; both deterministic."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fake_openrouter.dataset import Dataset, build
from fake_openrouter.scenarios import (
    OUTLIER_FACTOR,
    OUTLIER_MIN_USD,
    SPEND,
    apps_of,
    calm,
    day_counts,
    drop_outliers,
    inject_spike,
    model_day_spend,
    usual_spend,
)
from tests.fake_fixtures import FAKE_NOW

DAY = FAKE_NOW.date() - timedelta(days=3)


def added(ds: Dataset, model: str, day: date = DAY) -> list[tuple[str, str | None]]:
    start = datetime.combine(day, datetime.min.time())
    return ds.con.execute(
        """SELECT g.id, g.app_name FROM generations g JOIN generation_extras x USING (id)
           WHERE g.model_permaslug = ? AND g.created_at >= ? AND g.created_at < ? ORDER BY g.id""",
        [model, start, start + timedelta(days=1)],
    ).fetchall()


def test_a_spike_through_one_app_reaches_its_target_and_is_deterministic() -> None:
    ds, twin = build(FAKE_NOW), build(FAKE_NOW)
    busiest = ds.con.execute("SELECT model_permaslug FROM generations GROUP BY 1 ORDER BY sum(usage) DESC").fetchall()
    model = str(busiest[0][0])
    # A day of ordinary spend for the model: the data set has busy days of its own (and long prompts billed at
    # their override prices), which need no spike to exceed three times the usual.
    day = next(
        d
        for d in (DAY - timedelta(days=k) for k in range(14))
        if model_day_spend(ds, model, d) < max(3 * usual_spend(ds, model, d), 5.0)
    )
    app = apps_of(ds, model, day)[0]
    before = {row[0] for row in added(ds, model, day)}
    usual = usual_spend(ds, model, day)
    spike = inject_spike(ds, day, model, factor=3.0, min_usd=5.0, seed=1, app=app)
    assert spike.usual == usual and spike.before == model_day_spend(build(FAKE_NOW), model, day)
    assert spike.after >= max(3 * usual, 5.0) > spike.before and spike.added > 0
    new = [row for row in added(ds, model, day) if row[0] not in before]
    assert len(new) == spike.added and {a for _, a in new} == {app or None}  # all through that app, with extras
    assert inject_spike(twin, day, model, factor=3.0, min_usd=5.0, seed=1, app=app) == spike
    assert added(twin, model, day) == added(ds, model, day)  # the same ids: seeded


def test_calm_thins_the_busy_days_to_their_weekday_median() -> None:
    ds = build(FAKE_NOW)
    first, last = FAKE_NOW.date() - timedelta(days=120), FAKE_NOW.date() - timedelta(days=1)
    counts = day_counts(ds, first - timedelta(weeks=4), last + timedelta(weeks=4))
    thinned = calm(ds, first, last, seed=1)
    assert thinned  # the generator's busy days (about 2 %) exist in four months
    after = day_counts(ds, first, last)
    for day in thinned:
        assert after[day] < counts[day]
    untouched = [d for d in after if d not in thinned]
    assert all(after[d] == counts[d] for d in untouched)
    for table in ("generation_extras", "generation_bills"):
        orphans = ds.con.execute(f"SELECT count(*) FROM {table} x ANTI JOIN generations g USING (id)").fetchone()
        assert orphans == (0,), table


def test_drop_outliers_takes_out_the_one_off_requests_only() -> None:
    ds = build(FAKE_NOW)
    first, last = FAKE_NOW.date() - timedelta(days=60), FAKE_NOW.date() - timedelta(days=1)
    rows = f"""SELECT id, model_permaslug, {SPEND} AS spend, created_at FROM generations"""
    usual = dict(ds.con.execute(f"SELECT model_permaslug, median(spend) FROM ({rows}) GROUP BY 1").fetchall())
    inside = ds.con.execute(
        f"SELECT id, model_permaslug, spend FROM ({rows}) WHERE created_at >= ? AND created_at < ?",
        [datetime.combine(first, datetime.min.time()), datetime.combine(last + timedelta(days=1), datetime.min.time())],
    ).fetchall()
    one_off = {i for i, m, s in inside if s > OUTLIER_FACTOR * usual[m] and s > OUTLIER_MIN_USD}
    total = ds.con.execute("SELECT count(*) FROM generations").fetchone()
    assert one_off  # the long prompts at long-context prices exist in two months
    assert drop_outliers(ds, first, last) == len(one_off)
    left = {r[0] for r in ds.con.execute("SELECT id FROM generations").fetchall()}
    assert not one_off & left and total is not None and len(left) == total[0] - len(one_off)
    for table in ("generation_extras", "generation_bills"):
        orphans = ds.con.execute(f"SELECT count(*) FROM {table} x ANTI JOIN generations g USING (id)").fetchone()
        assert orphans == (0,), table
