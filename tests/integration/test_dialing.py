"""The dialing loop on both databases: attempts on record before each call, crash and
outage recovery, the pacing history query, and predictive pacing on a real campaign."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from builders import NOW, TODAY, ready_campaign, seed_operator
from sqlalchemy import select

from campaigns import services
from campaigns.dialing import attempt_key, run_slice
from campaigns.errors import ConfigurationError, DialerRejected, DialerUnavailable
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
    assert not closed.counts_as_attempt and "outcome lost" in closed.note
    assert closed.dialed_at == start - timedelta(minutes=5)  # when it was dialled, if it was
    # The contact is dialled again later under the next sub-slot of the same attempt.
    assert orphan.replace(".0", ".1") in dialer.placed


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
