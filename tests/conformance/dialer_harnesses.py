"""How the conformance suite runs each adapter of the `outbound.dialers` entry-point group.

Every registered adapter needs a `Harness` here; the suite fails for one that has none.
A harness says how to build the adapter against its peer (for a SIP adapter: a baresip
or SIPp process the harness starts, with numbers whose scenario the peer plays), whether
that peer can run on this machine, how to build one whose switch cannot be reached, and
which events its scenario must produce, so that every rule is exercised.

A later SIP adapter plugs in by adding, for example:

    HARNESSES["sip"] = Harness(
        build=lambda variant: load_dialer("sip", **SIPP_PEER.options(variant)),
        variants={"trunk": {}},
        unreachable=lambda: load_dialer("sip", proxy="sip:127.0.0.1:9"),
        numbers=SIPP_PEER.numbers,                # each maps to a SIPp scenario
        can_run=lambda: None if shutil.which("sipp") else "sipp is not installed",
        covers={...},
        deadline=timedelta(minutes=3),            # wall clock: ring-outs take 15 s and more
        calls=20,
    )
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sip_support import sip_can_run

from campaigns.ports import Dialer
from dialer_adapters import load_dialer
from dialer_adapters.sip.peers import SippPeers

START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Harness:
    """How to run one adapter in the conformance suite."""

    build: Callable[[Mapping[str, Any]], Dialer]
    #: Configurations to check, by name; each may claim different capabilities.
    variants: Mapping[str, Mapping[str, Any]]
    unreachable: Callable[[], Dialer]
    numbers: Callable[[int], list[str]]
    #: Event kinds (class names, "answered:MACHINE", "ended:ABANDONED"...) each variant's
    #: session must produce.
    covers: Mapping[str, frozenset[str]]
    can_run: Callable[[], str | None] = lambda: None
    agents: tuple[str, ...] = ("C1", "C2", "C3", "C4")
    calls: int = 300
    deadline: timedelta = timedelta(hours=2)  # on the adapter's own clock
    start: datetime = START
    #: Options that give the adapter a line limit, to check it is enforced (None: no limit).
    limited: Mapping[str, Any] | None = field(default=None)


def _numbers(n: int) -> list[str]:
    return [f"+86135{i:08d}" for i in range(n)]


_ALWAYS = frozenset(
    {
        "AgentSignedIn",
        "RingingStarted",
        "CallBridged",
        "CallDisposed",
        "ended:BUSY",
        "ended:NO_ANSWER",
        "ended:FAILED",
        "ended:ABANDONED",
        "ended:HUNG_UP",
        "answered:HUMAN|UNKNOWN",
    }
)

HARNESSES: dict[str, Harness] = {
    "simulator": Harness(
        build=lambda variant: load_dialer("simulator", seed=5, **variant),
        variants={"amd": {"amd": True}, "no-amd": {"amd": False}},
        unreachable=lambda: load_dialer(
            "simulator", outages=[(START - timedelta(days=1), START + timedelta(days=1))]
        ),
        numbers=_numbers,
        covers={
            "amd": _ALWAYS | {"answered:MACHINE"},
            "no-amd": _ALWAYS | {"disposed:MACHINE"},
        },
        limited={"max_calls": 3},
    ),
}


class _SipPeer:
    """SIPp called parties, started on first use and stopped when the test process exits."""

    #: Answers outnumber idle agents, so some people are abandoned, as the suite requires.
    MIX = ("answer", "busy", "answer", "ring", "answer", "unavailable", "answer", "notfound")

    def __init__(self) -> None:
        self._peers: SippPeers | None = None

    def peers(self) -> SippPeers:
        if self._peers is None:
            self._peers = SippPeers(ring_ms=1000, talk_ms=2000)
            self._peers.start()
            atexit.register(self._peers.stop)
        return self._peers

    def options(self, variant: Mapping[str, Any]) -> dict[str, Any]:
        # Ring-outs at 15.5 s, just over the contract's 15 s, keep the wall time short.
        return {
            "routes": self.peers().routes,
            "ring_timeout": 15.5,
            "patience": 1.0,
            "wrap_seconds": 0.5,
            **variant,
        }

    def numbers(self, n: int) -> list[str]:
        return self.peers().numbers(n, self.MIX)


SIPP_PEER = _SipPeer()

HARNESSES["sip"] = Harness(
    build=lambda variant: load_dialer("sip", **SIPP_PEER.options(variant)),
    variants={"trunk": {}},
    # Attached to a ctrl_tcp port where nothing listens: the switch cannot be reached.
    unreachable=lambda: load_dialer("sip", control="127.0.0.1:9"),
    numbers=SIPP_PEER.numbers,
    can_run=sip_can_run,
    covers={"trunk": _ALWAYS | {"answered:UNKNOWN"}},
    calls=24,
    deadline=timedelta(minutes=3),  # wall clock: ring-outs take 15.5 s
    limited={"lines": 3},
)
