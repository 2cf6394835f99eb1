"""Feasibility of a campaign request: capacity, valid numbers, expected conversions, overlap."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from campaigns.model import Verdict


@dataclass(frozen=True, slots=True)
class Rates:
    """Planning rates: from past campaigns of the offer when there are enough, else priors."""

    attempts_per_agent_hour: float = 30.0
    attempts_per_contact: float = 1.8
    rpc_per_contact: float = 0.35
    conversion_per_rpc: float = 0.08
    basis: str = "planning priors (no history for this offer yet)"


def rates_from_history(
    history: dict[str, float], prior: Rates, *, min_attempts: int = 500, occupancy: float = 0.85
) -> Rates:
    """Measured rates from attempt totals, or the prior when the history is too thin."""
    attempts = history.get("attempts", 0.0)
    contacts = history.get("contacts", 0.0)
    rpc = history.get("right_party", 0.0)
    busy = history.get("busy_seconds", 0.0)
    if attempts < min_attempts or contacts <= 0 or rpc <= 0 or busy <= 0:
        return prior
    return Rates(
        # Agents are not busy every second of a shift; occupancy turns handle time into rate.
        attempts_per_agent_hour=round(3600 * occupancy / (busy / attempts), 2),
        attempts_per_contact=round(attempts / contacts, 3),
        rpc_per_contact=round(rpc / contacts, 4),
        conversion_per_rpc=round(history.get("successes", 0.0) / rpc, 4),
        basis=(
            f"history of {int(history.get('campaigns', 0))} campaign(s) of this offer "
            f"({int(attempts):,} attempts)"
        ),
    )


@dataclass(frozen=True, slots=True)
class FeasibilityInputs:
    """The numbers a feasibility check needs; gathered by the service, judged here."""

    list_size: int
    valid_numbers: int
    callable_contacts: int
    agents: int
    hours_per_day: float
    days: int
    goal_activations: int
    rates: Rates = Rates()
    requested_contacts: int = 0
    overlap: int = 0
    script_exists: bool = True
    hours_outside_rules: float = 0.0
    min_valid_share: float = 0.8
    max_overlap_share: float = 0.05


@dataclass(frozen=True, slots=True)
class FeasibilityReport:
    """The verdict with its figures, reasons and concrete suggestions."""

    verdict: Verdict
    valid_share: float
    callable_contacts: int
    capacity_attempts: int
    needed_attempts: int
    connects_per_agent_hour: float
    expected_conversions: float
    goal_activations: int
    overlap: int
    dialing_hours: float
    basis: str
    reasons: tuple[str, ...]
    suggestions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for storage and display."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        data["reasons"] = list(self.reasons)
        data["suggestions"] = list(self.suggestions)
        return data


def capacity_attempts(agents: int, hours_per_day: float, days: int, per_agent_hour: float) -> int:
    """Attempts the center can place in the window."""
    return int(max(agents, 0) * max(hours_per_day, 0.0) * max(days, 0) * per_agent_hour)


def expected_conversions(callable_contacts: int, capacity: int, rates: Rates) -> float:
    """Activations expected from the contacts the capacity can work through."""
    reachable = min(float(callable_contacts), capacity / rates.attempts_per_contact)
    return reachable * rates.rpc_per_contact * rates.conversion_per_rpc


def assess_feasibility(inp: FeasibilityInputs) -> FeasibilityReport:
    """Judge a request; INFEASIBLE for hard blockers, AT_RISK when the goal looks out of reach."""
    r = inp.rates
    reasons: list[str] = []
    suggestions: list[str] = []
    hard = risky = False

    valid_share = inp.valid_numbers / inp.list_size if inp.list_size else 0.0
    if inp.valid_numbers == 0:
        hard = True
        reasons.append("the list holds no valid phone number")
    elif valid_share < inp.min_valid_share:
        risky = True
        reasons.append(f"only {valid_share:.0%} of the numbers are valid")
        suggestions.append("re-export the list with full 11-digit mobile numbers")
    if inp.valid_numbers and inp.callable_contacts == 0:
        hard = True
        reasons.append("cleaning would exclude every contact of the list")
    if inp.requested_contacts and inp.list_size < inp.requested_contacts:
        reasons.append(
            f"the list has {inp.list_size:,} rows, fewer than the {inp.requested_contacts:,} "
            "contacts requested"
        )

    per_day = inp.agents * inp.hours_per_day * r.attempts_per_agent_hour
    capacity = capacity_attempts(inp.agents, inp.hours_per_day, inp.days, r.attempts_per_agent_hour)
    needed = math.ceil(inp.callable_contacts * r.attempts_per_contact)
    if inp.agents <= 0:
        hard = True
        reasons.append("no outbound-enabled agent is available")
        suggestions.append("enable outbound work IDs (工号) for at least one agent")
    if inp.hours_per_day <= 0:
        hard = True
        reasons.append("the campaign's calling hours lie entirely outside the allowed hours")
    elif inp.hours_outside_rules > 0:
        risky = True
        reasons.append(
            f"{inp.hours_outside_rules:g} h a day of the calling hours fall outside the allowed "
            "hours and will not be dialled"
        )
    if per_day > 0 and capacity < needed:
        risky = True
        reasons.append(
            f"capacity of {capacity:,} attempts is below the {needed:,} needed to work the list"
        )
        suggestions.append(_more_capacity(needed, inp, "to work the whole list"))

    expected = expected_conversions(inp.callable_contacts, capacity, r)
    if inp.goal_activations > 0 and expected < inp.goal_activations:
        risky = True
        shown = f"{expected:.1f}" if expected < 10 else f"{expected:,.0f}"
        reasons.append(
            f"expected {shown} activations fall short of the goal of "
            f"{inp.goal_activations:,} (at {r.conversion_per_rpc:.1%} conversion per RPC)"
        )
        per_contact = r.rpc_per_contact * r.conversion_per_rpc
        contacts_needed = math.ceil(inp.goal_activations / per_contact) if per_contact else 0
        if per_contact and contacts_needed > inp.callable_contacts:
            reachable_goal = math.floor(inp.callable_contacts * per_contact + 1e-9)
            suggestions.append(
                f"supply about {contacts_needed - inp.callable_contacts:,} more callable contacts "
                f"(this list yields {inp.callable_contacts:,} after cleaning)"
                + (f", or lower the goal to {reachable_goal:,}" if reachable_goal else "")
            )
        elif per_day > 0:
            attempts = math.ceil(contacts_needed * r.attempts_per_contact)
            suggestions.append(_more_capacity(attempts, inp, "to reach the goal"))
    if inp.valid_numbers and inp.overlap / inp.valid_numbers > inp.max_overlap_share:
        risky = True
        reasons.append(
            f"{inp.overlap:,} numbers ({inp.overlap / inp.valid_numbers:.0%}) are also in "
            "campaigns that are approved or running"
        )
        suggestions.append("coordinate with the other campaigns, or let cleaning drop the overlap")
    if not inp.script_exists:
        hard = True
        reasons.append("no call script exists for the offer")
        suggestions.append("write and publish a script for the offer before approval")

    verdict = Verdict.INFEASIBLE if hard else Verdict.AT_RISK if risky else Verdict.FEASIBLE
    if verdict is Verdict.FEASIBLE:
        reasons.insert(0, "capacity, valid numbers and expected conversions meet the request")
    connects_per_hour = r.attempts_per_agent_hour * (r.rpc_per_contact / r.attempts_per_contact)
    return FeasibilityReport(
        verdict=verdict,
        valid_share=round(valid_share, 4),
        callable_contacts=inp.callable_contacts,
        capacity_attempts=capacity,
        needed_attempts=needed,
        connects_per_agent_hour=round(connects_per_hour, 2),
        expected_conversions=round(expected, 1),
        goal_activations=inp.goal_activations,
        overlap=inp.overlap,
        dialing_hours=round(max(inp.hours_per_day, 0.0) * inp.days, 2),
        basis=r.basis,
        reasons=tuple(reasons),
        suggestions=tuple(suggestions),
    )


def capacity_to_reach(attempts: int, inp: FeasibilityInputs) -> tuple[int, int]:
    """Extra days, or else extra agents, that bring capacity up to `attempts`."""
    per_day = inp.agents * inp.hours_per_day * inp.rates.attempts_per_agent_hour
    per_agent = inp.hours_per_day * inp.rates.attempts_per_agent_hour * inp.days
    extra_days = max(0, math.ceil(attempts / per_day) - inp.days) if per_day else 0
    extra_agents = max(0, math.ceil(attempts / per_agent) - inp.agents) if per_agent else 0
    return extra_days, extra_agents


def _more_capacity(attempts: int, inp: FeasibilityInputs, purpose: str) -> str:
    days, agents = capacity_to_reach(attempts, inp)
    return f"extend the window by {days} days or add {agents} agents {purpose}"
