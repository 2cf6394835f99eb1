"""Branch page: upload a list, fill in the request, see the problems or the feasibility report."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from campaigns.access import Role, mask_number
from campaigns.errors import ConfigurationError, UserError
from dashboard import auth, data, widgets
from dashboard.i18n import t
from flows import api

user = auth.require()
if user.role is Role.MANAGER:
    st.error(t("submit.managers"))
    st.stop()
st.title(t("submit.title"))
cat = data.catalogue()
if not cat["branches"]:
    st.info(t("submit.no_branches"))
    st.stop()

# A branch user submits for its own branch only.
branches = {b["code"]: b for b in cat["branches"] if user.can_submit(b["code"])}
# Offers that have a script come first: only they can pass feasibility.
offers = {o["code"]: o for o in sorted(cat["offers"], key=lambda o: not o["script"])}
today = date.today()
with st.form("request"):
    left, right = st.columns(2)
    branch = left.selectbox(
        t("branch"), list(branches), format_func=lambda c: f"{c} — {branches[c]['name']}"
    )
    offer_labels = {
        c: f"{c} — {o['name']}" + ("" if o["script"] else t("submit.no_script"))
        for c, o in offers.items()
    }
    offer = right.selectbox(t("offer"), list(offers), format_func=offer_labels.__getitem__)
    target = st.text_input(t("submit.target"), placeholder="4G 用户，月消费 50-80 元")
    segments = st.text_input(t("submit.segments"), placeholder="youth,family")
    c1, c2, c3 = st.columns(3)
    contacts = c1.number_input(t("submit.contacts"), min_value=0)
    # Labels are worked out now, not in format_func, which may run outside this session.
    goal_labels = {k: t(f"submit.goal_{k}") for k in ("activations", "rate")}
    goal_kind = c2.radio(
        t("submit.goal"), list(goal_labels), horizontal=True, format_func=goal_labels.__getitem__
    )
    goal = c3.number_input(t("submit.goal_value"), min_value=0.0, value=100.0)
    window = st.date_input(
        t("submit.window"), value=(today, today + timedelta(days=6)), min_value=today
    )
    upload = st.file_uploader(t("submit.list"), type=["csv", "xlsx", "txt"])
    phone_column = st.text_input(t("submit.phone_column"))
    submitted = st.form_submit_button(t("submit.submit"), type="primary")

if submitted:
    if upload is None:
        st.error(t("submit.no_file"))
        st.stop()
    if not isinstance(window, tuple) or len(window) != 2:
        st.error(t("submit.no_window"))
        st.stop()
    fields: dict[str, object] = {
        "branch": branch,
        "offer": offer,
        "target": target,
        "segments": segments,
        "contacts": int(contacts),
        "start": window[0],
        "end": window[1],
    }
    if goal_kind == "activations":
        fields["goal"] = int(goal)
    else:
        fields["goal_rate"] = f"{goal}%"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{Path(upload.name).suffix.lower() or '.csv'}"
        path.write_bytes(upload.getvalue())
        try:
            with st.spinner(t("submit.checking")):
                submission = api.submit(
                    data.app(),
                    fields,
                    path,
                    submitted_by=user.username,
                    phone_column=phone_column or None,
                    list_name=upload.name,
                )
        except (UserError, ConfigurationError) as exc:
            st.error(t("submit.refused", error=exc))
            st.stop()
    data.refresh()
    result = submission.result
    if result.duplicate:
        st.info(t("submit.duplicate", id=result.campaign_id))
    else:
        st.success(
            t(
                "submit.done",
                id=result.campaign_id,
                rows=f"{result.rows:,}",
                valid=f"{result.valid_numbers:,}",
                problems=f"{result.problem_count:,}",
            )
        )
    if result.problems:
        with st.expander(t("submit.problems", n=f"{result.problem_count:,}")):
            st.dataframe(
                pd.DataFrame(
                    [(p.row_number, mask_number(p.raw, user), p.reason) for p in result.problems],
                    columns=[t("submit.row"), t("value"), t("submit.problem")],
                ),
                hide_index=True,
            )
    if submission.feasibility:
        widgets.show_feasibility(result.campaign_id, submission.feasibility)
