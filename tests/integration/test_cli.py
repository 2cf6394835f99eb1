"""The CLI: helpful --help, clear errors without tracebacks, and real commands on a database."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import seed_operator

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
            "2026-12-01",
            "--end",
            "2026-12-05",
            "--no-check",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no phone column" in err and "Traceback" not in err


def test_missing_schema_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database", f"sqlite:///{tmp_path / 'empty.db'}", "status"]) == 2
    assert "run `outbound db upgrade`" in capsys.readouterr().err


def test_submit_gbk_file_then_status(
    sqlite_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fates = seed_operator(sqlite_app)
    path = tmp_path / "分公司名单.csv"
    lines = ["序号,手机号,姓名"] + [f"{i},{n[3:]},客户{i}" for i, n in enumerate(fates.active[:10])]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    request = tmp_path / "request.yaml"
    request.write_text(
        "branch: GZ\noffer: 5G_PLUS_59\ntarget: 4G 用户\ngoal: 1\n"
        "start: 2026-12-01\nend: 2026-12-05\n",
        encoding="utf-8",
    )
    args = [*_db(sqlite_app), "submit", "--request", str(request), str(path), "--no-check"]
    assert main(args) == 0
    assert "Submitted campaign 1: 10 rows, 10 valid numbers" in capsys.readouterr().out
    assert main(args) == 0
    assert "already submitted as campaign 1" in capsys.readouterr().out
    assert main([*_db(sqlite_app), "status"]) == 0
    assert "GZ-5G_PLUS_59-2026-12" in capsys.readouterr().out
