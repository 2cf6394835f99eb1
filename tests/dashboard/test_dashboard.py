"""The dashboard skeleton renders real figures from the database (streamlit AppTest)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from builders import GZ_USER, NOW, TODAY, ready_campaign, seed_operator, signed_in
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from campaigns import reporting, services, views
from campaigns.dialing import run_slice
from campaigns.model import CampaignState, Phase
from campaigns.storage import orm
from dialer_adapters.simulator import SimulatedDialer
from flows.bootstrap import App

ROOT = Path(__file__).resolve().parents[2] / "dashboard"


@pytest.fixture
def dialled(sqlite_app: App) -> Iterator[int]:
    fates = seed_operator(sqlite_app)
    cid = ready_campaign(sqlite_app, fates)
    services.start_trial(uow=sqlite_app.uow(), campaign_id=cid, now=NOW)
    services.review_trial(uow=sqlite_app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=sqlite_app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    c = services.get_campaign(uow=sqlite_app.uow(), campaign_id=cid)
    start, end = services.day_window(TODAY, c.calling_hours, "Asia/Shanghai")
    run_slice(
        uow=sqlite_app.uow(),
        dialer=SimulatedDialer(),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
    )
    reporting.build_daily_report(uow=sqlite_app.uow(), campaign_id=cid, day=TODAY, now=NOW)
    saved = os.environ.get("OUTBOUND_DATABASE_URL")
    os.environ["OUTBOUND_DATABASE_URL"] = sqlite_app.settings.database_url
    # Pages cache their data; start every test from what is in the database now.
    st.cache_data.clear()
    st.cache_resource.clear()
    yield cid
    if saved is None:
        os.environ.pop("OUTBOUND_DATABASE_URL", None)
    else:
        os.environ["OUTBOUND_DATABASE_URL"] = saved


def test_overview_lists_the_campaign(dialled: int, sqlite_app: App) -> None:
    at = signed_in(
        AppTest.from_file(str(ROOT / "app_pages" / "overview.py"), default_timeout=30)
    ).run()
    assert not at.exception
    expected = views.campaign_list(uow=sqlite_app.uow())[0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Campaigns"] == "1"
    assert metrics["Attempts"] == f"{expected['attempts']:,}"
    frame = at.dataframe[0].value
    assert list(frame["id"]) == [dialled] and list(frame["state"]) == ["LIVE"]


def test_campaign_page_shows_funnel_and_trend(dialled: int, sqlite_app: App) -> None:
    at = signed_in(
        AppTest.from_file(str(ROOT / "app_pages" / "campaign_detail.py"), default_timeout=30)
    )
    at.query_params["campaign"] = str(dialled)
    at.run()
    assert not at.exception
    status = views.campaign_status(uow=sqlite_app.uow(), campaign_id=dialled)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["State"] == "LIVE"
    assert metrics["Successes"] == f"{status['funnel']['successes']:,}"
    # Each contact counts once per stage it reached, so the funnel never widens.
    counts = [stage["count"] for stage in views.funnel_stages(status)]
    assert counts == sorted(counts, reverse=True) and counts[0] == 51 and counts[1] > 0
    assert [s.value for s in at.subheader][:2] == ["Funnel 转化漏斗", "Daily trend 每日趋势"]
    assert not at.info  # the trend has data, so no "no feedback yet" notice
    ledger = at.dataframe[0].value
    assert list(ledger["reason"])[:1] == ["SUBSCRIBER_INACTIVE"]  # the most frequent first reason
    assert dict(zip(ledger["reason"], ledger["first"], strict=True))["DUPLICATE"] == 1


def test_navigation_app_runs(dialled: int) -> None:
    at = signed_in(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30)).run()
    assert not at.exception
    assert at.title[0].value == "Campaigns 外呼活动"
    at.switch_page("app_pages/campaign_detail.py").run()
    assert not at.exception and at.title[0].value == "Campaign detail 活动详情"


def test_agents_page_counts_each_agents_calls(dialled: int, sqlite_app: App) -> None:
    at = signed_in(AppTest.from_file(str(ROOT / "app_pages" / "agents.py"), default_timeout=30))
    at.run()
    at.date_input[0].set_value((TODAY, TODAY)).run()
    assert not at.exception
    table = at.dataframe[0].value
    with sqlite_app.engine.connect() as conn:
        expected = dict(
            conn.execute(
                select(orm.Agent.work_id, func.count())
                .join(orm.CallAttempt, orm.CallAttempt.agent_id == orm.Agent.id)
                .group_by(orm.Agent.work_id)
            ).all()
        )
    assert dict(zip(table["agent"], table["calls"], strict=True)) == expected
    assert sum(expected.values()) > 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls 通话次数"] == f"{sum(expected.values()):,}"
    # The day before has nothing.
    at.date_input[0].set_value((TODAY - timedelta(days=1), TODAY - timedelta(days=1))).run()
    assert "No calls handled by agents" in at.info[0].value


def test_agents_page_is_not_for_branch_users(dialled: int) -> None:
    page = AppTest.from_file(str(ROOT / "app_pages" / "agents.py"), default_timeout=30)
    at = signed_in(page, GZ_USER).run()
    assert "cannot use this page" in at.error[0].value and not at.dataframe
