"""Page file for Streamlit's navigation; the page itself is `dashboard.views.workspaces`."""

from dashboard.page import show
from dashboard.views import workspaces

show(workspaces.render)
