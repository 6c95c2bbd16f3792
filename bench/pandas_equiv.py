"""The baseline: each page's main aggregations in idiomatic vectorised pandas over the generation rows.

Run in a child process::

    python -m bench.pandas_equiv GENERATIONS.parquet SNAPSHOT TODAY OUT.json

The rows are loaded once (Parquet → Arrow → pandas, dimension columns as categoricals, ``spend`` and
``completion_only`` added): that load is timed apart. Each page function then computes what the page
shows for a filter set, from the rows in memory: the same answers as the dashboard (whose daily facts
are aggregates of exactly these rows). The Data health page reads ``coverage``, loaded likewise.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

Frame = pd.DataFrame
DIMS = ["model", "provider", "app", "key", "workspace"]
SUMS = ["spend", "byok", "prompt", "completion", "reasoning", "completion_only", "cached"]


class Filters:
    def __init__(self, start: date, end: date, **selected: list[str]) -> None:
        self.start, self.end, self.selected = start, end, selected

    @property
    def previous(self) -> tuple[date, date]:
        days = (self.end - self.start).days + 1
        return self.start - timedelta(days=days), self.start - timedelta(days=1)


def _rows(df: Frame, start: date, end: date, selected: dict[str, list[str]]) -> Frame:
    mask = (df["date"] >= pd.Timestamp(start)) & (df["date"] <= pd.Timestamp(end))
    for column, values in selected.items():
        if values:
            mask &= df[column].isin(values)
    return df.loc[mask]


def _sums(rows: Frame, by: list[str]) -> Frame:
    grouped = rows.groupby(by, observed=True)
    out = grouped[SUMS].sum()
    out["requests"] = grouped.size()
    return out.reset_index()


def _top(rows: Frame, column: str, n: int, by: list[str]) -> Frame:
    """Top ``n`` values of ``column`` by spend, the rest as "other", summed per ``by``."""
    spend = rows.groupby(column, observed=True)["spend"].sum().sort_values(ascending=False)
    keep = list(spend.index[:n])
    values = rows[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # stay categorical: no string per row
        values = values.cat.set_categories([*keep, "other"])
        values = values.fillna("other")
    else:
        values = values.where(values.isin(keep), "other")
    return _sums(rows.assign(**{column: values}), [*by, column])


def overview(df: Frame, f: Filters, today: date, **_: Any) -> list[Frame]:
    rows = _rows(df, f.start, f.end, f.selected)
    before = _rows(df, *f.previous, f.selected)
    totals = [rows[["spend", "prompt", "completion"]].sum(), before[["spend", "prompt", "completion"]].sum()]
    per_day = rows.groupby("date")[["prompt", "completion_only", "reasoning"]].sum()
    week = _rows(df, today - timedelta(days=7), today - timedelta(days=1), {})[["spend", "byok"]].sum()
    month = _rows(df, today.replace(day=1), today - timedelta(days=1), {})["spend"].sum()
    return [
        pd.DataFrame(totals),
        per_day,
        _top(rows, "model", 6, ["date"]),
        _top(rows, "model", 10, []),
        pd.DataFrame([week]),
        pd.DataFrame({"month": [month]}),
    ]


def _priced(per_day: Frame, prices: Frame) -> Frame:
    """The list price in force each day (the newest state seen by the day's end; the earliest before that)."""
    stamped = per_day.assign(day_end=per_day["date"] + pd.Timedelta(days=1)).sort_values("day_end")
    asof = pd.merge_asof(
        stamped,
        prices.sort_values("valid_from"),
        left_on="day_end",
        right_on="valid_from",
        left_by="model",
        right_by="canonical_slug",
        allow_exact_matches=False,
    )
    earliest = prices.sort_values("valid_from").groupby("canonical_slug").first()
    for column in ("pricing_prompt", "pricing_completion", "pricing_input_cache_read"):
        asof[column] = asof[column].fillna(asof["model"].astype(str).map(earliest[column]))
    return asof


def models(df: Frame, f: Filters, prices: Frame, **_: Any) -> list[Frame]:
    rows = _rows(df, f.start, f.end, f.selected)
    per_day = _sums(rows, ["date", "model"])
    per_day["model"] = per_day["model"].astype(str)
    priced = _priced(per_day, prices)
    priced["list_cost"] = (
        priced["prompt"] * priced["pricing_prompt"] + priced["completion"] * priced["pricing_completion"]
    )
    priced["savings"] = priced["cached"] * (priced["pricing_prompt"] - priced["pricing_input_cache_read"])
    per_model = priced.groupby("model")[[*SUMS, "requests", "list_cost", "savings"]].sum()
    per_model = per_model.assign(
        paid_per_m=per_model["spend"] / (per_model["prompt"] + per_model["completion"]) * 1e6,
        paid_vs_list=per_model["spend"] / per_model["list_cost"],
        reasoning_share=per_model["reasoning"] / per_model["completion"],
        cached_share=per_model["cached"] / per_model["prompt"],
    ).sort_values("spend", ascending=False)
    return [per_model, _top(rows, "model", 6, ["date"])]


def _latency(rows: Frame, by: str, today: date) -> Frame:
    """Request-weighted means of the daily p50/p90 per (day, model, provider): what analytics hold."""
    recent = rows.loc[rows["date"] >= pd.Timestamp(today - timedelta(days=31))]
    quantiles = recent.groupby(["date", "model", "provider"], observed=True)[["latency", "throughput"]].quantile(
        np.array([0.5, 0.9])
    )
    daily = cast(Frame, quantiles.unstack())
    daily.columns = ["p50_latency", "p90_latency", "p50_throughput", "p90_throughput"]
    daily["requests"] = recent.groupby(["date", "model", "provider"], observed=True).size()
    daily = daily.reset_index()
    weighted = daily[["p50_latency", "p90_latency", "p50_throughput", "p90_throughput"]].mul(daily["requests"], axis=0)
    weighted[by] = daily[by]
    weighted["requests"] = daily["requests"]
    sums = weighted.groupby(by, observed=True).sum()
    return sums.drop(columns="requests").div(sums["requests"], axis=0)


def providers(df: Frame, f: Filters, today: date, **_: Any) -> list[Frame]:
    rows = _rows(df, f.start, f.end, f.selected)
    return [
        _sums(rows, ["provider"]).sort_values("spend", ascending=False),
        _top(rows, "provider", 6, ["date"]),
        _top(rows, "model", 12, ["provider"]),
        _latency(rows, "provider", today),
    ]


def apps(df: Frame, f: Filters, **_: Any) -> list[Frame]:
    rows = _rows(df, f.start, f.end, f.selected)
    per_app = _sums(rows, ["app"]).sort_values("spend", ascending=False)
    per_app["share"] = per_app["spend"] / per_app["spend"].sum()
    return [per_app, _top(rows, "app", 6, ["date"]), _top(rows, "model", 10, ["app"])]


def keys(df: Frame, f: Filters, **_: Any) -> list[Frame]:
    rows = _rows(df, f.start, f.end, f.selected)
    return [_top(rows, "key", 12, []), _top(rows, "key", 8, ["date"])]


def model_detail(df: Frame, f: Filters, today: date, model: str, **_: Any) -> list[Frame]:
    rows = _rows(df, f.start, f.end, {**f.selected, "model": [model]})
    return [
        rows.groupby("date")[["prompt", "completion_only", "reasoning", "spend"]].sum(),
        _sums(rows, ["provider"]),
        _latency(rows, "provider", today),
        _top(rows, "app", 10, []),
        _top(rows, "key", 10, []),
    ]


def health(df: Frame, f: Filters, today: date, coverage: Frame, **_: Any) -> list[Frame]:
    """The coverage strip: per track and day of the last year, the share of its scopes covered."""
    cov = coverage.assign(
        track=coverage["source"].where(coverage["source"] == "activity", "analytics by " + coverage["dimensions"])
    )
    cov.loc[(cov["source"] == "activity") & (cov["scope"] != ""), "track"] = "activity per key"
    ranges = [pd.date_range(a, b, freq="D") for a, b in zip(cov["first_day"], cov["last_day"], strict=True)]
    days = cov.assign(day=pd.Series(ranges, index=cov.index, dtype=object))
    days = days.explode("day")
    days = days.loc[days["day"] >= pd.Timestamp(today - timedelta(days=365))]
    covered = days.groupby(["track", "day"])["scope"].nunique()
    scopes = cov.groupby("track")["scope"].nunique()
    share = covered.div(scopes, level="track")
    return [share.reset_index()]


PAGES: dict[str, Callable[..., list[Frame]]] = {
    "overview": overview,
    "models": models,
    "model": model_detail,
    "providers": providers,
    "apps": apps,
    "keys": keys,
    "health": health,
}


def load(parquet: Path) -> Frame:
    import pyarrow.parquet as pq

    table = pq.read_table(parquet, read_dictionary=DIMS)
    df: Frame = table.to_pandas(date_as_object=False)
    df["date"] = df["date"].astype("datetime64[s]")
    df["spend"] = df["usage"] + df["byok"]
    df["completion_only"] = (df["completion"] - df["reasoning"]).clip(lower=0)
    return df


def main(parquet: Path, snapshot: Path, today: date, out: Path) -> None:
    import duckdb

    started = time.perf_counter()
    df = load(parquet)
    load_seconds = time.perf_counter() - started
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        prices = (
            con.sql(
                "SELECT canonical_slug, valid_from, pricing_prompt, pricing_completion, pricing_input_cache_read "
                "FROM models"
            )
            .to_arrow_table()
            .to_pandas()
        )
        coverage = con.sql("SELECT * FROM coverage").to_arrow_table().to_pandas()
    finally:
        con.close()
    prices["valid_from"] = prices["valid_from"].astype("datetime64[us]")
    top_model = str(df.groupby("model", observed=True)["spend"].sum().idxmax())
    yesterday = today - timedelta(days=1)
    filter_sets = {
        "default (30d)": Filters(yesterday - timedelta(days=29), yesterday),
        "range year": Filters(today.replace(month=1, day=1), yesterday),
    }
    results: list[dict[str, Any]] = []
    checks: dict[str, float] = {}
    for name, filters in filter_sets.items():
        for page, fn in PAGES.items():
            started = time.perf_counter()
            frames = fn(df, filters, today=today, prices=prices, model=top_model, coverage=coverage)
            seconds = time.perf_counter() - started
            results.append({"page": page, "scenario": name, "seconds": seconds})
            if page == "overview":
                checks[name] = float(frames[0]["spend"].iloc[0])
            print(f"  pandas {page:10} {name:16} {seconds:6.3f} s", file=sys.stderr, flush=True)
    hwm_kb = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm_kb = int(line.split()[1])
    out.write_text(
        json.dumps(
            {
                "load_seconds": load_seconds,
                "rows": len(df),
                "memory_mb": float(df.memory_usage(deep=True).sum()) / 2**20,
                "runs": results,
                "spend_checks": checks,
                "vm_hwm_kb": hwm_kb,
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), date.fromisoformat(sys.argv[3]), Path(sys.argv[4]))
