"""The CLI: helpful --help, clear errors without tracebacks, and real commands on a database."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import real_today, seed_operator

from flows.bootstrap import App
from flows.cli import build_parser, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "demo",
        "db",
        "submit",
        "approve",
        "reject",
        "launch",
        "pause",
        "resume",
        "cancel",
        "status",
        "report",
        "dashboard",
    ):
        assert command in out
    for sub in build_parser()._subparsers._group_actions[0].choices.values():  # type: ignore[union-attr]
        assert sub.format_help().strip()


def _db(app: App) -> list[str]:
    return ["--database", app.settings.database_url]


def test_user_mistakes_are_one_line_errors(
    sqlite_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_operator(sqlite_app)
    assert main([*_db(sqlite_app), "status", "999"]) == 2
    assert capsys.readouterr().err.strip() == "error: campaign 999 does not exist"
    assert main([*_db(sqlite_app), "reject", "1"]) == 2
    assert "needs a note" in capsys.readouterr().err
    bad = tmp_path / "list.csv"
    bad.write_text("name,address\na,b\n", encoding="utf-8")
    code = main(
        [
            *_db(sqlite_app),
            "submit",
            str(bad),
            "--branch",
            "GZ",
            "--offer",
            "5G_PLUS_59",
            "--goal",
            "5",
            "--start",
            real_today().isoformat(),
            "--end",
            real_today().isoformat(),
            "--no-check",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no phone column" in err and "Traceback" not in err


def test_missing_schema_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database", f"sqlite:///{tmp_path / 'empty.db'}", "status"]) == 2
    assert "run `outbound db upgrade`" in capsys.readouterr().err


def test_branch_quota_and_webhook(sqlite_app: App, capsys: pytest.CaptureFixture[str]) -> None:
    seed_operator(sqlite_app)
    db = _db(sqlite_app)
    assert (
        main([*db, "branch", "GZ", "--quota", "1234", "--webhook", "https://gz.example/hook"]) == 0
    )
    out = capsys.readouterr().out
    assert "1,234" in out and "https://gz.example/hook" in out
    assert main([*db, "branch", "GZ", "--webhook", "ftp://x"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err
    assert main([*db, "branch", "GZ", "--no-quota", "--webhook", ""]) == 0
    with sqlite_app.uow() as uow:
        gz = uow.catalogue.branch_by_code("GZ")
        trail = uow.audit.for_entity("branch", gz.id if gz else 0)
    assert gz is not None and gz.monthly_quota is None and gz.webhook_url is None
    assert [e["action"] for e in trail] == ["configured", "configured"]
