"""The scheduled daily feedback flow in a real Prefect run: delivered, and published."""

from __future__ import annotations

import pytest
from builders import NOW, TODAY, ready_campaign, seed_operator

from campaigns import services
from flows.bootstrap import App
from flows.receiver import WebhookReceiver

pytestmark = pytest.mark.flow


def test_daily_feedback_flow_delivers_and_publishes_artifacts(flow_app: App) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.feedback_flow import daily_feedback

    with WebhookReceiver() as receiver:
        fates = seed_operator(flow_app, webhook=receiver.url)
        cid = ready_campaign(flow_app, fates)
        services.start_trial(uow=flow_app.uow(), campaign_id=cid, now=NOW)  # active: TRIAL
        rows = daily_feedback(branch_code="GZ", day=TODAY.isoformat())
    assert [(r["campaign"], r["delivery"]) for r in rows] == [(cid, "DELIVERED")]
    (got,) = receiver.received
    assert got["headers"]["Idempotency-Key"].startswith(f"{cid}:{TODAY.isoformat()}:")
    keys = [f"feedback-{cid}-{TODAY.isoformat()}", f"daily-feedback-gz-{TODAY.isoformat()}"]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
        )
    assert {a.key: a.type for a in found} == {keys[0]: "markdown", keys[1]: "table"}
    markdown = next(a for a in found if a.key == keys[0]).data
    assert isinstance(markdown, str) and "外呼次数 attempts" in markdown
