"""Dashboard users on both databases: added, signed in, disabled, audited; and the CLI."""

from __future__ import annotations

import io
import sys

import pytest
from builders import NOW, seed_operator
from sqlalchemy import select

from campaigns import services
from campaigns.access import Principal, Role
from campaigns.errors import NotFoundError, ValidationError
from campaigns.storage import orm
from flows import cli
from flows.bootstrap import App


def test_a_user_signs_in_with_its_password_only(app: App) -> None:
    seed_operator(app)
    services.add_user(
        uow=app.uow(),
        username="gz-marketing",
        password="s3cret-enough",
        role=Role.BRANCH,
        branch_code="GZ",
        actor="admin",
        now=NOW,
    )
    who = services.authenticate(uow=app.uow(), username="gz-marketing", password="s3cret-enough")
    assert who == Principal("gz-marketing", Role.BRANCH, "GZ", pii=False)
    assert services.authenticate(uow=app.uow(), username="gz-marketing", password="wrong") is None
    assert services.authenticate(uow=app.uow(), username="nobody", password="s3cret-enough") is None
    with app.engine.connect() as conn:
        stored = conn.scalar(select(orm.User.password_hash))
        actions = list(conn.scalars(select(orm.AuditEntry.action)))
    assert stored and "s3cret-enough" not in stored
    assert "user_added" in actions
    services.set_user_disabled(
        uow=app.uow(), username="gz-marketing", disabled=True, actor="admin", now=NOW
    )
    assert (
        services.authenticate(uow=app.uow(), username="gz-marketing", password="s3cret-enough")
        is None
    )
    assert [u["username"] for u in services.list_users(uow=app.uow())] == ["gz-marketing"]
    assert "password_hash" not in services.list_users(uow=app.uow())[0]


def test_bad_users_are_refused_and_nothing_is_stored(app: App) -> None:
    seed_operator(app)
    kwargs = {"uow": app.uow(), "actor": "admin", "now": NOW, "password": "long enough"}
    with pytest.raises(NotFoundError, match="unknown branch"):
        services.add_user(username="x1", role=Role.BRANCH, branch_code="ZZ", **kwargs)
    services.add_user(username="x1", role=Role.STAFF, **kwargs)
    with pytest.raises(ValidationError, match="exists already"):
        services.add_user(username="x1", role=Role.STAFF, **kwargs)
    with pytest.raises(NotFoundError):
        services.set_user_disabled(
            uow=app.uow(), username="ghost", disabled=True, actor="a", now=NOW
        )
    assert len(services.list_users(uow=app.uow())) == 1


def test_cli_adds_a_user_from_stdin(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_operator(sqlite_app)
    url = sqlite_app.settings.database_url
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    code = cli.main(
        [
            "--database",
            url,
            "users",
            "add",
            "sz",
            "--role",
            "branch",
            "--branch",
            "SZ",
            "--password-stdin",
            "--display-name",
            "深圳 王芳",
        ]
    )
    assert code == 0 and "user sz added (BRANCH)" in capsys.readouterr().out
    assert services.authenticate(
        uow=sqlite_app.uow(), username="sz", password="a-long-password"
    ) == Principal("sz", Role.BRANCH, "SZ", display_name="深圳 王芳")
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert (
        cli.main(["--database", url, "users", "add", "li", "--role", "staff", "--password-stdin"])
        == 2
    )
    assert "at least 8 characters" in capsys.readouterr().err
