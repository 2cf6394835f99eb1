"""Every page as every role (streamlit AppTest): what each role may see and do there, and
that a branch user reaches its own branch's campaigns only, whatever the parameters say."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from builders import EVERY_ROLE, GZ_USER, TODAY, signed_in
from dashboard_support import World, page
from sqlalchemy import func, select

from campaigns.access import Principal, Role
from campaigns.storage import orm

PAGES = ("overview", "campaign_detail", "agents", "approvals", "reports", "submit_request")
#: Pages a role is refused, and the words that say so.
REFUSED = {
    ("agents", "branch"): "cannot use this page",
    ("approvals", "branch"): "cannot use this page",
    ("approvals", "manager"): "cannot use this page",
    ("submit_request", "manager"): "Managers read the dashboard",
}


def shown(at: Any) -> str:
    """Everything a page rendered as text: titles, captions, tiles, tables, choices."""
    parts = [str(e.value) for e in (*at.title, *at.markdown, *at.caption, *at.metric)]
    parts += [str(e.value) for e in (*at.success, *at.info, *at.warning, *at.error)]
    parts += [df.value.to_csv() for df in at.dataframe]
    parts += [str(o) for box in at.selectbox for o in box.options]
    parts += [e.label for e in at.expander]
    return "\n".join(parts)


def _overview(at: Any, w: World, user: Principal) -> None:
    assert at.title[0].value == "Overview"
    assert len(at.metric) == 7  # each tile with its trend against the previous period
    ids = set(at.dataframe[0].value["id"])
    assert ids == ({w.gz} if user.role is Role.BRANCH else {w.gz, w.sz})
    branches = set(at.dataframe[1].value["branch"])
    assert branches == ({"GZ"} if user.role is Role.BRANCH else {"GZ", "SZ"})


def _campaign(at: Any, w: World, user: Principal) -> None:
    assert at.title[0].value == "Campaign detail"
    options = at.selectbox[0].options
    assert len(options) == (1 if user.role is Role.BRANCH else 2)
    assert at.selectbox[0].value == w.gz
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["State"] == "LIVE" and int(metrics["Attempts"].replace(",", "")) > 0
    assert len(at.tabs) == 9
    labels = {b.label for b in at.button}
    if user.can_operate:
        assert {"Pause", "Cancel campaign"} <= labels
    else:
        assert not labels & {"Pause", "Cancel campaign", "Resume", "Launch"}


def _agents(at: Any, w: World, user: Principal) -> None:
    assert at.title[0].value == "Agents"
    at.date_input[0].set_value((TODAY, TODAY + timedelta(days=1))).run()
    table = at.dataframe[0].value
    with w.app.engine.connect() as conn:
        calls = conn.scalar(
            select(func.count()).where(
                orm.CallAttempt.campaign_id == w.gz, orm.CallAttempt.agent_id.is_not(None)
            )
        )
    assert table["calls"].sum() == calls > 0
    # (7 h signed in − 0.5 h busy) / 8 h scheduled, every agent, both days.
    assert {m.label: m.value for m in at.metric}["有效工时利用率 (effective work-hour use)"] == (
        "81.2%"
    )


def _approvals(at: Any, w: World, user: Principal) -> None:
    assert at.title[0].value == "Requests & approvals"
    assert [e.label.split()[0] for e in at.expander] == [f"#{w.sz}"]
    assert {b.label for b in at.button} >= {"Approve", "Reject"}


def _reports(at: Any, w: World, user: Principal) -> None:
    assert at.title[0].value == "Reports"
    daily = at.dataframe[0].value
    assert list(daily["date"]) == [TODAY] and list(daily["delivery_status"]) == ["delivered"]
    downloads = at.get("download_button")
    assert [d.proto.url.rsplit(".", 1)[1] for d in downloads] == ["csv", "xlsx", "html"]
    assert [d.label for d in downloads] == ["Download CSV", "Download XLSX", "Download HTML"]
    resend = [b for b in at.button if b.label.startswith("Send this day's report again")]
    assert bool(resend) is user.can_operate


def _submit(at: Any, w: World, user: Principal) -> None:
    assert at.title[0].value == "Submit request"
    branches = [o.split(" ")[0] for o in at.selectbox[0].options]
    assert branches == (["GZ"] if user.role is Role.BRANCH else sorted(branches))
    assert len(branches) == (1 if user.role is Role.BRANCH else 3)


CHECKS: dict[str, Callable[[Any, World, Principal], None]] = {
    "overview": _overview,
    "campaign_detail": _campaign,
    "agents": _agents,
    "approvals": _approvals,
    "reports": _reports,
    "submit_request": _submit,
}


@pytest.mark.parametrize("role", list(EVERY_ROLE))
@pytest.mark.parametrize("name", PAGES)
def test_every_page_for_every_role(world: World, name: str, role: str) -> None:
    user = EVERY_ROLE[role]
    at = signed_in(page(name), user)
    at.query_params["campaign"] = str(world.gz)
    at.run()
    assert not at.exception, at.exception
    refusal = REFUSED.get((name, role))
    if refusal is not None:
        assert refusal in at.error[0].value
        assert not at.dataframe and not at.button and not at.metric
        return
    CHECKS[name](at, world, user)


@pytest.mark.parametrize("name", [p for p in PAGES if (p, "branch") not in REFUSED])
def test_a_branch_user_never_reaches_another_branchs_campaign(world: World, name: str) -> None:
    sz_name = f"SZ-5G_PLUS_59-{TODAY:%Y-%m}"
    # By parameter: ?campaign= names SZ's campaign.
    at = signed_in(page(name), GZ_USER)
    at.query_params["campaign"] = str(world.sz)
    at.run()
    assert not at.exception
    assert sz_name not in shown(at) and f"#{world.sz} " not in shown(at)
    if at.selectbox and name != "submit_request":
        assert at.selectbox[0].value == world.gz
    # By the widget's state: SZ's id forced into the campaign picker.
    if name in ("campaign_detail", "reports"):
        at = signed_in(page(name), GZ_USER)
        at.session_state["campaign"] = world.sz
        at.run()
        assert sz_name not in shown(at)
        assert not at.exception and at.selectbox[0].value == world.gz


def test_staff_see_both_branches_where_a_branch_user_sees_one(world: World) -> None:
    at = signed_in(page("campaign_detail"), EVERY_ROLE["staff"])
    at.query_params["campaign"] = str(world.sz)
    at.run()
    assert at.selectbox[0].value == world.sz
    assert {m.label: m.value for m in at.metric}["State"] == "FEASIBILITY"
