"""Center staff page: feasibility reports waiting for a decision; approve or reject with a note."""

from __future__ import annotations

import streamlit as st

from campaigns.errors import UserError
from dashboard import auth, data, widgets
from dashboard.i18n import t
from flows import api

user = auth.require(approve=True)
st.title(t("approvals.title"))
waiting = data.pending_approvals()
if not waiting:
    st.info(t("approvals.none"))
    st.stop()

reviewer = user.username  # the audit trail names the signed-in user
for item in waiting:
    report = item["feasibility"] or {}
    header = (
        f"#{item['id']} {item['name']} — {item['branch']} / {item['offer']} — "
        f"{report.get('verdict', t('approvals.unchecked'))}"
    )
    with st.expander(header, expanded=len(waiting) == 1):
        st.caption(
            t(
                "approvals.request",
                target=item["target_group"] or "—",
                first=item["window_start"],
                last=item["window_end"],
                goal=f"{item['goal']:,}",
                by=item["submitted_by"],
            )
        )
        if report:
            widgets.show_feasibility(item["id"], report)
        note = st.text_input(t("approvals.note"), key=f"note-{item['id']}")
        approve_col, reject_col = st.columns(2)
        decision = None
        if approve_col.button(t("approvals.approve"), key=f"approve-{item['id']}", type="primary"):
            decision = True
        if reject_col.button(t("approvals.reject"), key=f"reject-{item['id']}"):
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
                message = t(
                    "done.state", id=item["id"], state=t(f"state.{outcome.campaign.state.value}")
                )
                if outcome.notified is not None:
                    message += " " + t("done.notified", delivery=outcome.notified.value)
                if outcome.flow_resumed:
                    message += " " + t("done.gate_resumed")
                st.success(message)
