"""Page file for Streamlit's navigation; the page itself is `dashboard.views.models`."""

from dashboard.page import show
from dashboard.views import models

show(models.render)
