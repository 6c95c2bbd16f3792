"""The optional password gate: runs in the entry script before any page, sidebar or query.

Set ``ORUSAGE_DASHBOARD_PASSWORD`` to turn it on. The typed password is compared in constant time
(``hmac.compare_digest``); success is remembered for the browser session (``st.session_state``), so
nothing, downloads included, is rendered for a session that has not passed it.
"""

from __future__ import annotations

import time

import streamlit as st

from core import settings

PASSED_KEY = "gate_passed"
INPUT_KEY = "gate_password"
WRONG_DELAY = 0.5  # seconds: slows guessing down without bothering a person who mistyped
TITLE = "Password required"


def passed() -> bool:
    """True when there is no password or this session entered it; else draw the form and return False."""
    if not settings.dashboard_view().password_required or st.session_state.get(PASSED_KEY) is True:
        return True
    st.title(TITLE)
    st.caption("This openrouter-usage dashboard is protected by a password.")
    with st.form("gate", border=True, clear_on_submit=True, width=420):
        given = st.text_input("Password", type="password", key=INPUT_KEY)
        submitted = st.form_submit_button("Open the dashboard", type="primary")
    if submitted:
        if settings.dashboard_password_matches(given or ""):
            st.session_state[PASSED_KEY] = True
            st.rerun()
        time.sleep(WRONG_DELAY)
        st.error("Wrong password.", icon=":material/lock:")
    return False
