"""A 200-contact campaign dialled in progressive mode through the engine, baresip and SIPp.

Every number plays a known SIPp scenario, so each contact's outcome is known in advance.
The run is on the wall clock, shifted (see `ShiftedDialer`) to 11:00 Beijing time on the
builders' day so the China rule pack allows calls whenever the test runs. The busy rule
keeps the policy's shape (retry, at most twice more in a row) with a 5 s delay instead
of 10 min, so its retries happen within the test.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import NOW, seed_operator, submitted
from sip_support import ShiftedDialer, sip_can_run
from sqlalchemy import select

from campaigns import services
from campaigns.dialing import run_slice
from campaigns.errors import UserError
from campaigns.model import CampaignState, ContactState, Disposition, Phase
from campaigns.pacing import PacingConfig, PacingMode
from campaigns.rules import DEFAULT_RETRY_RULES, RetryPolicy, RetryRule
from campaigns.storage import orm
from dialer_adapters.sip import SipDialer
from dialer_adapters.sip.peers import SippPeers
from flows import worker
from flows.bootstrap import App

CONTACTS = 200
AGENTS = 40
#: Scenario of the i-th contact, by i % 10.
MIX = ("answer", "busy", "answer", "ring", "answer", "unavailable", "answer", "notfound")
MIX += ("busy", "ring")
#: Dispositions each scenario leaves, one per attempt (answered calls: the desk's SUCCESS).
EXPECTED = {
    "answer": [Disposition.SUCCESS],
    "busy": [Disposition.BUSY] * 3,
    "ring": [Disposition.NO_ANSWER],
    "unavailable": [Disposition.UNREACHABLE],
    "notfound": [Disposition.INVALID],
}
FINAL = {"answer": True, "busy": True, "ring": False, "unavailable": False, "notfound": True}
POLICY = RetryPolicy(
    rules={**DEFAULT_RETRY_RULES, Disposition.BUSY: RetryRule(timedelta(seconds=5), max_repeats=2)}
)


def live_campaign(app: App) -> tuple[int, list[str]]:
    """A LIVE campaign over CONTACTS active numbers (and the builders' excluded fates)."""
    fates = seed_operator(app, active=CONTACTS, agents=AGENTS)
    cid = submitted(app, fates, requested_contacts=CONTACTS + 20)
    services.run_feasibility(uow=app.uow(), campaign_id=cid, now=NOW)
    services.decide(uow=app.uow(), campaign_id=cid, approve=True, actor="reviewer", now=NOW)
    services.clean(uow=app.uow(), campaign_id=cid, now=NOW)
    services.assign_script(uow=app.uow(), campaign_id=cid, now=NOW)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    return cid, list(fates.active)


def slice_(app: App, dialer: ShiftedDialer, cid: int, seconds: float) -> Any:
    start = dialer.now()
    return run_slice(
        uow=app.uow(),
        dialer=dialer,
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=start + timedelta(seconds=seconds),
        policy=POLICY,
        pacing=PacingConfig(mode=PacingMode.PROGRESSIVE),
    )


def test_a_campaign_over_sip_ends_every_contact_as_its_scenario_says(sqlite_app: App) -> None:
    reason = sip_can_run()
    if reason is not None:
        pytest.skip(reason)
    app = sqlite_app
    cid, actives = live_campaign(app)
    scenario = {n: MIX[i % len(MIX)] for i, n in enumerate(actives)}
    with SippPeers(ring_ms=500, talk_ms=1000, only=tuple(EXPECTED)) as peers:
        # Each active number goes to its scenario's SIPp; any other contact (the builders'
        # "unknown" subscriber) to the not-found one.
        routes = {"+86": peers.templates["notfound"]}
        routes |= {n: peers.templates[s] for n, s in scenario.items()}
        sip = SipDialer(routes=routes, lines=AGENTS + 10, ring_timeout=15.5, wrap_seconds=0.5)
        dialer = ShiftedDialer(sip, NOW + timedelta(hours=1) - datetime.now(UTC))
        began = time.monotonic()
        first = slice_(app, dialer, cid, seconds=6)

        # Paused in the middle: calls up at the slice's end have finished and are on record.
        services.transition(
            uow=app.uow(), campaign_id=cid, target=CampaignState.PAUSED, actor="t", now=dialer.now()
        )
        with app.engine.connect() as conn:
            open_rows = conn.scalars(
                select(orm.CallAttempt.id).where(orm.CallAttempt.disposition.is_(None))
            ).all()
            claimed = conn.scalars(
                select(orm.Contact.id).where(orm.Contact.state == ContactState.DIALING)
            ).all()
        assert open_rows == [] and claimed == []
        with pytest.raises(UserError, match="PAUSED"):
            worker.dial(app, cid)
        services.transition(
            uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=dialer.now()
        )
        second = slice_(app, dialer, cid, seconds=300)
        elapsed = time.monotonic() - began

    total = sum(len(EXPECTED[s]) for s in scenario.values())
    assert 0 < first.attempts < total / 2
    assert second.attempts > 0
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(orm.CallAttempt)
            .where(orm.CallAttempt.campaign_id == cid)
            .order_by(orm.CallAttempt.dialed_at, orm.CallAttempt.id)
        ).all()
        contacts = conn.execute(select(orm.Contact).where(orm.Contact.campaign_id == cid)).all()
    by_number: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_number[r.e164].append(r)
    assert first.attempts + second.attempts == len(rows)
    assert len({r.idempotency_key for r in rows}) == len(rows)
    for number, s in scenario.items():
        got = [r.disposition for r in by_number[number]]
        assert got == EXPECTED[s], f"{number} ({s}): {got}"
    dialled = {c.e164: c for c in contacts if c.state is not ContactState.EXCLUDED}
    assert set(scenario) <= set(dialled) and set(dialled) <= set(by_number)
    for number, contact in dialled.items():
        s = scenario.get(number, "notfound")
        assert [r.disposition for r in by_number[number]] == EXPECTED[s], number
        assert (contact.state is ContactState.DONE) == FINAL[s], (number, s, contact.state)
    # Timings come from the real events: SIPp rings 0.5 s, talks 1 s; ring-outs take 15.5 s
    # (the bounds leave room for a loaded CI machine).
    answered = [r for r in rows if r.disposition is Disposition.SUCCESS]
    assert all(0.2 < r.ring_seconds < 10 and 0.5 < r.talk_seconds < 10 for r in answered)
    assert 0.4 < sorted(r.ring_seconds for r in answered)[len(answered) // 2] < 1.5
    rang_out = [r for r in rows if r.disposition is Disposition.NO_ANSWER]
    assert all(r.ring_seconds >= 15 for r in rang_out)
    print(f"\n{CONTACTS} contacts, {len(rows)} calls over SIP in {elapsed:.0f} s")
