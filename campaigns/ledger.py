"""The exclusion ledger's summary: counts by first reason and by each rule alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.model import CampaignState, CleaningPolicy, ExclusionReason
from campaigns.rules import RULE_ORDER, rule_tag

#: States whose lists count as overlapping with a new request.
ACTIVE_STATES = (
    CampaignState.APPROVED,
    CampaignState.CLEANING,
    CampaignState.READY,
    CampaignState.TRIAL,
    CampaignState.TRIAL_REVIEW,
    CampaignState.LIVE,
    CampaignState.PAUSED,
)


@dataclass(slots=True)
class CleaningTally:
    """Counts of a cleaning run or preview: first reasons, and what each rule alone removes."""

    kept: int = 0
    first: dict[str, int] = field(default_factory=dict)
    alone: dict[str, int] = field(default_factory=dict)

    def add(self, reasons: tuple[ExclusionReason, ...]) -> None:
        """Count one verdict."""
        if not reasons:
            self.kept += 1
            return
        self.first[reasons[0].value] = self.first.get(reasons[0].value, 0) + 1
        for r in reasons:
            self.alone[r.value] = self.alone.get(r.value, 0) + 1

    def summary(self) -> dict[str, int]:
        """Kept plus excluded by first reason, as stored on the campaign."""
        return {"kept": self.kept, **dict(sorted(self.first.items()))}


def ledger(tally: CleaningTally, policy: CleaningPolicy, now: datetime) -> dict[str, Any]:
    """The ledger summary kept with the campaign: first reasons, each rule alone, the policy."""
    return {
        "kept": tally.kept,
        "excluded": sum(tally.first.values()),
        "first": dict(sorted(tally.first.items())),
        "alone": dict(sorted(tally.alone.items())),
        "rules": {r.value: rule_tag(r) for r in RULE_ORDER},
        "policy": policy.to_dict(),
        "at": now.isoformat(),
    }
