"""Hourly rollups of finished attempts, kept by the dialing engine as it records outcomes.

Dashboards and reports read these instead of scanning every attempt: one row per campaign,
UTC hour, phase and disposition, and one per agent, UTC hour, campaign and disposition. An
attempt counts in the hour it was dialled. Hours are UTC so that any time zone with a
whole-hour offset (Asia/Shanghai, every US zone) folds them into its own days and hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from campaigns.model import Disposition, Phase

#: Calls bridged to an agent within this many seconds of the answer count as answered in
#: time (the operations manual's 15-second answer rate).
ANSWER_WITHIN_SECONDS = 15.0

CAMPAIGN_KEY = ("campaign_id", "hour", "phase", "disposition")
CAMPAIGN_SUMS: tuple[str, ...] = ("calls", "attempts", "ring_seconds", "talk_seconds")
CAMPAIGN_SUMS += ("wrap_seconds", "bridged", "bridged_in_time", "wait_seconds")
AGENT_KEY = ("agent_id", "hour", "campaign_id", "disposition")
AGENT_SUMS = ("calls", "talk_seconds", "wrap_seconds")


def hour_of(at: datetime) -> datetime:
    """The UTC hour `at` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class Rollup:
    """Sums of finished attempts not yet written, by campaign hour and by agent hour."""

    campaigns: dict[tuple[Any, ...], list[float]] = field(default_factory=dict)
    agents: dict[tuple[Any, ...], list[float]] = field(default_factory=dict)

    def add(
        self,
        *,
        campaign_id: int,
        phase: Phase,
        disposition: Disposition,
        counts_as_attempt: bool,
        dialed_at: datetime,
        agent_id: int | None = None,
        answered_at: datetime | None = None,
        bridged_at: datetime | None = None,
        ring_seconds: float = 0.0,
        talk_seconds: float = 0.0,
        wrap_seconds: float = 0.0,
    ) -> None:
        """Count one finished attempt."""
        hour = hour_of(dialed_at)
        wait = 0.0
        in_time = False
        if bridged_at is not None and answered_at is not None:
            wait = max(0.0, (bridged_at - answered_at).total_seconds())
            in_time = wait <= ANSWER_WITHIN_SECONDS
        row = self.campaigns.setdefault(
            (campaign_id, hour, phase, disposition), [0.0] * len(CAMPAIGN_SUMS)
        )
        bridged = bridged_at is not None
        for i, value in enumerate(
            (1, counts_as_attempt, ring_seconds, talk_seconds, wrap_seconds)
            + (bridged, in_time, wait)
        ):
            row[i] += value
        if agent_id is not None:
            mine = self.agents.setdefault(
                (agent_id, hour, campaign_id, disposition), [0.0] * len(AGENT_SUMS)
            )
            mine[0] += 1
            mine[1] += talk_seconds
            mine[2] += wrap_seconds

    def campaign_rows(self) -> list[dict[str, Any]]:
        """The campaign-hour sums as rows (counts as ints)."""
        return [_row(CAMPAIGN_KEY, k, CAMPAIGN_SUMS, v) for k, v in self.campaigns.items()]

    def agent_rows(self) -> list[dict[str, Any]]:
        """The agent-hour sums as rows (counts as ints)."""
        return [_row(AGENT_KEY, k, AGENT_SUMS, v) for k, v in self.agents.items()]

    def clear(self) -> None:
        """Forget what was written."""
        self.campaigns.clear()
        self.agents.clear()

    def __bool__(self) -> bool:
        return bool(self.campaigns)


_COUNTS = {"calls", "attempts", "bridged", "bridged_in_time"}


def _row(
    key_names: tuple[str, ...], key: tuple[Any, ...], names: tuple[str, ...], sums: list[float]
) -> dict[str, Any]:
    row = dict(zip(key_names, key, strict=True))
    for name, value in zip(names, sums, strict=True):
        row[name] = int(value) if name in _COUNTS else value
    return row
