"""Pure rules: cleaning verdicts, retries by disposition and calling windows. Time is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from campaigns.model import (
    CallingHours,
    CleaningPolicy,
    CleaningVerdict,
    ContactFacts,
    Disposition,
    ExclusionReason,
    SubscriberStatus,
)

# --------------------------------------------------------------------------- cleaning


#: The version of each rule; bump one when its meaning changes, so ledgers stay explainable.
RULE_VERSIONS: Mapping[ExclusionReason, int] = {reason: 1 for reason in ExclusionReason}

#: Rules no policy can switch off: nobody can dial these contacts.
MANDATORY = frozenset(
    {ExclusionReason.INVALID_NUMBER, ExclusionReason.SHORT_CODE, ExclusionReason.DUPLICATE}
)

#: The order rules are checked in; a contact's verdict is the first that matches.
RULE_ORDER: tuple[ExclusionReason, ...] = (
    ExclusionReason.INVALID_NUMBER,
    ExclusionReason.SHORT_CODE,
    ExclusionReason.NOT_MOBILE,
    ExclusionReason.DUPLICATE,
    ExclusionReason.UNKNOWN_SUBSCRIBER,
    ExclusionReason.SUBSCRIBER_INACTIVE,
    ExclusionReason.OUT_OF_REGION,
    ExclusionReason.SEGMENT_FILTER,
    ExclusionReason.HOLDS_OFFER,
    ExclusionReason.HOLDS_EXCLUSIVE,
    ExclusionReason.DO_NOT_CALL,
    ExclusionReason.REFUSED_BEFORE,
    ExclusionReason.IN_OTHER_CAMPAIGN,
    ExclusionReason.RECENT_CONTACT,
    ExclusionReason.PRIOR_FOLLOW_UP,
)


#: Each rule's bit in a ledger row's mask (`list_exclusions.mask`): stored data, so a bit is
#: never reused or renumbered; a new rule takes the next one, wherever it sits in RULE_ORDER.
REASON_BITS: Mapping[ExclusionReason, int] = {reason: 1 << i for i, reason in enumerate(RULE_ORDER)}


def reasons_of(mask: int) -> tuple[ExclusionReason, ...]:
    """The rules a mask holds, in RULE_ORDER (the first is the verdict's reason)."""
    return tuple(r for r in RULE_ORDER if mask & REASON_BITS[r])


def rule_tag(reason: ExclusionReason) -> str:
    """The reason code with its rule version, as stored in the ledger: 'DUPLICATE@1'."""
    return f"{reason.value}@{RULE_VERSIONS[reason]}"


def _within(then: datetime | None, now: datetime, days: int) -> bool:
    return then is not None and now - then < timedelta(days=days)


def evaluate_contact(facts: ContactFacts, policy: CleaningPolicy, now: datetime) -> CleaningVerdict:
    """Run every exclusion rule on one contact; the first matching reason is the verdict."""
    known = facts.subscriber_status is not None
    matched: dict[ExclusionReason, bool] = {
        ExclusionReason.INVALID_NUMBER: facts.e164 is None
        and facts.invalid_reason in (None, ExclusionReason.INVALID_NUMBER),
        ExclusionReason.SHORT_CODE: facts.invalid_reason is ExclusionReason.SHORT_CODE,
        ExclusionReason.NOT_MOBILE: facts.invalid_reason is ExclusionReason.NOT_MOBILE,
        ExclusionReason.DUPLICATE: facts.duplicate_of_earlier_row,
        ExclusionReason.UNKNOWN_SUBSCRIBER: not known and facts.e164 is not None,
        ExclusionReason.SUBSCRIBER_INACTIVE: known
        and facts.subscriber_status is not SubscriberStatus.ACTIVE,
        ExclusionReason.OUT_OF_REGION: facts.out_of_region,
        ExclusionReason.SEGMENT_FILTER: bool(policy.segments)
        and known
        and facts.segment not in policy.segments,
        ExclusionReason.HOLDS_OFFER: facts.holds_offer,
        ExclusionReason.HOLDS_EXCLUSIVE: facts.holds_exclusive,
        ExclusionReason.DO_NOT_CALL: facts.on_dnc,
        ExclusionReason.REFUSED_BEFORE: _within(
            facts.last_refused_at, now, policy.refusal_cooloff_days
        ),
        ExclusionReason.IN_OTHER_CAMPAIGN: facts.in_other_campaign,
        ExclusionReason.RECENT_CONTACT: _within(facts.last_contacted_at, now, policy.cooldown_days),
        ExclusionReason.PRIOR_FOLLOW_UP: facts.has_follow_up,
    }
    reasons = tuple(r for r in RULE_ORDER if matched[r] and (r in MANDATORY or policy.enabled(r)))
    return CleaningVerdict(facts.contact_id, reasons[0] if reasons else None, reasons)


def duplicate_flags(numbers: Iterable[str | None]) -> list[bool]:
    """For a list in row order, mark every number already seen in an earlier row."""
    seen: set[str] = set()
    flags: list[bool] = []
    for number in numbers:
        flags.append(number is not None and number in seen)
        if number is not None:
            seen.add(number)
    return flags


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True, slots=True)
class RetryRule:
    """How to follow up one disposition. `delay=None` means the contact is finished."""

    delay: timedelta | None
    max_repeats: int | None = None  # consecutive outcomes of this kind before giving up
    counts_as_attempt: bool = True
    do_not_call: bool = False


def _h(hours: float) -> timedelta:
    return timedelta(hours=hours)


#: Defaults from DOMAIN.md §4.
DEFAULT_RETRY_RULES: Mapping[Disposition, RetryRule] = {
    Disposition.NO_ANSWER: RetryRule(_h(3)),
    Disposition.BUSY: RetryRule(timedelta(minutes=10), max_repeats=3),
    Disposition.MACHINE: RetryRule(_h(4)),
    Disposition.UNREACHABLE: RetryRule(_h(24)),
    Disposition.INVALID: RetryRule(None),
    Disposition.SUSPENDED: RetryRule(None),
    Disposition.REJECTED: RetryRule(_h(2), max_repeats=2),
    Disposition.NETWORK_FAIL: RetryRule(timedelta(minutes=2), counts_as_attempt=False),
    Disposition.ABANDONED: RetryRule(_h(2), max_repeats=1),
    Disposition.SUCCESS: RetryRule(None),
    Disposition.REFUSED: RetryRule(None),
    Disposition.CALLBACK: RetryRule(_h(24), max_repeats=2),
    Disposition.NOT_ACCOUNT_HOLDER: RetryRule(_h(24), max_repeats=2),
    Disposition.WRONG_NUMBER: RetryRule(None),
    Disposition.DNC_REQUEST: RetryRule(None, do_not_call=True),
    Disposition.INELIGIBLE: RetryRule(None),
    Disposition.HUNG_UP: RetryRule(_h(4), max_repeats=1),
    Disposition.COMPLAINT: RetryRule(None, do_not_call=True),
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry rules by disposition plus a cap on counted attempts per contact."""

    max_attempts: int = 4
    rules: Mapping[Disposition, RetryRule] = field(default_factory=lambda: DEFAULT_RETRY_RULES)


@dataclass(frozen=True, slots=True)
class NextStep:
    """What happens to a contact after an attempt."""

    final: bool
    due_at: datetime | None
    counts_as_attempt: bool
    do_not_call: bool
    attempts: int
    streak: int


def decide_next_attempt(
    disposition: Disposition,
    *,
    attempts_before: int,
    previous: Disposition | None,
    streak_before: int,
    policy: RetryPolicy,
    now: datetime,
    callback_at: datetime | None = None,
) -> NextStep:
    """Decide whether and when to dial a contact again, given the attempt that just ended."""
    rule = policy.rules[disposition]
    attempts = attempts_before + (1 if rule.counts_as_attempt else 0)
    streak = streak_before + 1 if previous == disposition else 1
    final = (
        rule.delay is None
        or attempts >= policy.max_attempts
        or (rule.max_repeats is not None and streak > rule.max_repeats)
    )
    due = None
    if not final:
        assert rule.delay is not None
        due = (
            callback_at if disposition is Disposition.CALLBACK and callback_at else now + rule.delay
        )
    return NextStep(final, due, rule.counts_as_attempt, rule.do_not_call, attempts, streak)


# --------------------------------------------------------------------------- calling windows

#: China has no statutory hours; a major cloud contact center enforces 08:00-21:00 Beijing time.
CHINA_DEFAULT_HOURS = CallingHours(time(8, 0), time(21, 0))


def hours_overlap(campaign: CallingHours, allowed: CallingHours) -> float:
    """Hours per day of the campaign's calling hours that the allowed hours permit."""
    start = max(campaign.start, allowed.start)
    end = min(campaign.end, allowed.end)
    if end <= start:
        return 0.0
    return ((end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)) / 60


def _local_ok(zone: str, hours: CallingHours, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(zone)).time()
    return hours.start <= local < hours.end


def is_callable(zones: Iterable[str], hours: CallingHours, now: datetime) -> bool:
    """A call is allowed only if every candidate zone of the number is inside its window."""
    return all(_local_ok(zone, hours, now) for zone in zones)


def _next_open_in(zone: str, hours: CallingHours, now: datetime) -> datetime:
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    if _local_ok(zone, hours, now):
        return now
    day = local.date() if local.time() < hours.start else local.date() + timedelta(days=1)
    return datetime.combine(day, hours.start, tzinfo=tz)


def next_callable_time(
    zones: Iterable[str], hours: CallingHours, now: datetime, *, horizon_days: int = 14
) -> datetime | None:
    """The earliest moment at or after `now` when every zone allows a call, or None."""
    zone_list = list(zones)
    candidate = now
    limit = now + timedelta(days=horizon_days)
    while candidate <= limit:
        if is_callable(zone_list, hours, candidate):
            return candidate
        candidate = max(_next_open_in(z, hours, candidate) for z in zone_list)
        if is_callable(zone_list, hours, candidate):
            return candidate
        # Windows in different zones may not overlap on this day; nudge forward and retry.
        candidate += timedelta(minutes=15)
    return None
