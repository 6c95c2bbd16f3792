"""Page file for Streamlit's navigation; the page itself is `dashboard.views.health`."""

from dashboard.page import show
from dashboard.views import health

show(health.render)
