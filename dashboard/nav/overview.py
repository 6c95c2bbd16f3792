"""Page file for Streamlit's navigation; the page itself is `dashboard.views.overview`."""

from dashboard.page import show
from dashboard.views import overview

show(overview.render)
