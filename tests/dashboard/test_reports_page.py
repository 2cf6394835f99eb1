"""The Reports page (streamlit AppTest): delivery state, sending again to a real local
receiver, downloads, and phone numbers masked unless the user has the PII permission."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from builders import ADMIN, NOW, STAFF, TODAY, signed_in
from dashboard_support import World, page
from sqlalchemy import insert, select

from campaigns.model import CampaignState, DeliveryStatus, Disposition, Phase
from campaigns.storage import orm
from flows import api, feedback_flow


def _open(cid: int, user: Any = STAFF) -> Any:
    at = signed_in(page("reports"), user)
    at.query_params["campaign"] = str(cid)
    return at.run()


def _status(world: World, day: Any) -> DeliveryStatus:
    with world.app.engine.connect() as conn:
        value = conn.scalar(
            select(orm.DailyReport.delivery_status).where(
                orm.DailyReport.campaign_id == world.gz, orm.DailyReport.report_date == day
            )
        )
    return DeliveryStatus(value)


def test_sending_a_failed_report_again_delivers_it(world: World) -> None:
    day = TODAY + timedelta(days=1)
    world.receiver.fail_first = 100  # the branch's endpoint is down
    feedback_flow.deliver_one(world.app, world.gz, day)
    assert _status(world, day) is DeliveryStatus.FAILED
    world.receiver.fail_first = 0  # and up again
    at = _open(world.gz)
    table = at.dataframe[0].value
    assert dict(zip(table["date"], table["delivery_status"], strict=True)) == {
        TODAY: "delivered",
        day: "failed",
    }
    at.selectbox(key="report-day").set_value(day).run()
    [resend] = [b for b in at.button if b.label == "Send this day's report again"]
    resend.click().run()
    assert not at.exception
    assert _status(world, day) is DeliveryStatus.DELIVERED
    assert f"Report of {day} sent again: delivered" in at.success[0].value
    assert [m["json"]["date"] for m in world.receiver.received if "day" in m["json"]] == [
        TODAY.isoformat(),
        day.isoformat(),
    ]
    with world.app.uow() as uow:
        entry = uow.audit.for_entity("campaign", world.gz)[-1]
    assert (entry["actor"], entry["action"]) == ("staff", "report_resent")
    table = at.dataframe[0].value
    assert list(table["delivery_status"]) == ["delivered", "delivered"]


def test_complaint_numbers_are_masked_unless_the_user_may_see_them(world: World) -> None:
    with world.app.engine.begin() as conn:
        contact_id, e164 = conn.execute(
            select(orm.Contact.id, orm.Contact.e164).where(
                orm.Contact.campaign_id == world.gz, orm.Contact.e164.is_not(None)
            )
        ).first()  # type: ignore[misc]
        conn.execute(
            insert(orm.CallAttempt).values(
                idempotency_key="complaint-1",
                campaign_id=world.gz,
                contact_id=contact_id,
                e164=e164,
                attempt_no=9,
                phase=Phase.LIVE,
                status=orm.ATTEMPT_ENDED,
                disposition=Disposition.COMPLAINT,
                counts_as_attempt=True,
                dialed_at=NOW + timedelta(hours=3),
                ring_seconds=5.0,
                talk_seconds=30.0,
                wrap_seconds=10.0,
                note=f"客户投诉，回拨 {e164}",
            )
        )
    feedback_flow.deliver_one(world.app, world.gz, TODAY)  # the report counts it
    masked = f"{e164[3:6]}****{e164[-4:]}"
    for user, number in ((STAFF, masked), (ADMIN, e164)):
        at = _open(world.gz, user)
        at.selectbox(key="report-day").set_value(TODAY).run()
        complaints = next(d.value for d in at.dataframe if "Number" in d.value.columns)
        shown = complaints.to_csv()
        assert number in shown and f"回拨 {number}" in shown, (user, shown)
        if number == masked:
            assert e164 not in shown and e164[3:] not in shown


def test_the_final_summary_after_a_cancel(world: World) -> None:
    outcome = api.control(world.app, world.gz, CampaignState.CANCELLED, actor="li")
    assert outcome.summary_delivery == "DELIVERED"
    at = _open(world.gz)
    assert "Final summary: delivered" in " ".join(c.value for c in at.caption)
    urls = [d.proto.url for d in at.get("download_button")]
    assert [u.rsplit(".", 1)[1] for u in urls] == ["csv", "xlsx", "html"] * 2  # daily, summary
    [again] = [b for b in at.button if b.label.startswith("Build and send the final summary")]
    again.click().run()
    assert not at.exception
    assert "Final summary sent again: delivered" in at.success[0].value
    # The same summary again: the branch's endpoint knows its idempotency key.
    assert len(world.receiver.duplicates) == 1
    with world.app.uow() as uow:
        entry = uow.audit.for_entity("campaign", world.gz)[-1]
    assert (entry["actor"], entry["action"]) == ("staff", "summary_resent")
