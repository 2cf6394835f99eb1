"""The campaign lifecycle as one table of allowed transitions."""

from __future__ import annotations

from campaigns.errors import IllegalTransition
from campaigns.model import CampaignState as S

#: Every allowed move. Anything not listed here is an IllegalTransition.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.SUBMITTED: frozenset({S.FEASIBILITY, S.CANCELLED}),
    S.FEASIBILITY: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.CLEANING, S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.CLEANING: frozenset({S.READY, S.CANCELLED}),
    S.READY: frozenset({S.TRIAL, S.CANCELLED}),
    S.TRIAL: frozenset({S.TRIAL_REVIEW, S.CANCELLED}),
    S.TRIAL_REVIEW: frozenset({S.LIVE, S.CANCELLED}),
    S.LIVE: frozenset({S.PAUSED, S.COMPLETED, S.CANCELLED}),
    S.PAUSED: frozenset({S.LIVE, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}

TERMINAL = frozenset(state for state, targets in TRANSITIONS.items() if not targets)


def can_transition(current: S, target: S) -> bool:
    """Whether the lifecycle allows moving from `current` to `target`."""
    return target in TRANSITIONS[current]


def check_transition(current: S, target: S, *, campaign_id: int | None = None) -> S:
    """Return `target` if allowed, else raise IllegalTransition naming both states."""
    if not can_transition(current, target):
        raise IllegalTransition(campaign_id, current.value, target.value)
    return target
