"""The trial call (试呼): how big its sample is, how the sample spreads, and what it decides.

Pure rules, no I/O. `allocate_sample` splits a sample over the list's segments in proportion
(largest remainder, with at least one contact for every segment when the size allows it);
`spread_indices` picks evenly through one segment in list order; `decide_trial` measures a
trial funnel against `TrialThresholds` and returns PROMOTE, REVIEW or STOP with its reasons.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from campaigns.errors import ValidationError
from campaigns.feedback import Funnel

#: The stratum of contacts whose segment is unknown (not in the snapshot, or no segment).
NO_SEGMENT = "(none)"

DEFAULT_SHARE = 0.05
DEFAULT_MAX_SIZE = 500


# --------------------------------------------------------------------------- the sample


@dataclass(frozen=True, slots=True)
class TrialSample:
    """How big the trial is: a fixed `size`, or a `share` of the READY contacts (capped)."""

    size: int | None = None
    share: float | None = None
    max_size: int | None = DEFAULT_MAX_SIZE

    def __post_init__(self) -> None:
        if self.size is not None and self.share is not None:
            raise ValidationError("give the trial sample as a size or as a share, not both")
        if self.size is not None and self.size < 1:
            raise ValidationError(f"a trial sample size must be at least 1, not {self.size}")
        if self.share is not None and not 0 < self.share <= 1:
            raise ValidationError(f"a trial share must be in (0, 1], not {self.share}")
        if self.max_size is not None and self.max_size < 1:
            raise ValidationError(f"a trial's max size must be at least 1, not {self.max_size}")

    def size_for(self, ready: int) -> int:
        """The sample size for `ready` callable contacts (the default is 5 %, at most 500)."""
        if ready <= 0:
            return 0
        if self.size is not None:
            return min(ready, self.size)
        wanted = max(1, math.ceil(ready * (self.share or DEFAULT_SHARE)))
        if self.max_size is not None:
            wanted = min(wanted, self.max_size)
        return min(ready, wanted)


def allocate_sample(populations: Mapping[str, int], size: int) -> dict[str, int]:
    """Split `size` over strata in proportion to their populations (largest remainder).

    Every non-empty stratum gets at least one when `size` allows it; the ones lifted to one
    are paid for by the strata most over their exact quota. No stratum gets more than its
    population, and the allocations sum to `min(size, total population)`.
    """
    pops = {k: n for k, n in populations.items() if n > 0}
    total = sum(pops.values())
    size = max(0, min(size, total))
    out = dict.fromkeys(populations, 0)
    if size == 0:
        return out
    # Exact quotas are size * n / total; integers keep the remainders exact.
    for k, n in pops.items():
        out[k] = size * n // total
    left = size - sum(out[k] for k in pops)
    by_remainder = sorted(pops, key=lambda k: (-(size * pops[k] % total), -pops[k], k))
    for k in by_remainder[:left]:
        out[k] += 1
    if size >= len(pops):
        for k in sorted(pops, key=lambda k: (-pops[k], k)):
            if out[k]:
                continue
            # A stratum with two or more exists: size >= strata and this one holds none.
            donor = max(
                (j for j in pops if out[j] >= 2),
                key=lambda j: (out[j] * total - size * pops[j], out[j], j),
            )
            out[donor] -= 1
            out[k] = 1
    return out


def spread_indices(population: int, picks: int) -> list[int]:
    """`picks` distinct positions spread evenly over `range(population)` (mid-points)."""
    picks = max(0, min(picks, population))
    return [(2 * i + 1) * population // (2 * picks) for i in range(picks)]


# --------------------------------------------------------------------------- the decision


class TrialOutcome(enum.StrEnum):
    """What the trial decides: go live, ask a person, or stop the campaign."""

    PROMOTE = "PROMOTE"
    REVIEW = "REVIEW"
    STOP = "STOP"


@dataclass(frozen=True, slots=True)
class TrialThresholds:
    """Go/no-go limits measured on the trial sample.

    A metric that misses its limit by less than `review_margin` (relative: 0.25 means a
    minimum of 20 % is only "near" down to 15 %, a maximum of 2 % up to 2.5 %) asks for a
    review; one that misses it by more stops the campaign.
    """

    min_attempts: int = 30
    min_connect_rate: float = 0.2
    min_conversion_per_rpc: float = 0.02
    max_complaint_rate: float = 0.02
    max_abandon_rate: float = 0.03
    review_margin: float = 0.25

    def __post_init__(self) -> None:
        if self.min_attempts < 1:
            raise ValidationError("a trial needs at least one attempt to be judged")
        for name in (
            "min_connect_rate",
            "min_conversion_per_rpc",
            "max_complaint_rate",
            "max_abandon_rate",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValidationError(f"trial threshold {name} must be in [0, 1], not {value}")
        if not 0 <= self.review_margin < 1:
            raise ValidationError(f"the review margin must be in [0, 1), not {self.review_margin}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for audit details."""
        return asdict(self)


def trial_config(options: Mapping[str, Any] | None) -> tuple[TrialSample, TrialThresholds]:
    """Read settings such as {"size": 200, "max_abandon_rate": 0.03}; unknown keys are errors."""
    options = dict(options or {})
    sample_keys = {f.name for f in fields(TrialSample)}
    threshold_keys = {f.name for f in fields(TrialThresholds)}
    unknown = set(options) - sample_keys - threshold_keys
    if unknown:
        raise ValidationError(f"unknown trial settings: {', '.join(sorted(unknown))}")
    sample = TrialSample(**{k: v for k, v in options.items() if k in sample_keys})
    thresholds = TrialThresholds(**{k: v for k, v in options.items() if k in threshold_keys})
    return sample, thresholds


@dataclass(frozen=True, slots=True)
class TrialDecision:
    """The outcome with the reasons a person can read (the problems, or why it passed)."""

    outcome: TrialOutcome
    reasons: tuple[str, ...]

    @property
    def go(self) -> bool:
        """True when every threshold is met."""
        return self.outcome is TrialOutcome.PROMOTE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"decision": self.outcome.value, "reasons": list(self.reasons)}


def _check_min(
    label: str, value: float, limit: float, margin: float
) -> tuple[TrialOutcome, str] | None:
    if value >= limit:
        return None
    if value >= limit * (1 - margin):
        return TrialOutcome.REVIEW, f"{label} {value:.1%} < {limit:.1%}, within the review margin"
    return TrialOutcome.STOP, f"{label} {value:.1%} < {limit:.1%}, clearly below"


def _check_max(
    label: str, value: float, limit: float, margin: float
) -> tuple[TrialOutcome, str] | None:
    if value <= limit:
        return None
    if value <= limit * (1 + margin):
        return TrialOutcome.REVIEW, f"{label} {value:.1%} > {limit:.1%}, within the review margin"
    return TrialOutcome.STOP, f"{label} {value:.1%} > {limit:.1%}, clearly over"


def decide_trial(funnel: Funnel, thresholds: TrialThresholds) -> TrialDecision:
    """PROMOTE when every threshold is met; STOP when a metric clearly fails; else REVIEW.

    Too few attempts, or no right-party contact to measure conversion on, is inconclusive
    and asks for a review unless another metric clearly fails.
    """
    t = thresholds
    if funnel.attempts < t.min_attempts:
        return TrialDecision(
            TrialOutcome.REVIEW,
            (f"only {funnel.attempts} trial attempts; at least {t.min_attempts} needed",),
        )
    live = funnel.live_contacts
    complaint_rate = funnel.complaints / live if live else 0.0
    abandon_rate = funnel.abandoned / live if live else 0.0
    checks = [
        _check_min("connect rate", funnel.connect_rate, t.min_connect_rate, t.review_margin),
        _check_max("complaint rate", complaint_rate, t.max_complaint_rate, t.review_margin),
        _check_max("abandon rate", abandon_rate, t.max_abandon_rate, t.review_margin),
    ]
    if funnel.right_party:
        checks.append(
            _check_min(
                "conversion per RPC",
                funnel.conversion_per_rpc,
                t.min_conversion_per_rpc,
                t.review_margin,
            )
        )
    else:
        checks.append(
            (TrialOutcome.REVIEW, "no right-party contact: conversion cannot be measured")
        )
    failed = [c for c in checks if c is not None]
    if not failed:
        return TrialDecision(
            TrialOutcome.PROMOTE, (f"every threshold met on {funnel.attempts} attempts",)
        )
    stops = [reason for outcome, reason in failed if outcome is TrialOutcome.STOP]
    outcome = TrialOutcome.STOP if stops else TrialOutcome.REVIEW
    # The clear failures first: they are why the campaign stops.
    reasons = stops + [reason for o, reason in failed if o is not TrialOutcome.STOP]
    return TrialDecision(outcome, tuple(reasons))
