"""Feasibility of a campaign request: capacity, valid numbers and expected conversions."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from campaigns.model import Verdict


@dataclass(frozen=True, slots=True)
class FeasibilityInputs:
    """The numbers a feasibility check needs; gathered by the service, judged here."""

    list_size: int
    valid_numbers: int
    agents: int
    hours_per_day: float
    days: int
    calls_per_agent_hour: float = 30.0
    attempts_per_contact: float = 1.8
    rpc_per_contact: float = 0.35
    conversion_per_rpc: float = 0.12
    goal_activations: int = 0
    script_exists: bool = True
    min_valid_share: float = 0.8


@dataclass(frozen=True, slots=True)
class FeasibilityReport:
    """The verdict with its figures, reasons and concrete suggestions."""

    verdict: Verdict
    valid_share: float
    capacity_attempts: int
    needed_attempts: int
    expected_conversions: float
    goal_activations: int
    reasons: tuple[str, ...]
    suggestions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for storage and display."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        data["reasons"] = list(self.reasons)
        data["suggestions"] = list(self.suggestions)
        return data


def assess_feasibility(inp: FeasibilityInputs) -> FeasibilityReport:
    """Judge a request; INFEASIBLE for hard blockers, AT_RISK when the goal looks out of reach."""
    reasons: list[str] = []
    suggestions: list[str] = []
    hard = False
    risky = False

    valid_share = inp.valid_numbers / inp.list_size if inp.list_size else 0.0
    if inp.valid_numbers == 0:
        hard = True
        reasons.append("the list holds no valid phone number")
    elif valid_share < inp.min_valid_share:
        risky = True
        reasons.append(f"only {valid_share:.0%} of the numbers are valid")
        suggestions.append("ask the branch to re-export the list with full mobile numbers")

    per_day = inp.agents * inp.hours_per_day * inp.calls_per_agent_hour
    capacity = int(per_day * inp.days)
    needed = math.ceil(inp.valid_numbers * inp.attempts_per_contact)
    if inp.agents <= 0:
        hard = True
        reasons.append("no outbound-enabled agent is available")
        suggestions.append("enable outbound work IDs for at least one agent")
    elif capacity < needed:
        risky = True
        reasons.append(f"capacity of {capacity} attempts is below the {needed} needed")
        days_needed = math.ceil(needed / per_day) if per_day else 0
        more_agents = math.ceil(needed / (inp.hours_per_day * inp.calls_per_agent_hour * inp.days))
        suggestions.append(
            f"extend the window by {days_needed - inp.days} days "
            f"or add {more_agents - inp.agents} agents"
        )

    reachable = min(inp.valid_numbers, capacity / inp.attempts_per_contact if capacity else 0)
    expected = reachable * inp.rpc_per_contact * inp.conversion_per_rpc
    if inp.goal_activations > 0 and expected < inp.goal_activations:
        risky = True
        reasons.append(
            f"expected {expected:.0f} activations fall short of the goal of {inp.goal_activations}"
        )
        ratio = inp.goal_activations / expected if expected else math.inf
        if math.isfinite(ratio):
            suggestions.append(
                f"supply about {ratio:.1f}× as many valid contacts, or lower the goal"
            )
    if not inp.script_exists:
        hard = True
        reasons.append("no call script exists for the offer")
        suggestions.append("write and publish a script for the offer before approval")

    verdict = Verdict.INFEASIBLE if hard else Verdict.AT_RISK if risky else Verdict.FEASIBLE
    if verdict is Verdict.FEASIBLE:
        reasons.append("capacity, valid numbers and expected conversions all meet the request")
    return FeasibilityReport(
        verdict=verdict,
        valid_share=round(valid_share, 4),
        capacity_attempts=capacity,
        needed_attempts=needed,
        expected_conversions=round(expected, 1),
        goal_activations=inp.goal_activations,
        reasons=tuple(reasons),
        suggestions=tuple(suggestions),
    )
