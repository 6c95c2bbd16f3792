"""Page file for Streamlit's navigation; the page itself is `dashboard.views.end_users`."""

from dashboard.page import show
from dashboard.views import end_users

show(end_users.render)
