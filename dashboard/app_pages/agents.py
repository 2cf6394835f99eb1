"""Agents: calls, talk and handle time, conversions and their rate, over chosen days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from campaigns.access import Role
from dashboard import auth, data

user = auth.require()
if user.role is Role.BRANCH:
    st.error("Agents are the center's: a branch user cannot use this page 无权访问.")
    st.stop()
st.title("Agents 坐席")
zone = ZoneInfo(data.app().settings.timezone)
today = datetime.now(UTC).astimezone(zone).date()
picked = st.date_input("Days 日期", value=(today - timedelta(days=6), today + timedelta(days=7)))
first, last = picked if isinstance(picked, tuple) and len(picked) == 2 else (today, today)
if not isinstance(first, date) or not isinstance(last, date):
    st.stop()
rows = data.agent_table(first, last)
if not rows:
    st.info("No calls handled by agents in these days.")
    st.stop()

calls = sum(r["calls"] for r in rows)
conversions = sum(r["conversions"] for r in rows)
c1, c2, c3 = st.columns(3)
c1.metric("Agents 坐席数", len(rows))
c2.metric("Calls 通话次数", f"{calls:,}")
c3.metric("Conversions 成功办理", f"{conversions:,}", help=f"{conversions / calls:.1%} of calls")

frame = pd.DataFrame(rows)
st.altair_chart(
    alt.Chart(frame)
    .mark_bar()
    .encode(
        x=alt.X("agent:N", sort="-y", title="agent 坐席"),
        y=alt.Y("conversions:Q", title="conversions 成功办理"),
        tooltip=[
            "agent",
            "calls",
            "conversions",
            alt.Tooltip("conversion_rate:Q", format=".1%", title="per call"),
        ],
    ),
    width="stretch",
)
st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    column_config={
        "talk_hours": st.column_config.NumberColumn("talk (h) 通话时长", format="%.1f"),
        "handle_hours": st.column_config.NumberColumn("handle (h) 处理时长", format="%.1f"),
        "avg_talk_seconds": st.column_config.NumberColumn("avg talk (s) 通话均长", format="%.0f"),
        "conversion_rate": st.column_config.NumberColumn("conv./call 转化率", format="percent"),
    },
)
st.caption(
    "From the agent hours each dialing slice writes when it ends. 有效工时利用率 needs the "
    "agents' shifts: `outbound shifts import`, then `outbound report ops`."
)
