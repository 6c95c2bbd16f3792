"""The sidebar's filters: which UTC days and which models every page shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import streamlit as st

from dashboard import format as fmt

PRESETS: dict[str, int] = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90}
CUSTOM = "Custom"
DEFAULT_PRESET = "Last 30 days"

# Widget keys: stable, so the choice survives page switches and tests can find the widgets.
RANGE_KEY = "range_preset"
CUSTOM_KEY = "custom_range"
MODELS_KEY = "models"


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    models: tuple[str, ...]  # permaslugs; empty = all models
    range_label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def preset_range(days: int, today: date) -> tuple[date, date]:
    """The last ``days`` completed UTC days: today is partial and never in ``/activity``."""
    end = today - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def custom_range(picked: Any, fallback: tuple[date, date]) -> tuple[date, date]:
    """Read ``st.date_input``'s value: a pair, or a single day while the user is still picking."""
    if isinstance(picked, date):
        return picked, picked
    chosen = [d for d in (picked or ()) if isinstance(d, date)]
    if not chosen:
        return fallback
    start, end = chosen[0], chosen[-1]
    return (start, end) if start <= end else (end, start)


def sidebar(
    today: date, first_day: date | None, model_labels: Mapping[str, str], model_order: Sequence[str]
) -> Filters:
    """Draw the filters in the sidebar and return what they select."""
    preset = st.sidebar.radio(
        "Date range",
        [*PRESETS, CUSTOM],
        index=[*PRESETS, CUSTOM].index(DEFAULT_PRESET),
        key=RANGE_KEY,
        help="Completed UTC days. Today is still running: it is counted only in the “so far” figures.",
    )
    default = preset_range(PRESETS[DEFAULT_PRESET], today)
    if preset == CUSTOM:
        last_day = today - timedelta(days=1)
        picked = st.sidebar.date_input(
            "From – to (UTC)",
            value=default,
            max_value=last_day,
            key=CUSTOM_KEY,
            format="YYYY-MM-DD",
            help=f"Stored activity starts {first_day:%Y-%m-%d}." if first_day else "No activity stored yet.",
        )
        start, end = custom_range(picked, default)
        label = fmt.day_range(start, end)
    else:
        start, end = preset_range(PRESETS[str(preset)], today)
        label = str(preset).lower()
    chosen = st.sidebar.multiselect(
        "Models",
        list(model_order),
        format_func=lambda slug: model_labels.get(slug, slug),
        placeholder="All models",
        key=MODELS_KEY,
        help="Leave empty for all models. The headline figures above the charts are always account-wide.",
    )
    return Filters(start=start, end=end, models=tuple(chosen), range_label=label)
