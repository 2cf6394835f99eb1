"""A real Prefect flow run (test harness) carries a small campaign through every stage."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from builders import NOW, seed_operator, submitted
from sqlalchemy import select

from campaigns import services
from campaigns.model import CampaignState, ContactState, Phase
from campaigns.storage import orm
from flows.bootstrap import App
from flows.receiver import WebhookReceiver

pytestmark = pytest.mark.flow


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness, entered once for the whole session (it costs ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def flow_app(app: App, prefect_harness: None) -> Iterator[App]:
    """Point the flow's composition root at the test database."""
    saved = {k: os.environ.get(k) for k in ("OUTBOUND_DATABASE_URL", "OUTBOUND_DATA_DIR")}
    os.environ["OUTBOUND_DATABASE_URL"] = app.settings.database_url
    os.environ["OUTBOUND_DATA_DIR"] = str(app.settings.data_dir)
    yield app
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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
    assert {m["json"]["date"] for m in receiver.received} == {str(r["date"]) for r in reports}
    assert all(r["file_path"] and os.path.exists(r["file_path"]) for r in reports)
