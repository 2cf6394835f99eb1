"""The dashboard: sign in, then the pages the user's role allows."""

from __future__ import annotations

import streamlit as st

from campaigns.access import Role
from dashboard import auth
from dashboard.i18n import language_switch, t

st.set_page_config(
    page_title="外呼营销 Outbound campaigns", page_icon=":material/call:", layout="wide"
)

with st.sidebar:
    language_switch()

user = auth.principal()
if user is None:
    st.navigation(
        [st.Page(auth.sign_in_page, title=t("auth.sign_in"), icon=":material/login:")]
    ).run()
    st.stop()

with st.sidebar:
    scope = (
        t("scope.branch", branch=user.branch_code) if user.role is Role.BRANCH else t("scope.all")
    )
    st.caption(
        t(
            "signed_in",
            name=user.display_name or user.username,
            user=user.username,
            role=t(f"role.{user.role.value}"),
            scope=scope,
        )
    )
    st.button(t("auth.sign_out"), on_click=auth.sign_out, key="sign-out")

# Pages offered by role; each page also guards itself, for a bookmark or a typed URL.
pages = [
    st.Page(
        "app_pages/overview.py",
        title=t("overview.title"),
        icon=":material/dashboard:",
        default=True,
    ),
    st.Page("app_pages/campaign_detail.py", title=t("campaign.title"), icon=":material/campaign:"),
]
if user.role is not Role.BRANCH:
    pages.append(
        st.Page("app_pages/agents.py", title=t("agents.title"), icon=":material/support_agent:")
    )
if user.can_approve:
    pages.append(
        st.Page("app_pages/approvals.py", title=t("approvals.title"), icon=":material/fact_check:")
    )
pages.append(st.Page("app_pages/reports.py", title=t("reports.title"), icon=":material/summarize:"))
if user.role in (Role.BRANCH, Role.STAFF, Role.ADMIN):
    pages.append(
        st.Page(
            "app_pages/submit_request.py", title=t("submit.title"), icon=":material/upload_file:"
        )
    )
st.navigation(pages).run()
