"""A brute-force oracle for the compliance rules, shared by the unit properties and the
dialing engine's properties.

It reads the rules straight from their definition: look at the wall clock in every
candidate zone, count dials in the trailing window. It shares no code with
`campaigns.compliance`'s search for the next allowed instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from campaigns.compliance import CallPolicy
from campaigns.phone import time_zones

#: Real numbers whose candidate zones differ (found with phonenumbers.timezone).
MULTI_ZONE = [
    "+12085551234",  # Idaho: America/Boise, America/Los_Angeles
    "+17752231234",  # Nevada (09:00-20:00): America/Boise, America/Los_Angeles
    "+19075551234",  # Alaska: America/Adak, America/Anchorage
    "+19282831234",  # Arizona: America/Denver, America/Phoenix (no DST)
    "+16059001234",  # South Dakota: America/Denver, America/North_Dakota/Center
    "+17097221234",  # Newfoundland and Labrador: America/Halifax, America/St_Johns
    "+447911123456",  # UK mobile: London and the Crown Dependencies
]
SINGLE_ZONE = [
    "+13055551234",  # Florida, New York time, capped
    "+18504321234",  # Florida Panhandle, Chicago time, capped
    "+14105551234",  # Maryland, capped
    "+14055551234",  # Oklahoma, capped
    "+12055551234",  # Alabama, no Sundays
    "+15025551234",  # Kentucky, 10:00-21:00
    "+12035551234",  # Connecticut, 09:00-20:00
    "+13105551234",  # California, federal rules
    "+442071234567",  # London
    "+8613800138000",  # China, capped twice
]
ZONES = {n: time_zones(n) for n in MULTI_ZONE + SINGLE_ZONE}
CAPPED = ["+13055551234", "+18504321234", "+14105551234", "+14055551234", "+8613800138000"]

#: Days on which some zone of ours changes its clocks, 2026 and 2027.
DST_DAYS = [
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2027, 3, 14),
    date(2027, 3, 28),
    date(2027, 10, 31),
    date(2027, 11, 7),
]


@dataclass(frozen=True)
class Case:
    policy: CallPolicy
    number: str
    zones: tuple[str, ...]
    at: datetime
    history: tuple[datetime, ...]
    abandoned: tuple[datetime, ...]


def oracle(case: Case, t: datetime, history: Sequence[datetime] | None = None) -> bool:
    """Whether a call at t is allowed, straight from the rules' definitions."""
    dials = case.history if history is None else history
    policy, pack = case.policy, case.policy.pack
    start, end, days = policy.hours.start, policy.hours.end, policy.days
    caps = list(pack.caps)
    region = pack.region_of(case.number)
    if region is not None:
        if region.hours is not None:
            start, end = max(start, region.hours.start), min(end, region.hours.end)
        if region.days is not None:
            days = days & region.days
        caps += region.caps
    for zone in case.zones:
        wall = t.astimezone(ZoneInfo(zone))
        if wall.date() in policy.holidays or wall.isoweekday() not in days:
            return False
        if not start <= wall.time() < end:
            return False
    # Elapsed time is real time: datetimes sharing a tzinfo subtract and compare by wall
    # clock in Python, which is an hour off across a clock change, so compare in UTC.
    t = t.astimezone(UTC)
    for cap in caps:
        if sum(1 for d in dials if t - cap.per < d.astimezone(UTC) <= t) >= cap.calls:
            return False
    cooloff = pack.abandon_cooloff
    abandoned = [a.astimezone(UTC) for a in case.abandoned]
    return cooloff is None or not any(a <= t < a + cooloff for a in abandoned)
