"""Shaping already-aggregated frames for display: filling idle days, naming models and keys, derived
ratios. Pure pandas on small frames (the sums themselves are always done in SQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from core.csvsafe import neutralise
from queries.reads_facts import OTHER

PER_MILLION = 1_000_000


def fill_days(frame: pd.DataFrame, start: date, end: date, columns: list[str]) -> pd.DataFrame:
    """One row per UTC day in [start, end]: idle days get zeros, so a download lists every day."""
    days = pd.DataFrame({"date": pd.date_range(start, end, freq="D").date})
    merged = days.merge(frame[["date", *columns]], on="date", how="left")
    merged[columns] = merged[columns].fillna(0)
    return merged


def labelled(
    frame: pd.DataFrame, column: str, label: Callable[[str], str], other: str = "other models"
) -> pd.DataFrame:
    """Add ``label`` for ``column``'s values (the ``other`` bucket named ``other``) and ``is_other``."""
    return frame.assign(
        label=[other if v == OTHER else label(str(v)) for v in frame[column]],
        is_other=frame[column] == OTHER,
    )


def with_other_count(frame: pd.DataFrame, column: str, noun: str) -> pd.DataFrame:
    """Name the ``other`` row of a top-n frame (one row per value) after how many values it holds."""
    return frame.assign(
        label=[
            f"other ({int(n)} {noun[:-1] if int(n) == 1 and noun.endswith('s') else noun})" if v == OTHER else str(lbl)
            for v, n, lbl in zip(frame[column], frame["members"], frame["label"], strict=True)
        ]
    )


def tokens(frame: pd.DataFrame) -> pd.Series:
    return frame["prompt"] + frame["completion"]


def per_million_tokens(spend: pd.Series, tokens: pd.Series) -> pd.Series:
    """USD per million tokens (prompt + completion); NaN without tokens."""
    return (spend / tokens.where(tokens > 0)) * PER_MILLION


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator > 0)


def stacked_tokens(frame: pd.DataFrame) -> pd.DataFrame:
    """Token parts that add up to prompt + completion: ``reasoning`` becomes the reasoning counted within
    completion (completion − completion-only), so a row whose reasoning exceeds its completion (real rows
    do: Data health flags them) is never counted twice."""
    return frame.assign(reasoning=frame["completion"] - frame["completion_only"])


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A download's CSV: text cells a spreadsheet would run as formulas neutralised (``core.csvsafe``), numbers
    and dates as they are."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    # CRLF rows (RFC 4180), so a cell holding a bare CR is quoted rather than ending its row.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
