"""The funnel and completion figures of daily feedback, computed from attempt counts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from campaigns.model import CONNECTED, LIVE_CONTACT, PITCHED, RIGHT_PARTY, Disposition


def rate(numerator: float, denominator: float) -> float:
    """numerator / denominator to four places; 0 when there is nothing to divide by."""
    return round(numerator / denominator, 4) if denominator else 0.0


@dataclass(frozen=True, slots=True)
class Funnel:
    """Counts from records to successes, and the rates between them (DOMAIN.md §3)."""

    records_loaded: int
    records_callable: int
    attempts: int
    records_dialled: int
    connected: int
    live_contacts: int
    right_party: int
    pitched: int
    successes: int
    refusals: int
    complaints: int
    dnc_requests: int
    abandoned: int
    talk_seconds: int
    goal_activations: int

    @property
    def connect_rate(self) -> float:
        """Network-answered (live + machine) per attempt."""
        return rate(self.connected, self.attempts)

    @property
    def contact_rate(self) -> float:
        """Live answers per attempt."""
        return rate(self.live_contacts, self.attempts)

    @property
    def rpc_rate(self) -> float:
        """Verified account holders per live contact."""
        return rate(self.right_party, self.live_contacts)

    @property
    def conversion_per_rpc(self) -> float:
        """Successes per right-party contact."""
        return rate(self.successes, self.right_party)

    @property
    def conversion_per_record(self) -> float:
        """Successes per record dialled."""
        return rate(self.successes, self.records_dialled)

    @property
    def conversion_per_attempt(self) -> float:
        """Successes per attempt."""
        return rate(self.successes, self.attempts)

    @property
    def abandon_rate(self) -> float:
        """Abandoned per live answer."""
        return rate(self.abandoned, self.live_contacts)

    @property
    def completion(self) -> float:
        """Successes against the goal."""
        return rate(self.successes, self.goal_activations)

    @property
    def avg_talk_seconds(self) -> float:
        """Average talk time per live contact."""
        return round(self.talk_seconds / self.live_contacts, 1) if self.live_contacts else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Counts and rates as one JSON-ready mapping."""
        data: dict[str, Any] = asdict(self)
        for name in (
            "connect_rate",
            "contact_rate",
            "rpc_rate",
            "conversion_per_rpc",
            "conversion_per_record",
            "conversion_per_attempt",
            "abandon_rate",
            "completion",
            "avg_talk_seconds",
        ):
            data[name] = getattr(self, name)
        return data


def build_funnel(
    by_disposition: Mapping[Disposition, int],
    *,
    records_loaded: int,
    records_callable: int,
    records_dialled: int,
    talk_seconds: int,
    goal_activations: int,
) -> Funnel:
    """Fold attempt counts by disposition into a funnel. NETWORK_FAIL is not an attempt."""

    def total(kinds: frozenset[Disposition]) -> int:
        return sum(n for d, n in by_disposition.items() if d in kinds)

    return Funnel(
        records_loaded=records_loaded,
        records_callable=records_callable,
        attempts=sum(n for d, n in by_disposition.items() if d is not Disposition.NETWORK_FAIL),
        records_dialled=records_dialled,
        connected=total(CONNECTED),
        live_contacts=total(LIVE_CONTACT),
        right_party=total(RIGHT_PARTY),
        pitched=total(PITCHED),
        successes=by_disposition.get(Disposition.SUCCESS, 0),
        refusals=by_disposition.get(Disposition.REFUSED, 0),
        complaints=by_disposition.get(Disposition.COMPLAINT, 0),
        dnc_requests=by_disposition.get(Disposition.DNC_REQUEST, 0),
        abandoned=by_disposition.get(Disposition.ABANDONED, 0),
        talk_seconds=talk_seconds,
        goal_activations=goal_activations,
    )


def projected_finish(
    *, successes: int, goal: int, first_day: date, day: date, window_end: date | None = None
) -> dict[str, Any]:
    """When the goal is reached at the pace so far (successes per calendar day since the
    first dialing day, `day` included); None when nothing was won yet."""
    days = max((day - first_day).days + 1, 1)
    pace = successes / days
    remaining = max(goal - successes, 0)
    if remaining == 0:
        finish: date | None = day
    elif pace > 0:
        finish = day + timedelta(days=math.ceil(remaining / pace))
    else:
        finish = None
    return {
        "pace_per_day": round(pace, 2),
        "remaining": remaining,
        "finish": finish.isoformat() if finish else None,
        # Within the window, the campaign meets its goal at this pace.
        "on_track": finish is not None and (window_end is None or finish <= window_end),
    }
