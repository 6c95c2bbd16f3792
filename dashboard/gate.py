"""The optional password gate: runs in the entry script before any page, sidebar or query.

Set ``ORUSAGE_DASHBOARD_PASSWORD`` to turn it on. The typed password is compared in constant time
(``hmac.compare_digest``); success is remembered for the browser session (``st.session_state``), so
nothing, downloads included, is rendered for a session that has not passed it.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

PASSWORD_ENV = "ORUSAGE_DASHBOARD_PASSWORD"
PASSED_KEY = "gate_passed"
INPUT_KEY = "gate_password"
WRONG_DELAY = 0.5  # seconds: slows guessing down without bothering a person who mistyped
TITLE = "Password required"


def _password() -> str:
    return os.environ.get(PASSWORD_ENV, "")


def check(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def passed() -> bool:
    """True when there is no password or this session entered it; else draw the form and return False."""
    expected = _password()
    if not expected or st.session_state.get(PASSED_KEY) is True:
        return True
    st.title(TITLE)
    st.caption("This openrouter-usage dashboard is protected by a password.")
    with st.form("gate", border=True, clear_on_submit=True, width=420):
        given = st.text_input("Password", type="password", key=INPUT_KEY)
        submitted = st.form_submit_button("Open the dashboard", type="primary")
    if submitted:
        if check(given or "", expected):
            st.session_state[PASSED_KEY] = True
            st.rerun()
        time.sleep(WRONG_DELAY)
        st.error("Wrong password.", icon=":material/lock:")
    return False
