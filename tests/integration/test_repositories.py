"""Repositories on SQLite and PostgreSQL: the caller commits, claims, idempotency, DNC, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import NOW, ready_campaign, seed_operator, submitted
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from campaigns.model import CampaignState, ContactState, DialContact, Disposition, Phase
from campaigns.ports import DEFAULT_LEASE
from campaigns.storage import orm
from campaigns.storage.orm import AppendOnlyViolation
from flows.bootstrap import App


def test_nothing_is_saved_without_commit(app: App) -> None:
    fates = seed_operator(app)
    with app.uow() as uow:
        uow.dnc.add_many([(fates.active[0], "test")], now=NOW)
    with app.uow() as uow:
        assert uow.dnc.blocked([fates.active[0]], campaign_id=1, now=NOW) == set()
        uow.dnc.add_many([(fates.active[0], "test")], now=NOW)
        uow.commit()
    with app.uow() as uow:
        assert uow.dnc.blocked([fates.active[0]], campaign_id=1, now=NOW) == {fates.active[0]}


def test_dnc_expiry_and_campaign_scope(app: App) -> None:
    fates = seed_operator(app)
    cid = submitted(app, fates)
    a, b, c = fates.active[:3]
    with app.engine.begin() as conn:
        conn.execute(
            orm.DncEntry.__table__.insert(),
            [
                {
                    "e164": a,
                    "reason": "expired",
                    "created_at": NOW - timedelta(days=9),
                    "expires_at": NOW - timedelta(days=1),
                    "campaign_id": None,
                },
                {
                    "e164": b,
                    "reason": "this campaign",
                    "created_at": NOW,
                    "expires_at": None,
                    "campaign_id": cid,
                },
            ],
        )
    with app.uow() as uow:
        assert uow.dnc.blocked([a, b, c], campaign_id=cid, now=NOW) == {b}
        assert uow.dnc.blocked([a, b, c], campaign_id=cid + 1, now=NOW) == set()


def test_claims_mark_contacts_and_are_released(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    with app.uow() as uow:
        first = uow.contacts.claim_due(cid, now=NOW, limit=10, trial_only=False, worker="w1")
        second = uow.contacts.claim_due(cid, now=NOW, limit=10, trial_only=False, worker="w2")
        uow.commit()
    assert len(first) == 10 and len(second) == 10
    assert not {c.id for c in first} & {c.id for c in second}
    with app.uow() as uow:
        assert uow.contacts.count_by_state(cid)[ContactState.DIALING] == 20
        # w1 releases its own claims only; w2's lease still holds.
        assert uow.contacts.release_claims(cid, worker="w1", now=NOW) == 10
        uow.commit()
    with app.uow() as uow:
        assert uow.contacts.count_by_state(cid)[ContactState.DIALING] == 10
        assert uow.contacts.release_claims(cid, worker="w3", now=NOW) == 0
        # Past the lease, w2's claims count as a stopped worker's: anyone releases them.
        expired = NOW + DEFAULT_LEASE
        assert uow.contacts.release_claims(cid, worker="w3", now=expired) == 10
        uow.commit()
    with app.uow() as uow:
        assert ContactState.DIALING not in uow.contacts.count_by_state(cid)


def test_an_expired_lease_is_taken_over_and_its_old_holder_loses_it(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    with app.uow() as uow:
        ready = uow.contacts.count_by_state(cid)[ContactState.READY]
        held = uow.contacts.claim_due(cid, now=NOW, limit=ready, trial_only=False, worker="w1")
        uow.commit()
    ids = [c.id for c in held]
    with app.uow() as uow:
        # Nothing is due for w2 while w1's lease runs, and w1 can renew it.
        assert uow.contacts.claim_due(cid, now=NOW, limit=100, trial_only=False, worker="w2") == []
        later = NOW + timedelta(minutes=5)
        assert uow.contacts.renew_claims(cid, worker="w1", until=later + DEFAULT_LEASE) == set(ids)
        uow.commit()
    with app.uow() as uow:
        stale = later + DEFAULT_LEASE
        taken = uow.contacts.claim_due(cid, now=stale, limit=100, trial_only=False, worker="w2")
        uow.commit()
    assert sorted(c.id for c in taken) == sorted(ids)
    with app.uow() as uow:
        assert uow.contacts.renew_claims(cid, worker="w1", until=stale, ids=ids[:3]) == set()
        assert uow.contacts.renew_claims(cid, worker="w2", until=stale, ids=ids[:3]) == set(ids[:3])


def test_a_renewal_rewrites_only_leases_running_out_and_reports_all_held(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    with app.uow() as uow:
        held = uow.contacts.claim_due(cid, now=NOW, limit=6, trial_only=False, worker="w1")
        uow.commit()
    ids = sorted(c.id for c in held)
    old, fresh = ids[:3], ids[3:]
    later = NOW + DEFAULT_LEASE / 2
    with app.uow() as uow:
        uow.session.execute(
            orm.Contact.__table__.update()
            .where(orm.Contact.id.in_(old))
            .values(claimed_until=NOW + DEFAULT_LEASE / 4)
        )
        uow.commit()

    def leases() -> dict[int, object]:
        with app.uow() as uow:
            rows = uow.session.execute(
                select(orm.Contact.id, orm.Contact.claimed_until).where(orm.Contact.id.in_(ids))
            )
            return dict(rows.tuples().all())

    before = leases()
    until = later + DEFAULT_LEASE
    with app.uow() as uow:
        kept = uow.contacts.renew_claims(
            cid, worker="w1", until=until, stale_before=later + DEFAULT_LEASE / 4
        )
        assert uow.contacts.renew_claims(cid, worker="w2", until=until, stale_before=until) == set()
        uow.commit()
    assert kept == set(ids)  # held, renewed or not
    after = leases()
    assert all(after[i] == until for i in old)  # ran out before stale_before: renewed
    assert all(after[i] == before[i] for i in fresh)  # time left: not rewritten


def test_attempts_are_idempotent_by_key(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    with app.uow() as uow:
        contact = uow.contacts.claim_due(cid, now=NOW, limit=1, trial_only=False)[0]
        row = {
            "idempotency_key": f"{cid}:{contact.id}:1.0",
            "campaign_id": cid,
            "contact_id": contact.id,
            "e164": contact.e164,
            "agent_id": None,
            "attempt_no": 1,
            "phase": Phase.LIVE,
            "disposition": Disposition.BUSY,
            "counts_as_attempt": True,
            "dialed_at": NOW,
            "answered_at": None,
            "ended_at": NOW + timedelta(seconds=3),
            "ring_seconds": 3.0,
            "talk_seconds": 0.0,
            "wrap_seconds": 0.0,
            "note": None,
        }
        assert uow.attempts.add_many([row]) == 1
        assert uow.attempts.add_many([row]) == 0
        uow.commit()
    with app.uow() as uow:
        by, dialled, _ = uow.attempts.counts(cid)
        assert by == {Disposition.BUSY: 1} and dialled == 1


def test_attempts_begun_for_held_contacts_and_finished_in_bulk(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    with app.uow() as uow:
        mine = uow.contacts.claim_due(cid, now=NOW, limit=4, trial_only=False, worker="w1")
        other = uow.contacts.claim_due(cid, now=NOW, limit=1, trial_only=False, worker="w2")
        uow.commit()

    def begun(c: DialContact, n: int = 1) -> dict[str, object]:
        return {
            "idempotency_key": f"{cid}:{c.id}:{n}.0",
            "campaign_id": cid,
            "contact_id": c.id,
            "e164": c.e164,
            "agent_id": None,
            "attempt_no": n,
            "phase": Phase.LIVE,
            "dialed_at": NOW,
        }

    until = NOW + timedelta(minutes=5)
    barred = mine[3]
    mine = mine[:3]
    with app.uow() as uow:
        # Asked not to be called a moment before the dial, in another campaign.
        uow.dnc.add_many([(barred.e164, "DNC_REQUEST")], now=NOW - timedelta(seconds=1))
        uow.commit()
    with app.uow() as uow:
        # w1 holds its own, not w2's: that one is neither renewed nor written; nor is the
        # number now on the do-not-call list.
        held, blocked, stored = uow.attempts.begin_held(
            [begun(c) for c in [*mine, barred, *other]],
            campaign_id=cid,
            worker="w1",
            until=until,
            now=NOW,
        )
        uow.commit()
    assert held == {c.id for c in [*mine, barred]} and stored == {}
    assert blocked == {barred.e164}
    with app.uow() as uow:
        # Written again (a restarted worker): nothing new, each key comes back as stored.
        held, blocked, stored = uow.attempts.begin_held(
            [begun(c) for c in mine], campaign_id=cid, worker="w1", until=until, now=NOW
        )
        # Outcomes with text COPY must escape, a NULL, and a column left out (dialed_at).
        notes = ["tab\there", "back\\slash \\N\nnext line", None]
        uow.attempts.finish_many(
            [
                {
                    "idempotency_key": f"{cid}:{c.id}:1.0",
                    "disposition": Disposition.NO_ANSWER,
                    "counts_as_attempt": True,
                    "ended_at": NOW + timedelta(seconds=20),
                    "ring_seconds": 20.0,
                    "note": note,
                }
                for c, note in zip(mine, notes, strict=True)
            ]
        )
        uow.contacts.update_after_attempts(
            [
                {"id": c.id, "state": ContactState.READY, "attempts": 1, "next_attempt_at": None}
                for c in mine
            ]
        )
        uow.commit()
    assert held == {c.id for c in mine} and not blocked
    assert set(stored) == {f"{cid}:{c.id}:1.0" for c in mine}
    assert all(d is None for d in stored.values())
    with app.engine.connect() as conn:
        rows = {
            r.contact_id: r
            for r in conn.execute(select(orm.CallAttempt).where(orm.CallAttempt.campaign_id == cid))
        }
        contacts = {
            r.id: r for r in conn.execute(select(orm.Contact).where(orm.Contact.campaign_id == cid))
        }
    assert set(rows) == {c.id for c in mine}
    for c, note in zip(mine, notes, strict=True):
        r = rows[c.id]
        assert (r.status, r.disposition, r.note) == ("ENDED", Disposition.NO_ANSWER, note)
        assert r.dialed_at == NOW and r.ended_at == NOW + timedelta(seconds=20)
        assert r.counts_as_attempt and r.ring_seconds == 20.0
        k = contacts[c.id]
        assert (k.state, k.attempts, k.claimed_by, k.next_attempt_at) == (
            ContactState.READY,
            1,
            None,
            None,
        )
    assert contacts[other[0].id].claimed_by == "w2"


def test_audit_log_is_append_only(app: App) -> None:
    fates = seed_operator(app)
    submitted(app, fates)
    with app.uow() as uow:
        entry = uow.session.scalars(select(orm.AuditEntry)).first()
        assert entry is not None and entry.action == "submitted"
        entry.actor = "someone else"
        with pytest.raises(AppendOnlyViolation):
            uow.session.flush()
    if app.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'x'"))
        with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))


def _attempt(cid: int, contact_id: int, e164: str, disposition: Disposition, at: object) -> dict:
    return {
        "idempotency_key": f"{cid}:{contact_id}:{disposition}",
        "campaign_id": cid,
        "contact_id": contact_id,
        "e164": e164,
        "agent_id": None,
        "attempt_no": 1,
        "phase": Phase.LIVE,
        "disposition": disposition,
        "counts_as_attempt": True,
        "dialed_at": at,
        "answered_at": None,
        "ended_at": at,
        "ring_seconds": 1.0,
        "talk_seconds": 0.0,
        "wrap_seconds": 0.0,
        "note": None,
    }


def test_history_of_our_own_attempts(app: App) -> None:
    fates = seed_operator(app)
    cid = ready_campaign(app, fates)
    a, b = fates.active[:2]
    with app.uow() as uow:
        ids = {
            c.e164: c.id for c in uow.contacts.claim_due(cid, now=NOW, limit=100, trial_only=False)
        }
        uow.attempts.add_many(
            [
                _attempt(cid, ids[a], a, Disposition.REFUSED, NOW - timedelta(days=5)),
                _attempt(cid, ids[b], b, Disposition.BUSY, NOW - timedelta(days=2)),
            ]
        )
        uow.commit()
    with app.uow() as uow:
        offer = uow.campaigns.get(cid).offer_id
        last = uow.attempts.last_attempts([a, b, fates.recent], exclude_campaign=cid + 1)
        refused = uow.attempts.last_refusals([a, b], offer_id=offer, exclude_campaign=cid + 1)
        other_offer = uow.attempts.last_refusals([a], offer_id=offer + 1, exclude_campaign=0)
        none_here = uow.attempts.last_attempts([a, b], exclude_campaign=cid)
        elsewhere = uow.contacts.in_other_campaigns([a, b], cid + 1, [CampaignState.READY])
        not_ready = uow.contacts.in_other_campaigns([a, b], cid + 1, [CampaignState.LIVE])
    assert last == {a: NOW - timedelta(days=5), b: NOW - timedelta(days=2)}
    assert all(t.tzinfo is not None for t in last.values())
    assert refused == {a: NOW - timedelta(days=5)} and other_offer == {} and none_here == {}
    assert elsewhere == {a, b} and not_ready == set()
