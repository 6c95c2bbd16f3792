"""Page file for Streamlit's navigation; the page itself is `dashboard.views.members`."""

from dashboard.page import show
from dashboard.views import members

show(members.render)
