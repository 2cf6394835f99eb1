"""Compliance rule packs by example: one test per rule, at its edges, across DST."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.compliance import (
    CallPolicy,
    CallVerdict,
    RulePack,
    WaitReason,
    check_call,
    effective_policy,
    load_pack,
    next_allowed,
    pack_for_number,
)
from campaigns.errors import NotFoundError, ValidationError
from campaigns.model import CallingHours

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")

US = effective_policy(load_pack("us"))
UK = effective_policy(load_pack("uk"))
CN = effective_policy(load_pack("cn"))

CN_NUMBER, CN_ZONES = "+8613800138000", ("Asia/Shanghai",)
UK_NUMBER, UK_ZONES = "+442071234567", ("Europe/London",)
NY_NUMBER, NY_ZONES = "+12125551234", ("America/New_York",)  # New York: federal rules only
FL_NUMBER, FL_ZONES = "+13055551234", ("America/New_York",)

WEDNESDAY = date(2026, 11, 18)  # an ordinary working day in every pack
SUNDAY = date(2026, 11, 22)


def local(day: date, hh: int, mm: int = 0, tz: ZoneInfo = NY, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=tz)


def check(
    policy: CallPolicy,
    number: str,
    zones: Sequence[str],
    at: datetime,
    history: Sequence[datetime] = (),
    abandoned: Sequence[datetime] = (),
) -> CallVerdict:
    return check_call(policy, number, zones, at, history, abandoned)


def allowed(policy: CallPolicy, number: str, zones: Sequence[str], at: datetime) -> bool:
    return check(policy, number, zones, at).allowed


# --------------------------------------------------------------------------- packs


def test_packs_are_versioned_and_tagged() -> None:
    assert [load_pack(n).tag for n in ("us", "uk", "cn")] == ["us@1", "uk@1", "cn@1"]
    assert load_pack("us") is load_pack("us")  # read once
    assert US.tag == "us@1"


@pytest.mark.parametrize("name", ["fr", "../us", "US", ""])
def test_unknown_pack_is_not_found(name: str) -> None:
    with pytest.raises(NotFoundError, match="cn, uk, us"):
        load_pack(name)


def test_pack_for_number_by_country_code_and_overrides() -> None:
    assert pack_for_number("+12125551234") == "us"
    assert pack_for_number("+447911123456") == "uk"
    assert pack_for_number("+8613800138000") == "cn"
    assert pack_for_number("+12125551234", {"+1": "cn"}) == "cn"
    assert pack_for_number("+33612345678", {"33": "uk"}) == "uk"
    with pytest.raises(ValidationError, match="no compliance rule pack"):
        pack_for_number("+33612345678")
    with pytest.raises(ValidationError, match="E.164"):
        pack_for_number("13800138000")


# --------------------------------------------------------------------------- windows


def test_us_federal_window_is_eight_to_nine_local() -> None:
    day = WEDNESDAY
    assert not allowed(US, NY_NUMBER, NY_ZONES, local(day, 7, 59, ss=59))
    assert allowed(US, NY_NUMBER, NY_ZONES, local(day, 8))
    assert allowed(US, NY_NUMBER, NY_ZONES, local(day, 20, 59, ss=59))
    verdict = check(US, NY_NUMBER, NY_ZONES, local(day, 21))
    assert verdict.reason is WaitReason.OUTSIDE_HOURS
    assert verdict.until == local(day + timedelta(days=1), 8)


@pytest.mark.parametrize(
    ("number", "zone", "state", "opens", "closes"),
    [
        ("+13055551234", NY, "FL", 8, 20),
        ("+18504321234", CHICAGO, "FL", 8, 20),  # the Panhandle is on Central time
        ("+16175551234", NY, "MA", 8, 20),
        ("+14105551234", NY, "MD", 8, 20),
        ("+14055551234", CHICAGO, "OK", 8, 20),
        ("+12035551234", NY, "CT", 9, 20),
        ("+17025551234", LA, "NV", 9, 20),
        ("+15025551234", NY, "KY", 10, 21),
        ("+12145551234", CHICAGO, None, 8, 21),  # Texas: federal rules
    ],
)
def test_stricter_state_windows(
    number: str, zone: ZoneInfo, state: str | None, opens: int, closes: int
) -> None:
    zones = (str(zone),)
    region = load_pack("us").region_of(number)
    assert (region.code if region else None) == state
    assert not allowed(US, number, zones, local(WEDNESDAY, opens - 1, 59, zone))
    assert allowed(US, number, zones, local(WEDNESDAY, opens, 0, zone))
    assert allowed(US, number, zones, local(WEDNESDAY, closes - 1, 59, zone))
    late = check(US, number, zones, local(WEDNESDAY, closes, 0, zone))
    assert late.reason is WaitReason.OUTSIDE_HOURS
    assert late.until == local(WEDNESDAY + timedelta(days=1), opens, 0, zone)
    assert late.explanation.endswith(f"({'us@1 ' + state if state else 'us@1'})")


def test_kentucky_opens_at_ten() -> None:
    verdict = check(US, "+15025551234", NY_ZONES, local(WEDNESDAY, 9, 30))
    assert not verdict.allowed
    assert verdict.until == local(WEDNESDAY, 10)
    assert verdict.explanation == (
        "outside the calling window 10:00-21:00 in America/New_York "
        "until 10:00 America/New_York (us@1 KY)"
    )


@pytest.mark.parametrize("number", ["+12055551234", "+15045551234", "+16015551234"])
def test_no_sunday_calls_in_alabama_louisiana_mississippi(number: str) -> None:
    zones = ("America/Chicago",)
    verdict = check(US, number, zones, local(SUNDAY, 12, 0, CHICAGO))
    assert verdict.reason is WaitReason.DAY_NOT_ALLOWED
    assert verdict.until == local(SUNDAY + timedelta(days=1), 8, 0, CHICAGO)
    assert "no calls on Sundays in America/Chicago" in verdict.explanation
    assert allowed(US, number, zones, local(SUNDAY - timedelta(days=1), 12, 0, CHICAGO))


def test_sunday_calls_elsewhere_in_the_us() -> None:
    assert allowed(US, "+12145551234", ("America/Chicago",), local(SUNDAY, 12, 0, CHICAGO))


def test_the_window_is_read_in_the_called_party_zone_not_utc() -> None:
    # 13:30 UTC is 08:30 in New York but 06:30 in Los Angeles.
    at = datetime(2026, 11, 18, 13, 30, tzinfo=UTC)
    assert allowed(US, NY_NUMBER, NY_ZONES, at)
    assert not allowed(US, "+13105551234", ("America/Los_Angeles",), at)


def test_every_candidate_zone_must_allow() -> None:
    # A Nevada number in both Mountain (Boise) and Pacific time: 16:30 UTC is 09:30 in Boise
    # and 08:30 in Los Angeles, before Nevada's 09:00.
    number, zones = "+17752231234", ("America/Boise", "America/Los_Angeles")
    verdict = check(US, number, zones, datetime(2026, 11, 25, 16, 30, tzinfo=UTC))
    assert verdict.reason is WaitReason.OUTSIDE_HOURS
    assert verdict.until == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert "until 09:00 America/Los_Angeles" in verdict.explanation
    # In the evening it is Boise that closes first: 20:30 there, 19:30 in Los Angeles.
    evening = check(US, number, zones, datetime(2026, 11, 19, 3, 30, tzinfo=UTC))
    assert "in America/Boise" in evening.explanation
    assert evening.until == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)  # 09:00 Los Angeles


def test_zone_pair_with_different_dst_rules() -> None:
    # Area code 928: Arizona's Phoenix (no DST) and the Navajo Nation's Denver time.
    number, zones = "+19282831234", ("America/Denver", "America/Phoenix")
    summer = check(US, number, zones, datetime(2026, 7, 15, 14, 30, tzinfo=UTC))
    assert not summer.allowed  # 08:30 in Denver, 07:30 in Phoenix
    assert summer.until == datetime(2026, 7, 15, 15, 0, tzinfo=UTC)
    assert allowed(US, number, zones, datetime(2026, 12, 15, 15, 0, tzinfo=UTC))  # 08:00 in both


def test_window_follows_dst_in_new_york_and_london() -> None:
    # 12:30 UTC is 08:30 EDT in summer but 07:30 EST in winter.
    assert allowed(US, NY_NUMBER, NY_ZONES, datetime(2026, 7, 15, 12, 30, tzinfo=UTC))
    assert not allowed(US, NY_NUMBER, NY_ZONES, datetime(2026, 1, 14, 12, 30, tzinfo=UTC))
    # 07:30 UTC on the Monday after the clocks go forward is 08:30 BST.
    assert allowed(UK, UK_NUMBER, UK_ZONES, datetime(2026, 3, 30, 7, 30, tzinfo=UTC))
    assert not allowed(UK, UK_NUMBER, UK_ZONES, datetime(2026, 3, 27, 7, 30, tzinfo=UTC))


# --------------------------------------------------------------------------- holidays


def test_us_federal_holiday_is_read_on_the_local_date() -> None:
    # 00:30 UTC on 27 November is still Thanksgiving evening (19:30) in New York.
    verdict = check(US, NY_NUMBER, NY_ZONES, datetime(2026, 11, 27, 0, 30, tzinfo=UTC))
    assert verdict.reason is WaitReason.HOLIDAY
    assert verdict.reasons == (WaitReason.HOLIDAY,)
    assert verdict.until == local(date(2026, 11, 27), 8)
    assert "2026-11-26 is a holiday in America/New_York" in verdict.explanation


def test_china_national_day_week() -> None:
    verdict = check(CN, CN_NUMBER, CN_ZONES, local(date(2026, 10, 3), 10, 0, SHANGHAI))
    assert verdict.reason is WaitReason.HOLIDAY
    assert verdict.until == local(date(2026, 10, 8), 8, 0, SHANGHAI)


def test_uk_sunday_then_easter_monday() -> None:
    verdict = check(UK, UK_NUMBER, UK_ZONES, local(date(2026, 4, 4), 21, 30, LONDON))
    assert verdict.reason is WaitReason.OUTSIDE_HOURS  # Saturday evening
    assert verdict.until == local(date(2026, 4, 7), 8, 0, LONDON)  # Sunday, then a bank holiday


def test_campaign_holidays_add_to_the_pack() -> None:
    policy = effective_policy(load_pack("cn"), holidays=[WEDNESDAY])
    verdict = check(policy, CN_NUMBER, CN_ZONES, local(WEDNESDAY, 10, 0, SHANGHAI))
    assert verdict.reason is WaitReason.HOLIDAY
    assert verdict.until == local(WEDNESDAY + timedelta(days=1), 8, 0, SHANGHAI)
    assert allowed(CN, CN_NUMBER, CN_ZONES, local(WEDNESDAY, 10, 0, SHANGHAI))


# --------------------------------------------------------------------------- caps and cool-off


def test_florida_allows_three_calls_per_24_hours() -> None:
    first = local(WEDNESDAY, 9)
    calls = [first, first + timedelta(hours=2), first + timedelta(hours=4)]
    at = first + timedelta(hours=6)
    verdict = check(US, FL_NUMBER, FL_ZONES, at, calls)
    assert verdict.reason is WaitReason.CAP_24H
    assert verdict.until == first + timedelta(hours=24)
    assert "cap of 3 calls per 24 h reached" in verdict.explanation
    assert check(US, FL_NUMBER, FL_ZONES, first + timedelta(hours=24), calls).allowed
    assert check(US, FL_NUMBER, FL_ZONES, at, calls[:2]).allowed
    # Massachusetts is as strict on hours but has no cap.
    assert check(US, "+16175551234", NY_ZONES, at, calls).allowed


def test_cap_counts_real_hours_across_the_clock_change() -> None:
    # Calls on Saturday 7 March from 10:00 EST; the clocks go forward that night, so the
    # first call leaves the 24 h window at 11:00 EDT on Sunday, not 10:00.
    saturday = date(2026, 3, 7)
    calls = [local(saturday, 10), local(saturday, 10, 5), local(saturday, 10, 10)]
    verdict = check(US, FL_NUMBER, FL_ZONES, local(saturday + timedelta(days=1), 10, 30), calls)
    assert verdict.reason is WaitReason.CAP_24H
    assert verdict.until == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # 11:00 EDT


@pytest.mark.parametrize("number", ["+14105551234", "+14055551234"])
def test_maryland_and_oklahoma_cap_too(number: str) -> None:
    zones = ("America/New_York",) if number.startswith("+1410") else ("America/Chicago",)
    at = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
    calls = [at - timedelta(hours=h) for h in (1, 2, 3)]
    assert check(US, number, zones, at, calls).reason is WaitReason.CAP_24H


def test_cap_and_window_together() -> None:
    # Three calls late on Wednesday free up at 19:50 on Thursday, ten minutes before the
    # Florida window closes: the window opening at 08:00 does not help.
    calls = [local(WEDNESDAY, 19, 50), local(WEDNESDAY, 19, 55), local(WEDNESDAY, 19, 58)]
    thursday = WEDNESDAY + timedelta(days=1)
    morning = check(US, FL_NUMBER, FL_ZONES, local(thursday, 8), calls)
    assert morning.reason is WaitReason.CAP_24H
    assert morning.until == local(thursday, 19, 50)
    evening = check(US, FL_NUMBER, FL_ZONES, local(WEDNESDAY, 20, 30), calls)
    assert evening.reasons == (WaitReason.OUTSIDE_HOURS, WaitReason.CAP_24H)
    assert evening.until == local(thursday, 19, 50)


def test_china_caps_five_per_day_and_three_per_five_minutes() -> None:
    t0 = local(WEDNESDAY, 10, 0, SHANGHAI)
    burst = [t0, t0 + timedelta(minutes=1), t0 + timedelta(minutes=2)]
    short = check(CN, CN_NUMBER, CN_ZONES, t0 + timedelta(minutes=3), burst)
    assert short.reason is WaitReason.CAP_SHORT
    assert short.until == t0 + timedelta(minutes=5)
    assert "cap of 3 calls per 5 min reached" in short.explanation
    assert check(CN, CN_NUMBER, CN_ZONES, t0 + timedelta(minutes=5), burst).allowed

    day = [t0 + timedelta(hours=h) for h in range(5)]  # 10:00 ... 14:00
    daily = check(CN, CN_NUMBER, CN_ZONES, t0 + timedelta(hours=6), day)
    assert daily.reason is WaitReason.CAP_24H
    assert daily.until == t0 + timedelta(hours=24)
    assert not check(CN, CN_NUMBER, CN_ZONES, t0 + timedelta(hours=23, minutes=59), day).allowed


def test_later_dials_in_the_history_do_not_count_yet() -> None:
    t0 = local(WEDNESDAY, 10, 0, SHANGHAI)
    future = [t0 + timedelta(minutes=m) for m in (1, 2, 3)]
    assert check(CN, CN_NUMBER, CN_ZONES, t0, future).allowed


def test_uk_abandoned_number_waits_72_real_hours_across_the_clock_change() -> None:
    # Abandoned on Friday 10:00 BST; the clocks go back on Sunday 25 October, so 72 hours
    # later is Monday 09:00 GMT, not 10:00.
    abandoned = local(date(2026, 10, 23), 10, 0, LONDON)
    at = local(date(2026, 10, 24), 12, 0, LONDON)
    verdict = check(UK, UK_NUMBER, UK_ZONES, at, abandoned=[abandoned])
    assert verdict.reason is WaitReason.ABANDON_COOLOFF
    assert verdict.until == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert "abandoned less than 72 h ago" in verdict.explanation
    assert verdict.until is not None
    assert verdict.until.tzinfo is LONDON  # answered in the caller's zone


def test_uk_cooloff_and_sunday_together() -> None:
    # Abandoned on Thursday noon: 72 h ends on Sunday, so the next call is Monday 08:00.
    abandoned = local(date(2026, 11, 19), 12, 0, LONDON)
    verdict = check(
        UK, UK_NUMBER, UK_ZONES, local(date(2026, 11, 20), 12, 0, LONDON), (), [abandoned]
    )
    assert verdict.reason is WaitReason.ABANDON_COOLOFF
    assert verdict.until == local(date(2026, 11, 23), 8, 0, LONDON)


def test_abandon_cooloff_only_where_the_pack_says_so() -> None:
    abandoned = local(WEDNESDAY, 9, 0, SHANGHAI)
    assert check(
        CN, CN_NUMBER, CN_ZONES, local(WEDNESDAY, 10, 0, SHANGHAI), (), [abandoned]
    ).allowed


def test_every_blocking_rule_is_reported_and_until_waits_for_all() -> None:
    # A CN number capped for the day, asked about during a holiday.
    t0 = local(date(2026, 9, 24), 9, 0, SHANGHAI)  # the day before Mid-Autumn
    day = [t0 + timedelta(hours=h) for h in range(5)]
    verdict = check(CN, CN_NUMBER, CN_ZONES, local(date(2026, 9, 25), 8, 30, SHANGHAI), day)
    assert verdict.reason is WaitReason.HOLIDAY
    assert verdict.reasons == (WaitReason.HOLIDAY, WaitReason.CAP_24H)
    assert verdict.until == local(date(2026, 9, 28), 8, 0, SHANGHAI)


# --------------------------------------------------------------------------- campaigns


def test_campaign_window_narrows_the_pack() -> None:
    policy = effective_policy(load_pack("us"), CallingHours(time(10), time(18)))
    assert policy.widened == ()
    assert not allowed(policy, NY_NUMBER, NY_ZONES, local(WEDNESDAY, 9, 30))
    assert allowed(policy, NY_NUMBER, NY_ZONES, local(WEDNESDAY, 10))
    assert not allowed(policy, NY_NUMBER, NY_ZONES, local(WEDNESDAY, 18))
    # A state can narrow further: Connecticut still opens at 09:00, inside 10:00-18:00.
    early = effective_policy(load_pack("us"), CallingHours(time(8, 30), time(12)))
    assert not allowed(early, "+12035551234", NY_ZONES, local(WEDNESDAY, 8, 45))


def test_campaign_asking_for_more_than_the_pack_is_reported_and_clipped() -> None:
    policy = effective_policy(
        load_pack("uk"), CallingHours(time(7), time(22)), weekdays=[1, 2, 3, 4, 5, 6, 7]
    )
    assert policy.hours == CallingHours(time(8), time(21))
    assert policy.widened == (
        "calling hours 07:00-22:00 reach outside the uk@1 window 08:00-21:00; "
        "calls are placed 08:00-21:00 only",
        "Sun not a calling day under uk@1; no calls are placed then",
    )
    assert not allowed(policy, UK_NUMBER, UK_ZONES, local(WEDNESDAY, 7, 30, LONDON))
    assert not allowed(policy, UK_NUMBER, UK_ZONES, local(SUNDAY, 12, 0, LONDON))


def test_campaign_weekdays_narrow() -> None:
    policy = effective_policy(load_pack("cn"), weekdays=[1, 2, 3, 4, 5])
    assert policy.widened == ()
    saturday = local(date(2026, 11, 21), 10, 0, SHANGHAI)
    verdict = check(policy, CN_NUMBER, CN_ZONES, saturday)
    assert verdict.reason is WaitReason.DAY_NOT_ALLOWED
    assert verdict.until == local(date(2026, 11, 23), 8, 0, SHANGHAI)


@pytest.mark.parametrize(
    ("hours", "weekdays", "message"),
    [
        (CallingHours(time(21), time(23)), None, "do not overlap"),
        (CallingHours(time(12), time(9)), None, "are empty"),
        (None, [7], "none of Sun is a calling day under uk@1"),
        (None, [0, 8], "ISO numbers"),
    ],
)
def test_campaign_that_leaves_nothing_is_rejected(
    hours: CallingHours | None, weekdays: list[int] | None, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        effective_policy(load_pack("uk"), hours, weekdays)


def test_a_state_and_a_campaign_may_leave_no_common_window() -> None:
    policy = effective_policy(load_pack("us"), CallingHours(time(8), time(9)))
    verdict = check(policy, "+12035551234", NY_ZONES, local(WEDNESDAY, 8, 30))
    assert verdict.reason is WaitReason.OUTSIDE_HOURS and verdict.until is None
    assert "not allowed within 30 days" in verdict.explanation
    assert next_allowed(policy, "+12035551234", NY_ZONES, local(WEDNESDAY, 8, 30)) is None


# --------------------------------------------------------------------------- callbacks, verdicts


def test_callback_requested_after_hours_moves_to_the_next_opening() -> None:
    requested = local(WEDNESDAY, 22, 30, SHANGHAI)
    assert next_allowed(CN, CN_NUMBER, CN_ZONES, requested) == local(
        WEDNESDAY + timedelta(days=1), 8, 0, SHANGHAI
    )
    inside = local(WEDNESDAY, 15, 0, SHANGHAI)
    assert next_allowed(CN, CN_NUMBER, CN_ZONES, inside) == inside


def test_callback_respects_the_uk_cooloff() -> None:
    abandoned = local(WEDNESDAY, 11, 0, LONDON)
    requested = local(WEDNESDAY, 15, 0, LONDON)
    when = next_allowed(UK, UK_NUMBER, UK_ZONES, requested, (), [abandoned])
    assert when == local(date(2026, 11, 21), 11, 0, LONDON)  # Saturday, 72 h later


def test_allowed_verdict() -> None:
    at = local(WEDNESDAY, 12, 0, SHANGHAI)
    verdict = check(CN, CN_NUMBER, CN_ZONES, at)
    assert verdict == CallVerdict(True, None, at, "allowed under cn@1", "cn@1")


def test_explanation_names_the_local_time() -> None:
    verdict = check(CN, CN_NUMBER, CN_ZONES, local(WEDNESDAY, 7, 0, SHANGHAI))
    assert verdict.explanation == (
        "outside the calling window 08:00-21:00 in Asia/Shanghai until 08:00 Asia/Shanghai (cn@1)"
    )


def test_naive_times_and_missing_zones_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        check(CN, CN_NUMBER, CN_ZONES, datetime(2026, 11, 18, 10))
    with pytest.raises(ValidationError, match="timezone-aware"):
        check(CN, CN_NUMBER, CN_ZONES, local(WEDNESDAY, 10, 0, SHANGHAI), [datetime(2026, 11, 18)])
    with pytest.raises(ValidationError, match="at least one"):
        check(CN, CN_NUMBER, (), local(WEDNESDAY, 10, 0, SHANGHAI))
    with pytest.raises(ValidationError, match="unknown time zone"):
        check(CN, CN_NUMBER, ("Mars/Olympus",), local(WEDNESDAY, 10, 0, SHANGHAI))


# --------------------------------------------------------------------------- DST edges


def custom_policy(start: time, end: time) -> CallPolicy:
    """A pack with a night window, to put its edges inside DST gaps and repeated hours."""
    pack = RulePack("night", 1, CallingHours(start, end), frozenset(range(1, 8)), frozenset())
    return effective_policy(pack)


def test_window_opening_inside_a_dst_gap_opens_at_the_transition() -> None:
    # On 8 March 2026 New York skips 02:00-03:00; a window from 02:30 opens at 03:00 EDT.
    policy = custom_policy(time(2, 30), time(5))
    at = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    opened = next_allowed(policy, NY_NUMBER, NY_ZONES, at)
    assert opened == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert check(policy, NY_NUMBER, NY_ZONES, opened).allowed
    assert not check(policy, NY_NUMBER, NY_ZONES, opened - timedelta(microseconds=1)).allowed


def test_window_closing_inside_a_repeated_hour_reopens_when_the_hour_repeats() -> None:
    # On 1 November 2026 New York runs 01:00-02:00 twice; a window ending 01:30 closes at
    # 01:30 EDT and opens again at 01:00 EST.
    policy = custom_policy(time(0), time(1, 30))
    at = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert not check(policy, NY_NUMBER, NY_ZONES, at).allowed
    assert next_allowed(policy, NY_NUMBER, NY_ZONES, at) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def test_window_opening_in_a_repeated_hour_opens_on_its_first_pass() -> None:
    policy = custom_policy(time(1, 15), time(4))
    at = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    assert next_allowed(policy, NY_NUMBER, NY_ZONES, at) == datetime(2026, 11, 1, 5, 15, tzinfo=UTC)


def test_window_opening_in_a_repeated_hour_opens_again_on_its_second_pass() -> None:
    # 01:10 EST comes after the window opened at 01:15 EDT, but the clock went back to
    # 01:00 and reaches 01:15 a second time.
    policy = custom_policy(time(1, 15), time(4))
    at = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert not check(policy, NY_NUMBER, NY_ZONES, at).allowed
    assert next_allowed(policy, NY_NUMBER, NY_ZONES, at) == datetime(2026, 11, 1, 6, 15, tzinfo=UTC)
