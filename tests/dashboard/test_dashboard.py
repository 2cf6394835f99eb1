"""The dashboard shows a campaign run through the engine with real figures, in Chinese by
default and in English at the switch (streamlit AppTest)."""

from __future__ import annotations

from datetime import timedelta

from builders import STAFF, TODAY, signed_in
from dashboard_support import World, page, whole_app

from campaigns import views
from dashboard import i18n


def test_the_app_opens_in_chinese_and_switches_to_english(world: World) -> None:
    at = whole_app()
    at.session_state["principal"] = STAFF
    at.run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert "已登录" in " ".join(c.value for c in at.sidebar.caption)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception and at.title[0].value == "Overview"
    at.switch_page("app_pages/campaign_detail.py").run()
    assert not at.exception and at.title[0].value == "Campaign detail"
    # The choice stays for the session.
    at.switch_page("app_pages/reports.py").run()
    assert at.title[0].value == "Reports"


def test_both_languages_say_everything() -> None:
    assert set(i18n.ZH) == set(i18n.EN)
    assert all(i18n.ZH[k] and i18n.EN[k] for k in i18n.EN)


def test_a_campaign_run_through_the_engine_shows_real_figures(world: World) -> None:
    board = views.campaign_board(uow=world.app.uow(), campaign_id=world.gz)
    # Every stage of the contact funnel, and every chart, has something in it.
    assert all(s["count"] > 0 for s in board["stages"]), board["stages"]
    counts = [s["count"] for s in board["stages"]]
    assert counts == sorted(counts, reverse=True)  # each contact once per stage: it narrows
    assert board["trend"] and board["heatmap"] and board["dispositions"] and board["scripts"]
    assert board["phases"]["TRIAL"]["attempts"] > 0 and board["phases"]["LIVE"]["attempts"] > 0
    at = signed_in(page("campaign_detail"))
    at.query_params["campaign"] = str(world.gz)
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Successes"] == f"{board['funnel']['successes']:,}" != "0"
    assert metrics["Attempts"] == f"{board['funnel']['attempts']:,}"
    ledger = next(d.value for d in at.dataframe if "alone" in d.value.columns)
    assert list(ledger["reason"])[:1] == ["SUBSCRIBER_INACTIVE"]  # the most frequent first
    assert dict(zip(ledger["reason"], ledger["first"], strict=True))["DUPLICATE"] == 1
    assert not [i for i in at.info if "Nothing dialled" in i.value]
    at = signed_in(page("agents"), STAFF).run()
    at.date_input[0].set_value((TODAY, TODAY + timedelta(days=1))).run()
    calls = {m.label: m.value for m in at.metric}["Calls"]
    assert int(calls.replace(",", "")) > 0
