"""The SIP adapter against real peers: when baresip goes away (a retryable error, and every
call still up ends exactly once: none lost, none reported twice, none dialled again), and
a network that never rings, and an outbound proxy."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sip_support import sip_can_run

from campaigns.errors import DialerUnavailable
from campaigns.ports import (
    CallBridged,
    CallDisposed,
    CallEnded,
    CallRequest,
    DialerEvent,
    EndReason,
    FailureCause,
    Party,
    RingingStarted,
)
from dialer_adapters.sip import SipDialer
from dialer_adapters.sip.control import BaresipControl
from dialer_adapters.sip.peers import SippPeers
from dialer_adapters.sip.process import BaresipProcess, SipAccount


@pytest.fixture(scope="module")
def peers() -> Iterator[SippPeers]:
    reason = sip_can_run()
    if reason is not None:
        pytest.skip(reason)
    with SippPeers(ring_ms=200, talk_ms=60_000, only=("answer", "ring", "busy", "silent")) as p:
        yield p


async def until(dialer: SipDialer, done: object, seconds: float = 10) -> list[DialerEvent]:
    """Receive until `done(events)` holds."""
    events: list[DialerEvent] = []
    deadline = dialer.now() + timedelta(seconds=seconds)
    while not done(events) and dialer.now() < deadline:  # type: ignore[operator]
        events += await dialer.receive(until=deadline)
    return events


def three_calls(peers: SippPeers) -> list[CallRequest]:
    return [
        CallRequest("a", 1, peers.number("answer", 1), 1, agent="A1"),
        CallRequest("r1", 2, peers.number("ring", 1), 1),
        CallRequest("r2", 3, peers.number("ring", 2), 1),
    ]


async def calls_up(dialer: SipDialer, requests: list[CallRequest]) -> list[DialerEvent]:
    await dialer.originate(requests)
    return await until(
        dialer,
        lambda ev: (
            sum(isinstance(e, RingingStarted) for e in ev) == 3
            and any(isinstance(e, CallBridged) for e in ev)
        ),
    )


def ends(events: list[DialerEvent]) -> dict[str, CallEnded]:
    out = [e for e in events if isinstance(e, CallEnded)]
    assert len(out) == len({e.key for e in out}), "a call ended twice"
    return {e.key: e for e in out}


def test_an_attached_baresip_that_dies_ends_its_calls_once_and_is_unavailable(
    peers: SippPeers,
) -> None:
    async def go() -> None:
        process = BaresipProcess(account=SipAccount())
        await process.start()
        try:
            dialer = SipDialer(control=f"127.0.0.1:{process.ctrl_port}", routes=peers.routes)
            await dialer.start(agents=["A1"], at=dialer.now())
            requests = three_calls(peers)
            before = await calls_up(dialer, requests)
            assert not ends(before)
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
            after = await until(dialer, lambda ev: any(isinstance(e, CallDisposed) for e in ev))
            ended = ends(after)
            assert ended["a"].reason is EndReason.HUNG_UP
            assert ended["a"].hung_up_by is Party.DIALER
            assert {ended[k].cause for k in ("r1", "r2")} == {FailureCause.NETWORK}
            # The same keys again: already placed, so nothing is dialled and nothing raised.
            await dialer.originate(requests)
            with pytest.raises(DialerUnavailable) as caught:
                await dialer.originate([CallRequest("new", 4, peers.number("ring", 3), 1)])
            assert caught.value.retryable and caught.value.__cause__ is not None
            assert await dialer.receive(until=dialer.now() + timedelta(seconds=1)) == []
            await dialer.close()
        finally:
            process.stop()

    asyncio.run(go())


def test_a_managed_baresip_that_dies_is_started_again_for_the_next_calls(
    peers: SippPeers,
) -> None:
    async def go() -> None:
        dialer = SipDialer(routes=peers.routes)
        await dialer.start(agents=["A1"], at=dialer.now())
        try:
            await calls_up(dialer, three_calls(peers))
            assert dialer.process is not None and dialer.process.pid is not None
            first_pid = dialer.process.pid
            os.kill(first_pid, signal.SIGKILL)
            lost = await until(dialer, lambda ev: any(isinstance(e, CallDisposed) for e in ev))
            assert set(ends(lost)) == {"a", "r1", "r2"}
            await dialer.originate([CallRequest("next", 4, peers.number("ring", 4), 1)])
            assert dialer.process is not None and dialer.process.pid != first_pid
            rang = await until(dialer, lambda ev: any(isinstance(e, RingingStarted) for e in ev))
            assert [e.key for e in rang if isinstance(e, RingingStarted)] == ["next"]
            kinds = Counter(type(e).__name__ for e in lost + rang)
            assert kinds["CallEnded"] == 3 and kinds["CallDisposed"] == 1
        finally:
            await dialer.close()

    asyncio.run(go())


def test_calls_go_through_the_outbound_proxy(peers: SippPeers) -> None:
    busy_port = peers.ports["busy"]

    async def go() -> list[DialerEvent]:
        # The request URI names a port where nothing listens; only the proxy can answer.
        dialer = SipDialer(
            uri="sip:{digits}@127.0.0.1:9",
            outbound_proxy=f"sip:127.0.0.1:{busy_port};lr",
            aor="sip:outbound01@127.0.0.1",
            password="not-used-here",
        )
        await dialer.start(agents=[], at=dialer.now())
        await dialer.originate([CallRequest("p", 1, "+8613800138000", 1)])
        events = await until(dialer, lambda ev: any(isinstance(e, CallEnded) for e in ev))
        await dialer.close()
        return events

    (ended,) = [e for e in asyncio.run(go()) if isinstance(e, CallEnded)]
    assert ended.reason is EndReason.BUSY and ended.detail == "SIP 486 Busy Here"


def test_a_call_that_never_rings_is_given_up_after_the_setup_timeout(peers: SippPeers) -> None:
    async def go() -> list[DialerEvent]:
        dialer = SipDialer(routes=peers.routes, setup_timeout=1.5)
        await dialer.start(agents=[], at=dialer.now())
        # The ringing call, placed first, must survive: only the silent one is hung up.
        await dialer.originate(
            [
                CallRequest("ringing", 1, peers.number("ring", 9), 1),
                CallRequest("silent", 2, peers.number("silent", 1), 1),
            ]
        )
        events = await until(dialer, lambda ev: any(isinstance(e, CallEnded) for e in ev))
        events += await dialer.receive(until=dialer.now() + timedelta(seconds=1))
        await dialer.close()
        return events

    events = asyncio.run(go())
    (ended,) = [e for e in events if isinstance(e, CallEnded)]
    assert ended.key == "silent" and ended.cause is FailureCause.NETWORK
    assert ended.detail == "no ringing or answer in 1.5 s"
    assert [e.key for e in events if isinstance(e, RingingStarted)] == ["ringing"]


def test_closing_hangs_up_its_calls_in_an_attached_baresip_and_leaves_it_running(
    peers: SippPeers,
) -> None:
    async def go() -> str:
        process = BaresipProcess(account=SipAccount())
        await process.start()
        try:
            dialer = SipDialer(control=f"127.0.0.1:{process.ctrl_port}", routes=peers.routes)
            await dialer.start(agents=[], at=dialer.now())
            await dialer.originate(
                [
                    CallRequest("r", 1, peers.number("ring", 20), 1),
                    CallRequest("s", 2, peers.number("silent", 20), 1),  # no id known yet
                ]
            )
            await until(dialer, lambda ev: any(isinstance(e, RingingStarted) for e in ev))
            await dialer.close()
            await asyncio.sleep(0.5)
            assert process.running
            probe = BaresipControl(
                "127.0.0.1", process.ctrl_port, on_event=lambda m: None, on_lost=lambda e: None
            )
            await probe.connect()
            listing = str((await probe.command("listcalls"))["data"])
            await probe.close()
            return listing
        finally:
            process.stop()

    assert "Active calls (0)" in asyncio.run(go())
