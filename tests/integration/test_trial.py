"""The trial on both databases: a sample stratified by segment, and its three outcomes."""

from __future__ import annotations

import pytest
from builders import NOW, TODAY, draft, number, ready_campaign, seed_operator
from sqlalchemy import select

from campaigns import services, views
from campaigns.errors import ValidationError
from campaigns.intake import ListRow
from campaigns.model import CampaignState, DeliveryStatus, Phase, SubscriberStatus
from campaigns.storage import orm
from campaigns.storage.bulk import load_operator, load_reference
from campaigns.synthetic import Operator, SubscriberRow
from campaigns.trial import TrialThresholds
from dialer_adapters.simulator import CustomerModel, SimulatedDialer
from flows import api
from flows.bootstrap import App
from flows.cli import main
from flows.receiver import WebhookReceiver


def segmented_campaign(app: App, segments: dict[str, int]) -> tuple[int, dict[str, str]]:
    """A cleaned campaign whose list holds each segment as one block, in this order."""
    numbers: dict[str, str] = {}
    for segment, n in segments.items():
        for _ in range(n):
            numbers[number(len(numbers))] = segment
    op = Operator(
        subscribers=[
            SubscriberRow(n, SubscriberStatus.ACTIVE, s, "GZ", ()) for n, s in numbers.items()
        ]
    )
    with app.engine.begin() as conn:
        load_reference(conn, now=NOW, agents=5)
        load_operator(conn, op, now=NOW)
    cid = services.submit_request(
        uow=app.uow(),
        draft=draft(requested_contacts=len(numbers)),
        rows=[ListRow(i + 2, n, None) for i, n in enumerate(numbers)],
        file_digest="segments",
        list_filename="segments.csv",
        now=NOW,
    ).campaign_id
    services.run_feasibility(uow=app.uow(), campaign_id=cid, now=NOW)
    services.decide(uow=app.uow(), campaign_id=cid, approve=True, actor="reviewer", now=NOW)
    services.clean(uow=app.uow(), campaign_id=cid, now=NOW)
    return cid, numbers


def _trial_rows(app: App, cid: int) -> list[tuple[int, str]]:
    with app.engine.connect() as conn:
        return [
            (r.row_number, r.e164)
            for r in conn.execute(
                select(orm.Contact.row_number, orm.Contact.e164)
                .where(orm.Contact.campaign_id == cid, orm.Contact.is_trial.is_(True))
                .order_by(orm.Contact.row_number)
            )
        ]


def test_the_sample_is_stratified_by_segment_and_spread_through_each(app: App) -> None:
    cid, segments = segmented_campaign(app, {"youth": 90, "family": 27, "senior": 3})
    # Every 12th row of the list would take no senior; proportional strata take one.
    started = services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW, size=10)
    assert started == {
        "sample": 10,
        "ready": 120,
        "allocation": {"family": 2, "senior": 1, "youth": 7},
    }
    rows = _trial_rows(app, cid)
    picked: dict[str, list[int]] = {}
    for row, e164 in rows:
        picked.setdefault(segments[e164], []).append(row)
    assert {k: len(v) for k, v in picked.items()} == started["allocation"]
    # Within a segment the picks spread over its block of the list (rows 2..91 for youth).
    assert picked["youth"][0] < 2 + 90 // 7 and picked["youth"][-1] > 91 - 90 // 7
    c = services.get_campaign(uow=app.uow(), campaign_id=cid)
    assert c.state is CampaignState.TRIAL
    with app.uow() as uow:
        entry = [e for e in uow.audit.for_entity("campaign", cid) if e["to_state"] == "TRIAL"]
    assert entry[0]["detail"]["allocation"] == started["allocation"]
    assert entry[0]["detail"]["segments"] == {"family": 27, "senior": 3, "youth": 90}


def test_a_share_sizes_the_sample_and_a_bad_size_is_refused(app: App) -> None:
    cid, _ = segmented_campaign(app, {"youth": 30, "family": 10})
    with pytest.raises(ValidationError):
        services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW, size=5, share=0.5)
    with pytest.raises(ValidationError):
        services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW, share=1.5)
    assert services.get_campaign(uow=app.uow(), campaign_id=cid).state is CampaignState.READY
    started = services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW, share=0.2)
    assert started["allocation"] == {"family": 2, "youth": 6}


def _everyone(**p: float) -> CustomerModel:
    """Every call answered by the account holder, who then does what `p` says."""
    base = dict(
        p_invalid=0,
        p_unreachable=0,
        p_busy=0,
        p_no_answer=0,
        p_machine=0,
        p_network_fail=0,
        p_account_holder=1.0,
        p_success=0,
        p_callback=0,
        p_hung_up=0,
        p_ineligible=0,
        p_dnc_request=0,
        p_complaint=0,
    )
    return CustomerModel(**(base | p))  # type: ignore[arg-type]


def _dialled_trial(app: App, customers: CustomerModel, *, webhook: str | None = None) -> int:
    fates = seed_operator(app, webhook=webhook)
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW, size=20)
    campaign = services.get_campaign(uow=app.uow(), campaign_id=cid)
    start, end = services.day_window(TODAY, campaign.calling_hours, "Asia/Shanghai")
    from campaigns.dialing import run_slice

    run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=3, customers=customers),
        campaign_id=cid,
        phase=Phase.TRIAL,
        start=start,
        end=end,
    )
    return cid


def _to_states(app: App, cid: int) -> list[tuple[str, str, object]]:
    with app.uow() as uow:
        return [
            (e["to_state"], e["actor"], e["detail"])
            for e in uow.audit.for_entity("campaign", cid)
            if e["to_state"] in ("TRIAL_REVIEW", "LIVE", "CANCELLED")
        ]


SMALL = TrialThresholds(min_attempts=10)


def test_a_trial_that_meets_every_threshold_goes_live(app: App) -> None:
    cid = _dialled_trial(app, _everyone(p_success=1.0))
    review = services.settle_trial(
        uow=app.uow(), campaign_id=cid, now=NOW, thresholds=SMALL, actor="flow"
    )
    assert review["decision"] == "PROMOTE" and review["go"], review
    assert review["state"] == "LIVE" and review["funnel"]["attempts"] == 20
    trail = _to_states(app, cid)
    assert [(s, a) for s, a, _ in trail] == [("TRIAL_REVIEW", "flow"), ("LIVE", "flow:trial-gate")]
    # The trial's figures are kept apart from live ones.
    status = views.campaign_status(uow=app.uow(), campaign_id=cid)
    assert status["trial"]["funnel"]["successes"] == 20 and status["trial"]["sample"] == 20
    assert status["trial"]["decision"] == "PROMOTE"
    assert status["live_funnel"]["attempts"] == 0


def test_without_auto_go_a_passing_trial_still_waits_for_a_person(app: App) -> None:
    cid = _dialled_trial(app, _everyone(p_success=1.0))
    review = services.settle_trial(
        uow=app.uow(), campaign_id=cid, now=NOW, thresholds=SMALL, auto_go=False
    )
    assert review["decision"] == "PROMOTE" and review["state"] == "TRIAL_REVIEW"


def test_complaints_well_over_the_cap_stop_the_campaign_and_tell_the_branch(app: App) -> None:
    with WebhookReceiver() as receiver:
        cid = _dialled_trial(app, _everyone(p_complaint=1.0), webhook=receiver.url)
        review = services.settle_trial(uow=app.uow(), campaign_id=cid, now=NOW, thresholds=SMALL)
        assert review["decision"] == "STOP" and review["state"] == "CANCELLED"
        status = api.notify_trial_stopped(app, cid)
    assert status is DeliveryStatus.DELIVERED
    state, actor, detail = _to_states(app, cid)[-1]
    assert (state, actor) == ("CANCELLED", "system:trial-gate")
    assert detail == {"reason": "trial stopped", "problems": review["problems"]}
    assert review["problems"][0] == "complaint rate 100.0% > 2.0%, clearly over"
    body = receiver.received[0]["json"]
    assert body["type"] == "trial_stopped" and body["reason"] == "trial stopped"
    assert body["problems"] == review["problems"] and body["trial"]["complaints"] == 20
    assert receiver.received[0]["headers"]["Idempotency-Key"] == f"{cid}:trial-stopped"


def test_an_inconclusive_trial_waits_for_a_go_or_a_no_go(app: App) -> None:
    cid = _dialled_trial(app, _everyone(p_success=1.0))
    review = services.settle_trial(uow=app.uow(), campaign_id=cid, now=NOW)  # 30 attempts needed
    assert review["decision"] == "REVIEW" and review["state"] == "TRIAL_REVIEW"
    assert review["problems"] == ["only 20 trial attempts; at least 30 needed"]
    with pytest.raises(ValidationError, match="needs a note"):
        services.decide_after_trial(uow=app.uow(), campaign_id=cid, go=False, actor="li", now=NOW)
    c = services.decide_after_trial(
        uow=app.uow(), campaign_id=cid, go=True, actor="li", now=NOW, note="small but fine"
    )
    assert c.state is CampaignState.LIVE
    assert _to_states(app, cid)[-1] == (
        "LIVE",
        "li",
        {"decision": "go", "note": "small but fine"},
    )


def test_launch_no_go_from_the_cli_cancels_after_review(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.settle_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    db = ["--database", app.settings.database_url]
    assert main([*db, "launch", str(cid)]) == 1
    assert "--no-go" in capsys.readouterr().out
    assert main([*db, "launch", str(cid), "--no-go"]) == 2
    assert "needs a note" in capsys.readouterr().err
    assert (
        main([*db, "launch", str(cid), "--no-go", "--note", "script not ready", "--by", "li"]) == 0
    )
    out = capsys.readouterr().out
    assert f"campaign {cid} is CANCELLED" in out and "NOT_CONFIGURED" in out
    assert _to_states(app, cid)[-1] == (
        "CANCELLED",
        "li",
        {"decision": "no-go", "note": "script not ready"},
    )
