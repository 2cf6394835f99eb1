"""The simulated dialer: its events, its models, its agents, its errors, its determinism."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest

from campaigns.dialing import CallTracker, DialingSession
from campaigns.errors import ConfigurationError, DialerRejected, DialerUnavailable
from campaigns.model import LIVE_CONTACT, Disposition
from campaigns.pacing import Pacer, PacingConfig, PacingMode
from campaigns.ports import (
    AgentSignedIn,
    AgentSignedOut,
    AnsweredBy,
    CallAnswered,
    CallBridged,
    CallDisposed,
    CallEnded,
    CallOutcome,
    CallRequest,
    DialerEvent,
    EndReason,
    FailureCause,
    Party,
    RingingStarted,
)
from dialer_adapters import available, load_dialer
from dialer_adapters.simulator import AgentModel, CustomerModel, SimulatedDialer

START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
FAR = START + timedelta(days=2)

#: Everyone answers in person, after exactly 7.5 s (1 s setup, 5 s ringing, 1.5 s AMD),
#: and refuses after exactly 60 s of talk; wrap-up takes exactly 10 s.
EXACT_PEOPLE = CustomerModel(
    p_invalid=0,
    p_unreachable=0,
    p_network_fail=0,
    p_busy=0,
    p_no_answer=0,
    p_machine=0,
    setup_delay=(1.0, 1.0),
    answer_delay=(5.0, 5.0),
    p_account_holder=1.0,
    p_success=0,
    p_callback=0,
    p_hung_up=0,
    p_ineligible=0,
    p_dnc_request=0,
    p_complaint=0,
)
EXACT_AGENTS = AgentModel(talk_refused=60.0, talk_cv=0.0, wrap_up=10.0, wrap_cv=0.0)


def call(
    key: str,
    n: int = 0,
    *,
    agent: str | None = None,
    preview: bool = False,
    segment: str | None = None,
) -> CallRequest:
    """A request for a valid number."""
    return CallRequest(key, n, f"+86138{n:08d}", 1, agent=agent, preview=preview, segment=segment)


class RecordingDialer(SimulatedDialer):
    """The simulator, keeping every event it reports."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.events: list[DialerEvent] = []

    async def receive(self, *, until: datetime) -> list[DialerEvent]:
        batch = await super().receive(until=until)
        self.events += batch
        return batch


def progressive(
    dialer: RecordingDialer, calls: int, agents: int = 5
) -> tuple[list[CallOutcome], list[DialerEvent]]:
    """Dial `calls` calls progressively through the production session; all events too."""

    async def go() -> list[CallOutcome]:
        pacer = Pacer(PacingConfig(mode=PacingMode.PROGRESSIVE))
        session = DialingSession(dialer, pacer, start=START, end=FAR)
        await dialer.start(agents=[f"A{i}" for i in range(agents)], at=START)
        outcomes: list[CallOutcome] = []
        placed = 0
        while placed < calls or session.tracker.pending():
            plan = session.plan(dialer.now())
            n = min(plan.calls, calls - placed)
            await session.originate(
                [call(f"k{placed + i}", placed + i, agent=plan.agents[i]) for i in range(n)]
            )
            placed += n
            outcomes += await session.step(FAR)
        return outcomes

    return asyncio.run(go()), dialer.events


async def drain(dialer: SimulatedDialer, until: datetime = FAR) -> list[DialerEvent]:
    """Every event until `until` or until nothing is left to happen."""
    out: list[DialerEvent] = []
    while dialer.now() < until:
        batch = await dialer.receive(until=until)
        out += batch
    return out


def by_key(events: list[DialerEvent], key: str) -> list[DialerEvent]:
    return [e for e in events if getattr(e, "key", None) == key]


def test_registered_under_entry_point_with_its_capabilities() -> None:
    assert "simulator" in available()
    dialer = load_dialer("simulator", seed=1, amd=False, max_calls=9)
    assert isinstance(dialer, SimulatedDialer)
    caps = dialer.capabilities
    assert (caps.bridging, caps.amd, caps.preview, caps.max_calls) == (True, False, True, 9)


def test_every_call_ends_once_and_events_come_in_time_order() -> None:
    outcomes, events = progressive(RecordingDialer(seed=3), 500)
    assert sorted(o.key for o in outcomes) == sorted(f"k{i}" for i in range(500))
    ends = Counter(e.key for e in events if isinstance(e, CallEnded))
    assert set(ends.values()) == {1} and len(ends) == 500
    times = [e.at for e in events]
    assert times == sorted(times)
    for o in outcomes:
        assert o.dialed_at <= o.ended_at
        assert (o.bridged_at is not None) == (o.disposition in LIVE_CONTACT)


def test_same_seed_same_outcomes_whatever_the_pacing() -> None:
    a = {o.key: o.disposition for o in progressive(RecordingDialer(seed=11), 300)[0]}
    b = {o.key: o.disposition for o in progressive(RecordingDialer(seed=11), 300, agents=3)[0]}
    c = {o.key: o.disposition for o in progressive(RecordingDialer(seed=12), 300)[0]}
    assert a == b  # outcomes depend on (seed, key), not on pacing
    assert a != c


def test_outcome_mix_follows_the_model() -> None:
    model = CustomerModel()
    outcomes = progressive(RecordingDialer(seed=5), 20_000, agents=50)[0]
    counts = Counter(o.disposition for o in outcomes)
    n = sum(counts.values())
    assert abs(counts[Disposition.NO_ANSWER] / n - model.p_no_answer) < 0.02
    assert abs(counts[Disposition.BUSY] / n - model.p_busy) < 0.01
    assert abs(counts[Disposition.MACHINE] / n - model.p_machine) < 0.01
    assert abs(counts[Disposition.INVALID] / n - model.p_invalid) < 0.005
    live = sum(v for k, v in counts.items() if k in LIVE_CONTACT) / n
    assert abs(live - model.p_live) < 0.02
    holders = (
        sum(v for k, v in counts.items() if k in LIVE_CONTACT)
        - counts[Disposition.NOT_ACCOUNT_HOLDER]
    )
    assert abs(holders / (live * n) - model.p_account_holder) < 0.02


def test_no_answer_rings_out_and_failures_carry_their_cause() -> None:
    _, events = progressive(RecordingDialer(seed=9), 400)
    rang: dict[str, datetime] = {}
    causes = set()
    for e in events:
        if isinstance(e, RingingStarted):
            rang[e.key] = e.at
        if isinstance(e, CallEnded) and e.reason is EndReason.NO_ANSWER:
            assert (e.at - rang[e.key]).total_seconds() >= 15
        if isinstance(e, CallEnded) and e.reason is EndReason.FAILED:
            assert e.cause is not None and e.detail
            causes.add(e.cause)
    assert {FailureCause.INVALID_NUMBER, FailureCause.UNREACHABLE} <= causes
    with pytest.raises(ConfigurationError, match="15 s"):
        CustomerModel(ring_timeout=12.0)


def test_answer_probability_follows_the_hour_and_the_segment() -> None:
    people = CustomerModel(answer_by_hour={9: 1.0, 22: 0.25}, answer_by_segment={"youth": 0.5})

    async def live_share(at: datetime, segment: str | None) -> float:
        dialer = SimulatedDialer(seed=4, customers=people)
        await dialer.start(agents=[], at=at)
        await dialer.originate([call(f"s{i}", i, segment=segment) for i in range(3000)])
        events = await drain(dialer, at + timedelta(hours=1))
        answered = [e for e in events if isinstance(e, CallAnswered)]
        return len(answered) / 3000

    morning = asyncio.run(live_share(START, None))  # 09:00 local
    night = asyncio.run(live_share(START + timedelta(hours=13), None))  # 22:00 local
    youth = asyncio.run(live_share(START, "youth"))
    answered = people.p_live + people.p_machine
    assert abs(morning - answered) < 0.03
    assert abs(night - answered / 4) < 0.02
    assert abs(youth - answered / 2) < 0.03


def test_a_person_nobody_takes_within_the_patience_is_abandoned() -> None:
    async def go() -> list[DialerEvent]:
        dialer = SimulatedDialer(seed=1, customers=EXACT_PEOPLE, agents=EXACT_AGENTS)
        await dialer.start(agents=["A1"], at=START)
        events = await dialer.receive(until=START)
        t = START
        for key, offset in (("k1", 0.0), ("k2", 69.0), ("k3", 120.0)):
            events += await drain(dialer, t + timedelta(seconds=offset))
            await dialer.originate([call(key)])
        return events + await drain(dialer, START + timedelta(minutes=10))

    events = asyncio.run(go())
    k1, k2, k3 = (by_key(events, k) for k in ("k1", "k2", "k3"))
    # k1 is answered at 7.5 s and bridged at once; the agent is free again at 77.5 s.
    assert [type(e) for e in k1] == [
        RingingStarted,
        CallAnswered,
        CallBridged,
        CallEnded,
        CallDisposed,
    ]
    assert k1[-1].at == START + timedelta(seconds=77.5)
    # k2 answers at 76.5 s and waits 1 s (within the patience) for that agent.
    bridged = next(e for e in k2 if isinstance(e, CallBridged))
    assert bridged.at == START + timedelta(seconds=77.5)
    # k3 answers at 127.5 s while the agent is on k2 until 147.5 s: abandoned after 2 s.
    answered, ended = k3[-2], k3[-1]
    assert isinstance(answered, CallAnswered) and answered.answered_by is AnsweredBy.HUMAN
    assert isinstance(ended, CallEnded) and ended.reason is EndReason.ABANDONED
    assert ended.hung_up_by is Party.DIALER
    assert ended.at - answered.at == timedelta(seconds=2)
    assert not any(isinstance(e, CallBridged) for e in k3)


def test_machines_are_hung_up_with_amd_and_bridged_without() -> None:
    machines = CustomerModel(
        p_invalid=0, p_unreachable=0, p_network_fail=0, p_busy=0, p_no_answer=0, p_machine=1.0
    )

    async def go(amd: bool) -> list[DialerEvent]:
        dialer = SimulatedDialer(seed=2, customers=machines, amd=amd)
        await dialer.start(agents=["A1", "A2"], at=START)
        await dialer.receive(until=START)
        await dialer.originate([call("m1", agent="A1"), call("m2", 1)])
        return await drain(dialer, START + timedelta(minutes=5))

    with_amd = asyncio.run(go(True))
    answers = [e for e in with_amd if isinstance(e, CallAnswered)]
    assert {a.answered_by for a in answers} == {AnsweredBy.MACHINE}
    assert not any(isinstance(e, CallBridged | CallDisposed) for e in with_amd)
    ends = [e for e in with_amd if isinstance(e, CallEnded)]
    assert {(e.reason, e.hung_up_by) for e in ends} == {(EndReason.HUNG_UP, Party.DIALER)}

    without = asyncio.run(go(False))
    assert {e.answered_by for e in without if isinstance(e, CallAnswered)} == {AnsweredBy.UNKNOWN}
    disposed = [e for e in without if isinstance(e, CallDisposed)]
    assert {d.disposition for d in disposed} == {Disposition.MACHINE} and len(disposed) == 2


def test_reserved_and_preview_calls_go_to_their_agent() -> None:
    async def go() -> list[DialerEvent]:
        dialer = SimulatedDialer(seed=3, customers=EXACT_PEOPLE, agents=EXACT_AGENTS)
        await dialer.start(agents=["A1", "A2"], at=START)
        await dialer.receive(until=START)
        await dialer.originate([call("r", agent="A2"), call("p", 1, agent="A1", preview=True)])
        return await drain(dialer, START + timedelta(minutes=5))

    events = asyncio.run(go())
    bridged = {e.key: e for e in events if isinstance(e, CallBridged)}
    assert bridged["r"].agent == "A2" and bridged["p"].agent == "A1"
    # The previewing agent reads the contact first, so that call is answered later.
    assert bridged["p"].at > bridged["r"].at


def test_agents_work_their_shift_and_finish_their_call() -> None:
    shift = AgentModel(
        talk_refused=600.0, talk_cv=0.0, wrap_up=10.0, wrap_cv=0.0, shift=(time(9, 0), time(9, 5))
    )

    async def go() -> list[DialerEvent]:
        dialer = SimulatedDialer(seed=1, customers=EXACT_PEOPLE, agents=shift)
        await dialer.start(agents=["A1", "A2"], at=START - timedelta(hours=1))  # 08:00 local
        events = await dialer.receive(until=START + timedelta(minutes=1))
        assert {type(e) for e in events} == {AgentSignedIn}
        await dialer.originate([call("k", agent="A1")])
        return events + await drain(dialer, START + timedelta(hours=1))

    events = asyncio.run(go())
    signed_in = {e.agent: e.at for e in events if isinstance(e, AgentSignedIn)}
    signed_out = {e.agent: e.at for e in events if isinstance(e, AgentSignedOut)}
    assert signed_in == {"A1": START, "A2": START}  # 09:00, not when the dialer started
    assert signed_out["A2"] == START + timedelta(minutes=5)
    disposed = next(e for e in events if isinstance(e, CallDisposed))
    assert signed_out["A1"] == disposed.at > START + timedelta(minutes=5)


def test_originating_the_same_key_again_places_no_second_call() -> None:
    async def go() -> list[DialerEvent]:
        dialer = SimulatedDialer(seed=5)
        await dialer.start(agents=[], at=START)
        await dialer.originate([call("same"), call("same")])
        await dialer.receive(until=START + timedelta(seconds=1))
        await dialer.originate([call("same")])
        return await drain(dialer, START + timedelta(minutes=5))

    ends = [e for e in asyncio.run(go()) if isinstance(e, CallEnded)]
    assert len(ends) == 1


def test_requests_the_simulator_cannot_carry_out_are_rejected() -> None:
    async def go() -> None:
        d = SimulatedDialer(max_calls=2)
        with pytest.raises(DialerRejected, match="not started"):
            await d.originate([call("early")])
        await d.start(agents=["A1"], at=START)
        await d.receive(until=START)
        with pytest.raises(DialerRejected, match="not idle"):
            await d.originate([call("a", agent="A1"), call("b", 1, agent="A1")])
        with pytest.raises(DialerRejected, match="E.164"):
            await d.originate([call("c"), CallRequest("d", 2, "+86", 1)])
        with pytest.raises(DialerRejected, match="preview"):
            await d.originate([call("e", preview=True)])
        with pytest.raises(DialerRejected, match="exceed 2"):
            await d.originate([call("f"), call("g", 1), call("h", 2)])
        # Nothing of a rejected batch was placed.
        assert await drain(d, START + timedelta(minutes=5)) == []

    asyncio.run(go())


def test_an_outage_is_retryable_and_chained() -> None:
    async def go() -> None:
        d = SimulatedDialer(outages=[(START + timedelta(minutes=1), START + timedelta(minutes=2))])
        await d.start(agents=[], at=START)
        await d.receive(until=START + timedelta(seconds=90))
        with pytest.raises(DialerUnavailable) as caught:
            await d.originate([call("x")])
        assert caught.value.retryable and isinstance(caught.value.__cause__, ConnectionError)
        await d.receive(until=START + timedelta(minutes=2))
        await d.originate([call("x")])  # the same key, once the switch is back

    asyncio.run(go())


def test_close_hangs_up_and_a_new_session_can_start() -> None:
    async def go() -> None:
        d = SimulatedDialer()
        await d.start(agents=["A1"], at=START)
        await d.originate([call("k")])
        await d.close()
        assert await d.receive(until=FAR) == []
        with pytest.raises(DialerRejected):
            await d.originate([call("k2")])
        await d.start(agents=["A1"], at=FAR)
        assert [type(e) for e in await d.receive(until=FAR)] == [AgentSignedIn]

    asyncio.run(go())


def test_idle_receive_advances_the_clock_to_until() -> None:
    async def go() -> None:
        d = SimulatedDialer()
        await d.start(agents=[], at=START)
        assert await d.receive(until=START + timedelta(hours=1)) == []
        assert d.now() == START + timedelta(hours=1)

    asyncio.run(go())


def test_the_tracker_folds_events_into_outcomes() -> None:
    tracker = CallTracker()
    t = START
    tracker.originated(call("a"), t)
    tracker.originated(call("b", 1), t)
    s = timedelta(seconds=1)
    assert tracker.observe(RingingStarted("a", t + 2 * s)) is None
    assert tracker.observe(CallAnswered("a", t + 9 * s, AnsweredBy.HUMAN)) is None
    assert tracker.observe(CallBridged("a", t + 9 * s, "A1")) is None
    assert tracker.observe(CallEnded("a", t + 69 * s, EndReason.HUNG_UP)) is None
    done = tracker.observe(CallDisposed("a", t + 80 * s, "A1", Disposition.SUCCESS))
    assert done is not None and done.disposition is Disposition.SUCCESS
    assert (done.ring_seconds, done.talk_seconds, done.wrap_seconds) == (7.0, 60.0, 11.0)
    failed = tracker.observe(
        CallEnded("b", t + 4 * s, EndReason.FAILED, FailureCause.INVALID_NUMBER, detail="404")
    )
    assert failed is not None and failed.disposition is Disposition.INVALID
    assert failed.cause == "INVALID_NUMBER: 404" and tracker.pending() == 0
