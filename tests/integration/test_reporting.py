"""Daily feedback, final summary and operations reports on both databases: hand-computed
figures, masked numbers everywhere, and delivery to a real local receiver that is down
first and up later."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import socket
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from builders import NOW, TODAY, ready_campaign, seed_operator, submitted
from sqlalchemy import select

from campaigns import reporting, services
from campaigns.dialing import run_slice
from campaigns.model import BranchRecord, CampaignState, DeliveryStatus, Phase
from campaigns.model import Disposition as D
from campaigns.operations import PeriodKind
from campaigns.storage import orm
from dialer_adapters.simulator import CustomerModel, SimulatedDialer
from flows.bootstrap import App
from flows.cli import main
from flows.receiver import WebhookReceiver
from flows.webhooks import HttpxFeedbackSender

FULL_NUMBER = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")


def _dialled_campaign(app: App, webhook: str | None) -> int:
    fates = seed_operator(app, webhook=webhook)
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    c = services.get_campaign(uow=app.uow(), campaign_id=cid)
    start, end = services.day_window(TODAY, c.calling_hours, "Asia/Shanghai")
    # Complaints on every answered call, so the report has numbers that must be masked.
    angry = CustomerModel(
        p_account_holder=1.0,
        p_success=0.3,
        p_complaint=0.5,
        p_callback=0,
        p_hung_up=0,
        p_ineligible=0,
        p_dnc_request=0,
    )
    run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(customers=angry),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
    )
    return cid


def test_report_is_delivered_signed_and_masked(app: App, tmp_path: Path) -> None:
    with WebhookReceiver(fail_first=1) as receiver:
        cid = _dialled_campaign(app, receiver.url)
        report_id, payload = reporting.build_daily_report(
            uow=app.uow(), campaign_id=cid, day=TODAY, now=NOW
        )
        status = reporting.deliver_report(
            uow=app.uow(),
            report_id=report_id,
            reports_dir=tmp_path,
            now=NOW,
            sender=HttpxFeedbackSender(secret="s3cret", retries=2),
        )
    assert status is DeliveryStatus.DELIVERED
    assert len(receiver.received) == 1  # the first POST got a 503 and was retried
    got = receiver.received[0]
    assert got["json"]["date"] == TODAY.isoformat()
    assert got["headers"]["Idempotency-Key"] == reporting.report_key(cid, TODAY, got["json"])
    ts, sig = (part.split("=", 1)[1] for part in got["headers"]["X-Outbound-Signature"].split(","))
    body = json.dumps(got["json"], ensure_ascii=False, sort_keys=True).encode()
    assert sig == hmac.new(b"s3cret", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert got["body"] == body

    day = payload["day"]
    assert day["attempts"] > 0 and day["successes"] > 0 and payload["complaints"]
    assert payload["cumulative"]["attempts"] == day["attempts"]
    for complaint in payload["complaints"]:
        assert re.fullmatch(r"1\d\d\*\*\*\*\d{4}", complaint["number"])
    written = (tmp_path / f"campaign-{cid}-{TODAY.isoformat()}.json").read_text(encoding="utf-8")
    assert FULL_NUMBER.search(written) is None
    assert FULL_NUMBER.search(json.dumps(got["json"])) is None
    with app.uow() as uow:
        stored = uow.reports.list_for(cid)
    assert stored[0]["delivery_status"] is DeliveryStatus.DELIVERED
    assert stored[0]["delivery_attempts"] == 1


def test_unreachable_webhook_is_recorded_as_failed(app: App, tmp_path: Path) -> None:
    cid = _dialled_campaign(app, "http://127.0.0.1:9/nothing-listens-here")
    report_id, _ = reporting.build_daily_report(uow=app.uow(), campaign_id=cid, day=TODAY, now=NOW)
    status = reporting.deliver_report(
        uow=app.uow(),
        report_id=report_id,
        reports_dir=tmp_path,
        now=NOW,
        sender=HttpxFeedbackSender(retries=0, timeout=2),
    )
    assert status is DeliveryStatus.FAILED
    with app.uow() as uow:
        stored = uow.reports.list_for(cid)[0]
    assert stored["delivery_status"] is DeliveryStatus.FAILED and stored["last_error"]


def test_no_webhook_still_writes_the_file(app: App, tmp_path: Path) -> None:
    cid = _dialled_campaign(app, None)
    report_id, _ = reporting.build_daily_report(uow=app.uow(), campaign_id=cid, day=TODAY, now=NOW)
    status = reporting.deliver_report(
        uow=app.uow(),
        report_id=report_id,
        reports_dir=tmp_path,
        now=NOW,
        sender=HttpxFeedbackSender(),
    )
    assert status is DeliveryStatus.NOT_CONFIGURED
    assert (tmp_path / f"campaign-{cid}-{TODAY.isoformat()}.json").exists()


# ------------------------------------------------------------------ hand-computed fixture

DAY1 = TODAY - timedelta(days=1)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo("Asia/Shanghai"))


def _fixture_campaign(app: App, webhook: str | None = None) -> tuple[int, list[int]]:
    """A campaign (goal 10) with hand-made attempts on DAY1 (trial) and TODAY (live)."""
    fates = seed_operator(app, webhook=webhook)
    cid = submitted(app, fates, goal_activations=10)
    services.run_feasibility(uow=app.uow(), campaign_id=cid, now=NOW)
    services.decide(uow=app.uow(), campaign_id=cid, approve=True, actor="reviewer", now=NOW)
    services.clean(uow=app.uow(), campaign_id=cid, now=NOW)
    services.assign_script(uow=app.uow(), campaign_id=cid, now=NOW)
    with app.uow() as uow:
        contacts = list(
            uow.session.execute(
                select(orm.Contact.id, orm.Contact.e164)
                .where(orm.Contact.campaign_id == cid, orm.Contact.e164.is_not(None))
                .order_by(orm.Contact.id)
                .limit(11)
            )
        )
        agents = [a for a, _ in uow.catalogue.outbound_agents()]
    T, L = Phase.TRIAL, Phase.LIVE
    plan = [
        # day, phase, contact, disposition, talk, agent, note
        (DAY1, T, 0, D.NO_ANSWER, 0, None, None),
        (DAY1, T, 0, D.SUCCESS, 100, 0, None),
        (DAY1, T, 1, D.REFUSED, 50, 0, "资费太贵"),
        (DAY1, T, 2, D.NETWORK_FAIL, 0, None, None),
        (TODAY, L, 3, D.SUCCESS, 120, 1, None),
        (TODAY, L, 4, D.REFUSED, 40, 1, "资费太贵"),
        (TODAY, L, 5, D.REFUSED, 30, 1, "暂不需要"),
        (TODAY, L, 6, D.COMPLAINT, 20, 1, "投诉: 回拨 13800138000"),
        (TODAY, L, 7, D.DNC_REQUEST, 10, 1, None),
        (TODAY, L, 8, D.ABANDONED, 0, None, None),
        (TODAY, L, 9, D.NOT_ACCOUNT_HOLDER, 10, 1, None),
        (TODAY, L, 10, D.MACHINE, 0, None, None),
    ]
    rows = []
    for i, (day, phase, k, disposition, talk, agent, note) in enumerate(plan):
        dialed = _at(day, 10, i)
        answered = dialed + timedelta(seconds=8) if talk else None
        rows.append(
            {
                "idempotency_key": f"fixture-{i}",
                "campaign_id": cid,
                "contact_id": contacts[k].id,
                "e164": contacts[k].e164,
                "agent_id": agents[agent] if agent is not None else None,
                "attempt_no": 1,
                "phase": phase,
                "status": orm.ATTEMPT_ENDED,
                "disposition": disposition,
                "counts_as_attempt": disposition is not D.NETWORK_FAIL,
                "dialed_at": dialed,
                "answered_at": answered,
                # Waits to the agent: 4 s each, except 20 s on the first live success.
                "bridged_at": answered + timedelta(seconds=20 if i == 4 else 4)
                if answered
                else None,
                "ended_at": dialed + timedelta(seconds=30 + talk),
                "talk_seconds": float(talk),
                "note": note,
            }
        )
    with app.uow() as uow:
        uow.attempts.add_many(rows)
        uow.commit()
    return cid, agents


def test_daily_report_figures_match_the_hand_count(app: App) -> None:
    cid, _ = _fixture_campaign(app)
    _, p = reporting.build_daily_report(uow=app.uow(), campaign_id=cid, day=TODAY, now=NOW)
    day, cum = p["day"], p["cumulative"]
    # TODAY: 8 attempts on 8 records; 7 live + 1 machine connected; RPC = success, 2 refused,
    # complaint, DNC; talk 230 s over 7 live contacts; 1 abandoned of 7 live.
    assert (day["attempts"], day["records_dialled"], day["connected"]) == (8, 8, 8)
    assert (day["right_party"], day["pitched"], day["successes"]) == (5, 5, 1)
    assert (day["conversion_per_rpc"], day["conversion_per_record"]) == (0.2, 0.125)
    assert (day["complaints"], day["dnc_requests"]) == (1, 1)
    assert (day["abandon_rate"], day["avg_talk_seconds"]) == (0.1429, 32.9)
    # Cumulative adds DAY1's 3 attempts (the network failure is none) on 2 records.
    assert (cum["attempts"], cum["records_dialled"], cum["right_party"]) == (11, 10, 7)
    assert (cum["successes"], cum["conversion_per_rpc"], p["completion"]) == (2, 0.2857, 0.2)
    phases = p["phases"]
    assert phases["day"]["TRIAL"]["attempts"] == 0
    assert phases["day"]["LIVE"] == day
    assert (phases["cumulative"]["TRIAL"]["attempts"], p["trial"]["successes"]) == (3, 1)
    assert p["live"]["attempts"] == 8
    # 2 successes in 2 days: 1 a day, 8 to go, finished 8 days on; the window ends sooner.
    assert p["projected"] == {
        "pace_per_day": 1.0,
        "remaining": 8,
        "finish": (TODAY + timedelta(days=8)).isoformat(),
        "on_track": False,
    }
    assert p["top_refusal_reasons"] == [
        {"reason": "资费太贵", "count": 2, "day": 1},
        {"reason": "暂不需要", "count": 1, "day": 1},
    ]
    assert p["complaints"][0]["note"] == "投诉: 回拨 138****8000"
    _, p1 = reporting.build_daily_report(uow=app.uow(), campaign_id=cid, day=DAY1, now=NOW)
    assert (p1["day"]["attempts"], p1["day"]["successes"], p1["cumulative"]["attempts"]) == (
        3,
        1,
        3,
    )
    assert p1["projected"]["finish"] == (DAY1 + timedelta(days=9)).isoformat()


def test_final_summary_and_operations_report_from_the_database(app: App) -> None:
    cid, agents = _fixture_campaign(app)
    s = reporting.build_final_summary(uow=app.uow(), campaign_id=cid, now=NOW)
    assert s["goal"] == {
        "goal_activations": 10,
        "successes": 2,
        "met": False,
        "completion": 0.2,
        "shortfall": 8,
    }
    with app.uow() as uow:
        valid = uow.contacts.count_valid(cid)
        work_ids = dict(uow.catalogue.outbound_agents())
    assert s["activation"]["valid_list"] == valid
    assert s["activation"]["rate_vs_valid_list"] == round(2 / valid, 4)
    assert s["activation"]["rate_vs_rpc"] == 0.2857
    by_agent = {r["key"]: (r["attempts"], r["successes"]) for r in s["by_agent"]}
    assert by_agent == {
        # no answer, abandoned and machine (the network failure is no attempt)
        "(no agent)": (3, 0),
        work_ids[agents[0]]: (2, 1),
        work_ids[agents[1]]: (6, 1),
    }
    assert [r["key"] for r in s["by_segment"]] == ["family"]  # from the subscriber snapshot
    assert [r["key"] for r in s["by_script_version"]] == ["v1"]
    assert {r["key"]: r["attempts"] for r in s["by_phase"]} == {"LIVE": 8, "TRIAL": 3}
    assert s["hot_spots"]["refusal_reasons"][0] == {
        "reason": "资费太贵",
        "count": 2,
        "share": 0.6667,
    }

    ops = reporting.build_operations_report(
        uow=app.uow(), kind=PeriodKind.DAY, day=TODAY, timezone="Asia/Shanghai"
    )
    t = ops["totals"]
    # TODAY: 8 seizures, 8 connects, 1 abandoned; 6 bridged, waits 20, 4, 4, 4, 4, 4.
    assert (t["seizures"], t["connects"], t["lost_calls"]) == (8, 8, 1)
    assert (t["talks"], t["answered_15s"], t["avg_wait_seconds"]) == (6, 5, 6.7)
    assert t["avg_talk_seconds"] == round(230 / 6, 1)
    week = reporting.build_operations_report(
        uow=app.uow(), kind=PeriodKind.WEEK, day=TODAY, timezone="Asia/Shanghai"
    )
    # DAY1 is in the same week: 4 more seizures, one of them a network failure (lost).
    assert (week["totals"]["seizures"], week["totals"]["lost_calls"]) == (12, 2)


def _add_call(app: App, cid: int, key: str, at: datetime) -> None:
    """One more unanswered call to the fixture's first contact."""
    with app.uow() as uow:
        first = uow.session.execute(
            select(orm.CallAttempt).where(orm.CallAttempt.idempotency_key == "fixture-0")
        ).scalar_one()
        uow.attempts.add_many(
            [
                {
                    "idempotency_key": key,
                    "campaign_id": cid,
                    "contact_id": first.contact_id,
                    "e164": first.e164,
                    "attempt_no": 2,
                    "phase": Phase.LIVE,
                    "disposition": D.NO_ANSWER,
                    "dialed_at": at,
                    "ended_at": at + timedelta(seconds=30),
                }
            ]
        )
        uow.commit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reports_reach_a_receiver_that_was_down_signed_and_deduplicated(
    app: App, tmp_path: Path
) -> None:
    port = _free_port()
    cid, _ = _fixture_campaign(app, webhook=f"http://127.0.0.1:{port}/feedback")
    sender = HttpxFeedbackSender(secret="s3cret", retries=1, backoff=0.01, timeout=2)
    days = [DAY1, TODAY, TODAY + timedelta(days=1)]
    ids = []
    for day in days:  # nothing listens yet: every delivery fails and says why
        report_id, _ = reporting.build_daily_report(
            uow=app.uow(), campaign_id=cid, day=day, now=NOW
        )
        ids.append(report_id)
        status = reporting.deliver_report(
            uow=app.uow(), report_id=report_id, sender=sender, reports_dir=tmp_path, now=NOW
        )
        assert status is DeliveryStatus.FAILED
    with app.uow() as uow:
        stored = uow.reports.list_for(cid)
    assert all(r["last_error"] and r["delivery_attempts"] == 1 for r in stored)
    assert reporting.reports_to_resend(uow=app.uow()) == ids

    with WebhookReceiver(secret="s3cret", port=port) as receiver:
        for report_id in reporting.reports_to_resend(uow=app.uow()):
            reporting.deliver_report(
                uow=app.uow(), report_id=report_id, sender=sender, reports_dir=tmp_path, now=NOW
            )
        # A resend of a delivered report reaches the branch as a duplicate it can drop.
        again = reporting.reports_to_resend(uow=app.uow(), campaign_id=cid, day=TODAY)
        assert again == [ids[1]]
        reporting.deliver_report(
            uow=app.uow(), report_id=again[0], sender=sender, reports_dir=tmp_path, now=NOW
        )
        first_key = receiver.duplicates[0]
        # TODAY reported again with one more call is a new version: not dropped.
        _add_call(app, cid, "fixture-extra", _at(TODAY, 15))
        rebuilt, _ = reporting.build_daily_report(
            uow=app.uow(), campaign_id=cid, day=TODAY, now=NOW
        )
        assert rebuilt == ids[1]
        reporting.deliver_report(
            uow=app.uow(), report_id=rebuilt, sender=sender, reports_dir=tmp_path, now=NOW
        )
        # A sender with the wrong secret is refused, and that is not retried.
        forged = HttpxFeedbackSender(secret="wrong", retries=3, backoff=0.01)
        assert forged.send(receiver.url, {"x": 1}, idempotency_key="forged") == "HTTP 401"
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.received]
    # Every (campaign, date) arrived; TODAY twice, as two versions with their own keys.
    assert sorted(k.rsplit(":", 1)[0] for k in keys) == sorted(
        f"{cid}:{d.isoformat()}" for d in [*days, TODAY]
    )
    assert all(
        k == reporting.report_key(cid, date.fromisoformat(r["json"]["date"]), r["json"])
        for k, r in zip(keys, receiver.received, strict=True)
    )
    assert receiver.duplicates == [first_key] and first_key.startswith(f"{cid}:{TODAY}:")
    assert receiver.received[-1]["json"]["day"]["attempts"] == 9  # the new version
    assert receiver.rejected == 1
    for got in receiver.received:  # verified again here, independently of the receiver
        header = got["headers"]["X-Outbound-Signature"]
        ts = int(header.split(",")[0][2:])
        expected = hmac.new(b"s3cret", f"{ts}.".encode() + got["body"], hashlib.sha256)
        assert header.endswith(f"v1={expected.hexdigest()}")
    assert reporting.reports_to_resend(uow=app.uow()) == []
    with app.uow() as uow:
        stored = {r["id"]: r for r in uow.reports.list_for(cid)}
    assert stored[ids[1]]["delivery_attempts"] == 4
    assert all(r["delivery_status"] is DeliveryStatus.DELIVERED for r in stored.values())


def test_no_full_number_in_any_report_export_or_log(
    app: App, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver() as receiver:
        # Every attempt has a full number, and the complaint's note carries one too.
        cid, _ = _fixture_campaign(app, webhook=receiver.url)
        db = ["--database", app.settings.database_url]
        env_dir = {"OUTBOUND_REPORTS_DIR": str(tmp_path)}
        old = {k: os.environ.get(k) for k in env_dir}
        os.environ.update(env_dir)
        try:
            for campaign in (cid,):
                assert (
                    main(
                        [
                            *db,
                            "report",
                            "daily",
                            "--date",
                            TODAY.isoformat(),
                            "--campaign",
                            str(campaign),
                        ]
                    )
                    == 0
                )
                assert main([*db, "report", "summary", str(campaign)]) == 0
                assert main([*db, "report", str(campaign)]) == 0  # the older spelling
                resend = [
                    "report",
                    "resend",
                    "--campaign",
                    str(campaign),
                    "--date",
                    TODAY.isoformat(),
                ]
                assert main([*db, *resend]) == 0
                assert main([*db, "report", "resend", "--failed"]) == 0
                assert main([*db, "report", "summary", str(campaign)]) == 0  # not sent twice
            for period in ("day", "week", "month"):
                assert (
                    main([*db, "report", "ops", "--period", period, "--date", TODAY.isoformat()])
                    == 0
                )
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    stdout = capsys.readouterr().out
    assert "nothing to resend" in stdout and "already delivered" in stdout
    kinds = [m["json"]["type"] for m in receiver.received]
    assert sorted(kinds) == ["daily_feedback", "final_summary"]
    assert len(receiver.duplicates) == 1
    assert receiver.duplicates[0].startswith(f"{cid}:{TODAY.isoformat()}:")
    texts = {"stdout": stdout, "log": caplog.text}
    texts["received"] = "".join(r["body"].decode() for r in receiver.received)
    written = sorted(tmp_path.iterdir())
    assert {p.suffix for p in written} == {".json", ".csv", ".xlsx", ".html"}
    assert any(p.name.startswith("operations-week") for p in written)
    for path in written:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts[path.name] = "".join(
                    z.read(n).decode() for n in z.namelist() if n.endswith(".xml")
                )
        else:
            texts[path.name] = path.read_text(encoding="utf-8-sig")
    assert "138****8000" in texts[f"campaign-{cid}-{TODAY.isoformat()}.json"]
    assert receiver.received and "daily_feedback" in texts["received"]
    for name, text in texts.items():
        assert FULL_NUMBER.search(text) is None, f"a full phone number in {name}"


def test_one_daily_feedback_deployment_per_branch_at_17_in_its_zone() -> None:
    from flows.feedback_flow import feedback_deployments

    def branch(code: str, zone: str) -> BranchRecord:
        return BranchRecord(1, code, code, zone, "CN", None, None)

    deployments = feedback_deployments(
        [branch("GZ", "Asia/Shanghai"), branch("NY", "America/New_York")]
    )
    assert [d.name for d in deployments] == ["branch-gz", "branch-ny"]
    assert [d.parameters for d in deployments] == [{"branch_code": "GZ"}, {"branch_code": "NY"}]
    schedules = [d.schedules[0].schedule for d in deployments]  # type: ignore[index]
    assert [(s.cron, s.timezone) for s in schedules] == [
        ("0 17 * * *", "Asia/Shanghai"),
        ("0 17 * * *", "America/New_York"),
    ]
    assert all(d.entrypoint == "flows.feedback_flow.daily_feedback" for d in deployments)


def test_sender_backs_off_exponentially_with_jitter() -> None:
    waits: list[float] = []
    with WebhookReceiver(fail_first=3) as receiver:  # three 503s, then accepted
        sender = HttpxFeedbackSender(retries=3, backoff=0.01, sleep=waits.append)
        assert sender.send(receiver.url, {"a": 1}, idempotency_key="k") is None
    assert len(receiver.received) == 1 and len(waits) == 3
    # Each wait is the backoff doubled per retry, times a jitter factor in [0.5, 1).
    for attempt, wait in enumerate(waits):
        assert 0.01 * 2**attempt * 0.5 <= wait < 0.01 * 2**attempt
    with WebhookReceiver(fail_first=5) as receiver:
        sender = HttpxFeedbackSender(retries=2, backoff=0.01, sleep=waits.append)
        assert sender.send(receiver.url, {"a": 1}, idempotency_key="k") == "HTTP 503"


def test_imported_shifts_give_effective_work_hour_use(
    app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid, agents = _fixture_campaign(app)
    with app.uow() as uow:
        work_ids = dict(uow.catalogue.outbound_agents())
    a0, a1 = work_ids[agents[0]], work_ids[agents[1]]
    db = ["--database", app.settings.database_url]
    shifts = tmp_path / "shifts.csv"
    shifts.write_text(
        "\ufeffwork_id,date,scheduled_minutes,work_minutes,busy_minutes\n"
        f"{a0},{DAY1},480,450,30\n{a1},{TODAY},480,420,60\n{a1},{TODAY},480,480,0\n",
        encoding="utf-8",
    )
    assert main([*db, "shifts", "import", str(shifts)]) == 0
    # The second row of a1's day replaced the first.
    ops = reporting.build_operations_report(
        uow=app.uow(), kind=PeriodKind.WEEK, day=TODAY, timezone="Asia/Shanghai"
    )
    use = {a["agent"]: a["utilisation"] for a in ops["per_agent"]}
    assert (use[a0], use[a1]) == (0.875, 1.0)  # (450 − 30) / 480 and 480 / 480
    assert ops["totals"]["utilisation"] == 0.9375  # 900 / 960
    day = reporting.build_operations_report(
        uow=app.uow(), kind=PeriodKind.DAY, day=TODAY, timezone="Asia/Shanghai"
    )
    assert {a["agent"]: a["utilisation"] for a in day["per_agent"]} == {a1: 1.0}

    shifts.write_text(
        "work_id,date,scheduled_minutes,work_minutes,busy_minutes\n"
        f"NOBODY,{TODAY},480,480,0\n{a0},{TODAY},480,10,60\n",
        encoding="utf-8",
    )
    assert main([*db, "shifts", "import", str(shifts)]) == 2
    err = capsys.readouterr().err
    assert "unknown agent NOBODY" in err and "busy-flagged time exceeds" in err
    shifts.write_text("work_id,date\nA001,tomorrow\n", encoding="utf-8")
    assert main([*db, "shifts", "import", str(shifts)]) == 2
    assert "columns are work_id,date" in capsys.readouterr().err


def test_imported_ratings_give_satisfaction(
    app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fixture_campaign(app)
    db = ["--database", app.settings.database_url]
    ratings = tmp_path / "ratings.csv"
    # fixture-1 is DAY1's success; 4 to 7 are TODAY's calls; 5 is rated twice (last wins).
    ratings.write_text(
        "call_key,rating\nfixture-1,satisfied\nfixture-4,满意\nfixture-5,satisfied\n"
        "fixture-6,不满意\nfixture-7,\nfixture-5,dissatisfied\n",
        encoding="utf-8",
    )
    assert main([*db, "ratings", "import", str(ratings)]) == 0
    day = reporting.build_operations_report(
        uow=app.uow(), kind=PeriodKind.DAY, day=TODAY, timezone="Asia/Shanghai"
    )["totals"]
    assert (day["ratings_requested"], day["ratings_given"], day["satisfied"]) == (4, 3, 1)
    assert (day["satisfaction"], day["participation"]) == (0.3333, 0.75)
    week = reporting.build_operations_report(
        uow=app.uow(), kind=PeriodKind.WEEK, day=TODAY, timezone="Asia/Shanghai"
    )["totals"]
    assert (week["ratings_given"], week["satisfaction"]) == (4, 0.5)
    ratings.write_text("call_key,rating\nno-such-call,satisfied\n", encoding="utf-8")
    assert main([*db, "ratings", "import", str(ratings)]) == 2
    assert "name no call, e.g. no-such-call" in capsys.readouterr().err
    ratings.write_text("call_key,rating\nfixture-1,great\n", encoding="utf-8")
    assert main([*db, "ratings", "import", str(ratings)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_campaigns_active_on_a_day(app: App) -> None:
    cid, _ = _fixture_campaign(app)  # cleaned, not trial or live: active only where dialled
    for day, branch, expected in (
        (DAY1, None, [cid]),
        (TODAY, "GZ", [cid]),
        (TODAY, "SZ", []),
        (TODAY + timedelta(days=1), None, []),
    ):
        assert reporting.campaigns_to_report(uow=app.uow(), day=day, branch_code=branch) == expected
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    assert reporting.campaigns_to_report(
        uow=app.uow(), day=TODAY + timedelta(days=1), branch_code=None
    ) == [cid]  # in its window and dialling


def test_cancelling_by_hand_sends_the_final_summary_once(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver() as receiver:
        cid, _ = _fixture_campaign(app, webhook=receiver.url)
        db = ["--database", app.settings.database_url]
        assert main([*db, "cancel", str(cid), "--note", "branch withdrew"]) == 0
        assert main([*db, "report", "summary", str(cid)]) == 0
    assert "final summary to branch GZ: DELIVERED" in capsys.readouterr().out
    (got,) = receiver.received
    assert got["headers"]["Idempotency-Key"] == f"{cid}:final-summary"
    summary = got["json"]
    assert (summary["type"], summary["state"]) == ("final_summary", "CANCELLED")
    assert summary["goal"]["successes"] == 2 and not summary["goal"]["met"]
    assert any(r.startswith("Goal missed by 8 activations") for r in summary["recommendations"])
