"""Cleaning rules: each reason alone, their order, and their interactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from campaigns.model import CleaningPolicy, ContactFacts, ExclusionReason, SubscriberStatus
from campaigns.rules import duplicate_flags, evaluate_contact

NOW = datetime(2026, 11, 25, tzinfo=UTC)
POLICY = CleaningPolicy(cooldown_days=30)


def facts(**kw: object) -> ContactFacts:
    base: dict[str, object] = {
        "contact_id": 1,
        "e164": "+8613800138000",
        "subscriber_status": SubscriberStatus.ACTIVE,
    }
    base.update(kw)
    return ContactFacts(**base)  # type: ignore[arg-type]


def test_clean_contact_is_kept() -> None:
    verdict = evaluate_contact(facts(), POLICY, NOW)
    assert verdict.kept and verdict.reason is None and verdict.all_reasons == ()


def test_each_rule_alone() -> None:
    cases = {
        ExclusionReason.INVALID_NUMBER: facts(e164=None, subscriber_status=None),
        ExclusionReason.NOT_MOBILE: facts(invalid_reason=ExclusionReason.NOT_MOBILE),
        ExclusionReason.DUPLICATE: facts(duplicate_of_earlier_row=True),
        ExclusionReason.UNKNOWN_SUBSCRIBER: facts(subscriber_status=None),
        ExclusionReason.SUBSCRIBER_INACTIVE: facts(subscriber_status=SubscriberStatus.SUSPENDED),
        ExclusionReason.HOLDS_OFFER: facts(holds_offer=True),
        ExclusionReason.HOLDS_EXCLUSIVE: facts(holds_exclusive=True),
        ExclusionReason.DO_NOT_CALL: facts(on_dnc=True),
        ExclusionReason.RECENT_CONTACT: facts(last_contacted_at=NOW - timedelta(days=29)),
        ExclusionReason.PRIOR_FOLLOW_UP: facts(has_follow_up=True),
    }
    for reason, f in cases.items():
        verdict = evaluate_contact(f, POLICY, NOW)
        assert verdict.reason is reason, reason
        assert verdict.all_reasons == (reason,), reason


def test_cancelled_is_inactive_too() -> None:
    v = evaluate_contact(facts(subscriber_status=SubscriberStatus.CANCELLED), POLICY, NOW)
    assert v.reason is ExclusionReason.SUBSCRIBER_INACTIVE


def test_cooldown_boundary() -> None:
    just_outside = facts(last_contacted_at=NOW - timedelta(days=30))
    just_inside = facts(last_contacted_at=NOW - timedelta(days=30) + timedelta(seconds=1))
    assert evaluate_contact(just_outside, POLICY, NOW).kept
    assert evaluate_contact(just_inside, POLICY, NOW).reason is ExclusionReason.RECENT_CONTACT


def test_duplicate_on_dnc_shows_first_reason_and_both_in_all() -> None:
    v = evaluate_contact(facts(duplicate_of_earlier_row=True, on_dnc=True), POLICY, NOW)
    assert v.reason is ExclusionReason.DUPLICATE
    assert set(v.all_reasons) == {ExclusionReason.DUPLICATE, ExclusionReason.DO_NOT_CALL}


def test_policy_switches() -> None:
    lenient = CleaningPolicy(require_known_subscriber=False, exclude_follow_ups=False)
    assert evaluate_contact(facts(subscriber_status=None), lenient, NOW).kept
    assert evaluate_contact(facts(has_follow_up=True), lenient, NOW).kept


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
    dup=st.booleans(),
    dnc=st.booleans(),
    offer=st.booleans(),
    excl=st.booleans(),
    follow=st.booleans(),
    status=st.sampled_from([None, *SubscriberStatus]),
    days_ago=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
)
def test_kept_exactly_when_no_rule_applies(
    dup: bool,
    dnc: bool,
    offer: bool,
    excl: bool,
    follow: bool,
    status: SubscriberStatus | None,
    days_ago: int | None,
) -> None:
    last = None if days_ago is None else NOW - timedelta(days=days_ago)
    f = facts(
        duplicate_of_earlier_row=dup,
        on_dnc=dnc,
        holds_offer=offer,
        holds_exclusive=excl,
        has_follow_up=follow,
        subscriber_status=status,
        last_contacted_at=last,
    )
    v = evaluate_contact(f, POLICY, NOW)
    flagged = (
        dup
        or dnc
        or offer
        or excl
        or follow
        or status is not SubscriberStatus.ACTIVE
        or (days_ago is not None and days_ago < 30)
    )
    assert v.kept is (not flagged)
    assert (v.reason is None) == (v.all_reasons == ())
    if v.reason is not None:
        assert v.reason == v.all_reasons[0]
