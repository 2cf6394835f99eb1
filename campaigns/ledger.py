"""The exclusion ledger's summary: counts by first reason and by each rule alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.model import CampaignState, CleaningPolicy, ExclusionReason, RowProblem
from campaigns.rules import REASON_BITS, RULE_ORDER, reasons_of, rule_tag

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

    def add_masks(self, counts: Mapping[int, int]) -> None:
        """Count verdicts given as rule masks (`campaigns.rules.REASON_BITS`) and their counts."""
        for mask, n in counts.items():
            reasons = reasons_of(mask)
            if not reasons:
                self.kept += n
                continue
            self.first[reasons[0].value] = self.first.get(reasons[0].value, 0) + n
            for r in reasons:
                self.alone[r.value] = self.alone.get(r.value, 0) + n

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


def mask_of(reasons: tuple[ExclusionReason, ...]) -> int:
    """The rule mask of a verdict's reasons."""
    mask = 0
    for r in reasons:
        mask |= REASON_BITS[r]
    return mask


@dataclass(frozen=True, slots=True)
class LoadedList:
    """What storing a list produced: row counts, the problems shown, and verdicts if cleaned.

    `seen` counts every data row, empty ones included (the bad-row share is of these);
    `stored` those kept as list rows; `valid` those whose number normalised to E.164.
    """

    seen: int
    stored: int
    valid: int
    problem_count: int
    problems: tuple[RowProblem, ...]
    tally: CleaningTally | None = None
