"""The trial's rules: sample size, stratified allocation, spread, and the three-way decision."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.errors import ValidationError
from campaigns.feedback import Funnel, build_funnel
from campaigns.model import Disposition as D
from campaigns.trial import (
    TrialOutcome,
    TrialSample,
    TrialThresholds,
    allocate_sample,
    decide_trial,
    spread_indices,
    trial_config,
)

# ------------------------------------------------------------------------------ sample size


def test_sample_is_a_share_by_default_capped_and_never_more_than_the_list() -> None:
    assert TrialSample().size_for(1_000) == 50  # 5 %
    assert TrialSample().size_for(100_000) == 500  # capped
    assert TrialSample().size_for(7) == 1  # at least one
    assert TrialSample().size_for(0) == 0
    assert TrialSample(share=0.5, max_size=None).size_for(101) == 51
    assert TrialSample(size=30).size_for(1_000) == 30
    assert TrialSample(size=30).size_for(12) == 12


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 10, "share": 0.1},
        {"size": 0},
        {"share": 0.0},
        {"share": 1.5},
        {"share": -0.1},
        {"max_size": 0},
    ],
)
def test_sample_needs_one_meaningful_size_or_share(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        TrialSample(**kwargs)  # type: ignore[arg-type]


def test_settings_split_into_sample_and_thresholds_and_reject_unknown_keys() -> None:
    sample, thresholds = trial_config({"size": 200, "max_abandon_rate": 0.05})
    assert sample.size == 200 and thresholds.max_abandon_rate == 0.05
    assert trial_config(None) == (TrialSample(), TrialThresholds())
    with pytest.raises(ValidationError, match="max_abandon"):
        trial_config({"max_abandon": 0.05})
    with pytest.raises(ValidationError):
        trial_config({"min_connect_rate": 2})


# ------------------------------------------------------------------------------ allocation


def test_allocation_is_proportional_by_largest_remainder() -> None:
    # Exact quotas 3.5, 2.1 and 1.4: floors 3, 2, 1 and the one left goes to the largest .5.
    assert allocate_sample({"a": 50, "b": 30, "c": 20}, 7) == {"a": 4, "b": 2, "c": 1}
    assert allocate_sample({"youth": 600, "family": 300, "senior": 100}, 10) == {
        "youth": 6,
        "family": 3,
        "senior": 1,
    }


def test_every_segment_gets_one_when_the_size_allows() -> None:
    pops = {"big": 991, "tiny": 5, "small": 4}
    assert allocate_sample(pops, 10) == {"big": 8, "tiny": 1, "small": 1}
    # Fewer picks than segments: the biggest segments are served first.
    assert allocate_sample(pops, 1) == {"big": 1, "tiny": 0, "small": 0}


def test_allocation_never_exceeds_a_population() -> None:
    assert allocate_sample({"a": 3, "b": 0, "c": 1}, 100) == {"a": 3, "b": 0, "c": 1}
    assert allocate_sample({}, 5) == {}


populations = st.dictionaries(
    st.text(alphabet="abcdefgh", min_size=1, max_size=3),
    st.integers(min_value=0, max_value=5_000),
    max_size=8,
)


@given(populations, st.integers(min_value=0, max_value=6_000))
def test_allocation_properties(pops: dict[str, int], size: int) -> None:
    out = allocate_sample(pops, size)
    total = sum(pops.values())
    want = min(size, total)
    assert set(out) == set(pops)
    assert sum(out.values()) == want
    assert all(0 <= out[k] <= pops[k] for k in pops)
    nonempty = [k for k in pops if pops[k] > 0]
    if want >= len(nonempty):
        assert all(out[k] >= 1 for k in nonempty)
    quotas = {k: Fraction(want * pops[k], total) for k in pops} if total else {}
    if all(quotas[k] >= 1 for k in nonempty):
        # The minimum of one never binds here: plain largest remainder, within 1 of the quota.
        assert all(abs(out[k] - quotas[k]) < 1 for k in nonempty)
    assert all(out[k] == 0 for k in pops if pops[k] == 0)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000))
def test_spread_indices_are_distinct_sorted_and_in_range(population: int, picks: int) -> None:
    idx = spread_indices(population, picks)
    assert len(idx) == min(population, picks)
    assert idx == sorted(set(idx))
    assert all(0 <= i < population for i in idx)


def test_spread_reaches_across_the_whole_segment() -> None:
    assert spread_indices(100, 4) == [12, 37, 62, 87]
    assert spread_indices(3, 3) == [0, 1, 2]


# ------------------------------------------------------------------------------ decision

T = TrialThresholds(min_attempts=100)


def funnel(**counts: int) -> Funnel:
    by = {D[k.upper()]: n for k, n in counts.items()}
    return build_funnel(
        by,
        records_loaded=0,
        records_callable=0,
        records_dialled=0,
        talk_seconds=0,
        goal_activations=1,
    )


def healthy(**changes: int) -> Funnel:
    """100 attempts: 40 no answer, 60 live; 50 right party, 5 successes, no complaints."""
    counts = {"no_answer": 40, "success": 5, "refused": 45, "not_account_holder": 10}
    counts.update(changes)
    return funnel(**counts)


def test_all_thresholds_met_promotes() -> None:
    d = decide_trial(healthy(), T)
    assert d.outcome is TrialOutcome.PROMOTE and d.go
    assert d.to_dict() == {
        "decision": "PROMOTE",
        "reasons": ["every threshold met on 100 attempts"],
    }


def test_too_few_attempts_asks_for_review() -> None:
    d = decide_trial(funnel(success=5, complaint=5), T)
    assert d.outcome is TrialOutcome.REVIEW
    assert d.reasons == ("only 10 trial attempts; at least 100 needed",)


def test_a_near_miss_asks_for_review_and_a_clear_failure_stops() -> None:
    # Abandon cap 3 %, margin 25 %: 2 of 60 live (3.3 %) is near, 6 of 60 (10 %) is clear.
    near = decide_trial(healthy(refused=43, abandoned=2), T)
    assert near.outcome is TrialOutcome.REVIEW
    assert near.reasons == ("abandon rate 3.3% > 3.0%, within the review margin",)
    clear = decide_trial(healthy(refused=39, abandoned=6), T)
    assert clear.outcome is TrialOutcome.STOP
    assert clear.reasons == ("abandon rate 10.0% > 3.0%, clearly over",)


def test_complaints_well_over_the_cap_stop_even_with_a_near_miss_elsewhere() -> None:
    f = healthy(no_answer=10, busy=33, success=4, refused=35, complaint=6, abandoned=2)
    d = decide_trial(f, T)
    assert d.outcome is TrialOutcome.STOP
    assert d.reasons == (
        "complaint rate 10.5% > 2.0%, clearly over",
        "abandon rate 3.5% > 3.0%, within the review margin",
    )


def test_low_connect_rate_within_the_margin_is_a_review() -> None:
    t = TrialThresholds(min_attempts=10, min_connect_rate=0.5)
    f = funnel(no_answer=55, success=5, refused=40)  # 45 % connected: within 25 % of 50 %
    assert decide_trial(f, t).outcome is TrialOutcome.REVIEW
    f = funnel(no_answer=70, success=5, refused=25)  # 30 %: clearly below
    assert decide_trial(f, t).outcome is TrialOutcome.STOP


def test_no_right_party_contact_leaves_conversion_to_a_person() -> None:
    t = TrialThresholds(min_attempts=10, min_connect_rate=0.1)
    d = decide_trial(funnel(no_answer=5, not_account_holder=5), t)
    assert d.outcome is TrialOutcome.REVIEW
    assert d.reasons == ("no right-party contact: conversion cannot be measured",)


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValidationError):
        TrialThresholds(min_attempts=0)
    with pytest.raises(ValidationError):
        TrialThresholds(review_margin=1.0)
    assert TrialThresholds().to_dict()["max_abandon_rate"] == 0.03


def test_unusable_trial_settings_are_a_configuration_error() -> None:
    from campaigns.errors import ConfigurationError
    from flows.settings import Settings

    assert Settings(trial={"size": 50}).trial_config()[0] == TrialSample(size=50)
    with pytest.raises(ConfigurationError, match="OUTBOUND_TRIAL"):
        Settings(trial={"share": 0.1, "size": 10}).trial_config()
