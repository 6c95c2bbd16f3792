"""Page file for Streamlit's navigation; the page itself is `dashboard.views.generations`."""

from dashboard.page import show
from dashboard.views import generations

show(generations.render)
