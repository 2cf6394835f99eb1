"""Sign-in: the signed-in principal lives in the Streamlit session; pages ask for it."""

from __future__ import annotations

import streamlit as st

from campaigns import services
from campaigns.access import Principal
from dashboard import data
from dashboard.i18n import t

KEY = "principal"


def principal() -> Principal | None:
    """The signed-in user, or None."""
    user = st.session_state.get(KEY)
    return user if isinstance(user, Principal) else None


def require(*, operate: bool = False, approve: bool = False) -> Principal:
    """The signed-in user; the page stops here for nobody, or for a role without the right."""
    user = principal()
    if user is None:
        st.warning(t("auth.first"))
        st.stop()
    if (operate and not user.can_operate) or (approve and not user.can_approve):
        st.error(t("auth.refused", role=t(f"role.{user.role.value}")))
        st.stop()
    return user


def sign_in_page() -> None:
    """The form shown until someone signs in."""
    st.title(t("auth.title"))
    with st.form("sign-in"):
        name = st.text_input(t("auth.user"), key="sign-in-user")
        password = st.text_input(t("auth.password"), type="password", key="sign-in-password")
        submitted = st.form_submit_button(t("auth.sign_in"), type="primary")
    if submitted:
        user = services.authenticate(uow=data.app().uow(), username=name, password=password)
        if user is None:
            st.error(t("auth.wrong"))
            return
        st.session_state[KEY] = user
        st.rerun()
    st.caption(t("auth.hint"))


def sign_out() -> None:
    """Forget the signed-in user."""
    st.session_state.pop(KEY, None)
    data.refresh()
