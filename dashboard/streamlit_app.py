"""The dashboard: sign in, then the pages the user's role allows."""

from __future__ import annotations

import streamlit as st

from campaigns.access import Role
from dashboard import auth

st.set_page_config(page_title="Outbound campaigns 外呼营销", page_icon="📞", layout="wide")

user = auth.principal()
if user is None:
    st.navigation([st.Page(auth.sign_in_page, title="Sign in 登录", icon="🔑")]).run()
    st.stop()

with st.sidebar:
    scope = f"branch {user.branch_code}" if user.role is Role.BRANCH else "all branches"
    st.caption(f"Signed in as **{user.username}** ({user.role.value.lower()}, {scope})")
    st.button("Sign out 退出", on_click=auth.sign_out)

pages = [
    st.Page("app_pages/overview.py", title="Campaigns 活动列表", icon="📋", default=True),
    st.Page("app_pages/campaign_detail.py", title="Campaign detail 活动详情", icon="📈"),
]
if user.role is not Role.BRANCH:
    pages.append(st.Page("app_pages/agents.py", title="Agents 坐席", icon="🎧"))
if user.can_approve:
    pages.append(
        st.Page("app_pages/approvals.py", title="Requests & approvals 需求审批", icon="✅")
    )
if user.role in (Role.BRANCH, Role.STAFF, Role.ADMIN):
    pages.append(st.Page("app_pages/submit_request.py", title="Submit request 提交需求", icon="📤"))
st.navigation(pages).run()
