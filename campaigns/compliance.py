"""Compliance rule packs: calling windows, calling days, holidays and per-number call caps.

A rule pack is data, shipped as ``campaigns/packs/<name>.json`` and versioned: its tag
(``us@1``) goes with every verdict, so an audit can tell which rules allowed a call. Extending
a pack's holiday or area-code lists is maintenance; changing what a rule means is a new
version.

How the rules read:

- Windows and days are read on the called party's wall clock, in **every** candidate zone
  of the number (`campaigns.phone.time_zones`); a call is allowed only if all of them allow
  it. A window is half-open: 08:00-21:00 allows 08:00:00 and refuses 21:00:00. Holidays and
  calling days are matched against each zone's local date.
- A cap of N calls per W allows a call at t when fewer than N dials of the number lie in
  (t - W, t], so no stretch of time of length W ever holds more than N dials. The history
  is one number's dials on one subject; a campaign counts as one subject.
- After an abandoned call, the pack's cool-off (UK: 72 h) must pass before a redial.
- A US number's state comes from its area code; a state can narrow the window, drop days
  and add caps, never widen.
- A campaign can only narrow its pack (`effective_policy`); what it asked for beyond the
  pack is reported in `CallPolicy.widened` so the UI can warn.

Every instant is handled in UTC and converted with zoneinfo only to read a wall clock, so
"72 h" means 72 real hours whatever the clocks do. A window whose edge falls in a DST gap or
a repeated hour opens where the wall clock really reaches it (see `_openings`).
"""

from __future__ import annotations

import enum
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns.errors import ConfigurationError, NotFoundError, ValidationError
from campaigns.model import CallingHours

#: How far ahead `next_allowed` looks before giving up.
HORIZON = timedelta(days=30)

#: Default pack by country calling code; a campaign can override it.
DEFAULT_PACKS: Mapping[str, str] = {"1": "us", "44": "uk", "86": "cn"}

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALL_DAYS = frozenset(range(1, 8))  # ISO weekdays, Monday = 1

_PACK_NAME = re.compile(r"[a-z][a-z0-9_]*")


class WaitReason(enum.StrEnum):
    """Why a call must wait; when several apply, the first listed here is reported."""

    HOLIDAY = "HOLIDAY"
    DAY_NOT_ALLOWED = "DAY_NOT_ALLOWED"
    OUTSIDE_HOURS = "OUTSIDE_HOURS"
    ABANDON_COOLOFF = "ABANDON_COOLOFF"
    CAP_24H = "CAP_24H"
    CAP_SHORT = "CAP_SHORT"


_PRIORITY = {reason: i for i, reason in enumerate(WaitReason)}


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `calls` dials of one number in any stretch of time of length `per`."""

    calls: int
    per: timedelta

    @property
    def reason(self) -> WaitReason:
        """CAP_24H for daily (or longer) caps, CAP_SHORT for the burst caps."""
        return WaitReason.CAP_24H if self.per >= timedelta(hours=24) else WaitReason.CAP_SHORT

    def describe(self) -> str:
        """'3 calls per 24 h'."""
        minutes = int(self.per.total_seconds() // 60)
        span = f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
        return f"{self.calls} calls per {span}"


@dataclass(frozen=True, slots=True)
class Region:
    """Stricter rules for part of a pack (a US state), found by the number's area code."""

    code: str
    name: str
    area_codes: frozenset[str]
    hours: CallingHours | None = None  # None: the pack's window
    days: frozenset[int] | None = None  # None: the pack's days
    caps: tuple[Cap, ...] = ()


@dataclass(frozen=True, slots=True)
class RulePack:
    """One versioned rule pack, as loaded from its JSON file."""

    name: str
    version: int
    hours: CallingHours
    days: frozenset[int]
    holidays: frozenset[date]
    caps: tuple[Cap, ...] = ()
    abandon_cooloff: timedelta | None = None
    regions: tuple[Region, ...] = ()
    holidays_through: date | None = None  # the holiday list must be extended before this
    source: str = ""

    @property
    def tag(self) -> str:
        """Name and version, as recorded with each verdict: 'us@1'."""
        return f"{self.name}@{self.version}"

    def region_of(self, number: str) -> Region | None:
        """The region whose stricter rules apply to an E.164 number, if any."""
        if not self.regions or not (number.startswith("+1") and len(number) == 12):
            return None
        area_code = number[2:5]
        return next((r for r in self.regions if area_code in r.area_codes), None)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """A pack narrowed by one campaign's hours, days and extra holidays."""

    pack: RulePack
    hours: CallingHours
    days: frozenset[int]
    holidays: frozenset[date]
    widened: tuple[str, ...] = ()  # what the campaign asked beyond the pack; not applied

    @property
    def tag(self) -> str:
        """The pack's tag."""
        return self.pack.tag


@dataclass(frozen=True, slots=True)
class CallVerdict:
    """Whether a number may be dialled at an instant, and if not, why and until when.

    `until` is the earliest instant at or after the one asked about at which the same
    question would be answered "allowed" (that instant itself when allowed), or None when
    there is none within `HORIZON`.
    """

    allowed: bool
    reason: WaitReason | None
    until: datetime | None
    explanation: str
    rule_tag: str
    reasons: tuple[WaitReason, ...] = ()  # every rule that blocks, most important first


# --------------------------------------------------------------------------- loading packs


def available_packs() -> tuple[str, ...]:
    """Names of the packaged rule packs."""
    folder = resources.files("campaigns").joinpath("packs")
    return tuple(
        sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
    )


@cache
def load_pack(name: str) -> RulePack:
    """Read a packaged rule pack ('us', 'uk', 'cn'); loaded once per process."""
    resource = resources.files("campaigns").joinpath("packs", f"{name}.json")
    if not (_PACK_NAME.fullmatch(name) and resource.is_file()):
        raise NotFoundError(
            f"no rule pack named {name!r}; packs: {', '.join(available_packs()) or 'none'}"
        )
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
        return _parse_pack(name, data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"rule pack {name!r} is malformed: {exc}") from exc


def pack_for_number(number: str, overrides: Mapping[str, str] | None = None) -> str:
    """The pack name for an E.164 number by country code; `overrides` ({'1': 'us'}) win."""
    if not number.startswith("+") or not number[1:].isdigit():
        raise ValidationError("a rule pack is chosen for E.164 numbers only (+<digits>)")
    table = {**DEFAULT_PACKS, **{k.lstrip("+"): v for k, v in (overrides or {}).items()}}
    digits = number[1:]
    # Country codes are prefix-free, but overrides may add longer keys; the longest wins.
    for length in (3, 2, 1):
        if digits[:length] in table:
            return table[digits[:length]]
    raise ValidationError(
        f"no compliance rule pack for country code +{digits[:3]}…; set one on the campaign"
    )


def _parse_pack(name: str, data: Any) -> RulePack:
    if data["name"] != name:
        raise ValueError(f"file {name}.json declares name {data['name']!r}")
    version = data["version"]
    if not isinstance(version, int) or version < 1:
        raise ValueError("version must be a positive integer")
    window = data["window"]
    hours = _hours(window)
    days = _days(window["days"])
    holidays = data.get("holidays") or {}
    through = holidays.get("through")
    cooloff = data.get("abandon_cooloff_hours")
    regions = data.get("regions") or {}
    if regions and regions.get("by") != "nanp_area_code":
        raise ValueError("regions can only be keyed by 'nanp_area_code'")
    parsed = tuple(_region(code, r) for code, r in (regions.get("table") or {}).items())
    seen: dict[str, str] = {}
    for region in parsed:
        for area_code in region.area_codes:
            if area_code in seen:
                raise ValueError(f"area code {area_code} is in {seen[area_code]} and {region.code}")
            seen[area_code] = region.code
    return RulePack(
        name=name,
        version=version,
        hours=hours,
        days=days,
        holidays=frozenset(date.fromisoformat(d) for d in holidays.get("dates") or {}),
        caps=tuple(_cap(c) for c in data.get("caps") or ()),
        abandon_cooloff=None if cooloff is None else timedelta(hours=float(cooloff)),
        regions=parsed,
        holidays_through=None if through is None else date.fromisoformat(through),
        source=str(data.get("source", "")),
    )


def _hours(window: Any) -> CallingHours:
    hours = CallingHours(time.fromisoformat(window["start"]), time.fromisoformat(window["end"]))
    if hours.start >= hours.end:
        raise ValueError(f"window {_fmt_hours(hours)} is empty")
    return hours


def _days(names: Any) -> frozenset[int]:
    days = frozenset(DAY_NAMES.index(n) + 1 for n in names)
    if not days:
        raise ValueError("a pack needs at least one calling day")
    return days


def _cap(data: Any) -> Cap:
    cap = Cap(int(data["calls"]), timedelta(minutes=int(data["per_minutes"])))
    if cap.calls < 1 or cap.per <= timedelta(0):
        raise ValueError(f"cap {data} is not positive")
    return cap


def _region(code: str, data: Any) -> Region:
    area_codes = frozenset(str(a) for a in data["area_codes"])
    bad = sorted(a for a in area_codes if not (len(a) == 3 and a.isdigit()))
    if bad:
        raise ValueError(f"region {code}: {bad} are not area codes")
    return Region(
        code=code,
        name=str(data.get("name", code)),
        area_codes=area_codes,
        hours=_hours(data["window"]) if "window" in data else None,
        days=_days(data["days"]) if "days" in data else None,
        caps=tuple(_cap(c) for c in data.get("caps") or ()),
    )


# --------------------------------------------------------------------------- campaign policy


def effective_policy(
    pack: RulePack,
    campaign_hours: CallingHours | None = None,
    weekdays: Iterable[int] | None = None,
    holidays: Iterable[date] = (),
) -> CallPolicy:
    """Narrow a pack by a campaign's hours, ISO weekdays and extra holidays.

    The result is the intersection. What the campaign asked beyond the pack is listed in
    `widened`; a campaign whose hours or days leave nothing at all is a ValidationError.
    Regional rules (a US state's) narrow further per number and are not reported here.
    """
    widened: list[str] = []
    hours = pack.hours
    if campaign_hours is not None:
        if campaign_hours.start >= campaign_hours.end:
            raise ValidationError(f"calling hours {_fmt_hours(campaign_hours)} are empty")
        narrowed = _intersect(pack.hours, campaign_hours)
        if narrowed is None:
            raise ValidationError(
                f"calling hours {_fmt_hours(campaign_hours)} do not overlap the "
                f"{pack.tag} window {_fmt_hours(pack.hours)}"
            )
        if narrowed != campaign_hours:
            widened.append(
                f"calling hours {_fmt_hours(campaign_hours)} reach outside the {pack.tag} "
                f"window {_fmt_hours(pack.hours)}; calls are placed {_fmt_hours(narrowed)} only"
            )
        hours = narrowed
    days = pack.days
    if weekdays is not None:
        asked = frozenset(weekdays)
        if not asked <= ALL_DAYS:
            raise ValidationError(f"weekdays are ISO numbers 1 (Mon) to 7 (Sun), not {asked}")
        days = asked & pack.days
        if not days:
            raise ValidationError(f"none of {_fmt_days(asked)} is a calling day under {pack.tag}")
        if asked - pack.days:
            widened.append(
                f"{_fmt_days(asked - pack.days)} not a calling day under {pack.tag}; "
                "no calls are placed then"
            )
    return CallPolicy(pack, hours, days, pack.holidays | frozenset(holidays), tuple(widened))


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class _Rules:
    """Everything that applies to one number: the policy plus its region's rules."""

    hours: CallingHours | None  # None: a region and the campaign leave no common window
    days: frozenset[int]
    holidays: frozenset[date]
    caps: tuple[Cap, ...]
    cooloff: timedelta | None
    where: str  # 'us@1 FL', for explanations


@dataclass(frozen=True, slots=True)
class _Block:
    reason: WaitReason
    release: datetime | None  # this rule alone blocks until then; None: beyond the horizon
    detail: str
    zone: str | None = None


def check_call(
    policy: CallPolicy,
    number: str,
    zones: Sequence[str],
    at: datetime,
    history: Sequence[datetime] = (),
    abandoned_at: Sequence[datetime] = (),
) -> CallVerdict:
    """Decide whether `number` (E.164, candidate `zones`) may be dialled at `at`.

    `history` holds this number's earlier dial times on this campaign, `abandoned_at` the
    times its calls were abandoned. Only entries at or before an instant count against it.
    """
    rules = _rules_for(policy, number)
    t, dials, abandons = _normalise(at, history, abandoned_at)
    tzs = _zones(zones)
    limit = t + HORIZON
    blocks = _blocks(rules, tzs, t, dials, abandons, limit)
    if not blocks:
        return CallVerdict(True, None, at, f"allowed under {rules.where}", policy.tag)
    until = _earliest(rules, tzs, t, dials, abandons, limit)
    blocks.sort(key=lambda b: _PRIORITY[b.reason])
    first = blocks[0]
    details = list(dict.fromkeys(b.detail for b in blocks))
    shown = first.zone or zones[0]
    if until is None:
        when = f"and not allowed within {HORIZON.days} days"
    else:
        when = f"until {_fmt_local(until, at, ZoneInfo(shown))} {shown}"
    return CallVerdict(
        allowed=False,
        reason=first.reason,
        until=None if until is None else until.astimezone(at.tzinfo),
        explanation=f"{'; '.join(details)} {when} ({rules.where})",
        rule_tag=policy.tag,
        reasons=tuple(dict.fromkeys(b.reason for b in blocks)),
    )


def next_allowed(
    policy: CallPolicy,
    number: str,
    zones: Sequence[str],
    at: datetime,
    history: Sequence[datetime] = (),
    abandoned_at: Sequence[datetime] = (),
    *,
    horizon: timedelta = HORIZON,
) -> datetime | None:
    """The earliest instant at or after `at` that `check_call` allows, or None within `horizon`.

    This is also the time to book a callback for: callbacks obey the same rules.
    """
    rules = _rules_for(policy, number)
    t, dials, abandons = _normalise(at, history, abandoned_at)
    found = _earliest(rules, _zones(zones), t, dials, abandons, t + horizon)
    return None if found is None else found.astimezone(at.tzinfo)


def _rules_for(policy: CallPolicy, number: str) -> _Rules:
    pack = policy.pack
    region = pack.region_of(number)
    hours: CallingHours | None = policy.hours
    days, caps, where = policy.days, pack.caps, pack.tag
    if region is not None:
        if region.hours is not None:
            hours = _intersect(policy.hours, region.hours)
        if region.days is not None:
            days = days & region.days
        caps = caps + region.caps
        where = f"{pack.tag} {region.code}"
    return _Rules(hours, days, policy.holidays, caps, pack.abandon_cooloff, where)


def _normalise(
    at: datetime, history: Sequence[datetime], abandoned_at: Sequence[datetime]
) -> tuple[datetime, list[datetime], list[datetime]]:
    # Aware arithmetic on a ZoneInfo datetime is wall-clock arithmetic; in UTC it is real time.
    for moment in (at, *history, *abandoned_at):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValidationError("compliance checks need timezone-aware datetimes")
    return (
        at.astimezone(UTC),
        sorted(h.astimezone(UTC) for h in history),
        sorted(a.astimezone(UTC) for a in abandoned_at),
    )


def _zones(zones: Sequence[str]) -> list[tuple[str, tzinfo]]:
    if not zones:
        raise ValidationError("a number needs at least one candidate time zone")
    try:
        return [(zone, ZoneInfo(zone)) for zone in zones]
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone in {list(zones)}") from exc


def _earliest(
    rules: _Rules,
    zones: list[tuple[str, tzinfo]],
    t: datetime,
    dials: list[datetime],
    abandons: list[datetime],
    limit: datetime,
) -> datetime | None:
    # Each blocking rule blocks at least until its release, so the latest release is a lower
    # bound for the answer; jump there and look again until nothing blocks.
    while t <= limit:
        blocks = _blocks(rules, zones, t, dials, abandons, limit)
        if not blocks:
            return t
        releases = [b.release for b in blocks]
        if any(r is None for r in releases):
            return None
        later = max(r for r in releases if r is not None)
        if later <= t:  # a release must lie ahead, or this loop would never end
            raise RuntimeError(f"compliance rules made no progress at {t.isoformat()}")
        t = later
    return None


def _blocks(
    rules: _Rules,
    zones: list[tuple[str, tzinfo]],
    t: datetime,
    dials: list[datetime],
    abandons: list[datetime],
    limit: datetime,
) -> list[_Block]:
    blocks: list[_Block] = []
    for name, tz in zones:
        local = t.astimezone(tz)
        reason = _zone_reason(rules, local)
        if reason is None:
            continue
        if reason is WaitReason.HOLIDAY:
            detail = f"{local.date().isoformat()} is a holiday in {name}"
        elif reason is WaitReason.DAY_NOT_ALLOWED:
            detail = f"no calls on {_FULL_DAY_NAMES[local.isoweekday() - 1]}s in {name}"
        elif rules.hours is None:
            detail = "the campaign's hours and the local rules leave no calling window"
        else:
            detail = f"outside the calling window {_fmt_hours(rules.hours)} in {name}"
        blocks.append(_Block(reason, _zone_next_open(rules, tz, t, limit), detail, name))
    if rules.cooloff is not None:
        # Abandons at or before t still cooling off.
        live = [a for a in abandons[: bisect_right(abandons, t)] if t < a + rules.cooloff]
        if live:
            hours = rules.cooloff.total_seconds() / 3600
            blocks.append(
                _Block(
                    WaitReason.ABANDON_COOLOFF,
                    max(live) + rules.cooloff,
                    f"a call was abandoned less than {hours:g} h ago",
                )
            )
    for cap in rules.caps:
        hi = bisect_right(dials, t)
        lo = bisect_right(dials, t - cap.per)
        if hi - lo >= cap.calls:
            # The window frees up when the cap-th most recent dial falls out of it.
            release = dials[hi - cap.calls] + cap.per
            blocks.append(_Block(cap.reason, release, f"cap of {cap.describe()} reached"))
    return blocks


def _zone_reason(rules: _Rules, local: datetime) -> WaitReason | None:
    day = _day_reason(rules, local.date())
    if day is not None:
        return day
    hours = rules.hours
    if hours is None or not hours.start <= local.time() < hours.end:
        return WaitReason.OUTSIDE_HOURS
    return None


def _day_reason(rules: _Rules, day: date) -> WaitReason | None:
    if day in rules.holidays:
        return WaitReason.HOLIDAY
    if day.isoweekday() not in rules.days:
        return WaitReason.DAY_NOT_ALLOWED
    return None


def _zone_next_open(rules: _Rules, tz: tzinfo, t: datetime, limit: datetime) -> datetime | None:
    """The earliest instant at or after t when this zone alone allows a call."""
    if rules.hours is None:
        return None
    start = rules.hours.start
    best: datetime | None = None
    day = t.astimezone(tz).date() - timedelta(days=1)
    last = limit.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        # Candidates of a later day come after `best` once two local days have passed.
        if best is not None and day >= best.astimezone(tz).date() + timedelta(days=2):
            break
        if _day_reason(rules, day) is None:
            for candidate in _openings(tz, day, start):
                if (
                    candidate >= t
                    and (best is None or candidate < best)
                    and _zone_reason(rules, candidate.astimezone(tz)) is None
                ):
                    best = candidate
        day += timedelta(days=1)
    return best if best is not None and best <= limit else None


def _openings(tz: tzinfo, day: date, start: time) -> list[datetime]:
    """Instants at which a window opening on `day` can begin, in UTC.

    The wall clock reaches `start` once, twice (a repeated hour: both folds) or never (a DST
    gap: then the window opens at the transition itself). Transitions are also where a
    window closed at a repeated hour opens again, so they are always candidates.
    """
    found = [
        datetime.combine(day, start.replace(fold=fold), tzinfo=tz).astimezone(UTC)
        for fold in (0, 1)
    ]
    found.extend(_transitions(tz, day))
    return found


@lru_cache(maxsize=8192)
def _transitions(tz: tzinfo, day: date) -> tuple[datetime, ...]:
    """UTC offset changes in or near `day` (a 30 h span around it), to the second."""
    lo = int(datetime.combine(day, time(0), tzinfo=tz).timestamp()) - 3 * 3600
    hi = lo + 30 * 3600

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, tz).utcoffset()

    if offset(lo) == offset(hi):
        return ()
    # Zones change offset at most once a day, so a bisection finds the change.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if offset(mid) == offset(lo):
            lo = mid
        else:
            hi = mid
    return (datetime.fromtimestamp(hi, UTC),)


def _intersect(a: CallingHours, b: CallingHours) -> CallingHours | None:
    start, end = max(a.start, b.start), min(a.end, b.end)
    return CallingHours(start, end) if start < end else None


def _fmt_hours(hours: CallingHours) -> str:
    return f"{hours.start:%H:%M}-{hours.end:%H:%M}"


def _fmt_days(days: Iterable[int]) -> str:
    return ", ".join(DAY_NAMES[d - 1] for d in sorted(days))


def _fmt_local(moment: datetime, asked: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    clock = "%H:%M" if local.second == 0 and local.microsecond == 0 else "%H:%M:%S"
    if local.date() == asked.astimezone(tz).date():
        return local.strftime(clock)
    return local.strftime(f"%a %Y-%m-%d {clock}")
