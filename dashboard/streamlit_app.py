"""Manager dashboard: campaigns and, per campaign, its funnel and daily trend."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Outbound campaigns 外呼营销", page_icon="📞", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Campaigns 活动列表", icon="📋", default=True),
    st.Page("app_pages/campaign_detail.py", title="Campaign detail 活动详情", icon="📈"),
    st.Page("app_pages/approvals.py", title="Requests & approvals 需求审批", icon="✅"),
    st.Page("app_pages/submit_request.py", title="Submit request 提交需求", icon="📤"),
]
st.navigation(pages).run()
