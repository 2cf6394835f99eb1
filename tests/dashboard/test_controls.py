"""Campaign controls on the dashboard (streamlit AppTest): nothing happens without the
confirmation; a confirmed control changes the campaign in the database through the same
functions as the CLI and is audited with the signed-in user; launch and go start the
campaign's flow in a background process and return at once."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import MANAGER, NOW, STAFF, TODAY, ready_campaign, seed_operator, signed_in
from dashboard_support import World, dashboard_on, page

from campaigns import services
from campaigns.dialing import run_slice
from campaigns.model import CampaignState, Phase
from dialer_adapters.simulator import SimulatedDialer
from flows.bootstrap import App
from flows.receiver import WebhookReceiver


def _open(cid: int, user: Any = STAFF) -> Any:
    at = signed_in(page("campaign_detail"), user)
    at.query_params["campaign"] = str(cid)
    return at.run()


def _button(at: Any, label: str) -> Any:
    [button] = [b for b in at.button if b.label == label]
    return button


def _state(app: App, cid: int) -> CampaignState:
    return services.get_campaign(uow=app.uow(), campaign_id=cid).state


def _last_action(app: App, cid: int) -> dict[str, Any]:
    with app.uow() as uow:
        return uow.audit.for_entity("campaign", cid)[-1]


def test_a_pause_needs_its_confirmation_then_pauses_and_is_audited(world_on: World) -> None:
    app, cid = world_on.app, world_on.gz
    at = _open(cid)
    _button(at, "Pause").click().run()
    assert not at.exception
    # Clicking pause alone asks; the campaign still dials.
    assert _state(app, cid) is CampaignState.LIVE
    assert "Pause campaign" in at.warning[0].value
    at.text_input(key="control-note-pause").set_value("branch asked to hold")
    _button(at, "Confirm: Pause").click().run()
    assert not at.exception
    assert _state(app, cid) is CampaignState.PAUSED
    entry = _last_action(app, cid)
    assert (entry["actor"], entry["from_state"], entry["to_state"]) == ("staff", "LIVE", "PAUSED")
    assert entry["detail"] == {"note": "branch asked to hold"}
    assert f"Campaign {cid} is PAUSED." in at.success[0].value
    # The page now offers resume, and shows who paused it.
    labels = {b.label for b in at.button}
    assert "Resume" in labels and "Pause" not in labels
    assert {m.label: m.value for m in at.metric}["State"] == "PAUSED"


def test_back_leaves_the_campaign_alone(world: World) -> None:
    at = _open(world.gz)
    _button(at, "Cancel campaign").click().run()
    assert "Cancel campaign" in at.warning[0].value
    _button(at, "Back").click().run()
    assert _state(world.app, world.gz) is CampaignState.LIVE
    assert not at.warning and {"Pause", "Cancel campaign"} <= {b.label for b in at.button}


def test_cancel_sends_the_final_summary_to_the_branch(world: World) -> None:
    at = _open(world.gz)
    _button(at, "Cancel campaign").click().run()
    _button(at, "Confirm: Cancel campaign").click().run()
    assert _state(world.app, world.gz) is CampaignState.CANCELLED
    assert "Final summary to the branch: DELIVERED" in at.success[0].value
    summaries = [m for m in world.receiver.received if m["json"].get("type") == "final_summary"]
    assert len(summaries) == 1
    assert not [b for b in at.button if b.label in ("Pause", "Resume", "Cancel campaign")]


def test_only_staff_and_admins_get_controls(world: World) -> None:
    at = _open(world.gz, MANAGER)
    assert not at.exception and not at.button


# --------------------------------------------------------------- flow runs in the background


@pytest.fixture
def fresh(sqlite_app: App) -> Iterator[tuple[App, WebhookReceiver, Any]]:
    with WebhookReceiver() as receiver:
        fates = seed_operator(sqlite_app, active=60, webhook=receiver.url)
        with dashboard_on(sqlite_app):
            yield sqlite_app, receiver, fates


def _wait_for_run(app: App, cid: int, timeout: float = 240) -> str:
    """The output of the background `outbound launch` the latest run_started names, once it
    printed its result."""
    detail = _last_action(app, cid)["detail"]
    assert detail["how"] == "process", detail
    log = Path(re.search(r"log (\S+)$", detail["detail"]).group(1))  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        if f"campaign {cid}: " in text or "error:" in text or "Traceback" in text:
            time.sleep(0.5)  # the status it prints after its result
            return log.read_text(encoding="utf-8", errors="replace")
        time.sleep(0.5)
    raise AssertionError(f"the background run wrote no result in {timeout} s:\n{log.read_text()}")


def test_launch_and_go_run_the_campaign_in_the_background(
    fresh: tuple[App, WebhookReceiver, Any],
) -> None:
    app, _, fates = fresh
    cid = ready_campaign(app, fates)  # approved, cleaned and scripted: READY
    at = _open(cid)
    _button(at, "Launch").click().run()
    assert _state(app, cid) is CampaignState.READY  # not before the confirmation
    started = time.monotonic()
    _button(at, "Confirm: Launch").click().run()
    assert not at.exception
    assert time.monotonic() - started < 10  # the page does not wait for the campaign
    assert "started in the background" in at.success[0].value
    assert _last_action(app, cid)["actor"] == "staff"
    out = _wait_for_run(app, cid)
    # A 3-contact trial is too small to judge: the flow stops at the gate for a person.
    assert "awaiting go/no-go" in out, out
    assert _state(app, cid) is CampaignState.TRIAL_REVIEW
    at = _open(cid)
    _button(at, "Go: start live dialing").click().run()
    _button(at, "Confirm: Go: start live dialing").click().run()
    assert not at.exception
    assert f"Campaign {cid} is LIVE." in at.success[0].value
    go = [e for e in _audit(app, cid) if e["to_state"] == "LIVE"][-1]
    assert (go["actor"], go["detail"]["decision"]) == ("staff", "go")
    out = _wait_for_run(app, cid)
    assert _state(app, cid) is CampaignState.COMPLETED, out
    assert services.contacts_remaining(uow=app.uow(), campaign_id=cid) == 0 or "window" in out


def _audit(app: App, cid: int) -> list[dict[str, Any]]:
    with app.uow() as uow:
        return uow.audit.for_entity("campaign", cid)


def test_a_no_go_needs_a_reason(fresh: tuple[App, WebhookReceiver, Any]) -> None:
    app, receiver, fates = fresh
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW, size=3)
    hours = services.get_campaign(uow=app.uow(), campaign_id=cid).calling_hours
    start, _ = services.day_window(TODAY, hours, "Asia/Shanghai")
    run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=1),
        campaign_id=cid,
        phase=Phase.TRIAL,
        start=start,
        end=start + timedelta(hours=1),
    )
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    assert _state(app, cid) is CampaignState.TRIAL_REVIEW
    at = _open(cid)
    _button(at, "No-go: stop after the trial").click().run()
    _button(at, "Confirm: No-go: stop after the trial").click().run()
    assert "needs a note" in at.error[0].value
    assert _state(app, cid) is CampaignState.TRIAL_REVIEW
    _button(at, "No-go: stop after the trial").click().run()
    at.text_input(key="control-note-no_go").set_value("话术需要修改 script needs work")
    _button(at, "Confirm: No-go: stop after the trial").click().run()
    assert _state(app, cid) is CampaignState.CANCELLED
    assert "Branch notified: DELIVERED." in at.success[0].value
    stopped = [m for m in receiver.received if m["json"].get("type") == "trial_stopped"]
    assert stopped[0]["json"]["reason"] == "话术需要修改 script needs work"
