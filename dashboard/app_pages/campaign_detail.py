"""One campaign: headline tiles, the funnel, the daily trend, exclusions and dispositions."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import auth, data

user = auth.require()
# A branch user's list holds only its own campaigns, so a ?campaign= of another branch's
# is not among the choices and falls back to the first.
rows = data.campaign_list(user.branch_scope)
st.title("Campaign detail 活动详情")
if not rows:
    st.info("No campaigns yet. Run `outbound demo` first.")
    st.stop()

labels = {r["id"]: f"#{r['id']} {r['name']} ({r['state']})" for r in rows}
wanted = st.query_params.get("campaign")
ids = list(labels)
index = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in labels else 0
campaign_id = st.selectbox("Campaign", ids, index=index, format_func=labels.__getitem__)
st.query_params["campaign"] = str(campaign_id)

status = data.campaign_status(campaign_id)
f = status["funnel"]
tiles = st.columns(5)
tiles[0].metric("State", status["state"])
tiles[1].metric("Attempts", f"{f['attempts']:,}")
tiles[2].metric("Connect rate", f"{f['connect_rate']:.1%}")
tiles[3].metric("Successes", f"{f['successes']:,}", help=f"goal {f['goal_activations']:,}")
tiles[4].metric("Completion vs goal", f"{f['completion']:.0%}")

left, right = st.columns(2)
with left:
    st.subheader("Funnel 转化漏斗")
    stages = pd.DataFrame(data.funnel_stages(status))
    chart = (
        alt.Chart(stages)
        .mark_bar()
        .encode(
            y=alt.Y("stage:N", sort=alt.SortField("order"), title=None),
            x=alt.X("count:Q", title="contacts"),
            tooltip=["stage", "count", alt.Tooltip("share:Q", format=".1%", title="of records")],
        )
    )
    labels_layer = chart.mark_text(align="left", dx=3).encode(
        text=alt.Text("share:Q", format=".1%")
    )
    st.altair_chart(chart + labels_layer, width="stretch")
with right:
    st.subheader("Daily trend 每日趋势")
    reports = data.daily_reports(campaign_id)
    if reports:
        trend = pd.DataFrame(reports).melt(
            id_vars=["date"],
            value_vars=["attempts", "connected", "right_party", "successes"],
            var_name="measure",
            value_name="count",
        )
        trend["date"] = pd.to_datetime(trend["date"])
        st.altair_chart(
            alt.Chart(trend)
            .mark_line(point=True)
            .encode(
                x=alt.X("date:T", title="day"),
                y=alt.Y("count:Q"),
                color="measure:N",
                tooltip=["date:T", "measure", "count"],
            ),
            width="stretch",
        )
    else:
        st.info("No daily feedback yet: the campaign has not dialled.")

ex, disp = st.columns(2)
with ex:
    st.subheader("Exclusions 剔除原因")
    if status["ledger"]:
        ledger = status["ledger"]
        st.caption(
            f"{ledger['excluded']:,} of {ledger['kept'] + ledger['excluded']:,} contacts are "
            f"skipped; {ledger['kept']:,} are callable. *Alone* counts what each rule would "
            "remove by itself, so overlapping rules show."
        )
        st.dataframe(data.ledger_rows(ledger), hide_index=True, width="stretch")
    else:
        st.caption("The list has not been cleaned yet.")
with disp:
    st.subheader("Dispositions 外呼结果")
    if status["dispositions"]:
        st.bar_chart(pd.Series(status["dispositions"], name="attempts"), horizontal=True)
    else:
        st.caption("No attempts yet.")

if reports := data.daily_reports(campaign_id):
    st.subheader("Daily feedback sent to the branch 每日反馈")
    st.dataframe(
        reports,
        hide_index=True,
        width="stretch",
        column_config={
            "completion": st.column_config.NumberColumn("completion vs goal", format="percent"),
            "conversion_per_rpc": st.column_config.NumberColumn("conv./RPC", format="percent"),
        },
    )
