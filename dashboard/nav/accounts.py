"""Page file for Streamlit's navigation; the page itself is `dashboard.views.accounts`."""

from dashboard.page import show
from dashboard.views import accounts

show(accounts.render)
