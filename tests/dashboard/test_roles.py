"""Sign-in and roles in the dashboard (streamlit AppTest): a branch user reaches its own
branch's campaigns only, through any page or parameter; pages refuse roles without the right."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from builders import GZ_USER, MANAGER, NOW, STAFF, seed_operator, signed_in, submitted
from streamlit.testing.v1 import AppTest

from campaigns import services
from campaigns.access import Role
from flows.bootstrap import App

ROOT = Path(__file__).resolve().parents[2] / "dashboard"


@pytest.fixture
def two_branches(sqlite_app: App) -> Iterator[dict[str, int]]:
    fates = seed_operator(sqlite_app)
    ids = {
        "GZ": submitted(sqlite_app, fates, target_group="gz list"),
        "SZ": submitted(sqlite_app, fates, branch_code="SZ", target_group="sz list"),
    }
    services.add_user(
        uow=sqlite_app.uow(),
        username="gz",
        password="gz-password",
        role=Role.BRANCH,
        branch_code="GZ",
        actor="t",
        now=NOW,
    )
    saved = os.environ.get("OUTBOUND_DATABASE_URL")
    os.environ["OUTBOUND_DATABASE_URL"] = sqlite_app.settings.database_url
    st.cache_data.clear()
    st.cache_resource.clear()
    yield ids
    if saved is None:
        os.environ.pop("OUTBOUND_DATABASE_URL", None)
    else:
        os.environ["OUTBOUND_DATABASE_URL"] = saved


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / name), default_timeout=30)


def _shown(at: AppTest) -> str:
    """Everything the page rendered as text, tables included."""
    parts = [str(e.value) for e in (*at.title, *at.markdown, *at.caption, *at.metric)]
    parts += [df.value.to_csv() for df in at.dataframe]
    parts += [str(opt) for box in at.selectbox for opt in box.options]
    return "\n".join(parts)


def test_nobody_sees_anything_before_signing_in(two_branches: dict[str, int]) -> None:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert "sign in" in at.title[0].value
    assert "GZ-5G_PLUS_59" not in _shown(at)
    at.text_input[0].set_value("gz")
    at.text_input[1].set_value("not-the-password")
    at.button[0].click().run()
    assert "Wrong user name or password" in at.error[0].value
    at.text_input[1].set_value("gz-password")
    at.button[0].click().run()
    assert not at.exception
    assert "Signed in as **gz**" in _shown(at)
    assert "GZ-5G_PLUS_59" in _shown(at) and "SZ-5G_PLUS_59" not in _shown(at)
    # A page run on its own (a bookmark) asks for a user too.
    alone = _page("overview.py")
    alone.session_state["lang"] = "en"
    alone.run()
    assert "Sign in first" in alone.warning[0].value and not alone.dataframe


def test_a_branch_user_sees_its_own_branch_only(two_branches: dict[str, int]) -> None:
    at = signed_in(_page("overview.py"), GZ_USER).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["branch"]) == ["GZ"] and list(table["id"]) == [two_branches["GZ"]]
    # Asking for the other branch's campaign by parameter shows the user's own instead.
    at = signed_in(_page("campaign_detail.py"), GZ_USER)
    at.query_params["campaign"] = str(two_branches["SZ"])
    at.run()
    assert not at.exception
    options = at.selectbox[0].options
    assert len(options) == 1 and options[0].startswith(f"#{two_branches['GZ']} ")
    assert at.selectbox[0].value == two_branches["GZ"]
    assert "SZ-5G_PLUS_59" not in _shown(at)
    # Staff see both.
    at = signed_in(_page("overview.py"), STAFF).run()
    assert sorted(at.dataframe[0].value["branch"]) == ["GZ", "SZ"]


def test_pages_refuse_roles_without_the_right(two_branches: dict[str, int]) -> None:
    at = signed_in(_page("approvals.py"), GZ_USER).run()
    assert "cannot use this page" in at.error[0].value and not at.button
    at = signed_in(_page("approvals.py"), MANAGER).run()
    assert "cannot use this page" in at.error[0].value
    at = signed_in(_page("submit_request.py"), MANAGER).run()
    assert "Managers read the dashboard" in at.error[0].value
    # A branch user's request form offers its own branch only.
    at = signed_in(_page("submit_request.py"), GZ_USER).run()
    assert at.selectbox[0].options[0].startswith("GZ") and len(at.selectbox[0].options) == 1
