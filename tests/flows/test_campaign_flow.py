"""A real Prefect flow run (test harness) carries a small campaign through every stage."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from builders import NOW, outbound, real_today, seed_operator, submitted
from sqlalchemy import select

from campaigns import services, views
from campaigns.model import CampaignState, ContactState, Phase
from campaigns.storage import orm
from flows import api
from flows.bootstrap import App
from flows.receiver import WebhookReceiver

pytestmark = pytest.mark.flow

REQUEST = {
    "branch": "GZ",
    "offer": "5G_PLUS_59",
    "goal": 1,
    "start": real_today().isoformat(),
    "end": (real_today() + timedelta(days=2)).isoformat(),
}


def _trail(app: App, cid: int) -> list[str]:
    with app.uow() as uow:
        return [e["to_state"] for e in uow.audit.for_entity("campaign", cid) if e["to_state"]]


def test_small_campaign_through_every_stage(flow_app: App) -> None:
    from flows.campaign_flow import campaign_flow

    with WebhookReceiver() as receiver:
        fates = seed_operator(flow_app, webhook=receiver.url, active=60)
        cid = submitted(flow_app, fates)

        # Without auto-approval the flow stops at the gate, with the report stored.
        assert campaign_flow(cid) == "awaiting approval"
        c = services.get_campaign(uow=flow_app.uow(), campaign_id=cid)
        assert c.state is CampaignState.FEASIBILITY and c.feasibility is not None

        # Approved: cleaning, script, trial. A 3-contact trial is too small to judge.
        services.decide(
            uow=flow_app.uow(), campaign_id=cid, approve=True, actor="reviewer", now=NOW
        )
        assert campaign_flow(cid) == "awaiting go/no-go"
        c = services.get_campaign(uow=flow_app.uow(), campaign_id=cid)
        assert c.state is CampaignState.TRIAL_REVIEW and c.script_id is not None
        assert c.cleaning_summary is not None and c.cleaning_summary["kept"] == 60

        # Staff say go, then pause before the flow picks it up: a paused campaign dials nothing.
        services.transition(
            uow=flow_app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="staff", now=NOW
        )
        services.transition(
            uow=flow_app.uow(), campaign_id=cid, target=CampaignState.PAUSED, actor="staff", now=NOW
        )
        with flow_app.uow() as uow:
            before = uow.attempts.counts(cid)[0]
        assert campaign_flow(cid) == "PAUSED"
        with flow_app.uow() as uow:
            assert uow.attempts.counts(cid)[0] == before

        services.transition(
            uow=flow_app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="staff", now=NOW
        )
        assert campaign_flow(cid) == "COMPLETED"

    assert _trail(flow_app, cid) == [
        "SUBMITTED",
        "FEASIBILITY",
        "APPROVED",
        "CLEANING",
        "READY",
        "TRIAL",
        "TRIAL_REVIEW",
        "LIVE",
        "PAUSED",
        "LIVE",
        "COMPLETED",
    ]
    with flow_app.uow() as uow:
        phases = set(
            uow.session.scalars(
                select(orm.CallAttempt.phase).where(orm.CallAttempt.campaign_id == cid)
            )
        )
        states = uow.contacts.count_by_state(cid)
        reports = uow.reports.list_for(cid)
    assert phases == {Phase.TRIAL, Phase.LIVE}
    assert ContactState.DIALING not in states and ContactState.READY not in states
    assert reports and all(r["delivery_status"].value == "DELIVERED" for r in reports)
    daily = [m for m in receiver.received if m["json"]["type"] == "daily_feedback"]
    assert {m["json"]["date"] for m in daily} == {str(r["date"]) for r in reports}
    # The run that completed the campaign sent its final summary, once.
    summaries = [m for m in receiver.received if m["json"]["type"] == "final_summary"]
    assert [m["headers"]["Idempotency-Key"] for m in summaries] == [f"{cid}:final-summary"]
    assert summaries[0]["json"]["state"] == "COMPLETED"
    assert all(r["file_path"] and os.path.exists(r["file_path"]) for r in reports)
    # Each slice task kept the dashboard's contact funnel up to date: it counts what the
    # attempts count, without reading them.
    with flow_app.uow() as uow:
        reached = uow.attempts.reached(cid)
    board = views.campaign_board(uow=flow_app.uow(), campaign_id=cid)
    stages = {s["stage"]: s["count"] for s in board["stages"] if s["stage"] != "records"}
    assert stages == reached and reached["dialled"] > 0


def _run_in_thread(cid: int) -> tuple[threading.Thread, dict[str, object]]:
    from flows.campaign_flow import campaign_flow

    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["result"] = campaign_flow(cid, wait_for_approval=True)
        except BaseException as exc:  # surfaced by the assertion below
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def _wait_until_paused(app: App, cid: int, *, rounds: int = 2) -> str:
    """Wait until the flow run waits at the gate, and has timed out at least once."""
    from uuid import UUID

    from prefect import get_client

    deadline = time.monotonic() + 90
    run_id = None
    while time.monotonic() < deadline:
        run_id = services.get_campaign(uow=app.uow(), campaign_id=cid).flow_run_id
        if run_id:
            with get_client(sync_client=True) as client:
                run = client.read_flow_run(UUID(run_id))
            keys = (run.state.state_details.pause_key or "") if run.state else ""
            if run.state and run.state.is_paused() and keys.endswith(f"-{rounds}"):
                return run_id
        time.sleep(0.5)
    raise AssertionError(f"flow run {run_id} never paused for round {rounds}")


def test_approval_gate_pauses_until_approved(flow_app: App, tmp_path: Path) -> None:
    fates = seed_operator(flow_app, active=60)
    path = tmp_path / "名单.csv"
    path.write_bytes(("手机号\n" + "\n".join(n[3:] for n in fates.active) + "\n").encode("gbk"))
    submission = api.submit(flow_app, REQUEST, path, submitted_by="gz", check=False)
    cid = submission.result.campaign_id
    thread, out = _run_in_thread(cid)
    _wait_until_paused(flow_app, cid)  # round 1 timed out; the run paused again, not failed

    outcome = api.decide(flow_app, cid, approve=True, actor="reviewer-li")
    assert outcome.flow_resumed and outcome.notified is None
    thread.join(timeout=120)
    assert "error" not in out, out.get("error")
    assert out["result"] == "awaiting go/no-go"  # cleaned, trial dialled, too small to judge
    c = services.get_campaign(uow=flow_app.uow(), campaign_id=cid)
    assert c.state is CampaignState.TRIAL_REVIEW and c.flow_run_id is None
    assert c.cleaning_summary is not None and c.cleaning_summary["kept"] == 60
    with flow_app.uow() as uow:
        decision = [e for e in uow.audit.for_entity("campaign", cid) if e["to_state"] == "APPROVED"]
    assert decision[0]["actor"] == "reviewer-li"


def test_rejection_from_the_cli_resumes_the_flow_and_tells_the_branch(
    flow_app: App, tmp_path: Path
) -> None:
    with WebhookReceiver() as receiver:
        fates = seed_operator(flow_app, active=20, webhook=receiver.url)
        path = tmp_path / "list.csv"
        path.write_text("phone\n" + "\n".join(fates.active) + "\n", encoding="utf-8")
        cid = api.submit(flow_app, REQUEST, path, submitted_by="gz", check=False).result.campaign_id
        thread, out = _run_in_thread(cid)
        _wait_until_paused(flow_app, cid, rounds=1)
        done = outbound(
            flow_app,
            "reject",
            str(cid),
            "--by",
            "reviewer-li",
            "--note",
            "目标客户群与上月重复 same group as last month",
        )
        assert done.returncode == 0, done.stderr
        assert "REJECTED" in done.stdout
        assert "notified of the rejection: DELIVERED" in done.stdout
        # Resumed by the CLI, or (when the decision lands between two pause rounds) by the
        # run re-checking the campaign: either way it must finish REJECTED, checked below.
        thread.join(timeout=120)
    assert out.get("result") == "REJECTED", out
    assert len(receiver.received) == 1
    body = receiver.received[0]["json"]
    assert body["type"] == "request_rejected" and body["campaign_id"] == cid
    assert body["note"] == "目标客户群与上月重复 same group as last month"
    assert body["decided_by"] == "reviewer-li" and body["feasibility"]["verdict"]
    assert receiver.received[0]["headers"]["Idempotency-Key"] == f"{cid}:rejection"


def test_decision_from_the_prefect_form_is_applied_by_the_flow(
    flow_app: App, tmp_path: Path
) -> None:
    from uuid import UUID

    from prefect import get_client
    from prefect.flow_runs import resume_flow_run

    fates = seed_operator(flow_app, active=20)
    path = tmp_path / "list.csv"
    path.write_text("phone\n" + "\n".join(fates.active) + "\n", encoding="utf-8")
    cid = api.submit(flow_app, REQUEST, path, submitted_by="gz", check=False).result.campaign_id
    thread, out = _run_in_thread(cid)
    run_id = _wait_until_paused(flow_app, cid, rounds=1)
    # What the Prefect UI does when a reviewer submits the form: resume with the input.
    resume_flow_run(UUID(run_id), run_input={"approve": True, "note": "ok", "reviewer": "ui-wang"})
    thread.join(timeout=120)
    assert out.get("result") == "awaiting go/no-go", out
    with flow_app.uow() as uow:
        approved = [e for e in uow.audit.for_entity("campaign", cid) if e["to_state"] == "APPROVED"]
    assert approved[0]["actor"] == "ui-wang" and approved[0]["detail"] == {"note": "ok"}
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()
    keys = {a.key for a in artifact}
    assert f"feasibility-{cid}" in keys
