"""`outbound dashboard` after `outbound demo`: the demo leaves Chinese-speaking users who can
sign in, and the dashboard shows its campaign with real figures (a small demo, real flow)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from dashboard_support import dashboard_on, page, whole_app
from rich.console import Console

from campaigns import services, views
from flows.bootstrap import App
from flows.demo import run_demo

pytestmark = pytest.mark.flow


def test_the_dashboard_after_the_demo(flow_app: App) -> None:
    if flow_app.engine.dialect.name != "sqlite":
        pytest.skip("the demo runs on the embedded SQLite database")
    out = run_demo(flow_app, subscribers=3_000, contacts=400, console=Console(file=io.StringIO()))
    cid = out["campaign_id"]
    board = views.campaign_board(uow=flow_app.uow(), campaign_id=cid)
    assert board["funnel"]["attempts"] > 0 and board["funnel"]["successes"] > 0
    assert all(s["count"] > 0 for s in board["stages"]), board["stages"]
    assert board["trend"] and board["heatmap"] and board["phases"]["TRIAL"]["attempts"] > 0
    users = {
        line.split("\t")[0]: line.split("\t")
        for line in (Path(flow_app.settings.data_dir) / "demo" / "dashboard-users.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    }
    assert set(users) == {"zhang.wei", "li.na", "wang.fang", "admin"}
    staff = services.authenticate(
        uow=flow_app.uow(), username="zhang.wei", password=users["zhang.wei"][1]
    )
    assert staff is not None and staff.display_name == "张伟" and staff.can_operate
    first_day = min(r["date"] for r in board["trend"])
    with dashboard_on(flow_app):
        at = whole_app()
        at.run()
        at.text_input(key="sign-in-user").set_value("zhang.wei")
        at.text_input(key="sign-in-password").set_value(users["zhang.wei"][1])
        at.button[0].click().run()
        assert not at.exception
        assert at.title[0].value == "总览"
        table = at.dataframe[0].value
        row = table[table["id"] == cid].iloc[0]
        assert row["attempts"] == board["funnel"]["attempts"] > 0
        assert row["successes"] == board["funnel"]["successes"]
        at = page("agents")
        at.session_state["principal"] = staff
        at.session_state["lang"] = "en"
        at.run()
        at.date_input[0].set_value((first_day, first_day)).run()
        metrics = {m.label: m.value for m in at.metric}
        assert int(metrics["Calls"].replace(",", "")) > 0
        assert metrics["有效工时利用率 (effective work-hour use)"] not in ("—", "0.0%")
