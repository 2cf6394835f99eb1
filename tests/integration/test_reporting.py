"""Daily feedback: stored, written with masked numbers, POSTed to a real local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

from builders import NOW, TODAY, ready_campaign, seed_operator

from campaigns import reporting, services
from campaigns.dialing import run_slice
from campaigns.model import CampaignState, DeliveryStatus, Phase
from dialer_adapters.simulator import CustomerModel, SimulatedDialer
from flows.bootstrap import App
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
    assert got["headers"]["Idempotency-Key"] == f"{cid}:{TODAY.isoformat()}"
    ts, sig = (part.split("=", 1)[1] for part in got["headers"]["X-Outbound-Signature"].split(","))
    body = json.dumps(got["json"], ensure_ascii=False, sort_keys=True).encode()
    assert sig == hmac.new(b"s3cret", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()

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
