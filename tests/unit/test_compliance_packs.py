"""The rule packs' data: well formed, and checked against independent sources.

The area-code table is checked against phonenumbers' geocoding, the holiday lists against
the calendar rules that define them, so a typo in the JSON fails here.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import phonenumbers
import pytest
from phonenumbers import geocoder

from campaigns.compliance import available_packs, load_pack

STATES = {
    "FL": "Florida",
    "MA": "Massachusetts",
    "MD": "Maryland",
    "OK": "Oklahoma",
    "CT": "Connecticut",
    "NV": "Nevada",
    "KY": "Kentucky",
    "AL": "Alabama",
    "LA": "Louisiana",
    "MS": "Mississippi",
}
#: Overlays newer than the phonenumbers metadata; the pack's note names them.
NEWER_THAN_PHONENUMBERS = {"457": "LA", "471": "MS", "761": "KY"}
SUBSCRIBER_SAMPLES = ("2345678", "5550123", "3001234", "4567890", "8234567", "9301234")


def test_every_packaged_pack_loads_with_a_source_and_current_holidays() -> None:
    assert available_packs() == ("cn", "uk", "us")
    for name in available_packs():
        pack = load_pack(name)
        assert pack.tag == f"{name}@{pack.version}"
        assert pack.source
        assert pack.holidays_through is not None and pack.holidays_through >= date(2026, 12, 31)
        assert all(d <= pack.holidays_through for d in pack.holidays)


def test_regions_only_narrow_the_federal_rules() -> None:
    pack = load_pack("us")
    assert {r.code for r in pack.regions} == set(STATES)
    for region in pack.regions:
        assert region.name == STATES[region.code]
        if region.hours is not None:
            assert pack.hours.start <= region.hours.start < region.hours.end <= pack.hours.end
        if region.days is not None:
            assert region.days < pack.days


def state_by_phonenumbers(area_code: str) -> str | None:
    """The state phonenumbers' geocoder gives an area code, or None if it does not know it."""
    for subscriber in SUBSCRIBER_SAMPLES:
        parsed = phonenumbers.parse(f"+1{area_code}{subscriber}")
        if not phonenumbers.is_valid_number(parsed):
            continue
        where = geocoder.description_for_number(parsed, "en")
        if ", " in where:  # 'Palm Beach, FL'
            return where.rsplit(", ", 1)[1]
        return next((code for code, name in STATES.items() if name == where), where)
    return None


def test_area_code_table_matches_phonenumbers_geocoding() -> None:
    table = {a: r.code for r in load_pack("us").regions for a in r.area_codes}
    geocoded = {
        a: state
        for a in (str(n) for n in range(200, 1000))
        if (state := state_by_phonenumbers(a)) in STATES
    }
    # Every area code phonenumbers places in one of these states is in the table...
    assert {a: table.get(a) for a in geocoded} == geocoded
    # ...and every area code in the table is either placed there too or newer than its data.
    unknown = {a: s for a, s in table.items() if a not in geocoded}
    assert unknown == NEWER_THAN_PHONENUMBERS
    assert all(state_by_phonenumbers(a) is None for a in unknown)


def test_pack_resolves_states_by_area_code() -> None:
    pack = load_pack("us")
    for number, state in [
        ("+17272345678", "FL"),
        ("+14482345678", "FL"),  # 850's overlay
        ("+16452345678", "FL"),  # 305/786's second overlay
        ("+12272345678", "MD"),  # 240/301's overlay
        ("+15722345678", "OK"),
        ("+19592345678", "CT"),
        ("+17252345678", "NV"),
        ("+13642345678", "KY"),
        ("+19382345678", "AL"),
        ("+14572345678", "LA"),
        ("+14712345678", "MS"),
    ]:
        region = pack.region_of(number)
        assert region is not None and region.code == state, number
    for outside in ("+12125551234", "+14165551234", "+8613800138000", "+1305555123"):
        assert pack.region_of(outside) is None


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday of a month; n = -1 is the last."""
    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month]
    return [d for d in days if d.weekday() == weekday][n]


def observed(day: date) -> set[date]:
    """A fixed-date federal holiday and, when it falls on a weekend, the weekday observed."""
    if day.weekday() == 5:
        return {day, day - timedelta(days=1)}
    if day.weekday() == 6:
        return {day, day + timedelta(days=1)}
    return {day}


def us_federal_holidays(year: int) -> set[date]:
    mon, thu = calendar.MONDAY, calendar.THURSDAY
    days = {
        nth_weekday(year, 1, mon, 2),  # MLK Day, 3rd Monday (0-based index 2)
        nth_weekday(year, 2, mon, 2),
        nth_weekday(year, 5, mon, -1),
        nth_weekday(year, 9, mon, 0),
        nth_weekday(year, 10, mon, 1),
        nth_weekday(year, 11, thu, 3),
    }
    for month, day in [(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)]:
        days |= observed(date(year, month, day))
    if date(year + 1, 1, 1).weekday() == 5:  # next New Year's Day observed on 31 December
        days.add(date(year, 12, 31))
    return days


def test_us_holidays_are_the_federal_holidays() -> None:
    assert load_pack("us").holidays == us_federal_holidays(2026) | us_federal_holidays(2027)


def easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month = (h + l_ - 7 * m + 90) // 25
    return date(year, month, (h + l_ - 7 * m + 33 * month + 19) % 32)


def england_bank_holidays(year: int) -> set[date]:
    mon = calendar.MONDAY
    new_year = date(year, 1, 1)
    while new_year.weekday() >= 5:
        new_year += timedelta(days=1)
    christmas, boxing = date(year, 12, 25), date(year, 12, 26)
    if christmas.weekday() >= 5:  # both move to the following Monday and Tuesday
        christmas, boxing = (
            christmas + timedelta(days=7 - christmas.weekday()),
            christmas + timedelta(days=8 - christmas.weekday()),
        )
    elif boxing.weekday() == 5:
        boxing += timedelta(days=2)
    return {
        new_year,
        easter(year) - timedelta(days=2),
        easter(year) + timedelta(days=1),
        nth_weekday(year, 5, mon, 0),
        nth_weekday(year, 5, mon, -1),
        nth_weekday(year, 8, mon, -1),
        christmas,
        boxing,
    }


def test_uk_holidays_are_england_and_wales_bank_holidays() -> None:
    assert easter(2026) == date(2026, 4, 5) and easter(2027) == date(2027, 3, 28)
    assert load_pack("uk").holidays == england_bank_holidays(2026) | england_bank_holidays(2027)


@pytest.mark.parametrize(
    ("first", "days"),
    [
        (date(2026, 1, 1), 3),
        (date(2026, 2, 15), 9),
        (date(2026, 4, 4), 3),
        (date(2026, 5, 1), 5),
        (date(2026, 6, 19), 3),
        (date(2026, 9, 25), 3),
        (date(2026, 10, 1), 7),
    ],
)
def test_china_2026_holiday_blocks(first: date, days: int) -> None:
    holidays = load_pack("cn").holidays
    block = {first + timedelta(days=i) for i in range(days)}
    assert block <= holidays
    assert first - timedelta(days=1) not in holidays
    assert first + timedelta(days=days) not in holidays


def test_china_holidays_are_only_the_announced_blocks() -> None:
    assert len(load_pack("cn").holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
