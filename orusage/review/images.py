"""The weekly review's charts as PNG images, rendered without a browser by vl-convert (Vega in Rust).

The charts are the dashboard page's own (``charts.weekly``), given a fixed width: a report has no
container to stretch to.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import vl_convert

from charts.weekly import all_charts
from review.model import Review

WIDTH = 680  # px of the plot, about the width of an e-mail or a Markdown viewer's column
SCALE = 2  # rendered at twice the size, so the images stay sharp on high-density screens


@dataclass(frozen=True)
class Image:
    name: str  # the chart's name, also the file stem and the e-mail's Content-ID
    alt: str  # what it shows, for readers that do not load images
    png: bytes


ALT_TEXT = {
    "weekly_bridge": "Waterfall from last week's spend through the volume, mix and price parts to this week's spend",
    "weekly_model_parts": "Per model: the change of spend split into volume, mix and price",
    "weekly_daily": "Spend per day of this week beside the same weekday of the week before",
    "weekly_movers_model": "The models whose spend rose or fell the most",
    "weekly_what_if": "The top models' cost at list prices, as used and on cheaper alternatives",
}


def render_png(chart: alt.Chart | alt.LayerChart, width: int = WIDTH) -> bytes:
    spec = chart.properties(width=width).to_json()
    png: bytes = vl_convert.vegalite_to_png(spec, scale=SCALE)
    return png


def chart_images(review: Review) -> list[Image]:
    """Every chart the review has data for, in reading order."""
    return [Image(name, ALT_TEXT.get(name, name), render_png(chart)) for name, chart in all_charts(review).items()]
