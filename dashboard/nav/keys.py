"""Page file for Streamlit's navigation; the page itself is `dashboard.views.keys`."""

from dashboard.page import show
from dashboard.views import keys

show(keys.render)
