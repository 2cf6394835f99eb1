"""Properties of the dialing engine, checked call by call against the brute-force oracle.

Random scenarios (seeded): numbers with several candidate time zones, US states with caps,
UK and China numbers, several contacts per number, a day with a clock change, customers who
are often busy or fail on the network (so retries come fast), and do-not-call requests
arriving from elsewhere while the campaign dials. For every attempt the engine placed:
every candidate zone allowed it, no cap of the number's pack was exceeded, the UK rest after
an abandoned call was kept, and no number was dialled after its do-not-call request.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import NOW, ready_campaign, seed_operator
from compliance_oracle import DST_DAYS, MULTI_ZONE, SINGLE_ZONE, ZONES, Case, oracle
from sqlalchemy import func, insert, select

from campaigns import services
from campaigns.dialing import policy_for, run_slice
from campaigns.model import CampaignState, ContactState, Disposition, Phase
from campaigns.pacing import PacingConfig, PacingMode
from campaigns.ports import CallRequest
from campaigns.storage import orm
from dialer_adapters.simulator import CustomerModel, SimulatedDialer
from flows.bootstrap import App

NUMBERS = MULTI_ZONE + SINGLE_ZONE
#: Busy (retry in 10 min) and network failures (2 min, not counted) make retries come fast.
PUSHY = CustomerModel(p_invalid=0.0, p_unreachable=0.0, p_network_fail=0.25, p_busy=0.35)


class DncFromElsewhere(SimulatedDialer):
    """The simulator; after some calls, numbers not called yet are put on the do-not-call
    list by another process (their own request in another campaign), effective that
    instant, while their contacts wait in the engine's queue."""

    def __init__(
        self, app: App, plan: dict[int, int], numbers: list[str], rng: random.Random, **options: Any
    ) -> None:
        super().__init__(**options)
        self.app, self.plan, self.numbers, self.rng = app, plan, numbers, rng
        self.calls = 0
        self.placed: set[str] = set()
        self.log: list[tuple[str, datetime]] = []  # every call the engine asked for
        self.blocked_at: dict[str, datetime] = {}

    async def originate(self, calls: Sequence[CallRequest]) -> None:
        await super().originate(calls)
        self.calls += len(calls)
        self.log += [(c.number, self.now()) for c in calls]
        self.placed.update(c.number for c in calls)
        for after in [k for k in self.plan if k <= self.calls]:
            with self.app.engine.connect() as conn:  # claimed, so waiting in the queue
                claimed = set(
                    conn.scalars(
                        select(orm.Contact.e164).where(orm.Contact.state == ContactState.DIALING)
                    )
                )
            waiting = [
                n
                for n in self.numbers
                if n in claimed and n not in self.placed | set(self.blocked_at)
            ]
            chosen = self.rng.sample(waiting, min(self.plan.pop(after), len(waiting)))
            at = self.now()
            with self.app.uow() as uow:
                uow.dnc.add_many([(n, "DNC_REQUEST") for n in chosen], now=at)
                uow.commit()
            self.blocked_at.update(dict.fromkeys(chosen, at))


def _live_with_numbers(app: App, rng: random.Random, start: datetime) -> int:
    fates = seed_operator(app, active=10, agents=2)
    cid = ready_campaign(app, fates)
    for target in (CampaignState.TRIAL, CampaignState.TRIAL_REVIEW, CampaignState.LIVE):
        services.transition(uow=app.uow(), campaign_id=cid, target=target, actor="t", now=NOW)
    with app.engine.begin() as conn:
        top = conn.scalar(select(func.max(orm.Contact.row_number))) or 0
        rows = []
        for number in rng.sample(NUMBERS, k=12):
            for _ in range(rng.randint(1, 3)):  # the same number more than once: caps bind
                top += 1
                rows.append(
                    {
                        "campaign_id": cid,
                        "row_number": top,
                        "raw_input": number,
                        "e164": number,
                        "is_mobile": True,
                        "state": ContactState.READY,
                        "is_trial": False,
                        "attempts": 0,
                        "disposition_streak": 0,
                        "next_attempt_at": start - timedelta(hours=1),
                    }
                )
        conn.execute(insert(orm.Contact), rows)
    return cid


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_call_the_engine_places_is_allowed_everywhere(app: App, seed: int) -> None:
    rng = random.Random(seed)
    day = rng.choice(DST_DAYS)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) - timedelta(hours=10)
    cid = _live_with_numbers(app, rng, start)
    with app.engine.connect() as conn:
        numbers = sorted(
            set(conn.scalars(select(orm.Contact.e164).where(orm.Contact.campaign_id == cid)))
            - {None}
        )
    plan = {rng.randint(1, 6): 3, rng.randint(20, 60): 3}
    dialer = DncFromElsewhere(app, plan, numbers, random.Random(seed), seed=seed, customers=PUSHY)
    run_slice(
        uow=app.uow(),
        dialer=dialer,
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=start + timedelta(hours=44),  # the whole local day in every zone, and more
        pacing=PacingConfig(mode=PacingMode.PROGRESSIVE),
    )
    hours = services.get_campaign(uow=app.uow(), campaign_id=cid).calling_hours
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(
                orm.CallAttempt.e164,
                orm.CallAttempt.dialed_at,
                orm.CallAttempt.ended_at,
                orm.CallAttempt.disposition,
            ).order_by(orm.CallAttempt.dialed_at, orm.CallAttempt.id)
        ).all()
    # What the dialer was asked to place is exactly what is on record.
    assert sorted(dialer.log) == sorted((r.e164, r.dialed_at) for r in rows)
    by_number: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_number[r.e164].append(r)
    foreign = [n for n in numbers if n in ZONES]
    assert sum(len(by_number[n]) for n in foreign) >= 10, "too few calls to say anything"
    policies: dict[str, Any] = {}
    checked = 0
    for number in foreign:
        policy = policy_for(number, hours, policies)
        dials: list[datetime] = []
        abandoned: list[datetime] = []
        for r in by_number[number]:
            case = Case(policy, number, ZONES[number], r.dialed_at, tuple(dials), tuple(abandoned))
            assert oracle(case, r.dialed_at), f"{number} dialled at {r.dialed_at:%Y-%m-%d %H:%M}"
            blocked = dialer.blocked_at.get(number)
            assert blocked is None or r.dialed_at <= blocked, f"{number} dialled after its DNC"
            dials.append(r.dialed_at)
            if r.disposition is Disposition.ABANDONED:
                abandoned.append(r.ended_at or r.dialed_at)
            checked += 1
    assert checked == sum(len(by_number[n]) for n in foreign)
    assert dialer.blocked_at, "no do-not-call request arrived while dialling"
