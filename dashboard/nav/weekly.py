"""Page file for Streamlit's navigation; the page itself is `dashboard.views.weekly`."""

from dashboard.page import show
from dashboard.views import weekly

show(weekly.render)
