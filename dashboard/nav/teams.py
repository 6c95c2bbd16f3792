"""Page file for Streamlit's navigation; the page itself is `dashboard.views.teams`."""

from dashboard.page import show
from dashboard.views import teams

show(teams.render)
