"""Property tests for the compliance rules, against a brute-force oracle.

The oracle reads the rules straight from their definition: look at the wall clock in every
candidate zone, count dials in the trailing window. It shares no code with the module's
search for the next allowed instant, which jumps between candidate instants.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from compliance_oracle import CAPPED, DST_DAYS, MULTI_ZONE, SINGLE_ZONE, ZONES, Case, oracle
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from campaigns.compliance import (
    CallPolicy,
    check_call,
    effective_policy,
    load_pack,
    next_allowed,
    pack_for_number,
)
from campaigns.model import CallingHours

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def test_sample_numbers_have_the_zones_we_think() -> None:
    assert all(len(ZONES[n]) > 1 for n in MULTI_ZONE)
    assert all(len(ZONES[n]) == 1 for n in SINGLE_ZONE)


# --------------------------------------------------------------------------- the oracle


# --------------------------------------------------------------------------- strategies


instants = st.one_of(
    st.integers(0, 2 * 365 * 86400).map(lambda s: EPOCH + timedelta(seconds=s)),
    st.builds(
        lambda day, s: datetime.combine(day, time(8), tzinfo=UTC) + timedelta(seconds=s),
        st.sampled_from(DST_DAYS),
        st.integers(-3 * 86400, 3 * 86400),
    ),
)
#: Shown to the module in a zone of the caller's choosing; the instant is what matters.
caller_zones = st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")])


@st.composite
def policies(draw: st.DrawFn, number: str) -> CallPolicy:
    pack = load_pack(pack_for_number(number))
    if not draw(st.booleans()):
        return effective_policy(pack)
    opens = draw(st.integers(6, 14))
    closes = draw(st.integers(max(opens + 1, 9), 23))  # some overlap with 08:00-21:00
    weekdays = draw(st.sets(st.integers(1, 7), min_size=1)) | {3}  # keep one pack day
    holidays = draw(st.lists(st.dates(date(2026, 1, 1), date(2028, 1, 31)), max_size=20))
    # Narrowing may leave nothing for some numbers; the properties cover that case too.
    return effective_policy(pack, CallingHours(time(opens), time(closes)), weekdays, holidays)


@st.composite
def cases(draw: st.DrawFn, numbers: Sequence[str] = MULTI_ZONE + SINGLE_ZONE) -> Case:
    number = draw(st.sampled_from(numbers))
    at = draw(instants).astimezone(draw(caller_zones))
    # Dials in the last two days, many of them in the last few minutes to reach the caps.
    ago = st.one_of(st.integers(0, 600), st.integers(0, 2 * 86400))
    history = tuple(at - timedelta(seconds=s) for s in draw(st.lists(ago, max_size=8)))
    abandoned = tuple(
        at - timedelta(seconds=s) for s in draw(st.lists(st.integers(0, 4 * 86400), max_size=2))
    )
    return Case(draw(policies(number)), number, ZONES[number], at, history, abandoned)


def verdict_of(case: Case, t: datetime) -> bool:
    return check_call(case.policy, case.number, case.zones, t, case.history, case.abandoned).allowed


def earliest(case: Case) -> datetime | None:
    return next_allowed(case.policy, case.number, case.zones, case.at, case.history, case.abandoned)


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(case=cases())
def test_check_call_agrees_with_the_rules_in_every_zone(case: Case) -> None:
    verdict = check_call(
        case.policy, case.number, case.zones, case.at, case.history, case.abandoned
    )
    assert verdict.allowed == oracle(case, case.at)
    assert verdict.allowed == (verdict.reason is None)
    if verdict.allowed:
        # Spelled out: every candidate zone is inside its window on a calling day.
        for zone in case.zones:
            wall = case.at.astimezone(ZoneInfo(zone))
            assert case.policy.hours.start <= wall.time() < case.policy.hours.end
            assert wall.date() not in case.policy.holidays
            assert wall.isoweekday() in case.policy.days


@settings(max_examples=100, deadline=None)
@given(case=cases(), fractions=st.lists(st.floats(0, 1), min_size=30, max_size=30))
def test_next_allowed_is_allowed_and_nothing_earlier_is(case: Case, fractions: list[float]) -> None:
    found = earliest(case)
    verdict = check_call(
        case.policy, case.number, case.zones, case.at, case.history, case.abandoned
    )
    assert verdict.until == found
    end = found if found is not None else case.at + timedelta(days=30)
    if found is not None:
        assert found >= case.at
        assert verdict_of(case, found) and oracle(case, found)
        if found > case.at:
            # The answer is the left edge of an allowed stretch, to the microsecond.
            assert not oracle(case, found - timedelta(microseconds=1))
    # Minutes in between, sampled: none is allowed.
    first_minute = math.ceil(case.at.timestamp() / 60)
    minutes = int((end.timestamp() - 60 * first_minute) // 60)
    for fraction in fractions if minutes > 0 else ():
        moment = datetime.fromtimestamp(60 * (first_minute + int(fraction * minutes)), UTC)
        if moment < end:
            assert not oracle(case, moment), moment


@settings(max_examples=12, deadline=None)
@given(case=cases())
def test_next_allowed_minute_by_minute(case: Case) -> None:
    found = earliest(case)
    assume(found is not None and found - case.at < timedelta(days=2))
    assert found is not None
    moment = datetime.fromtimestamp(60 * math.ceil(case.at.timestamp() / 60), UTC)
    while moment < found:
        assert not oracle(case, moment), moment
        moment += timedelta(minutes=1)
    assert oracle(case, found)


@settings(max_examples=40, deadline=None)
@given(
    case=cases(numbers=CAPPED),
    gaps=st.lists(st.integers(1, 900), min_size=1, max_size=5),
)
def test_a_greedy_dialer_never_exceeds_a_cap(case: Case, gaps: list[int]) -> None:
    calls = greedy_dialer(case, gaps, days=3)
    pack = case.policy.pack
    region = pack.region_of(case.number)
    caps = pack.caps + (region.caps if region else ())
    assert caps
    for cap in caps:
        assert busiest(calls, cap.per) <= cap.calls


def greedy_dialer(case: Case, gaps: Sequence[int], days: int) -> list[datetime]:
    """Dial as soon as the rules allow; each call holds the line for the next gap."""
    calls: list[datetime] = []
    t, stop = case.at, case.at + timedelta(days=days)
    while True:
        when = next_allowed(
            case.policy, case.number, case.zones, t, calls, case.abandoned, horizon=stop - t
        )
        if when is None:
            return calls
        assert check_call(case.policy, case.number, case.zones, when, calls, case.abandoned).allowed
        assert oracle(case, when, calls)
        calls.append(when)
        t = when + timedelta(seconds=gaps[len(calls) % len(gaps)])


def busiest(calls: Sequence[datetime], per: timedelta) -> int:
    """The most calls in any stretch of length `per` (the busiest one starts at a call)."""
    moments = [c.astimezone(UTC) for c in calls]  # real time, as in `oracle`
    return max((sum(1 for c in moments if s <= c < s + per) for s in moments), default=0)


def test_the_greedy_dialer_reaches_the_caps_exactly() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    number = "+8613800138000"
    at = datetime(2026, 11, 18, 7, 0, tzinfo=shanghai)
    case = Case(effective_policy(load_pack("cn")), number, ZONES[number], at, (), ())
    calls = greedy_dialer(case, [1], days=2)
    day = [c.astimezone(shanghai).strftime("%d %H:%M:%S") for c in calls]
    assert day == [
        "18 08:00:00",
        "18 08:00:01",
        "18 08:00:02",
        "18 08:05:00",
        "18 08:05:01",
        "19 08:00:00",  # 24 h after the first
        "19 08:00:01",
        "19 08:00:02",
        "19 08:05:00",
        "19 08:05:01",
    ]
    assert busiest(calls, timedelta(hours=24)) == 5
    assert busiest(calls, timedelta(minutes=5)) == 3
