"""Hourly rollups of finished attempts, which dashboards and reports read instead of every
attempt: one row per campaign, UTC hour, phase and disposition, which the dialing engine adds
to as it records outcomes, and one per agent, UTC hour, campaign and disposition, which each
dialing slice recomputes from its attempts when it ends (a thousand agents would otherwise
add a row update to almost every attempt). An attempt counts in the hour it was dialled.
Hours are UTC so that any time zone with a whole-hour offset (Asia/Shanghai, every US zone)
folds them into its own days and hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from campaigns.model import CONNECTED, PITCHED, RIGHT_PARTY, Disposition, Phase

#: Calls bridged to an agent within this many seconds of the answer count as answered in
#: time (the operations manual's 15-second answer rate).
ANSWER_WITHIN_SECONDS = 15.0

CAMPAIGN_KEY = ("campaign_id", "hour", "phase", "disposition")
CAMPAIGN_SUMS: tuple[str, ...] = ("calls", "attempts", "ring_seconds", "talk_seconds")
CAMPAIGN_SUMS += ("wrap_seconds", "bridged", "bridged_in_time", "wait_seconds")
AGENT_KEY = ("agent_id", "hour", "campaign_id", "disposition")
AGENT_SUMS = ("calls", "talk_seconds", "wrap_seconds")


#: The contact funnel's stages after "records", in order (`contact_reach.stage` 1..5).
REACH_STAGES = ("dialled", "connected", "right_party", "pitched", "successes")


def reach_stage(disposition: Disposition, counts_as_attempt: bool) -> int:
    """The furthest funnel stage (1..5, 0 for none) one finished attempt took its contact
    to; each stage's dispositions are a subset of the one before, so the furthest is a max.
    """
    if disposition is Disposition.SUCCESS:
        return 5
    if disposition in PITCHED:
        return 4
    if disposition in RIGHT_PARTY:
        return 3
    if disposition in CONNECTED:
        return 2
    return 1 if counts_as_attempt else 0


def hour_of(at: datetime) -> datetime:
    """The UTC hour `at` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class Rollup:
    """Campaign-hour sums of finished attempts not yet written."""

    # (campaign id, hour as a UTC timestamp, phase, disposition) -> sums in CAMPAIGN_SUMS order
    campaigns: dict[tuple[Any, ...], list[float]] = field(default_factory=dict)

    def add(
        self,
        *,
        campaign_id: int,
        phase: Phase,
        disposition: Disposition,
        counts_as_attempt: bool,
        dialed_at: datetime,
        answered_at: datetime | None = None,
        bridged_at: datetime | None = None,
        ring_seconds: float = 0.0,
        talk_seconds: float = 0.0,
        wrap_seconds: float = 0.0,
    ) -> None:
        """Count one finished attempt."""
        stamp = dialed_at.timestamp()
        key = (campaign_id, stamp - stamp % 3600, phase, disposition)
        row = self.campaigns.get(key)
        if row is None:
            row = self.campaigns[key] = [0.0] * len(CAMPAIGN_SUMS)
        row[0] += 1
        row[1] += counts_as_attempt
        row[2] += ring_seconds
        row[3] += talk_seconds
        row[4] += wrap_seconds
        if bridged_at is not None:
            row[5] += 1
            if answered_at is not None:
                wait = max(0.0, (bridged_at - answered_at).total_seconds())
                row[6] += wait <= ANSWER_WITHIN_SECONDS
                row[7] += wait

    def campaign_rows(self) -> list[dict[str, Any]]:
        """The campaign-hour sums as rows (counts as ints)."""
        return [
            _row(CAMPAIGN_KEY, (c, datetime.fromtimestamp(h, UTC), p, d), CAMPAIGN_SUMS, v)
            for (c, h, p, d), v in self.campaigns.items()
        ]

    def clear(self) -> None:
        """Forget what was written."""
        self.campaigns.clear()


_COUNTS = {"calls", "attempts", "bridged", "bridged_in_time"}


def _row(
    key_names: tuple[str, ...], key: tuple[Any, ...], names: tuple[str, ...], sums: list[float]
) -> dict[str, Any]:
    row = dict(zip(key_names, key, strict=True))
    for name, value in zip(names, sums, strict=True):
        row[name] = int(value) if name in _COUNTS else value
    return row
