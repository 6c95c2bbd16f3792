"""Page file for Streamlit's navigation; the page itself is `dashboard.views.explore`."""

from dashboard.page import show
from dashboard.views import explore

show(explore.render)
