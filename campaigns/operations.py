"""The center's operations reports (运营日报 / 周报 / 月报, seed 003), for outbound work.

Pure functions over attempt facts; each report carries its period and the definition of
every figure in it, since outbound work reads the inbound manual's fields a little apart.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.feedback import rate
from campaigns.model import CONNECTED, AttemptFact, Disposition

#: The manual's 15-second answer threshold (15秒接通).
ANSWER_SECONDS = 15.0
NOT_RECORDED = "not recorded 未记录"


class PeriodKind(enum.StrEnum):
    """Daily, weekly (Monday to Sunday) or monthly report."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar days `first`..`last`, both included."""

    kind: PeriodKind
    first: date
    last: date

    @property
    def label(self) -> str:
        """How the report names its period, e.g. '运营周报 weekly 2026-11-23 – 2026-11-29'."""
        zh = {"day": "运营日报 daily", "week": "运营周报 weekly", "month": "运营月报 monthly"}
        span = self.first.isoformat()
        if self.last != self.first:
            span += f" – {self.last.isoformat()}"
        return f"{zh[self.kind.value]} {span}"

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The period as [start, end) instants in the center's time zone."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(self.last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        return start, end


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    """One agent's day as imported from the workforce schedule and the ACD."""

    work_id: str
    day: date
    scheduled_seconds: int  # 排班时长
    work_seconds: int  # 工作时长
    busy_seconds: int  # 示忙时长

    def problem(self) -> str | None:
        """Why the record cannot be right, or None."""
        if min(self.scheduled_seconds, self.work_seconds, self.busy_seconds) < 0:
            return "times cannot be negative"
        if self.busy_seconds > self.work_seconds:
            return "busy-flagged time exceeds the time signed in"
        return None


@dataclass(frozen=True, slots=True)
class ShiftTotals:
    """An agent's scheduled, signed-in and busy-flagged seconds over a period."""

    scheduled_seconds: int
    work_seconds: int
    busy_seconds: int

    @property
    def utilisation(self) -> float | None:
        """有效工时利用率 = (工作时长 − 示忙时长) / 排班时长; None without a schedule."""
        if self.scheduled_seconds <= 0:
            return None
        return rate(self.work_seconds - self.busy_seconds, self.scheduled_seconds)


@dataclass(frozen=True, slots=True)
class RatingCounts:
    """Surveys after calls in a period: sent (评定总数), answered (评定成功数), satisfied."""

    requested: int
    given: int
    satisfied: int

    def figures(self) -> dict[str, Any]:
        """The manual's rating fields; rates are None when nothing was rated."""
        return {
            "ratings_requested": self.requested,
            "ratings_given": self.given,
            "satisfied": self.satisfied,
            "dissatisfied": self.given - self.satisfied,
            "satisfaction": rate(self.satisfied, self.given) if self.given else None,
            "participation": rate(self.given, self.requested) if self.requested else None,
        }


def period_of(kind: PeriodKind, day: date) -> Period:
    """The day, the Monday-to-Sunday week or the calendar month that contains `day`."""
    if kind is PeriodKind.DAY:
        return Period(kind, day, day)
    if kind is PeriodKind.WEEK:
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(kind, first, following - timedelta(days=1))


DEFINITIONS: dict[str, str] = {
    "seizures": "占用次数 seizures: every call the dialer originated (a line was taken), "
    "network failures included",
    "connects": "接通次数 connects: calls the network answered (a person or a machine)",
    "connect_rate": "接通率 connect rate: connects / seizures",
    "lost_calls": "呼损数 lost calls: network failures plus calls a person answered that "
    "reached no agent (abandoned)",
    "talks": "通话次数 talks: calls bridged to an agent",
    "answered_15s": "15秒接通量 answered within 15 s: bridged calls whose wait from the "
    "customer's answer to the agent was at most 15 s",
    "answered_15s_rate": "15秒接通率: answered within 15 s / talks",
    "avg_wait_seconds": "接通排队等待均长 average wait to bridge: mean seconds from the "
    "customer's answer to the agent, over talks",
    "avg_talk_seconds": "通话均长 average talk time: talk seconds / talks",
    "transfers_out": "转出量 transfers out: " + NOT_RECORDED + " (no dialer event carries it)",
    "ratings_requested": "评定总数 ratings requested: calls of the period whose customer was "
    "sent the survey (imported with `outbound ratings import`)",
    "ratings_given": "评定成功数 ratings given: surveys the customer answered",
    "satisfaction": "满意度 satisfaction = 满意数 / 评定成功数; " + NOT_RECORDED + " when no "
    "call of the period was rated",
    "participation": "客户参与率 participation = 评定成功数 / 评定总数",
    "utilisation": "有效工时利用率 = (工作时长 − 示忙时长) / 排班时长, from the shifts imported "
    "with `outbound shifts import` (schedule and ACD); "
    + NOT_RECORDED
    + " for an agent without one",
    "conversions": "成功办理 conversions: calls disposed SUCCESS",
}


def _figures(facts: Sequence[AttemptFact]) -> dict[str, Any]:
    seizures = len(facts)
    connects = sum(f.disposition in CONNECTED for f in facts)
    failed = sum(f.disposition is Disposition.NETWORK_FAIL for f in facts)
    abandoned = sum(f.disposition is Disposition.ABANDONED for f in facts)
    bridged = [f for f in facts if f.bridged_at is not None]
    waits = [
        (f.bridged_at - f.answered_at).total_seconds()
        for f in bridged
        if f.bridged_at is not None and f.answered_at is not None
    ]
    fast = sum(w <= ANSWER_SECONDS for w in waits)
    talk = sum(f.talk_seconds for f in bridged)
    return {
        "seizures": seizures,
        "connects": connects,
        "connect_rate": rate(connects, seizures),
        "lost_calls": failed + abandoned,
        "lost_network": failed,
        "lost_abandoned": abandoned,
        "talks": len(bridged),
        "answered_15s": fast,
        "answered_15s_rate": rate(fast, len(waits)),
        "avg_wait_seconds": round(sum(waits) / len(waits), 1) if waits else 0.0,
        "avg_talk_seconds": round(talk / len(bridged), 1) if bridged else 0.0,
        "conversions": sum(f.disposition is Disposition.SUCCESS for f in facts),
        "transfers_out": None,
    }


def operations_report(
    *,
    period: Period,
    timezone: str,
    facts: Sequence[AttemptFact],
    shifts: Mapping[str, ShiftTotals] | None = None,
    ratings: RatingCounts | None = None,
) -> dict[str, Any]:
    """Seizures, connects, losses, 15-second answers, waits, talk and per-agent work."""
    shifts = shifts or {}
    agents: dict[str, list[AttemptFact]] = {work_id: [] for work_id in shifts}
    offers: dict[str, list[AttemptFact]] = defaultdict(list)
    for f in facts:
        if f.agent is not None:
            agents.setdefault(f.agent, []).append(f)
        offers[f.offer or "(unknown)"].append(f)
    per_agent = []
    for work_id, own in sorted(agents.items()):
        talks = [f for f in own if f.bridged_at is not None]
        talk = sum(f.talk_seconds for f in talks)
        shift = shifts.get(work_id)
        per_agent.append(
            {
                "agent": work_id,
                "calls": len(talks),
                "talk_seconds": round(talk, 1),
                "avg_talk_seconds": round(talk / len(talks), 1) if talks else 0.0,
                "conversions": sum(f.disposition is Disposition.SUCCESS for f in own),
                "utilisation": shift.utilisation if shift else None,
            }
        )
    totals = _figures(facts)
    center = ShiftTotals(
        sum(s.scheduled_seconds for s in shifts.values()),
        sum(s.work_seconds for s in shifts.values()),
        sum(s.busy_seconds for s in shifts.values()),
    )
    totals["utilisation"] = center.utilisation
    totals |= (ratings or RatingCounts(0, 0, 0)).figures()
    return {
        "type": "operations",
        "period": period.kind.value,
        "label": period.label,
        "first_day": period.first.isoformat(),
        "last_day": period.last.isoformat(),
        "timezone": timezone,
        "totals": totals,
        # The manual breaks its reports down by business category; ours are the offers.
        "by_offer": [
            {"offer": k} | _figures(v) | {"utilisation": None, "satisfaction": None}
            for k, v in sorted(offers.items())
        ],
        "per_agent": per_agent,
        "definitions": DEFINITIONS,
    }
