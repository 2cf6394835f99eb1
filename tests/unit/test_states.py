"""The lifecycle table: every listed move is allowed, every other one is refused."""

from __future__ import annotations

import itertools

import pytest

from campaigns.errors import IllegalTransition
from campaigns.model import CampaignState as S
from campaigns.states import TERMINAL, TRANSITIONS, can_transition, check_transition


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(S)


def test_happy_path_is_allowed() -> None:
    path = [
        S.SUBMITTED,
        S.FEASIBILITY,
        S.APPROVED,
        S.CLEANING,
        S.READY,
        S.TRIAL,
        S.TRIAL_REVIEW,
        S.LIVE,
        S.PAUSED,
        S.LIVE,
        S.COMPLETED,
    ]
    for a, b in itertools.pairwise(path):
        assert check_transition(a, b) is b


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_moves_outside_the_table_raise(current: S, target: S) -> None:
    if target in TRANSITIONS[current]:
        assert can_transition(current, target)
        return
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target, campaign_id=7)
    assert f"campaign 7 is {current.value}; it cannot move to {target.value}" == str(info.value)


def test_terminal_states() -> None:
    assert {S.REJECTED, S.COMPLETED, S.CANCELLED} == TERMINAL


def test_rejected_and_live_branches() -> None:
    assert can_transition(S.FEASIBILITY, S.REJECTED)
    assert not can_transition(S.REJECTED, S.APPROVED)
    assert can_transition(S.PAUSED, S.LIVE) and can_transition(S.LIVE, S.PAUSED)
    assert not can_transition(S.PAUSED, S.COMPLETED)
