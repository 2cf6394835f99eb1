"""Sign-in: the signed-in principal lives in the Streamlit session; pages ask for it."""

from __future__ import annotations

import streamlit as st

from campaigns import services
from campaigns.access import Principal
from dashboard import data

KEY = "principal"


def principal() -> Principal | None:
    """The signed-in user, or None."""
    user = st.session_state.get(KEY)
    return user if isinstance(user, Principal) else None


def require(*, operate: bool = False, approve: bool = False) -> Principal:
    """The signed-in user; the page stops here for nobody, or for a role without the right."""
    user = principal()
    if user is None:
        st.warning("Sign in first 请先登录.")
        st.stop()
    if (operate and not user.can_operate) or (approve and not user.can_approve):
        st.error(f"A {user.role.value.lower()} user cannot use this page 无权访问.")
        st.stop()
    return user


def sign_in_page() -> None:
    """The form shown until someone signs in."""
    st.title("Outbound campaigns 外呼营销 — sign in 登录")
    with st.form("sign-in"):
        name = st.text_input("User 用户名")
        password = st.text_input("Password 密码", type="password")
        submitted = st.form_submit_button("Sign in 登录", type="primary")
    if submitted:
        user = services.authenticate(uow=data.app().uow(), username=name, password=password)
        if user is None:
            st.error("Wrong user name or password 用户名或密码错误.")
            return
        st.session_state[KEY] = user
        st.rerun()
    st.caption("Users are added with `outbound users add NAME --role staff`.")


def sign_out() -> None:
    """Forget the signed-in user."""
    st.session_state.pop(KEY, None)
    data.refresh()
