"""Agents: calls, talk time, occupancy, conversions and 有效工时利用率 over chosen days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from campaigns.access import Role
from dashboard import auth, data, widgets
from dashboard.i18n import t

user = auth.require()
if user.role is Role.BRANCH:
    st.error(t("agents.refused"))
    st.stop()
st.title(t("agents.title"))
today = data.today()
picked = st.date_input(t("days"), value=(today - timedelta(days=6), today), key="agent-days")
first, last = picked if isinstance(picked, tuple) and len(picked) == 2 else (today, today)
if not isinstance(first, date) or not isinstance(last, date):
    st.stop()
board = data.agent_board(first, last)
rows = board["agents"]
if not rows:
    st.info(t("agents.none"))
    st.stop()

totals = board["totals"]
c = st.columns(5)
c[0].metric(t("agents.count"), totals["agents"])
c[1].metric(t("kpi.calls"), f"{totals['calls']:,}")
c[2].metric(
    t("kpi.conversions"),
    f"{totals['conversions']:,}",
    help=t("agents.per_call", rate=widgets.pct(totals["conversion_rate"])),
)
c[3].metric(t("kpi.occupancy"), widgets.pct(totals["occupancy"]), help=t("kpi.occupancy.help"))
c[4].metric(
    t("kpi.utilisation"), widgets.pct(totals["utilisation"]), help=t("kpi.utilisation.help")
)
if not totals["shifts"]:
    st.info(t("agents.no_shifts"))

frame = pd.DataFrame(rows)
frame["label"] = [
    f"{n:,} · {r:.1%}" for n, r in zip(frame["conversions"], frame["conversion_rate"], strict=True)
]
bars = (
    alt.Chart(frame)
    .mark_bar()
    .encode(
        x=alt.X("agent:N", sort="-y", title=t("agent")),
        y=alt.Y("conversions:Q", title=t("kpi.conversions")),
        tooltip=[
            alt.Tooltip("agent:N", title=t("agent")),
            alt.Tooltip("calls:Q", title=t("kpi.calls"), format=","),
            alt.Tooltip("conversions:Q", title=t("kpi.conversions"), format=","),
            alt.Tooltip("conversion_rate:Q", title=t("agents.rate"), format=".1%"),
            alt.Tooltip("occupancy:Q", title=t("kpi.occupancy"), format=".0%"),
        ],
    )
)
st.altair_chart(bars + bars.mark_text(dy=-6).encode(text="label:N"), width="stretch")
columns: dict[str, Any] = {
    "agent": t("agent"),
    "name": t("name"),
    "calls": widgets.number("kpi.calls", "%d"),
    "talk_hours": widgets.number("agents.talk_hours", "%.1f"),
    "avg_talk_seconds": widgets.number("agents.avg_talk", "%.0f"),
    "occupancy": widgets.number("kpi.occupancy", "percent"),
    "conversions": widgets.number("kpi.conversions", "%d"),
    "conversion_rate": widgets.number("agents.rate", "percent"),
    "scheduled_hours": widgets.number("agents.scheduled", "%.1f"),
    "work_hours": widgets.number("agents.work", "%.1f"),
    "busy_hours": widgets.number("agents.busy", "%.1f"),
    "utilisation": widgets.number("kpi.utilisation", "percent"),
}
st.dataframe(
    frame[list(columns)], hide_index=True, width="stretch", column_config=columns, key="agents"
)
st.caption(t("agents.note"))
