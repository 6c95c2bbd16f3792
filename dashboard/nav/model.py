"""Page file for Streamlit's navigation; the page itself is `dashboard.views.model_detail`."""

from dashboard.page import show
from dashboard.views import model_detail

show(model_detail.render)
