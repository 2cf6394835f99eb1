"""The checker itself: it passes a correct stream and names every kind of broken rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dialer_contract import ContractChecker

from campaigns.model import Disposition
from campaigns.ports import (
    AgentSignedIn,
    AgentSignedOut,
    AnsweredBy,
    CallAnswered,
    CallBridged,
    CallDisposed,
    CallEnded,
    CallRequest,
    DialerCapabilities,
    DialerEvent,
    EndReason,
    FailureCause,
    RingingStarted,
)

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
FULL = DialerCapabilities(bridging=True, amd=True, preview=True, max_calls=3)
MACHINE = CallAnswered("k", T0 + timedelta(seconds=5), AnsweredBy.MACHINE)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def req(key: str, agent: str | None = None) -> CallRequest:
    return CallRequest(key, 0, "+8613800000000", 1, agent=agent)


def person(key: str, agent: str, start: float = 0.0) -> list[DialerEvent]:
    """A call answered in person, bridged, hung up and disposed: the long legal path."""
    return [
        RingingStarted(key, at(start + 2)),
        CallAnswered(key, at(start + 9), AnsweredBy.HUMAN),
        CallBridged(key, at(start + 9), agent),
        CallEnded(key, at(start + 60), EndReason.HUNG_UP),
        CallDisposed(key, at(start + 70), agent, Disposition.REFUSED),
    ]


def check(
    events: list[DialerEvent],
    requests: list[CallRequest],
    caps: DialerCapabilities = FULL,
) -> list[str]:
    checker = ContractChecker(caps)
    checker.originated(requests, T0)
    for e in events:
        checker.observe(e)
    return checker.finish()


def test_a_correct_session_has_no_violations() -> None:
    events: list[DialerEvent] = [AgentSignedIn("A1", T0), AgentSignedIn("A2", T0)]
    events += [
        RingingStarted("na", at(1)),
        CallEnded("busy", at(2), EndReason.BUSY),
        CallEnded("bad", at(3), EndReason.FAILED, FailureCause.INVALID_NUMBER),
    ]
    events += person("p", "A1")[:2]
    events += [CallAnswered("ab", at(9.5), AnsweredBy.HUMAN), *person("p", "A1")[2:3]]
    events += [CallEnded("ab", at(11.5), EndReason.ABANDONED)]
    events += [CallEnded("na", at(21), EndReason.NO_ANSWER)]
    events += person("p", "A1")[3:]
    events += [AgentSignedOut("A1", at(80))]
    requests = [req(k) for k in ("na", "busy", "bad", "ab")] + [req("p", "A1")]
    checker = ContractChecker(DialerCapabilities(bridging=True, amd=True, preview=False))
    checker.originated(requests, T0)
    for e in sorted(events, key=lambda e: e.at):
        checker.observe(e)
    assert checker.finish() == []


@pytest.mark.parametrize(
    ("events", "requests", "caps", "complaint"),
    [
        (
            [CallEnded("k", at(2), EndReason.BUSY), CallEnded("k", at(3), EndReason.BUSY)],
            [req("k")],
            FULL,
            "already ended",
        ),
        ([CallEnded("ghost", at(2), EndReason.BUSY)], [], FULL, "never originated"),
        ([RingingStarted("k", at(1))], [req("k")], FULL, "never got its CallEnded"),
        (
            [RingingStarted("k", at(1)), CallEnded("k", at(10), EndReason.NO_ANSWER)],
            [req("k")],
            FULL,
            "< 15 s",
        ),
        (
            [MACHINE, CallEnded("k", at(6), EndReason.HUNG_UP)],
            [req("k")],
            DialerCapabilities(bridging=True, amd=False, preview=False),
            "without AMD",
        ),
        (
            [CallEnded("k", at(5), EndReason.BUSY), RingingStarted("k2", at(4))],
            [req("k"), req("k2")],
            FULL,
            "out of time order",
        ),
        (
            [CallEnded("k", at(5), EndReason.NO_ANSWER)],
            [req("k")],
            FULL,
            "illegal order",
        ),
        (
            [CallEnded("k", at(5), EndReason.FAILED)],
            [req("k")],
            FULL,
            "without its cause",
        ),
        (
            [AgentSignedIn("A1", T0), *person("a", "A1")[:3], *person("b", "A1", 1)[:3]],
            [req("a"), req("b")],
            FULL,
            "already on call a",
        ),
        (
            [AgentSignedIn("A1", T0), AgentSignedIn("A2", T0), *person("r", "A2")],
            [req("r", "A1")],
            FULL,
            "reserved for A1",
        ),
        (
            [AgentSignedIn("A1", T0), *person("k", "A1")[:4]],
            [req("k")],
            FULL,
            "never got its CallDisposed",
        ),
        (
            [AgentSignedIn("A1", T0), *person("k", "A1")[:3], AgentSignedOut("A1", at(30))],
            [req("k")],
            FULL,
            "signed out while on call",
        ),
        (
            [AgentSignedIn("A1", T0), *person("k", "A1")],
            [req("k")],
            DialerCapabilities(bridging=False, amd=True, preview=False),
            "bridges no agents",
        ),
        (
            [AgentSignedIn("A1", T0), CallDisposed("k", at(5), "A1", Disposition.SUCCESS)],
            [req("k")],
            FULL,
            "only a bridged call",
        ),
        (
            [MACHINE, CallEnded("k", at(7), EndReason.ABANDONED)],
            [req("k")],
            FULL,
            "machine cannot be abandoned",
        ),
        ([], [req("a"), req("b"), req("c"), req("d")], FULL, "max_calls is 3"),
    ],
)
def test_each_broken_rule_is_named(
    events: list[DialerEvent],
    requests: list[CallRequest],
    caps: DialerCapabilities,
    complaint: str,
) -> None:
    violations = check(events, requests, caps)
    assert any(complaint in v for v in violations), violations
