"""The branch's submission page and the staff's approval page, in streamlit AppTest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from builders import GZ_USER, Fates, real_today, seed_operator, signed_in
from streamlit.testing.v1 import AppTest

from campaigns import services
from campaigns.model import CampaignState
from flows.bootstrap import App
from flows.receiver import WebhookReceiver

PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages"


@pytest.fixture
def operator(sqlite_app: App) -> Iterator[tuple[App, Fates, WebhookReceiver]]:
    with WebhookReceiver() as receiver:
        fates = seed_operator(sqlite_app, webhook=receiver.url)
        saved = os.environ.get("OUTBOUND_DATABASE_URL")
        os.environ["OUTBOUND_DATABASE_URL"] = sqlite_app.settings.database_url
        st.cache_data.clear()
        st.cache_resource.clear()
        yield sqlite_app, fates, receiver
        if saved is None:
            os.environ.pop("OUTBOUND_DATABASE_URL", None)
        else:
            os.environ["OUTBOUND_DATABASE_URL"] = saved


def _gbk_list(fates: Fates) -> bytes:
    rows = (
        ["序号,手机号码,姓名"]
        + [f"{i},{n[3:6]}-{n[6:10]}-{n[10:]},客户{i}" for i, n in enumerate(fates.active)]
        + ["41,10086,客服", f"42,{fates.suspended[3:]},停机"]
    )
    return ("\r\n".join(rows) + "\r\n").encode("gbk")


def _fill(at: AppTest, upload: bytes | None, goal: float = 1.0) -> AppTest:
    today = real_today()
    at.selectbox[0].set_value("GZ")
    at.selectbox[1].set_value("5G_PLUS_59")
    at.text_input[0].set_value("4G 用户")
    at.number_input[1].set_value(goal)
    at.date_input[0].set_value((today, today + timedelta(days=3)))
    if upload is not None:
        at.file_uploader[0].upload("广州名单.csv", upload, "text/csv")
    return at


def _submit_button(at: AppTest) -> None:
    [button] = [b for b in at.button if "Submit" in b.label]
    button.click().run()


def test_branch_submits_a_gbk_list_and_sees_the_report(operator: tuple) -> None:
    app, fates, _ = operator
    page = AppTest.from_file(str(PAGES / "submit_request.py"), default_timeout=60)
    at = signed_in(page, GZ_USER).run()
    assert not at.exception
    _submit_button(_fill(at, _gbk_list(fates)))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Submitted as campaign 1: 42 rows, 41 valid numbers, 1 rows with problems" in (
        at.success[0].value
    )
    verdict = (at.success[1:] or at.warning)[0].value
    assert "Feasibility of campaign 1" in verdict
    c = services.get_campaign(uow=app.uow(), campaign_id=1)
    assert c.state is CampaignState.FEASIBILITY and c.submitted_by == "gz"
    assert c.feasibility is not None and c.feasibility["cleaning_preview"]["kept"] == 40


def test_branch_sees_what_to_fix(operator: tuple) -> None:
    at = signed_in(AppTest.from_file(str(PAGES / "submit_request.py"), default_timeout=60)).run()
    _submit_button(_fill(at, None))
    assert at.error[0].value == "Choose the contact list file first."
    _, fates, _ = operator
    at = signed_in(AppTest.from_file(str(PAGES / "submit_request.py"), default_timeout=60)).run()
    _submit_button(_fill(at, "姓名,地址\n张三,广州\n".encode("gbk")))
    assert "no phone column" in at.error[0].value
    at = signed_in(AppTest.from_file(str(PAGES / "submit_request.py"), default_timeout=60)).run()
    _submit_button(_fill(at, _gbk_list(fates), goal=0))
    assert "at least 1 activation" in at.error[0].value


def test_staff_reject_with_a_note_and_the_branch_hears_of_it(operator: tuple) -> None:
    app, fates, receiver = operator
    at = signed_in(AppTest.from_file(str(PAGES / "submit_request.py"), default_timeout=60)).run()
    _submit_button(_fill(at, _gbk_list(fates)))
    at = signed_in(AppTest.from_file(str(PAGES / "approvals.py"), default_timeout=60)).run()
    assert not at.exception
    assert "#1 " in at.expander[0].label
    [reject] = [b for b in at.button if b.label.startswith("Reject")]
    reject.click().run()
    assert "needs a note" in at.error[0].value
    assert services.get_campaign(uow=app.uow(), campaign_id=1).state is CampaignState.FEASIBILITY
    at.text_input(key="note-1").set_value("名单过旧 list is too old")
    [reject] = [b for b in at.button if b.label.startswith("Reject")]
    reject.click().run()
    assert "Campaign 1 is REJECTED. Branch notified: DELIVERED." in at.success[-1].value
    assert receiver.received[0]["json"]["note"] == "名单过旧 list is too old"


def test_staff_approve(operator: tuple) -> None:
    app, fates, _ = operator
    at = signed_in(AppTest.from_file(str(PAGES / "submit_request.py"), default_timeout=60)).run()
    _submit_button(_fill(at, _gbk_list(fates)))
    at = signed_in(AppTest.from_file(str(PAGES / "approvals.py"), default_timeout=60)).run()
    at.text_input(key="note-1").set_value("ok")
    [approve] = [b for b in at.button if b.label.startswith("Approve")]
    approve.click().run()
    assert not at.exception
    assert services.get_campaign(uow=app.uow(), campaign_id=1).state is CampaignState.APPROVED
