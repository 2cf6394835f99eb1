"""Reports: a campaign's daily feedback and final summary, their delivery to the branch,
downloads as CSV, XLSX and HTML, and sending one again."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from campaigns import views
from campaigns.access import mask_number, mask_text
from campaigns.errors import NotFoundError, UserError
from dashboard import auth, data, widgets
from dashboard.i18n import t
from flows import api

user = auth.require()
st.title(t("reports.title"))
widgets.show_flashes()
picked = widgets.pick_campaign(user)
if picked is None:
    st.stop()
try:
    board = data.report_board(int(picked["id"]), user.branch_scope)
except NotFoundError:
    st.error(t("not_found"))
    st.stop()
campaign_id = board["id"]


def _downloads(prefix: str, files: dict[str, tuple[str, bytes]]) -> None:
    for column, (fmt, (name, content)) in zip(st.columns(3), files.items(), strict=True):
        column.download_button(
            t("reports.download", fmt=fmt.upper()),
            content,
            file_name=name,
            mime=views.REPORT_FORMATS[fmt],
            key=f"{prefix}-{fmt}",
            on_click="ignore",
            width="stretch",
        )


st.subheader(t("reports.daily"))
daily = board["daily"]
if not daily:
    st.info(t("reports.none"))
else:
    table = pd.DataFrame(daily)
    table["delivery_status"] = table["delivery_status"].map(lambda s: t(f"delivery.{s}"))
    columns: dict[str, Any] = {
        "date": t("day"),
        "attempts": widgets.number("kpi.attempts", "%d"),
        "right_party": widgets.number("kpi.right_party", "%d"),
        "successes": widgets.number("kpi.successes", "%d"),
        "conversion_per_rpc": widgets.number("kpi.conversion", "percent"),
        "completion": widgets.number("kpi.completion", "percent"),
        "complaints": widgets.number("kpi.complaints", "%d"),
        "delivery_status": t("reports.delivery"),
        "delivery_attempts": widgets.number("reports.tries", "%d"),
        "last_error": t("reports.error"),
    }
    st.dataframe(
        table[list(columns)],
        hide_index=True,
        width="stretch",
        column_config=columns,
        key="daily-reports",
    )
    by_date = {r["date"]: r for r in daily}
    day: date = st.selectbox(
        t("reports.pick"), list(by_date), index=len(by_date) - 1, key="report-day"
    )
    chosen = by_date[day]
    _downloads(
        "daily",
        {
            fmt: data.daily_report_file(chosen["id"], fmt, user.branch_scope)
            for fmt in views.REPORT_FORMATS
        },
    )
    if user.can_operate and st.button(t("reports.resend"), key="resend-daily"):
        try:
            status = api.resend_report(data.app(), chosen["id"], actor=user.username)
        except UserError as exc:
            widgets.flash("error", str(exc))
        else:
            widgets.flash(
                "success", t("reports.resent", day=day, status=t(f"delivery.{status.value}"))
            )
        data.refresh()
        st.rerun()
    if chosen["complaints"]:
        rows = views.complaints(
            uow=data.app().uow(), campaign_id=campaign_id, day=day, branch=user.branch_scope
        )
        st.caption(t("reports.complaints", n=len(rows)))
        st.dataframe(
            [
                {
                    t("number"): mask_number(r["number"], user),
                    t("at"): r["at"],
                    t("note"): mask_text(r["note"], user),
                }
                for r in rows
            ],
            hide_index=True,
            key="complaints",
        )

st.subheader(t("reports.summary"))
summary = board["summary"]
if not board["finished"]:
    st.caption(t("reports.summary_later", state=t(f"state.{board['state']}")))
else:
    if summary is None:
        st.info(t("reports.summary_unsent"))
    else:
        st.caption(
            t(
                "reports.summary_status",
                status=t(f"delivery.{summary['status']}"),
                at=summary["at"].strftime("%Y-%m-%d %H:%M UTC"),
                tries=summary["tries"],
            )
        )
    payload = data.summary_payload(campaign_id, user.branch_scope)
    if payload is not None:
        _downloads(
            "summary", {fmt: views.summary_file(payload, fmt) for fmt in views.REPORT_FORMATS}
        )
    if user.can_operate and st.button(t("reports.resend_summary"), key="resend-summary"):
        with st.spinner(t("reports.building")):
            delivery = api.resend_summary(data.app(), campaign_id, actor=user.username)
        widgets.flash("success", t("reports.summary_resent", status=t(f"delivery.{delivery}")))
        data.refresh()
        st.rerun()
st.caption(t("reports.masked"))
