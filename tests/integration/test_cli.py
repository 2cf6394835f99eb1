"""The CLI: helpful --help, clear errors without tracebacks, and real commands on a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import NOW, ready_campaign, real_today, seed_operator
from sqlalchemy import select, update

from campaigns import services, views
from campaigns.dialing import run_slice
from campaigns.model import CampaignState, ContactState, Phase
from campaigns.storage import orm
from dialer_adapters.simulator import SimulatedDialer
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


def test_clean_preview_then_clean(sqlite_app: App, capsys: pytest.CaptureFixture[str]) -> None:
    from builders import NOW, submitted

    from campaigns import services

    fates = seed_operator(sqlite_app)
    cid = submitted(sqlite_app, fates)
    services.run_feasibility(uow=sqlite_app.uow(), campaign_id=cid, now=NOW)
    services.decide(uow=sqlite_app.uow(), campaign_id=cid, approve=True, actor="r", now=NOW)
    db = _db(sqlite_app)
    assert main([*db, "clean", str(cid), "--preview"]) == 0
    preview = capsys.readouterr().out
    assert "Preview: 11 of 51 contacts will be skipped, and why" in preview
    assert "PRIOR_FOLLOW_UP@1" in preview
    # A rule switched off in a preview is not stored; switched off for real, it is.
    assert main([*db, "clean", str(cid), "--preview", "--disable", "prior_follow_up"]) == 0
    assert "Preview: 10 of 51" in capsys.readouterr().out
    assert (
        services.policy_for(services.get_campaign(uow=sqlite_app.uow(), campaign_id=cid)).disabled
        == frozenset()
    )
    assert (
        main([*db, "clean", str(cid), "--disable", "PRIOR_FOLLOW_UP", "--cooldown-days", "1"]) == 0
    )
    out = capsys.readouterr().out
    assert "cooldown 1 d" in out and "rules off: PRIOR_FOLLOW_UP" in out
    c = services.get_campaign(uow=sqlite_app.uow(), campaign_id=cid)
    assert c.state.value == "READY" and c.cleaning_ledger is not None
    assert c.cleaning_ledger["kept"] == 42  # follow-up and the 3-day-old contact now kept
    assert main([*db, "clean", str(cid), "--disable", "NOPE"]) == 2
    assert "rules are: INVALID_NUMBER" in capsys.readouterr().err


def test_subscribers_import_errors_are_one_line(
    sqlite_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_operator(sqlite_app)
    good = Path(__file__).resolve().parents[2] / "examples" / "snapshot"
    db = _db(sqlite_app)
    assert (
        main(
            [
                *db,
                "subscribers",
                "import",
                "--subscribers",
                str(good / "subscribers.csv"),
                "--services",
                str(good / "services.csv"),
            ]
        )
        == 0
    )
    assert "subscribers: 5, subscriber_services: 3" in capsys.readouterr().out
    bad = tmp_path / "subs.csv"
    bad.write_text(
        "msisdn,status,segment,branch\n13800138000,ACTIVE,,GZ\n1380,ACTIVE,,GZ\n", encoding="utf-8"
    )
    assert main([*db, "subscribers", "import", "--subscribers", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "subs.csv row 3" in err and "nothing was imported" in err and "Traceback" not in err
    assert main([*db, "subscribers", "import"]) == 2
    assert "name at least one file" in capsys.readouterr().err


def test_crm_source_needs_its_settings(tmp_path: Path) -> None:
    from campaigns.errors import ConfigurationError
    from flows.bootstrap import bootstrap
    from flows.settings import Settings

    url = f"sqlite:///{tmp_path / 'x.db'}"
    app = bootstrap(Settings(database_url=url, subscriber_source="crm"))
    with pytest.raises(ConfigurationError, match="OUTBOUND_CRM_URL"):
        app.subscriber_source()
    crm = bootstrap(
        Settings(
            database_url=url, subscriber_source="crm", crm_url="http://127.0.0.1:1", crm_token="t"
        )
    )
    assert type(crm.subscriber_source()).__name__ == "HttpxCrmSubscriberSource"
    assert bootstrap(Settings(database_url=url)).subscriber_source() is None


def test_status_says_what_ready_contacts_wait_for(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    fates = seed_operator(app, active=40)
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    start = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, 01:00 in London
    end = start + timedelta(minutes=30)
    run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=21),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
    )
    # Three contacts due now that may not be dialled: two London numbers and a DNC one.
    with app.engine.begin() as conn:
        ids = list(
            conn.execute(
                select(orm.Contact.id)
                .where(orm.Contact.campaign_id == cid, orm.Contact.e164.is_not(None))
                .order_by(orm.Contact.id)
                .limit(3)
            ).scalars()
        )
        for contact_id, e164 in zip(
            ids, ["+442079460001", "+442079460002", fates.active[0]], strict=True
        ):
            conn.execute(
                update(orm.Contact)
                .where(orm.Contact.id == contact_id)
                .values(e164=e164, state=ContactState.READY, next_attempt_at=start)
            )
    with app.uow() as uow:
        uow.dnc.add_many([(fates.active[0], "test")], now=start)
        uow.commit()
    assert main([*_db(app), "status", str(cid), "--at", end.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "outside the calling window until 09:00 Europe/London" in out
    assert "on the do-not-call list" in out
    assert "retry after NO_ANSWER, due 2026-11-25" in out
    assert "dials/h, occupancy" in out and "abandon rate" in out
    with app.uow() as uow:
        r = views.dial_readiness(uow=uow, campaign_id=cid, now=end)
    blocked = {b["reason"]: b["contacts"] for b in r["blocked_now"]}
    assert blocked == {"OUTSIDE_HOURS": 2, "DNC": 1}
    assert r["due_now"] == 3 + r["callable_now"] and r["halted"] is None
    assert r["latest_hour"]["dials"] > 0
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.PAUSED, actor="t", now=NOW
    )
    assert main([*_db(app), "status", str(cid), "--at", end.isoformat()]) == 0
    assert "campaign is PAUSED: nothing is dialled" in capsys.readouterr().out
