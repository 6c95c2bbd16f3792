"""End users: the breakdown page per end user (``views.breakdown``): the `user` field your own callers send
with each request, as OpenRouter's analytics report it. OpenRouter keeps it for 31 days; the store keeps every
day an ingest fetched, so older days are here when an ingest ran while OpenRouter still had them (the Data
health page shows the days missed). There can be thousands: the table shows the top ones and "other"."""

from __future__ import annotations

from dashboard.context import PageContext
from dashboard.views import breakdown
from queries.reads_routing import Dim

PAGE = breakdown.Breakdown(
    dim=Dim.END_USER,
    title="End users",
    noun="end user",
    plural="end users",
    matrix=breakdown.Matrix("end_user_model", models_on="x", top_models=10, top_values=15),
    muted_note=("from requests that sent no `user` field: send it from your own code to see who they were for."),
    table_top=100,
    caption="End users: the `user` field sent with each request. OpenRouter keeps them 31 days; the store keeps "
    "what each ingest fetched.",
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    breakdown.render(ctx, PAGE)
