"""Who may see the dashboard: runs in the entry script before any page, sidebar or query.

Two guards, each optional, both applied when both are set (sign-in first):

* **Sign-in** (``ORUSAGE_AUTH_*``): Streamlit's OpenID Connect login (``st.login``; ``orusage dashboard`` writes
  the ``[auth]`` secrets it needs). Only the e-mail addresses and domains of ``ORUSAGE_AUTH_ALLOW`` get in; an
  address the provider says is not verified does not.
* **Password** (``ORUSAGE_DASHBOARD_PASSWORD``): compared in constant time (or as a scrypt hash, when
  ``orusage dashboard`` handed it over). Guessing is slowed for the whole process (``dashboard.throttle``).

Success is remembered for the browser session (``st.session_state``; sign-in by Streamlit's cookie), so
nothing, downloads included, is rendered for a session that has not passed.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from core import access, settings
from dashboard import throttle

PASSED_KEY = "gate_passed"
INPUT_KEY = "gate_password"
WRONG_DELAY = 0.5  # seconds: slows one session's guessing without bothering a person who mistyped
TITLE = "Password required"
SIGN_IN_TITLE = "Sign-in required"
REFUSED_TITLE = "Not allowed"


def passed() -> bool:
    """True when every configured guard is passed; else draw what is needed to pass and return False."""
    view = settings.dashboard_view()
    if view.sign_in_allow is not None and not _signed_in(view.sign_in_allow):
        return False
    return not view.password_required or st.session_state.get(PASSED_KEY) is True or _password_form()


def _user() -> Any:
    return st.user


def _signed_in(allow: tuple[str, ...]) -> bool:
    user = _user()
    if not user.is_logged_in:
        st.title(SIGN_IN_TITLE)
        st.caption("This openrouter-usage dashboard is for the people its operator allowed in.")
        if st.button("Sign in", type="primary", icon=":material/login:"):
            try:
                st.login()
            except Exception as exc:  # StreamlitAuthError, or Authlib's: one line, never a page
                st.error(f"Sign-in is not set up right: {_first_line(exc)} Start it with `orusage dashboard`.")
        return False
    email = user.get("email")
    verified = user.get("email_verified")
    if isinstance(email, str) and verified is not False and access.email_allowed(email, allow):
        return True
    st.title(REFUSED_TITLE)
    who = email if isinstance(email, str) and email else "This account"
    reason = " (the provider has not verified the address)" if verified is False else ""
    st.error(f"{who} may not open this dashboard{reason}.", icon=":material/block:")
    st.caption("Ask its operator to add you to ORUSAGE_AUTH_ALLOW, or sign in with another account.")
    st.button("Sign out", on_click=st.logout, icon=":material/logout:")
    return False


def sign_out_button() -> None:
    """In the sidebar, for a signed-in session."""
    view = settings.dashboard_view()
    if view.sign_in_allow is not None and _user().is_logged_in:
        st.sidebar.button("Sign out", on_click=st.logout, icon=":material/logout:")


def _password_form() -> bool:
    st.title(TITLE)
    st.caption("This openrouter-usage dashboard is protected by a password.")
    with st.form("gate", border=True, clear_on_submit=True, width=420):
        given = st.text_input("Password", type="password", key=INPUT_KEY)
        submitted = st.form_submit_button("Open the dashboard", type="primary")
    if not submitted:
        return False
    guard = throttle.THROTTLE
    if not guard.wait_turn():
        st.error(
            "Too many wrong passwords on this dashboard: passwords are checked slowly for a while. Try again in a "
            "minute.",
            icon=":material/hourglass:",
        )
        return False
    if settings.dashboard_password_matches(given or ""):
        st.session_state[PASSED_KEY] = True
        st.rerun()
    guard.failed()
    time.sleep(WRONG_DELAY)
    st.error("Wrong password.", icon=":material/lock:")
    return False


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:200] + ("." if not text.endswith(".") else "")) if text else type(exc).__name__ + "."
