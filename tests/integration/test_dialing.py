"""The dialing loop on both databases: attempts on record before each call, crash and
outage recovery, the pacing history query, and predictive pacing on a real campaign."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import NOW, TODAY, FakeCrm, draft, ready_campaign, seed_operator
from sqlalchemy import select, update

from campaigns import services
from campaigns.dialing import attempt_key, run_slice
from campaigns.errors import ConfigurationError, DialerRejected, DialerUnavailable
from campaigns.intake import ListRow
from campaigns.model import LIVE_CONTACT, CampaignState, ContactState, Disposition, Phase
from campaigns.pacing import PacingConfig, PacingMode
from campaigns.ports import CallRequest, DialerCapabilities
from campaigns.storage import orm
from dialer_adapters.simulator import SimulatedDialer
from flows.bootstrap import App


def live_campaign(app: App, *, active: int = 40, agents: int = 5) -> tuple[int, datetime, datetime]:
    """A LIVE campaign and its first calling day."""
    fates = seed_operator(app, active=active, agents=agents)
    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    hours = services.get_campaign(uow=app.uow(), campaign_id=cid).calling_hours
    start, end = services.day_window(TODAY, hours, "Asia/Shanghai")
    return cid, start, end


class WitnessDialer(SimulatedDialer):
    """The simulator, noting each call it is asked to place and how its attempt row stood."""

    def __init__(self, app: App, **options: Any) -> None:
        super().__init__(**options)
        self.app = app
        self.placed: list[str] = []
        self.rows_at_originate: list[tuple[str, str | None]] = []

    async def originate(self, calls: Sequence[CallRequest]) -> None:
        keys = [c.key for c in calls]
        with self.app.engine.connect() as conn:
            rows = conn.execute(
                select(orm.CallAttempt.status, orm.CallAttempt.disposition).where(
                    orm.CallAttempt.idempotency_key.in_(keys)
                )
            ).all()
        self.rows_at_originate += [(r.status, r.disposition) for r in rows]
        await super().originate(calls)
        self.placed += keys


def slice_(app: App, dialer: SimulatedDialer, cid: int, start: datetime, end: datetime) -> None:
    run_slice(uow=app.uow(), dialer=dialer, campaign_id=cid, phase=Phase.LIVE, start=start, end=end)


def attempts(app: App, cid: int) -> list[Any]:
    with app.engine.connect() as conn:
        return list(
            conn.execute(select(orm.CallAttempt).where(orm.CallAttempt.campaign_id == cid)).all()
        )


def test_each_attempt_is_on_record_before_its_call_is_placed(app: App) -> None:
    cid, start, end = live_campaign(app)
    dialer = WitnessDialer(app, seed=2)
    summary = run_slice(
        uow=app.uow(), dialer=dialer, campaign_id=cid, phase=Phase.LIVE, start=start, end=end
    )
    assert len(dialer.placed) == sum(summary.dispositions.values()) > 40
    assert dialer.rows_at_originate == [("DIALLED", None)] * len(dialer.placed)
    rows = attempts(app, cid)
    assert sorted(r.idempotency_key for r in rows) == sorted(dialer.placed)
    assert {r.status for r in rows} == {"ENDED"} and all(r.disposition for r in rows)
    bridged = [r for r in rows if r.bridged_at is not None]
    assert bridged and all(r.disposition in LIVE_CONTACT for r in bridged)
    assert all(r.cause for r in rows if r.disposition is Disposition.INVALID)
    # call_attempts has no foreign keys to campaigns or agents (migration 0007): every row
    # still names its contact's campaign and a known agent.
    with app.engine.connect() as conn:
        campaign_of = dict(conn.execute(select(orm.Contact.id, orm.Contact.campaign_id)).all())
        known_agents = set(conn.scalars(select(orm.Agent.id)))
    assert all(campaign_of[r.contact_id] == r.campaign_id == cid for r in rows)
    assert {r.agent_id for r in bridged} <= known_agents


def test_a_call_left_dialled_by_a_crash_is_closed_not_dialled_again(app: App) -> None:
    cid, start, end = live_campaign(app)
    with app.uow() as uow:
        contact = uow.contacts.claim_due(cid, now=start, limit=1, trial_only=False)[0]
        orphan = attempt_key(cid, contact)
        # A worker wrote the attempt, maybe placed the call, and died before its outcome.
        uow.attempts.begin_many(
            [
                {
                    "idempotency_key": orphan,
                    "campaign_id": cid,
                    "contact_id": contact.id,
                    "e164": contact.e164,
                    "agent_id": None,
                    "attempt_no": 1,
                    "phase": Phase.LIVE,
                    "dialed_at": start - timedelta(minutes=5),
                }
            ]
        )
        uow.commit()
    dialer = WitnessDialer(app, seed=3)
    run_slice(uow=app.uow(), dialer=dialer, campaign_id=cid, phase=Phase.LIVE, start=start, end=end)
    assert orphan not in dialer.placed
    rows = {r.idempotency_key: r for r in attempts(app, cid)}
    closed = rows[orphan]
    assert closed.status == "ENDED" and closed.disposition is Disposition.NETWORK_FAIL
    # Whether that call went out is unknown, so its slot counts as spent.
    assert closed.counts_as_attempt and "outcome lost" in closed.note
    assert closed.dialed_at == start - timedelta(minutes=5)  # when it was dialled, if it was
    # The contact is dialled again later under the next attempt, never under the lost key.
    assert not any(k.startswith(f"{cid}:{contact.id}:1.") for k in dialer.placed)
    assert f"{cid}:{contact.id}:2.1" in dialer.placed


def test_a_short_outage_is_ridden_out_with_the_same_keys(app: App) -> None:
    cid, start, end = live_campaign(app)
    # The switch goes down a second after the first calls, for five seconds.
    outage = (start + timedelta(seconds=1), start + timedelta(seconds=6))
    dialer = WitnessDialer(app, seed=4, outages=[outage])
    summary = run_slice(
        uow=app.uow(), dialer=dialer, campaign_id=cid, phase=Phase.LIVE, start=start, end=end
    )
    rows = attempts(app, cid)
    assert summary.attempts > 40
    assert not any("unavailable" in (r.note or "") for r in rows)
    during = [r for r in rows if outage[0] <= r.dialed_at < outage[1]]
    assert not during  # nothing went out while the switch was down
    assert len({r.idempotency_key for r in rows}) == len(rows) == len(dialer.placed)


def test_a_lasting_outage_raises_and_leaves_every_contact_to_retry(app: App) -> None:
    cid, start, end = live_campaign(app)
    dialer = SimulatedDialer(outages=[(start + timedelta(seconds=1), end)])
    with pytest.raises(DialerUnavailable):
        slice_(app, dialer, cid, start, end)
    rows = attempts(app, cid)
    assert {r.status for r in rows} == {"ENDED"}
    failed = [r for r in rows if r.disposition is Disposition.NETWORK_FAIL]
    assert failed and all(not r.counts_as_attempt for r in failed)
    assert all("dialer unavailable" in r.note for r in failed)
    # The calls placed before the outage were not cut off: they finished and were recorded.
    assert any(r.disposition is not Disposition.NETWORK_FAIL for r in rows)
    with app.uow() as uow:
        states = uow.contacts.count_by_state(cid)
    assert ContactState.DIALING not in states and states[ContactState.READY] >= len(failed)


def test_a_dialer_that_cannot_bridge_agents_is_refused(app: App) -> None:
    cid, start, end = live_campaign(app)
    dialer = SimulatedDialer()
    dialer.capabilities = DialerCapabilities(bridging=False, amd=True, preview=False)
    with pytest.raises(ConfigurationError, match="bridge"):
        slice_(app, dialer, cid, start, end)
    assert attempts(app, cid) == []


def test_tally_counts_finished_attempts_by_period(app: App) -> None:
    cid, start, _ = live_campaign(app)
    with app.uow() as uow:
        contacts = uow.contacts.claim_due(cid, now=start, limit=6, trial_only=False)
        base = {"campaign_id": cid, "agent_id": None, "attempt_no": 1, "phase": Phase.LIVE}
        outcomes = [
            (Disposition.REFUSED, 0, 100.0),
            (Disposition.ABANDONED, 1, None),
            (Disposition.BUSY, 2, None),
            (Disposition.SUCCESS, 61, 200.0),
            (None, 62, None),  # still in progress: not counted
        ]
        for i, (disposition, minute, handle) in enumerate(outcomes):
            c = contacts[i]
            dialed = start + timedelta(minutes=minute)
            row = base | {
                "idempotency_key": f"t{i}",
                "contact_id": c.id,
                "e164": c.e164,
                "dialed_at": dialed,
            }
            uow.attempts.begin_many([row])
            if disposition is not None:
                uow.attempts.finish_many(
                    [
                        {
                            "idempotency_key": f"t{i}",
                            "disposition": disposition,
                            "counts_as_attempt": True,
                            "ended_at": dialed + timedelta(minutes=1),
                            "bridged_at": dialed if handle else None,
                            "talk_seconds": (handle or 0.0) - 20 if handle else 0.0,
                            "wrap_seconds": 20.0 if handle else 0.0,
                        }
                    ]
                )
        uow.commit()
    hour = timedelta(hours=1)
    with app.uow() as uow:
        first, second = uow.attempts.tally(cid, edges=[start, start + hour, start + 2 * hour])
        by, dialled, _ = uow.attempts.counts(cid)
    assert (first.ended, first.live, first.abandoned, first.bridged) == (3, 2, 1, 1)
    assert first.handle_seconds == pytest.approx(100.0)
    assert (second.ended, second.live, second.abandoned, second.bridged) == (1, 1, 0, 1)
    assert (second.start, second.end) == (start + hour, start + 2 * hour)
    assert sum(by.values()) == 4 and dialled == 4


def test_predictive_pacing_on_a_campaign_stays_within_the_cap(app: App) -> None:
    cid, start, end = live_campaign(app, active=400, agents=16)
    summary = run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=6),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
        pacing=PacingConfig(mode=PacingMode.PREDICTIVE),
    )
    assert summary.modes.get("PREDICTIVE", 0) > 0  # 16 agents: above the fallback
    assert summary.live > 100 and summary.abandon_rate <= 0.03
    assert 0 < summary.occupancy < 1 and summary.staffed_seconds > 0
    rows = attempts(app, cid)
    live = sum(r.disposition in LIVE_CONTACT for r in rows)
    assert sum(r.disposition is Disposition.ABANDONED for r in rows) <= 0.03 * live


def test_a_rejected_batch_is_recorded_with_the_reason_and_stops_the_slice(app: App) -> None:
    cid, start, end = live_campaign(app)

    class RefusingDialer(SimulatedDialer):
        async def originate(self, calls: Sequence[CallRequest]) -> None:
            raise DialerRejected("403 Forbidden: the trunk's account is suspended")

    dialer = RefusingDialer()
    with pytest.raises(DialerRejected):
        slice_(app, dialer, cid, start, end)
    rows = attempts(app, cid)
    assert rows and {r.status for r in rows} == {"ENDED"}
    assert all("dialer rejected" in r.note and not r.counts_as_attempt for r in rows)


# ------------------------------------------------------------------ compliance in the loop


def renumber(app: App, cid: int, e164: str) -> int:
    """Give one READY contact of a campaign another number; returns its id."""
    with app.engine.begin() as conn:
        contact_id = conn.execute(
            select(orm.Contact.id)
            .where(orm.Contact.campaign_id == cid, orm.Contact.state == ContactState.READY)
            .order_by(orm.Contact.id)
            .limit(1)
        ).scalar_one()
        conn.execute(update(orm.Contact).where(orm.Contact.id == contact_id).values(e164=e164))
    return contact_id


def contact_row(app: App, contact_id: int) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(select(orm.Contact).where(orm.Contact.id == contact_id)).one()


def seed_dials(
    app: App,
    cid: int,
    e164: str,
    times: Sequence[datetime],
    disposition: Disposition = Disposition.NO_ANSWER,
) -> None:
    """Finished attempts of a number in a campaign (to one of its contacts)."""
    with app.engine.connect() as conn:
        contact_id = conn.execute(
            select(orm.Contact.id).where(orm.Contact.campaign_id == cid).limit(1)
        ).scalar_one()
    rows = [
        {
            "idempotency_key": f"seed:{cid}:{e164}:{i}",
            "campaign_id": cid,
            "contact_id": contact_id,
            "e164": e164,
            "agent_id": None,
            "attempt_no": 1,
            "phase": Phase.LIVE,
            "disposition": disposition,
            "counts_as_attempt": True,
            "dialed_at": t,
            "ended_at": t + timedelta(seconds=30),
        }
        for i, t in enumerate(times)
    ]
    with app.uow() as uow:
        uow.attempts.add_many(rows)
        uow.commit()


def dialled_contacts(app: App) -> set[int]:
    with app.engine.connect() as conn:
        return set(conn.execute(select(orm.CallAttempt.contact_id)).scalars())


def second_campaign(app: App) -> int:
    """Another campaign over the same operator (its rows only give attempts a home)."""
    return int(
        services.submit_request(
            uow=app.uow(),
            draft=draft(),
            rows=[ListRow(2, "13800000001", None)],
            file_digest="other",
            list_filename="other.csv",
            now=NOW,
            source=FakeCrm(),  # stored uncleaned: the row stays a contact
        ).campaign_id
    )


def test_a_number_outside_its_window_waits_for_it_and_is_not_dialled(app: App) -> None:
    cid, start, _ = live_campaign(app)
    london = renumber(app, cid, "+442079460000")  # 01:00 in London when Beijing opens
    summary = run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=7),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=start + timedelta(minutes=30),
    )
    assert london not in dialled_contacts(app)
    row = contact_row(app, london)
    assert row.state is ContactState.READY
    # uk@1 opens at 08:00, the campaign at 09:00 (London wall clock, GMT in November).
    assert row.next_attempt_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert summary.waits == {"OUTSIDE_HOURS": 1} and summary.deferred_window == 1


def test_cn_caps_count_the_dials_of_other_campaigns(app: App) -> None:
    cid, start, _ = live_campaign(app)
    other = second_campaign(app)
    with app.engine.connect() as conn:
        burst, daily = conn.execute(
            select(orm.Contact.id, orm.Contact.e164)
            .where(orm.Contact.campaign_id == cid, orm.Contact.state == ContactState.READY)
            .order_by(orm.Contact.id)
            .limit(2)
        ).all()
    # Three dials in the last 5 minutes and five in the last 24 h, all by the other campaign.
    seed_dials(app, other, burst.e164, [start - timedelta(minutes=m) for m in (4, 3, 2)])
    seed_dials(app, other, daily.e164, [start - timedelta(hours=h) for h in (23, 20, 10, 5, 1)])
    summary = run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=8),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=start + timedelta(seconds=50),
    )
    assert summary.waits == {"CAP_SHORT": 1, "CAP_24H": 1}
    with app.engine.connect() as conn:
        ours = set(
            conn.execute(
                select(orm.CallAttempt.contact_id).where(orm.CallAttempt.campaign_id == cid)
            ).scalars()
        )
    assert burst.id not in ours and daily.id not in ours and ours
    assert contact_row(app, burst.id).next_attempt_at == start + timedelta(minutes=1)
    assert contact_row(app, daily.id).next_attempt_at == start + timedelta(hours=1)


def test_an_abandoned_uk_number_is_not_redialled_within_72_hours(app: App) -> None:
    cid, start, _ = live_campaign(app)
    london = renumber(app, cid, "+442079460000")
    morning = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # inside both windows in London
    seed_dials(app, cid, "+442079460000", [morning - timedelta(hours=1)], Disposition.ABANDONED)
    summary = run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=10),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=morning,
        end=morning + timedelta(minutes=10),
    )
    assert summary.waits.get("ABANDON_COOLOFF") == 1
    with app.engine.connect() as conn:
        redials = conn.execute(
            select(orm.CallAttempt.idempotency_key).where(
                orm.CallAttempt.e164 == "+442079460000",
                ~orm.CallAttempt.idempotency_key.startswith("seed:"),
            )
        ).all()
    assert redials == []
    row = contact_row(app, london)
    abandoned_end = morning - timedelta(hours=1) + timedelta(seconds=30)
    assert row.state is ContactState.READY
    # 72 h later is 09:00:30 on Saturday 28 November, inside the window.
    assert row.next_attempt_at == abandoned_end + timedelta(hours=72)
    del start


# ------------------------------------------------------------------ several workers


class RecordingDialer(SimulatedDialer):
    """The simulator, noting the keys of the calls it places."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.placed: list[str] = []
        self.dialling = threading.Event()

    async def originate(self, calls: Sequence[CallRequest]) -> None:
        await super().originate(calls)
        self.placed += [c.key for c in calls]
        self.dialling.set()


@pytest.mark.postgres
def test_two_workers_on_one_campaign_never_share_a_contact(pg_app: App) -> None:
    app = pg_app
    cid, start, end = live_campaign(app, active=150, agents=4)
    dialers = {w: RecordingDialer(seed=seed) for w, seed in (("w1", 11), ("w2", 12))}
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        if worker == "w2":  # starts while w1 holds claims and has calls up
            dialers["w1"].dialling.wait(timeout=60)
        try:
            run_slice(
                uow=app.uow(),
                dialer=dialers[worker],
                campaign_id=cid,
                phase=Phase.LIVE,
                start=start,
                end=end,
                chunk=4,  # small claims, many of them, interleaved with the other worker's
                worker=worker,
                # The two simulated clocks run apart; a long lease keeps that from looking
                # like a stalled worker (takeovers have their own test).
                lease=timedelta(hours=12),
            )
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in dialers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    one, two = (set(d.placed) for d in dialers.values())
    assert one and two and not one & two
    rows = attempts(app, cid)
    assert len(rows) == len(one) + len(two) == len({r.idempotency_key for r in rows})
    # An attempt slot (contact, attempt number) was dialled by one worker only.
    slots = [k.rsplit(".", 1)[0] for k in one | two]
    assert len(set(slots)) == len({k.rsplit(".", 1)[0] for k in one}) + len(
        {k.rsplit(".", 1)[0] for k in two}
    )
    with app.uow() as uow:
        assert ContactState.DIALING not in uow.contacts.count_by_state(cid)
