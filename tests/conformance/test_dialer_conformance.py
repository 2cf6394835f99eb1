"""One contract, every adapter: each entry point of `outbound.dialers` that can run here.

The suite drives an adapter only through the `Dialer` protocol: a session of reserved,
preview and unreserved calls (more unreserved calls than free agents, so some people must
be abandoned), every event checked by `ContractChecker`; then idempotent origination,
the line limit, closing, and the error tree.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from dialer_contract import ContractChecker
from dialer_harnesses import HARNESSES, Harness

from campaigns.errors import DialerRejected, DialerUnavailable
from campaigns.ports import (
    AgentSignedIn,
    CallAnswered,
    CallDisposed,
    CallEnded,
    CallRequest,
    Dialer,
    DialerEvent,
)
from dialer_adapters import available


def _cases() -> Iterator[object]:
    for name in available():
        harness = HARNESSES.get(name)
        for variant in harness.variants if harness else ["-"]:
            yield pytest.param(name, variant, id=f"{name}-{variant}")


def _adapters() -> list[object]:
    return [pytest.param(name, id=name) for name in available()]


def harness_for(name: str) -> Harness:
    harness = HARNESSES.get(name)
    if harness is None:
        pytest.fail(f"dialer {name!r} has no conformance harness in dialer_harnesses.py")
    reason = harness.can_run()
    if reason is not None:
        pytest.skip(f"{name}: {reason}")
    return harness


def labels(event: DialerEvent) -> list[str]:
    """The kinds an event counts as, for coverage."""
    out = [type(event).__name__]
    if isinstance(event, CallEnded):
        out.append(f"ended:{event.reason.value}")
    if isinstance(event, CallAnswered):
        by = event.answered_by.value
        out.append(f"answered:{by}")
        if by != "MACHINE":
            out.append("answered:HUMAN|UNKNOWN")
    if isinstance(event, CallDisposed):
        out.append(f"disposed:{event.disposition.value}")
    return out


async def receive(dialer: Dialer, checker: ContractChecker, until: datetime) -> list[DialerEvent]:
    """One receive, every event through the checker, and the clock rule for an empty one."""
    before = dialer.now()
    events = await dialer.receive(until=until)
    after = dialer.now()
    if after.tzinfo is None or after < before:
        checker.violations.append(f"now() went from {before} to {after}")
    if not events and after < until:
        checker.violations.append(f"receive returned nothing at {after}, before {until}")
    for event in events:
        checker.observe(event)
    return events


async def session(harness: Harness, dialer: Dialer) -> tuple[ContractChecker, set[str]]:
    """Place the harness's calls the way pacing would and check everything reported."""
    caps = dialer.capabilities
    checker = ContractChecker(caps)
    seen: set[str] = set()
    await dialer.start(agents=list(harness.agents), at=harness.start)
    deadline = dialer.now() + harness.deadline
    numbers = iter(enumerate(harness.numbers(harness.calls)))
    preview = itertools.cycle([False, caps.preview])
    placed = 0
    try:
        while dialer.now() < deadline and (placed < harness.calls or checker.open_calls()):
            idle = checker.idle_agents() if caps.bridging else []
            requests: list[CallRequest] = []
            if placed < harness.calls:
                # The first idle agent gets a reserved (or previewed) call; the others are
                # over-dialled three to one, which must abandon some people.
                for i, agent in enumerate(idle):
                    if i == 0:
                        n, number = next(numbers, (None, ""))
                        if n is not None:
                            requests.append(
                                CallRequest(
                                    f"c{n}", n, number, 1, agent=agent, preview=next(preview)
                                )
                            )
                    else:
                        for _ in range(3):
                            n, number = next(numbers, (None, ""))
                            if n is not None:
                                requests.append(CallRequest(f"c{n}", n, number, 1))
                if not caps.bridging:
                    n, number = next(numbers, (None, ""))
                    if n is not None:
                        requests.append(CallRequest(f"c{n}", n, number, 1))
                limit = caps.max_calls
                if limit is not None:
                    requests = requests[: max(0, limit - checker.up())]
            if requests:
                await dialer.originate(requests)
                checker.originated(requests, dialer.now())
                placed += len(requests)
            for event in await receive(dialer, checker, deadline):
                seen.update(labels(event))
    finally:
        await dialer.close()
    return checker, seen


@pytest.mark.parametrize(("name", "variant"), list(_cases()))
def test_every_call_follows_the_contract(name: str, variant: str) -> None:
    harness = harness_for(name)
    dialer = harness.build(harness.variants[variant])
    checker, seen = asyncio.run(session(harness, dialer))
    assert checker.finish() == []
    assert len(checker.calls) >= harness.calls * 0.9
    missing = harness.covers[variant] - seen
    assert not missing, f"the session never produced {sorted(missing)}: a rule went unchecked"


@pytest.mark.parametrize("name", _adapters())
def test_originating_a_key_again_places_no_second_call(name: str) -> None:
    harness = harness_for(name)
    dialer = harness.build(next(iter(harness.variants.values())))
    number = harness.numbers(1)[0]

    async def go() -> ContractChecker:
        checker = ContractChecker(dialer.capabilities)
        await dialer.start(agents=[], at=harness.start)
        deadline = dialer.now() + harness.deadline
        again = CallRequest("twice", 0, number, 1)
        await dialer.originate([again, again])
        checker.originated([again], dialer.now())
        await receive(dialer, checker, dialer.now() + timedelta(seconds=1))
        await dialer.originate([again])
        while checker.open_calls() and dialer.now() < deadline:
            await receive(dialer, checker, deadline)
        # Nothing more comes for it: one call, one end.
        await receive(dialer, checker, dialer.now() + timedelta(minutes=2))
        await dialer.close()
        return checker

    checker = asyncio.run(go())
    assert checker.finish() == []
    assert checker.kinds["CallEnded"] == 1


@pytest.mark.parametrize("name", _adapters())
def test_the_line_limit_is_enforced(name: str) -> None:
    harness = harness_for(name)
    if harness.limited is None:
        pytest.skip(f"{name} has no line limit to enforce")
    dialer = harness.build(harness.limited)
    limit = dialer.capabilities.max_calls
    assert limit is not None, "the limited variant must claim its max_calls"
    numbers = harness.numbers(limit + 1)
    requests = [CallRequest(f"l{i}", i, n, 1) for i, n in enumerate(numbers)]

    async def go() -> ContractChecker:
        checker = ContractChecker(dialer.capabilities)
        await dialer.start(agents=[], at=harness.start)
        with pytest.raises(DialerRejected):
            await dialer.originate(requests)  # one too many: none of them is placed
        await dialer.originate(requests[:limit])
        checker.originated(requests[:limit], dialer.now())
        deadline = dialer.now() + harness.deadline
        while checker.open_calls() and dialer.now() < deadline:
            await receive(dialer, checker, deadline)
        await dialer.close()
        return checker

    checker = asyncio.run(go())
    assert checker.finish() == []
    assert checker.kinds["CallEnded"] == limit


@pytest.mark.parametrize("name", _adapters())
def test_close_releases_everything(name: str) -> None:
    harness = harness_for(name)
    dialer = harness.build(next(iter(harness.variants.values())))
    numbers = harness.numbers(3)

    async def go() -> None:
        await dialer.start(agents=list(harness.agents), at=harness.start)
        await dialer.originate([CallRequest(f"x{i}", i, n, 1) for i, n in enumerate(numbers)])
        await dialer.close()
        assert await dialer.receive(until=dialer.now() + timedelta(minutes=5)) == []
        with pytest.raises(DialerRejected):
            await dialer.originate([CallRequest("after", 9, numbers[0], 1)])
        # Agents were released: a new session signs every one of them in again.
        await dialer.start(agents=list(harness.agents), at=dialer.now())
        events = await dialer.receive(until=dialer.now() + timedelta(seconds=5))
        if dialer.capabilities.bridging:
            assert {e.agent for e in events if isinstance(e, AgentSignedIn)} == set(harness.agents)
        await dialer.close()

    asyncio.run(go())


@pytest.mark.parametrize("name", _adapters())
def test_errors_map_to_the_exception_tree(name: str) -> None:
    harness = harness_for(name)
    number = harness.numbers(1)[0]

    async def unreachable() -> None:
        dialer = harness.unreachable()
        with pytest.raises(DialerUnavailable) as caught:
            await dialer.start(agents=list(harness.agents), at=harness.start)
            await dialer.originate([CallRequest("u", 0, number, 1)])
        assert caught.value.retryable
        assert caught.value.__cause__ is not None, "translate vendor errors with `from exc`"

    async def rejected() -> None:
        dialer = harness.build(next(iter(harness.variants.values())))
        with pytest.raises(DialerRejected) as caught:
            await dialer.originate([CallRequest("early", 0, number, 1)])
        assert not caught.value.retryable
        await dialer.start(agents=list(harness.agents), at=harness.start)
        checker = ContractChecker(dialer.capabilities)
        while dialer.capabilities.bridging and not checker.idle_agents():
            await receive(dialer, checker, dialer.now() + timedelta(seconds=5))
        if dialer.capabilities.bridging:
            agent = checker.idle_agents()[0]
            await dialer.originate([CallRequest("mine", 1, number, 1, agent=agent)])
            with pytest.raises(DialerRejected):  # that agent is not idle any more
                await dialer.originate([CallRequest("theirs", 2, number, 1, agent=agent)])
        if not dialer.capabilities.preview:
            with pytest.raises(DialerRejected):
                await dialer.originate([CallRequest("p", 3, number, 1, preview=True)])
        await dialer.close()

    asyncio.run(unreachable())
    asyncio.run(rejected())
