"""Use cases end to end on both databases: intake, feasibility, decisions, cleaning, dialing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from builders import (
    NOW,
    TODAY,
    draft,
    list_rows,
    ready_campaign,
    seed_operator,
    stored_list,
    submitted,
)
from sqlalchemy import func, select

from campaigns import services
from campaigns.dialing import run_slice
from campaigns.errors import IllegalTransition, NotFoundError, ValidationError
from campaigns.model import CampaignState, CleaningPolicy, ContactState, ExclusionReason, Phase
from campaigns.ports import ANONYMOUS_WORKER
from campaigns.storage import orm
from dialer_adapters.simulator import SimulatedDialer
from flows.bootstrap import App


def _count(app: App, model: type) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_submit_stores_request_contacts_and_audit(app: App) -> None:
    fates = seed_operator(app)
    result = services.submit_request(
        uow=app.uow(),
        draft=draft(),
        rows=list_rows(fates),
        file_digest="d",
        list_filename="l.csv",
        now=NOW,
    )
    assert not result.duplicate
    assert result.rows == len(list_rows(fates))
    assert [p.reason for p in result.problems] == ["INVALID_NUMBER", "SHORT_CODE"]
    c = services.get_campaign(uow=app.uow(), campaign_id=result.campaign_id)
    assert c.state is CampaignState.SUBMITTED and c.branch_code == "GZ"


def test_same_request_twice_is_one_request(app: App) -> None:
    fates = seed_operator(app)
    kwargs = dict(
        draft=draft(), rows=list_rows(fates), file_digest="d", list_filename="l.csv", now=NOW
    )
    first = services.submit_request(uow=app.uow(), **kwargs)  # type: ignore[arg-type]
    again = services.submit_request(uow=app.uow(), **kwargs)  # type: ignore[arg-type]
    assert again.duplicate and again.campaign_id == first.campaign_id
    assert _count(app, orm.CampaignRequest) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"branch_code": "XX"}, "unknown branch 'XX'"),
        ({"offer_code": "NOPE"}, "unknown offer 'NOPE'"),
        (
            {"window_end": TODAY - timedelta(days=1), "window_start": TODAY - timedelta(days=3)},
            "in the past",
        ),
        ({"window_end": TODAY, "window_start": TODAY + timedelta(days=2)}, "reversed"),
        ({"goal_activations": 0}, "at least 1 activation"),
        ({"month": "11/2026"}, "month must look like"),
    ],
)
def test_bad_requests_are_rejected_and_write_nothing(app: App, change: dict, message: str) -> None:
    fates = seed_operator(app)
    with pytest.raises((ValidationError, NotFoundError), match=message):
        services.submit_request(
            uow=app.uow(),
            draft=replace(draft(), **change),
            rows=list_rows(fates),
            file_digest="d",
            list_filename="l.csv",
            now=NOW,
        )
    assert _count(app, orm.CampaignRequest) == 0
    assert _count(app, orm.Contact) == 0
    assert _count(app, orm.AuditEntry) == 0


def test_empty_list_is_rejected(app: App) -> None:
    seed_operator(app)
    with pytest.raises(ValidationError, match="empty"):
        services.submit_request(
            uow=app.uow(), draft=draft(), rows=[], file_digest="d", list_filename="l.csv", now=NOW
        )
    assert _count(app, orm.Campaign) == 0


def test_feasibility_and_decisions(app: App) -> None:
    fates = seed_operator(app)
    cid = submitted(app, fates)
    report = services.run_feasibility(uow=app.uow(), campaign_id=cid, now=NOW)
    assert report["verdict"] == "FEASIBLE"
    assert report["list_size"] == len(list_rows(fates)) and report["agents"] == 5
    with pytest.raises(ValidationError, match="needs a note"):
        services.decide(uow=app.uow(), campaign_id=cid, approve=False, actor="r", now=NOW)
    c = services.decide(
        uow=app.uow(), campaign_id=cid, approve=False, actor="r", now=NOW, note="list too old"
    )
    assert c.state is CampaignState.REJECTED
    with pytest.raises(IllegalTransition):
        services.decide(uow=app.uow(), campaign_id=cid, approve=True, actor="r", now=NOW)
    with app.uow() as uow:
        trail = [
            (e["actor"], e["from_state"], e["to_state"])
            for e in uow.audit.for_entity("campaign", cid)
        ]
    assert trail == [
        ("test-branch", None, "SUBMITTED"),
        ("system", "SUBMITTED", "FEASIBILITY"),
        ("r", "FEASIBILITY", "REJECTED"),
    ]


def test_cleaning_excludes_each_fate_with_its_reason(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    rows = {r.e164 or r.raw: (r.state, r.reason) for r in stored_list(app, cid)}
    expect = {
        fates.suspended: ExclusionReason.SUBSCRIBER_INACTIVE,
        fates.cancelled: ExclusionReason.SUBSCRIBER_INACTIVE,
        fates.holds_offer: ExclusionReason.HOLDS_OFFER,
        fates.holds_exclusive: ExclusionReason.HOLDS_EXCLUSIVE,
        fates.recent: ExclusionReason.RECENT_CONTACT,
        fates.follow_up: ExclusionReason.PRIOR_FOLLOW_UP,
        fates.dnc: ExclusionReason.DO_NOT_CALL,
        fates.unknown: ExclusionReason.UNKNOWN_SUBSCRIBER,
        "1380013": ExclusionReason.INVALID_NUMBER,
        "10086": ExclusionReason.SHORT_CODE,
    }
    for key, reason in expect.items():
        assert rows[key] == (ContactState.EXCLUDED, reason), key
    # The first row of the duplicated number is kept; its second spelling is the duplicate.
    dup = [r.reason for r in stored_list(app, cid) if r.e164 == fates.active[0]]
    assert dup == [None, ExclusionReason.DUPLICATE]
    c = services.get_campaign(uow=app.uow(), campaign_id=cid)
    assert c.state is CampaignState.READY and c.script_id is not None
    assert c.cleaning_summary == {
        "kept": 40,
        "DO_NOT_CALL": 1,
        "DUPLICATE": 1,
        "HOLDS_EXCLUSIVE": 1,
        "HOLDS_OFFER": 1,
        "INVALID_NUMBER": 1,
        "PRIOR_FOLLOW_UP": 1,
        "RECENT_CONTACT": 1,
        "SHORT_CODE": 1,
        "SUBSCRIBER_INACTIVE": 2,
        "UNKNOWN_SUBSCRIBER": 1,
    }


def test_cleaning_in_small_batches_gives_the_same_verdicts(app: App) -> None:
    fates = seed_operator(app)
    a = ready_campaign(app, fates)
    b = services.submit_request(
        uow=app.uow(),
        draft=draft(target_group="other"),
        rows=list_rows(fates),
        file_digest="d2",
        list_filename="l.csv",
        now=NOW,
    ).campaign_id
    # `a` is READY with the same numbers; that rule is not what this test is about.
    ignore_a = CleaningPolicy(disabled=frozenset({ExclusionReason.IN_OTHER_CAMPAIGN}))
    services.configure_cleaning(uow=app.uow(), campaign_id=b, policy=ignore_a, actor="t", now=NOW)
    services.run_feasibility(uow=app.uow(), campaign_id=b, now=NOW)
    services.decide(uow=app.uow(), campaign_id=b, approve=True, actor="r", now=NOW)
    services.clean(uow=app.uow(), campaign_id=b, now=NOW, batch_size=3)
    assert (
        services.get_campaign(uow=app.uow(), campaign_id=a).cleaning_summary
        == services.get_campaign(uow=app.uow(), campaign_id=b).cleaning_summary
    )


def test_dialing_slice_records_every_call_once(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    campaign = services.get_campaign(uow=app.uow(), campaign_id=cid)
    start, end = services.day_window(TODAY, campaign.calling_hours, "Asia/Shanghai")
    summary = run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=1),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
    )
    assert summary.attempts > 40
    with app.uow() as uow:
        attempts = uow.session.execute(
            select(orm.CallAttempt.idempotency_key, orm.CallAttempt.dialed_at).where(
                orm.CallAttempt.campaign_id == cid
            )
        ).all()
        states = uow.contacts.count_by_state(cid)
    keys = [a.idempotency_key for a in attempts]
    assert len(keys) == len(set(keys))
    assert all(start <= a.dialed_at < end for a in attempts)
    assert ContactState.DIALING not in states
    # Running the same slice again writes no attempt twice.
    again = run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=1),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
    )
    with app.uow() as uow:
        keys2 = list(
            uow.session.scalars(
                select(orm.CallAttempt.idempotency_key).where(orm.CallAttempt.campaign_id == cid)
            )
        )
    assert len(keys2) == len(set(keys2)) == len(keys) + sum(again.dispositions.values())


def test_dnc_request_during_a_call_blocks_every_campaign(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    from dialer_adapters.simulator import CustomerModel

    everyone_objects = CustomerModel(
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
        p_dnc_request=1.0,
    )
    start, end = services.day_window(
        TODAY, services.get_campaign(uow=app.uow(), campaign_id=cid).calling_hours, "Asia/Shanghai"
    )
    summary = run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(customers=everyone_objects),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
    )
    assert summary.dnc_added == 40
    with app.uow() as uow:
        assert uow.dnc.blocked(list(fates.active), campaign_id=999, now=end) == set(fates.active)
        assert uow.contacts.count_by_state(cid).get(ContactState.READY, 0) == 0


def test_rules_that_look_at_other_campaigns_regions_and_segments(app: App) -> None:
    from dataclasses import replace as dc_replace

    from sqlalchemy import update

    from campaigns.model import Disposition
    from campaigns.storage.facts import refresh_facts

    fates = seed_operator(app)
    a = fates.active
    with app.engine.begin() as conn:
        sz = conn.execute(select(orm.Branch.id).where(orm.Branch.code == "SZ")).scalar_one()
        conn.execute(
            update(orm.Subscriber).where(orm.Subscriber.msisdn == a[2]).values(branch_id=sz)
        )
        conn.execute(
            update(orm.Subscriber).where(orm.Subscriber.msisdn == a[3]).values(segment="youth")
        )
        # The snapshot is written by its importers, which rebuild the facts; this test edits
        # it by hand, so it rebuilds them as they would.
        refresh_facts(conn)
    first = ready_campaign(app, fates)
    with app.uow() as uow:
        contact = next(
            c
            for c in uow.contacts.claim_due(first, now=NOW, limit=100, trial_only=False)
            if c.e164 == a[4]
        )
        uow.attempts.add_many(
            [
                {
                    "idempotency_key": "r1",
                    "campaign_id": first,
                    "contact_id": contact.id,
                    "e164": a[4],
                    "agent_id": None,
                    "attempt_no": 1,
                    "phase": Phase.LIVE,
                    "disposition": Disposition.REFUSED,
                    "counts_as_attempt": True,
                    "dialed_at": NOW - timedelta(days=40),
                    "answered_at": None,
                    "ended_at": NOW - timedelta(days=40),
                    "ring_seconds": 1.0,
                    "talk_seconds": 30.0,
                    "wrap_seconds": 0.0,
                    "note": "price",
                }
            ]
        )
        uow.contacts.release_claims(first, worker=ANONYMOUS_WORKER, now=NOW)
        uow.commit()

    second = services.submit_request(
        uow=app.uow(),
        draft=draft(target_group="again", segment_filters=("family",)),
        rows=list_rows(fates),
        file_digest="d2",
        list_filename="l.csv",
        now=NOW,
    ).campaign_id
    report = services.run_feasibility(uow=app.uow(), campaign_id=second, now=NOW)
    assert report["verdict"] == "INFEASIBLE"  # every contact is taken by `first` or a rule
    services.decide(
        uow=app.uow(),
        campaign_id=second,
        approve=True,
        actor="r",
        now=NOW,
        note="first ends before this starts",
    )
    preview = services.preview_cleaning(uow=app.uow(), campaign_id=second, now=NOW)
    summary = services.clean(uow=app.uow(), campaign_id=second, now=NOW)
    assert summary == preview.summary()  # the preview is the ledger when nothing changed
    assert summary["OUT_OF_REGION"] == 1 and summary["SEGMENT_FILTER"] == 1
    assert summary["REFUSED_BEFORE"] == 1  # refused 40 days ago, cool-off 90
    assert summary["IN_OTHER_CAMPAIGN"] == 37  # the rest of the actives are callable in `first`
    assert preview.alone["IN_OTHER_CAMPAIGN"] == 40  # out-of-region and others too, alone
    rows = {r.e164: r.rule_version for r in stored_list(app, second) if r.e164 in a[2:5]}
    with app.uow() as uow:
        ledger = uow.campaigns.get(second).cleaning_ledger
    assert rows == {a[2]: "OUT_OF_REGION@1", a[3]: "SEGMENT_FILTER@1", a[4]: "REFUSED_BEFORE@1"}
    assert ledger is not None and ledger["policy"]["segments"] == ["family"]

    # Cleaning again gives the same ledger; switching a rule off changes only what it decided.
    assert services.clean(uow=app.uow(), campaign_id=second, now=NOW) == summary
    policy = dc_replace(
        services.policy_for(services.get_campaign(uow=app.uow(), campaign_id=second)),
        disabled=frozenset({ExclusionReason.IN_OTHER_CAMPAIGN}),
    )
    services.configure_cleaning(
        uow=app.uow(), campaign_id=second, policy=policy, actor="staff", now=NOW
    )
    again = services.clean(uow=app.uow(), campaign_id=second, now=NOW)
    assert "IN_OTHER_CAMPAIGN" not in again and again["kept"] == summary["kept"] + 37
    assert services.get_campaign(uow=app.uow(), campaign_id=second).state is CampaignState.READY
    assert CleaningPolicy.from_dict(
        services.get_campaign(uow=app.uow(), campaign_id=second).cleaning_policy
    ).disabled == {ExclusionReason.IN_OTHER_CAMPAIGN}


def test_a_branch_today_is_its_own_date_not_the_servers(app: App) -> None:
    seed_operator(app)
    late_utc = NOW.replace(hour=17, minute=0)  # 01:00 the next day in Asia/Shanghai
    today = services.branch_today(uow=app.uow(), branch_code="GZ", now=late_utc)
    assert today == late_utc.date() + timedelta(days=1)
    with pytest.raises(ValidationError, match="in the past"):
        services.submit_request(
            uow=app.uow(),
            draft=replace(draft(), window_start=late_utc.date()),
            rows=[],
            file_digest="d",
            list_filename="l.csv",
            now=late_utc,
        )
    with pytest.raises(NotFoundError):
        services.branch_today(uow=app.uow(), branch_code="XX", now=late_utc)
