"""Campaign list: every campaign with its state and headline figures."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data

user = auth.require()
st.title("Campaigns 外呼活动")
rows = data.campaign_list(user.branch_scope)
if not rows:
    st.info("No campaigns yet. Run `outbound demo`, or submit one with `outbound submit`.")
    st.stop()

total_attempts = sum(r["attempts"] for r in rows)
total_success = sum(r["successes"] for r in rows)
c1, c2, c3 = st.columns(3)
c1.metric("Campaigns", len(rows))
c2.metric("Attempts", f"{total_attempts:,}")
c3.metric("Successes 办理成功", f"{total_success:,}")

st.dataframe(
    [
        {
            "id": r["id"],
            "campaign": r["name"],
            "state": r["state"],
            "branch": r["branch"],
            "offer": r["offer"],
            "window": f"{r['window_start']} → {r['window_end']}",
            "attempts": r["attempts"],
            "successes": r["successes"],
            "goal": r["goal"],
            "completion": r["successes"] / r["goal"] if r["goal"] else 0.0,
        }
        for r in rows
    ],
    column_config={
        "completion": st.column_config.ProgressColumn(
            "completion vs goal", format="percent", min_value=0.0, max_value=1.0
        )
    },
    hide_index=True,
    width="stretch",
)
st.caption("Open *Campaign detail* in the sidebar for the funnel and the daily trend.")
