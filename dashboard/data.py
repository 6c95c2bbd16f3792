"""Cached reads for the pages.

Every cache key holds the database path and its ``snapshot_version``, so a new ingest shows up on the next
page run without any manual invalidation. The reader argument is left out of the key (leading
underscore): it is the run's lazy connection, and is only opened when some read here misses the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from queries import reads

# Enough for a handful of users flipping between filters; old snapshots' entries age out.
_cached = st.cache_data(show_spinner=False, max_entries=128, ttl=3600)


@dataclass(frozen=True)
class Meta:
    """What the sidebar needs before any filter exists."""

    as_of: reads.DataAsOf
    bounds: reads.DateBounds
    model_order: tuple[str, ...]  # permaslugs, biggest spenders first
    model_labels: dict[str, str]  # permaslug -> label shown


@_cached
def meta(_reader: reads.PageReader, db: str, version: str) -> Meta:
    options = _reader.run(reads.model_options)
    order = tuple(str(s) for s in options["model_permaslug"])
    labels = dict(zip(order, (str(label) for label in options["label"]), strict=True))
    return Meta(
        as_of=_reader.run(reads.data_as_of),
        bounds=_reader.run(reads.date_bounds),
        model_order=order,
        model_labels=labels,
    )


@_cached
def kpis(_reader: reads.PageReader, db: str, version: str, today: date) -> reads.Kpis:
    return _reader.run(reads.kpis, today)


@_cached
def tokens_per_day(
    _reader: reads.PageReader, db: str, version: str, start: date, end: date, models: tuple[str, ...]
) -> pd.DataFrame:
    return _reader.run(reads.tokens_per_day, start, end, models)


@_cached
def spend_per_day(
    _reader: reads.PageReader, db: str, version: str, start: date, end: date, models: tuple[str, ...]
) -> pd.DataFrame:
    return _reader.run(reads.spend_per_day, start, end, models)


@_cached
def spend_per_model(
    _reader: reads.PageReader,
    db: str,
    version: str,
    start: date,
    end: date,
    models: tuple[str, ...],
    top_n: int,
) -> pd.DataFrame:
    return _reader.run(reads.spend_per_model, start, end, models, top_n)
