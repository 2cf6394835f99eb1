"""The final summary of a campaign (seed 004's 反馈 stage): hot spots, activation success,
conversion per segment, script version, hour, agent and phase, the goal, and
recommendations drawn from those figures. Pure functions over attempt facts."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.feedback import rate
from campaigns.model import (
    LIVE_CONTACT,
    RIGHT_PARTY,
    AttemptFact,
    CampaignRecord,
    Disposition,
    Phase,
)

#: Dispositions whose notes are the customer's questions and objections (not refusals).
QUESTION_DISPOSITIONS = frozenset(
    {Disposition.CALLBACK, Disposition.SUCCESS, Disposition.HUNG_UP, Disposition.COMPLAINT}
)
NO_SEGMENT = "(none)"
NO_AGENT = "(no agent)"


@dataclass(frozen=True, slots=True)
class Cell:
    """Funnel counts of one group of attempts (a segment, an hour, an agent…)."""

    key: str
    attempts: int
    live: int
    right_party: int
    successes: int
    records: int

    @property
    def contact_rate(self) -> float:
        """Live answers per attempt."""
        return rate(self.live, self.attempts)

    @property
    def conversion_per_rpc(self) -> float:
        """Successes per right-party contact."""
        return rate(self.successes, self.right_party)

    @property
    def conversion_per_record(self) -> float:
        """Successes per record dialled."""
        return rate(self.successes, self.records)

    def to_dict(self) -> dict[str, Any]:
        """Counts and rates, JSON-ready."""
        return {
            "key": self.key,
            "attempts": self.attempts,
            "records": self.records,
            "live": self.live,
            "right_party": self.right_party,
            "successes": self.successes,
            "contact_rate": self.contact_rate,
            "conversion_per_rpc": self.conversion_per_rpc,
            "conversion_per_record": self.conversion_per_record,
        }


def breakdown(facts: Iterable[AttemptFact], key: Callable[[AttemptFact], str]) -> list[Cell]:
    """Group attempts by `key` (NETWORK_FAIL is not an attempt); rows sorted by key."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    records: dict[str, set[int]] = defaultdict(set)
    for f in facts:
        if f.disposition is Disposition.NETWORK_FAIL:
            continue
        k = key(f)
        c = counts[k]
        c["attempts"] += 1
        c["live"] += f.disposition in LIVE_CONTACT
        c["rpc"] += f.disposition in RIGHT_PARTY
        c["success"] += f.disposition is Disposition.SUCCESS
        records[k].add(f.contact_id)
    return [
        Cell(k, c["attempts"], c["live"], c["rpc"], c["success"], len(records[k]))
        for k, c in sorted(counts.items())
    ]


def script_version_at(periods: Sequence[tuple[datetime, int]], at: datetime) -> int | None:
    """The script version in force at `at`, from (assigned at, version) in time order."""
    version: int | None = None
    for since, v in periods:
        if since <= at:
            version = v
    # Attempts before the first recorded assignment used the first script.
    return version if version is not None else (periods[0][1] if periods else None)


def hot_spots(facts: Iterable[AttemptFact], *, limit: int = 10) -> dict[str, Any]:
    """Refusal reasons, and the questions and objections recorded with other dispositions."""
    refusals: Counter[str] = Counter()
    questions: Counter[tuple[str, str]] = Counter()
    for f in facts:
        if not f.note:
            continue
        if f.disposition is Disposition.REFUSED:
            refusals[f.note] += 1
        elif f.disposition in QUESTION_DISPOSITIONS:
            questions[(f.note, f.disposition.value)] += 1
    total = sum(refusals.values())
    return {
        "refusal_reasons": [
            {"reason": r, "count": n, "share": rate(n, total)}
            for r, n in sorted(refusals.items(), key=lambda x: (-x[1], x[0]))[:limit]
        ],
        "questions": [
            {"question": q, "disposition": d, "count": n}
            for (q, d), n in sorted(questions.items(), key=lambda x: (-x[1], x[0]))[:limit]
        ],
    }


def _hour_bands(by_hour: Sequence[Cell], width: int, min_attempts: int) -> list[str]:
    """The best `width`-hour band by contact rate against the rest of the day."""
    cells = {int(c.key[:2]): c for c in by_hour}
    total_attempts = sum(c.attempts for c in by_hour)
    total_live = sum(c.live for c in by_hour)
    best: tuple[float, int, float, float] | None = None
    for start in sorted(cells):
        band = [cells[h] for h in range(start, start + width) if h in cells]
        attempts = sum(c.attempts for c in band)
        live = sum(c.live for c in band)
        rest_attempts = total_attempts - attempts
        if attempts < min_attempts or rest_attempts < min_attempts:
            continue
        inside, outside = live / attempts, (total_live - live) / rest_attempts
        if outside == 0 or inside == 0:
            continue
        ratio = inside / outside
        if best is None or ratio > best[0]:
            best = (ratio, start, inside, outside)
    if best is None or best[0] < 1.25:
        return []
    ratio, start, inside, outside = best
    span = f"{start:02d}:00–{start + width:02d}:00"
    return [
        f"Contact rate was {ratio:.1f}× higher {span} than the rest of the day "
        f"({inside:.0%} vs {outside:.0%}): put more dialing there. "
        f"{span} 接通率是其他时段的 {ratio:.1f} 倍，建议该时段加大外呼。"
    ]


def _z(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float:
    """Two-proportion z statistic: how many standard errors apart two rates are."""
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    return abs(successes_a / n_a - successes_b / n_b) / se if se else 0.0


def _spread(cells: Sequence[Cell], what: str, zh: str, min_rpc: int) -> list[str]:
    """Best against worst conversion per RPC, among groups with enough RPC, when the gap is
    both large (1.2×) and not chance (two standard errors)."""
    sized = [c for c in cells if c.right_party >= min_rpc]
    if len(sized) < 2:
        return []
    best = max(sized, key=lambda c: (c.conversion_per_rpc, c.key))
    worst = min(sized, key=lambda c: (c.conversion_per_rpc, c.key))
    large = worst.conversion_per_rpc == 0 or (
        best.conversion_per_rpc / worst.conversion_per_rpc >= 1.2
    )
    z = _z(best.successes, best.right_party, worst.successes, worst.right_party)
    if best.conversion_per_rpc > 0 and large and z >= 2:
        return [
            f"{what} {best.key} converted {best.conversion_per_rpc:.1%} of RPC against "
            f"{worst.conversion_per_rpc:.1%} for {worst.key}. "
            f"{zh} {best.key} 转化率 {best.conversion_per_rpc:.1%}，"
            f"{worst.key} 仅 {worst.conversion_per_rpc:.1%}。"
        ]
    return []


def recommendations(
    *,
    by_hour: Sequence[Cell],
    by_segment: Sequence[Cell],
    by_script: Sequence[Cell],
    by_agent: Sequence[Cell],
    by_phase: Sequence[Cell],
    refusals: Sequence[dict[str, Any]],
    goal: int,
    successes: int,
    records: int,
    min_attempts: int = 30,
    min_rpc: int = 10,
) -> list[str]:
    """Findings worth acting on next time, each with the figures behind it."""
    out = _hour_bands(by_hour, 2, min_attempts)
    out += _spread(by_segment, "Segment", "客户群", min_rpc)
    out += _spread(by_script, "Script version", "脚本版本", min_rpc)
    out += _spread([c for c in by_agent if c.key != NO_AGENT], "Agent", "坐席", min_rpc)
    phases = {c.key: c for c in by_phase}
    trial, live = phases.get(Phase.TRIAL.value), phases.get(Phase.LIVE.value)
    if (
        trial
        and live
        and trial.right_party >= min_rpc
        and live.right_party >= min_rpc
        and live.conversion_per_rpc < 0.8 * trial.conversion_per_rpc
    ):
        out.append(
            f"Live conversion ({live.conversion_per_rpc:.1%} of RPC) fell well below the "
            f"trial's ({trial.conversion_per_rpc:.1%}): the trial sample flattered the list. "
            f"正式外呼转化率低于试呼，试呼样本偏乐观。"
        )
    if refusals and refusals[0]["share"] >= 0.3:
        top = refusals[0]
        out.append(
            f"'{top['reason']}' was {top['share']:.0%} of refusals: answer it in the script. "
            f"首要拒绝原因占 {top['share']:.0%}，建议在脚本中预先应对。"
        )
    if successes < goal:
        per_record = successes / records if records else 0.0
        more = "a different list"
        if per_record:
            more = f"about {round((goal - successes) / per_record):,} more records"
        out.append(
            f"Goal missed by {goal - successes:,} activations; at {per_record:.1%} per record "
            f"the next campaign needs {more}. 未完成目标，差 {goal - successes:,} 个。"
        )
    if not out:
        out.append(
            "No hour, segment, script version or agent stood out from the others, and the goal "
            "was met: the same plan can be reused. "
            "各时段、客户群、脚本与坐席无显著差异，目标已完成。"
        )
    return out


def final_summary(
    *,
    campaign: CampaignRecord,
    facts: Sequence[AttemptFact],
    valid_contacts: int,
    script_periods: Sequence[tuple[datetime, int]],
    ended_at: datetime,
) -> dict[str, Any]:
    """Everything the branch gets when its campaign completes or is cancelled."""
    zone = ZoneInfo(campaign.branch_timezone)

    def version(f: AttemptFact) -> str:
        v = script_version_at(script_periods, f.dialed_at)
        return f"v{v}" if v is not None else "(none)"

    everything = breakdown(facts, lambda f: "all")
    total = everything[0] if everything else Cell("all", 0, 0, 0, 0, 0)
    by_phase = breakdown(facts, lambda f: f.phase.value)
    by_segment = breakdown(facts, lambda f: f.segment or NO_SEGMENT)
    by_script = breakdown(facts, version)
    by_hour = breakdown(facts, lambda f: f"{f.dialed_at.astimezone(zone).hour:02d}:00")
    by_agent = breakdown(facts, lambda f: f.agent or NO_AGENT)
    spots = hot_spots(facts)
    goal = campaign.goal_activations
    return {
        "type": "final_summary",
        "campaign_id": campaign.id,
        "campaign": campaign.name,
        "branch": campaign.branch_code,
        "offer": campaign.offer_code,
        "state": campaign.state.value,
        "ended_at": ended_at.isoformat(),
        "window": f"{campaign.window_start.isoformat()}…{campaign.window_end.isoformat()}",
        "goal": {
            "goal_activations": goal,
            "successes": total.successes,
            "met": total.successes >= goal,
            "completion": rate(total.successes, goal),
            "shortfall": max(goal - total.successes, 0),
        },
        "activation": {
            "successes": total.successes,
            "valid_list": valid_contacts,
            "right_party": total.right_party,
            "rate_vs_valid_list": rate(total.successes, valid_contacts),
            "rate_vs_rpc": total.conversion_per_rpc,
        },
        "hot_spots": spots,
        "total": total.to_dict(),
        "by_phase": [c.to_dict() for c in by_phase],
        "by_segment": [c.to_dict() for c in by_segment],
        "by_script_version": [c.to_dict() for c in by_script],
        "by_hour": [c.to_dict() for c in by_hour],
        "by_agent": [c.to_dict() for c in by_agent],
        "recommendations": recommendations(
            by_hour=by_hour,
            by_segment=by_segment,
            by_script=by_script,
            by_agent=by_agent,
            by_phase=by_phase,
            refusals=spots["refusal_reasons"],
            goal=goal,
            successes=total.successes,
            records=total.records,
        ),
    }
