"""Page file for Streamlit's navigation; the page itself is `dashboard.views.budgets`."""

from dashboard.page import show
from dashboard.views import budgets

show(budgets.render)
