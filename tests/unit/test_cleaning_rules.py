"""Cleaning rules: each reason alone, their order, their interactions, and policy switches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.model import CleaningPolicy, ContactFacts, ExclusionReason, SubscriberStatus
from campaigns.rules import (
    MANDATORY,
    RULE_ORDER,
    RULE_VERSIONS,
    duplicate_flags,
    evaluate_contact,
    rule_tag,
)

R = ExclusionReason
NOW = datetime(2026, 11, 25, tzinfo=UTC)
POLICY = CleaningPolicy(cooldown_days=30, refusal_cooloff_days=90)


def facts(**kw: object) -> ContactFacts:
    base: dict[str, object] = {
        "contact_id": 1,
        "e164": "+8613800138000",
        "subscriber_status": SubscriberStatus.ACTIVE,
        "segment": "family",
    }
    base.update(kw)
    return ContactFacts(**base)  # type: ignore[arg-type]


#: One contact per rule that trips that rule and nothing else.
ALONE = {
    R.INVALID_NUMBER: facts(e164=None, subscriber_status=None),
    R.SHORT_CODE: facts(e164=None, subscriber_status=None, invalid_reason=R.SHORT_CODE),
    R.NOT_MOBILE: facts(invalid_reason=R.NOT_MOBILE),
    R.DUPLICATE: facts(duplicate_of_earlier_row=True),
    R.UNKNOWN_SUBSCRIBER: facts(subscriber_status=None),
    R.SUBSCRIBER_INACTIVE: facts(subscriber_status=SubscriberStatus.SUSPENDED),
    R.OUT_OF_REGION: facts(out_of_region=True),
    R.SEGMENT_FILTER: facts(segment="youth"),
    R.HOLDS_OFFER: facts(holds_offer=True),
    R.HOLDS_EXCLUSIVE: facts(holds_exclusive=True),
    R.DO_NOT_CALL: facts(on_dnc=True),
    R.REFUSED_BEFORE: facts(last_refused_at=NOW - timedelta(days=89)),
    R.IN_OTHER_CAMPAIGN: facts(in_other_campaign=True),
    R.RECENT_CONTACT: facts(last_contacted_at=NOW - timedelta(days=29)),
    R.PRIOR_FOLLOW_UP: facts(has_follow_up=True),
}
SEGMENTED = replace(POLICY, segments=("family", "business"))


def test_every_reason_has_a_rule_an_order_and_a_version() -> None:
    assert set(RULE_ORDER) == set(R) == set(ALONE) == set(RULE_VERSIONS)
    assert rule_tag(R.DUPLICATE) == "DUPLICATE@1"


def test_clean_contact_is_kept() -> None:
    verdict = evaluate_contact(facts(), SEGMENTED, NOW)
    assert verdict.kept and verdict.reason is None and verdict.all_reasons == ()


@pytest.mark.parametrize("reason", list(ALONE))
def test_each_rule_alone(reason: ExclusionReason) -> None:
    verdict = evaluate_contact(ALONE[reason], SEGMENTED, NOW)
    assert verdict.reason is reason and verdict.all_reasons == (reason,)


@pytest.mark.parametrize("reason", sorted(set(ALONE) - MANDATORY))
def test_each_optional_rule_can_be_switched_off(reason: ExclusionReason) -> None:
    policy = replace(SEGMENTED, disabled=frozenset({reason}))
    assert evaluate_contact(ALONE[reason], policy, NOW).kept


@pytest.mark.parametrize("reason", sorted(MANDATORY))
def test_mandatory_rules_cannot_be_switched_off(reason: ExclusionReason) -> None:
    policy = replace(SEGMENTED, disabled=frozenset(R))
    assert evaluate_contact(ALONE[reason], policy, NOW).reason is reason


def test_segment_filter_only_applies_when_the_request_has_one() -> None:
    assert evaluate_contact(facts(segment="youth"), POLICY, NOW).kept
    assert evaluate_contact(facts(segment=None), SEGMENTED, NOW).reason is R.SEGMENT_FILTER


def test_cancelled_is_inactive_too() -> None:
    v = evaluate_contact(facts(subscriber_status=SubscriberStatus.CANCELLED), POLICY, NOW)
    assert v.reason is R.SUBSCRIBER_INACTIVE


def test_cooldown_boundaries() -> None:
    outside = facts(last_contacted_at=NOW - timedelta(days=30))
    inside = facts(last_contacted_at=NOW - timedelta(days=30) + timedelta(seconds=1))
    assert evaluate_contact(outside, POLICY, NOW).kept
    assert evaluate_contact(inside, POLICY, NOW).reason is R.RECENT_CONTACT
    refused_long_ago = facts(last_refused_at=NOW - timedelta(days=90))
    assert evaluate_contact(refused_long_ago, POLICY, NOW).kept


def test_duplicate_on_dnc_shows_first_reason_and_both_in_all() -> None:
    v = evaluate_contact(facts(duplicate_of_earlier_row=True, on_dnc=True), POLICY, NOW)
    assert v.reason is R.DUPLICATE
    assert v.all_reasons == (R.DUPLICATE, R.DO_NOT_CALL)


def test_policy_round_trip() -> None:
    policy = CleaningPolicy(
        cooldown_days=7,
        refusal_cooloff_days=30,
        segments=("youth",),
        disabled=frozenset({R.PRIOR_FOLLOW_UP}),
    )
    assert CleaningPolicy.from_dict(policy.to_dict()) == policy
    assert CleaningPolicy.from_dict(None) == CleaningPolicy()


def test_duplicate_flags_mark_later_rows_only() -> None:
    assert duplicate_flags(["a", "b", "a", None, None, "b", "c"]) == [
        False,
        False,
        True,
        False,
        False,
        True,
        False,
    ]


@given(
    flags=st.fixed_dictionaries(
        {
            "duplicate_of_earlier_row": st.booleans(),
            "on_dnc": st.booleans(),
            "holds_offer": st.booleans(),
            "holds_exclusive": st.booleans(),
            "has_follow_up": st.booleans(),
            "in_other_campaign": st.booleans(),
            "out_of_region": st.booleans(),
        }
    ),
    status=st.sampled_from([None, *SubscriberStatus]),
    segment=st.sampled_from([None, "family", "youth"]),
    days_ago=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
    refused_ago=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
    disabled=st.frozensets(st.sampled_from(sorted(set(R) - MANDATORY))),
)
def test_verdict_lists_exactly_the_enabled_rules_that_apply_in_order(
    flags: dict[str, bool],
    status: SubscriberStatus | None,
    segment: str | None,
    days_ago: int | None,
    refused_ago: int | None,
    disabled: frozenset[ExclusionReason],
) -> None:
    f = facts(
        **flags,
        subscriber_status=status,
        segment=segment,
        last_contacted_at=None if days_ago is None else NOW - timedelta(days=days_ago),
        last_refused_at=None if refused_ago is None else NOW - timedelta(days=refused_ago),
    )
    policy = replace(SEGMENTED, disabled=disabled)
    expected = {
        R.DUPLICATE: flags["duplicate_of_earlier_row"],
        R.UNKNOWN_SUBSCRIBER: status is None,
        R.SUBSCRIBER_INACTIVE: status is not None and status is not SubscriberStatus.ACTIVE,
        R.OUT_OF_REGION: flags["out_of_region"],
        R.SEGMENT_FILTER: status is not None and segment not in ("family", "business"),
        R.HOLDS_OFFER: flags["holds_offer"],
        R.HOLDS_EXCLUSIVE: flags["holds_exclusive"],
        R.DO_NOT_CALL: flags["on_dnc"],
        R.REFUSED_BEFORE: refused_ago is not None and refused_ago < 90,
        R.IN_OTHER_CAMPAIGN: flags["in_other_campaign"],
        R.RECENT_CONTACT: days_ago is not None and days_ago < 30,
        R.PRIOR_FOLLOW_UP: flags["has_follow_up"],
    }
    want = tuple(r for r in RULE_ORDER if expected.get(r) and (r in MANDATORY or r not in disabled))
    v = evaluate_contact(f, policy, NOW)
    assert v.all_reasons == want
    assert v.reason == (want[0] if want else None)
    assert v.kept is (not want)
