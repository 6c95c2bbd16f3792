"""Page file for Streamlit's navigation; the page itself is `dashboard.views.apps`."""

from dashboard.page import show
from dashboard.views import apps

show(apps.render)
