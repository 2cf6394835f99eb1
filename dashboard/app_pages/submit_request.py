"""Branch page: upload a list, fill in the request, see the problems or the feasibility report."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from campaigns.access import Role, mask_number
from campaigns.errors import ConfigurationError, UserError
from dashboard import auth, data
from flows import api

user = auth.require()
if user.role is Role.MANAGER:
    st.error("Managers read the dashboard; branches and center staff submit requests.")
    st.stop()
st.title("Submit a request 提交外呼需求")
cat = data.catalogue()
if not cat["branches"]:
    st.info("No branches yet. Run `outbound demo` to load a synthetic operator.")
    st.stop()

# A branch user submits for its own branch only.
branches = {b["code"]: b for b in cat["branches"] if user.can_submit(b["code"])}
# Offers that have a script come first: only they can pass feasibility.
offers = {o["code"]: o for o in sorted(cat["offers"], key=lambda o: not o["script"])}
today = date.today()
with st.form("request"):
    left, right = st.columns(2)
    branch = left.selectbox(
        "Branch 分公司", list(branches), format_func=lambda c: f"{c} — {branches[c]['name']}"
    )
    offer = right.selectbox(
        "Offer 业务",
        list(offers),
        format_func=lambda c: (
            f"{c} — {offers[c]['name']}" + ("" if offers[c]["script"] else " (no script yet)")
        ),
    )
    target = st.text_input(
        "Target customer group 目标客户群", placeholder="4G 用户，月消费 50-80 元"
    )
    segments = st.text_input(
        "Segment filters (optional, comma separated)", placeholder="youth,family"
    )
    c1, c2, c3 = st.columns(3)
    contacts = c1.number_input("Contacts requested 外呼号码量 (0 = the whole list)", min_value=0)
    goal_kind = c2.radio("Goal 营销目标", ["activations", "conversion rate"], horizontal=True)
    goal = c3.number_input("Goal value (activations, or % for a rate)", min_value=0.0, value=100.0)
    window = st.date_input("Date window", value=(today, today + timedelta(days=6)), min_value=today)
    upload = st.file_uploader(
        "Contact list (CSV or XLSX, UTF-8 or GBK)", type=["csv", "xlsx", "txt"]
    )
    phone_column = st.text_input("Phone column (only if it is not found by its header)")
    submitted = st.form_submit_button("Submit 提交", type="primary")

if submitted:
    if upload is None:
        st.error("Choose the contact list file first.")
        st.stop()
    if not isinstance(window, tuple) or len(window) != 2:
        st.error("Pick both the first and the last day of the window.")
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
            with st.spinner("Reading the list and checking feasibility…"):
                submission = api.submit(
                    data.app(),
                    fields,
                    path,
                    submitted_by=user.username,
                    phone_column=phone_column or None,
                    list_name=upload.name,
                )
        except (UserError, ConfigurationError) as exc:
            st.error(f"The request was not accepted: {exc}")
            st.stop()
    data.refresh()
    result = submission.result
    if result.duplicate:
        st.info(f"This request was already submitted as campaign {result.campaign_id}.")
    else:
        st.success(
            f"Submitted as campaign {result.campaign_id}: {result.rows:,} rows, "
            f"{result.valid_numbers:,} valid numbers, {result.problem_count:,} rows with problems."
        )
    if result.problems:
        with st.expander(f"Rows with problems ({result.problem_count:,})"):
            st.dataframe(
                pd.DataFrame(
                    [(p.row_number, mask_number(p.raw, user), p.reason) for p in result.problems],
                    columns=["row", "value", "problem"],
                ),
                hide_index=True,
            )
    if submission.feasibility:
        data.show_feasibility(result.campaign_id, submission.feasibility)
