"""Helpers for the tests that drive real SIP peers (baresip and SIPp)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from campaigns.ports import CallRequest, Dialer, DialerEvent


def sip_required() -> bool:
    """Whether missing SIP peers fail the run (CI) rather than skip it."""
    return os.environ.get("CI") == "true" or os.environ.get("OUTBOUND_REQUIRE_SIP") == "1"


def sip_can_run() -> str | None:
    """None when baresip and SIPp are installed; in CI their absence fails the test."""
    missing = [b for b in ("baresip", "sipp") if shutil.which(b) is None]
    if not missing:
        return None
    reason = f"{' and '.join(missing)} not installed (`make sip-peers` installs them)"
    if sip_required():
        pytest.fail(f"{reason}; CI / OUTBOUND_REQUIRE_SIP=1 requires them", pytrace=False)
    return reason


class ShiftedDialer:
    """A real dialer whose clock reads `offset` later: a wall-clock run placed at a chosen
    time of day, so calling hours and rule packs allow it whenever the test runs.
    Durations (ring, talk, setup) are the real ones; only the origin moves."""

    def __init__(self, inner: Dialer, offset: timedelta) -> None:
        self.inner = inner
        self.offset = offset
        self.name = inner.name
        self.simulated_time = inner.simulated_time
        self.capabilities = inner.capabilities

    async def start(self, *, agents: Sequence[str], at: datetime) -> None:
        await self.inner.start(agents=agents, at=at - self.offset)

    def now(self) -> datetime:
        return self.inner.now() + self.offset

    async def originate(self, calls: Sequence[CallRequest]) -> None:
        await self.inner.originate(calls)

    async def receive(self, *, until: datetime) -> list[DialerEvent]:
        events = await self.inner.receive(until=until - self.offset)
        return [replace(e, at=e.at + self.offset) for e in events]

    async def close(self) -> None:
        await self.inner.close()
