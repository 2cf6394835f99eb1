"""The trial gate on a Prefect server: a trial that needs review pauses the run for a go/no-go."""

from __future__ import annotations

import threading
import time
from uuid import UUID

import pytest
from builders import seed_operator, submitted

from campaigns import services
from campaigns.model import CampaignState
from flows import api
from flows.bootstrap import App
from flows.receiver import WebhookReceiver

pytestmark = pytest.mark.flow


def _run_in_thread(cid: int) -> tuple[threading.Thread, dict[str, object]]:
    from flows.campaign_flow import campaign_flow

    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["result"] = campaign_flow(cid, auto_approve=True, wait_for_go=True)
        except BaseException as exc:  # surfaced by the assertions of the tests
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def _wait_until_paused_at_trial(app: App, cid: int) -> str:
    from prefect import get_client

    deadline = time.monotonic() + 120
    run_id = None
    while time.monotonic() < deadline:
        run_id = services.get_campaign(uow=app.uow(), campaign_id=cid).flow_run_id
        if run_id:
            with get_client(sync_client=True) as client:
                run = client.read_flow_run(UUID(run_id))
            key = (run.state.state_details.pause_key or "") if run.state else ""
            if run.state and run.state.is_paused() and key.startswith(f"trial-{cid}-"):
                return run_id
        time.sleep(0.5)
    raise AssertionError(f"flow run {run_id} never paused at the trial gate")


def test_a_no_go_resumes_the_run_which_ends_cancelled(flow_app: App) -> None:
    with WebhookReceiver() as receiver:
        fates = seed_operator(flow_app, active=60, webhook=receiver.url)
        cid = submitted(flow_app, fates)
        thread, out = _run_in_thread(cid)
        _wait_until_paused_at_trial(flow_app, cid)  # a 3-contact trial is too small to judge
        outcome = api.decide_trial(flow_app, cid, go=False, actor="li", note="wrong script")
        assert outcome.flow_resumed and outcome.campaign.state is CampaignState.CANCELLED
        thread.join(timeout=120)
    assert "error" not in out, out.get("error")
    assert out["result"] == "CANCELLED"
    c = services.get_campaign(uow=flow_app.uow(), campaign_id=cid)
    assert c.state is CampaignState.CANCELLED and c.flow_run_id is None
    trial_notices = [m for m in receiver.received if m["json"].get("type") == "trial_stopped"]
    assert len(trial_notices) == 1 and trial_notices[0]["json"]["reason"] == "wrong script"


def test_a_go_in_the_prefect_form_is_applied_by_the_run(flow_app: App) -> None:
    from prefect.flow_runs import resume_flow_run

    fates = seed_operator(flow_app, active=60)
    cid = submitted(flow_app, fates)
    thread, out = _run_in_thread(cid)
    run_id = _wait_until_paused_at_trial(flow_app, cid)
    resume_flow_run(UUID(run_id), run_input={"go": True, "note": "ok", "reviewer": "ui-wang"})
    thread.join(timeout=180)
    assert "error" not in out, out.get("error")
    assert out["result"] == "COMPLETED"
    with flow_app.uow() as uow:
        went = [e for e in uow.audit.for_entity("campaign", cid) if e["to_state"] == "LIVE"]
    assert went[0]["actor"] == "ui-wang"
    assert went[0]["detail"] == {"decision": "go", "note": "ok"}
