"""Center staff page: feasibility reports waiting for a decision; approve or reject with a note."""

from __future__ import annotations

import streamlit as st

from campaigns.errors import UserError
from dashboard import auth, data
from flows import api

user = auth.require(approve=True)
st.title("Requests & approvals 需求审批")
waiting = data.pending_approvals()
if not waiting:
    st.info("No request is waiting for a decision.")
    st.stop()

reviewer = user.username  # the audit trail names the signed-in user
for item in waiting:
    report = item["feasibility"] or {}
    header = (
        f"#{item['id']} {item['name']} — {item['branch']} / {item['offer']} — "
        f"{report.get('verdict', 'not checked')}"
    )
    with st.expander(header, expanded=len(waiting) == 1):
        st.caption(
            f"Target group: {item['target_group'] or '—'} · window {item['window_start']} → "
            f"{item['window_end']} · goal {item['goal']:,} · submitted by {item['submitted_by']}"
        )
        if report:
            data.show_feasibility(item["id"], report)
        note = st.text_input("Note (required to reject) 审批意见", key=f"note-{item['id']}")
        approve_col, reject_col = st.columns(2)
        decision = None
        if approve_col.button("Approve 通过", key=f"approve-{item['id']}", type="primary"):
            decision = True
        if reject_col.button("Reject 驳回", key=f"reject-{item['id']}"):
            decision = False
        if decision is not None:
            try:
                outcome = api.decide(
                    data.app(), item["id"], approve=decision, actor=reviewer, note=note or None
                )
            except UserError as exc:
                st.error(str(exc))
            else:
                data.refresh()
                message = f"Campaign {item['id']} is {outcome.campaign.state.value}."
                if outcome.notified is not None:
                    message += f" Branch notified: {outcome.notified.value}."
                if outcome.flow_resumed:
                    message += " The waiting flow run was resumed."
                st.success(message)
