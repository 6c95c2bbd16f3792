"""Apps: the breakdown page per app (``views.breakdown``), with the app × model matrix and what
"unattributed" means. Apps come only from OpenRouter's analytics (grouped by model and app), a year back."""

from __future__ import annotations

from dashboard.context import PageContext
from dashboard.views import breakdown
from queries.reads_routing import Dim

PAGE = breakdown.Breakdown(
    dim=Dim.APP,
    title="Apps",
    noun="app",
    plural="apps",
    matrix=breakdown.Matrix("app_model", models_on="x", top_models=10, top_values=12),
    muted_note=(
        "from requests without the `HTTP-Referer` (origin) and `X-Title` (app name) headers OpenRouter "
        "attributes apps by: send them from your own code to see the app here."
    ),
)
TITLE = PAGE.title


def render(ctx: PageContext) -> None:
    breakdown.render(ctx, PAGE)
