"""Page file for Streamlit's navigation; the page itself is `dashboard.views.providers`."""

from dashboard.page import show
from dashboard.views import providers

show(providers.render)
