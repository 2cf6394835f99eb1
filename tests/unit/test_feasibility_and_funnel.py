"""Feasibility verdicts, capacity and expected-conversion math (with properties), and the funnel."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import time

from hypothesis import given
from hypothesis import strategies as st

from campaigns.feasibility import (
    FeasibilityInputs,
    Rates,
    assess_feasibility,
    capacity_attempts,
    capacity_to_reach,
    expected_conversions,
    rates_from_history,
)
from campaigns.feedback import build_funnel
from campaigns.model import CallingHours, Verdict
from campaigns.model import Disposition as D
from campaigns.rules import CHINA_DEFAULT_HOURS, hours_overlap


def inputs(**kw: object) -> FeasibilityInputs:
    base: dict[str, object] = dict(
        list_size=10_000,
        valid_numbers=9_500,
        callable_contacts=8_000,
        agents=20,
        hours_per_day=8,
        days=5,
        goal_activations=200,
    )
    base.update(kw)
    return FeasibilityInputs(**base)  # type: ignore[arg-type]


def test_feasible_request_hand_computed() -> None:
    r = assess_feasibility(inputs())
    assert r.capacity_attempts == 24_000  # 20 agents x 8 h x 5 days x 30 attempts/agent-hour
    assert r.needed_attempts == 14_400  # 8,000 callable x 1.8 attempts each
    assert r.expected_conversions == 224.0  # 8,000 x 35% RPC x 8% conversion
    assert r.verdict is Verdict.FEASIBLE and r.suggestions == ()
    assert r.connects_per_agent_hour == round(30 * 0.35 / 1.8, 2)


def test_short_capacity_suggests_days_or_agents_to_reach_the_goal() -> None:
    r = assess_feasibility(inputs(agents=5, days=3))
    # capacity 3,600 reaches 2,000 contacts -> 56 activations < 200.
    assert r.verdict is Verdict.AT_RISK and r.expected_conversions == 56.0
    # The goal needs ceil(200 / 0.028) = 7,143 contacts = 12,858 attempts:
    # 11 days at 1,200 a day (8 more), or 18 agents at 720 each (13 more).
    assert "extend the window by 8 days or add 13 agents to reach the goal" in r.suggestions
    assert "extend the window by 9 days or add 15 agents to work the whole list" in r.suggestions


def test_small_list_suggests_more_contacts() -> None:
    r = assess_feasibility(inputs(callable_contacts=1_000, goal_activations=100))
    assert r.verdict is Verdict.AT_RISK
    assert r.suggestions == (
        "supply about 2,572 more callable contacts (this list yields 1,000 after cleaning), "
        "or lower the goal to 28",
    )


def test_blockers_make_it_infeasible() -> None:
    for change in (
        {"script_exists": False},
        {"agents": 0},
        {"valid_numbers": 0},
        {"callable_contacts": 0},
        {"hours_per_day": 0},
    ):
        assert assess_feasibility(inputs(**change)).verdict is Verdict.INFEASIBLE, change


def test_risks() -> None:
    assert assess_feasibility(inputs(valid_numbers=7_000)).verdict is Verdict.AT_RISK
    overlap = assess_feasibility(inputs(overlap=1_000))
    assert overlap.verdict is Verdict.AT_RISK and "1,000 numbers (11%)" in overlap.reasons[0]
    outside = assess_feasibility(inputs(hours_outside_rules=1))
    assert outside.verdict is Verdict.AT_RISK


def test_rates_from_history() -> None:
    prior = Rates()
    assert (
        rates_from_history(
            {"attempts": 100, "contacts": 50, "right_party": 20, "busy_seconds": 6000}, prior
        )
        is prior
    )
    measured = rates_from_history(
        {
            "campaigns": 2,
            "attempts": 1000,
            "contacts": 500,
            "right_party": 200,
            "successes": 20,
            "busy_seconds": 60_000,
        },
        prior,
    )
    assert measured.attempts_per_contact == 2.0 and measured.rpc_per_contact == 0.4
    assert measured.conversion_per_rpc == 0.1
    assert measured.attempts_per_agent_hour == 51.0  # 3600 x 0.85 / 60 s per attempt
    assert "2 campaign(s)" in measured.basis


def test_allowed_hours_overlap() -> None:
    assert hours_overlap(CallingHours(time(9), time(20)), CHINA_DEFAULT_HOURS) == 11
    assert hours_overlap(CallingHours(time(7), time(22)), CHINA_DEFAULT_HOURS) == 13
    assert hours_overlap(CallingHours(time(21), time(23)), CHINA_DEFAULT_HOURS) == 0


rates = st.builds(
    Rates,
    attempts_per_agent_hour=st.floats(5, 80),
    attempts_per_contact=st.floats(1, 4),
    rpc_per_contact=st.floats(0.05, 0.9),
    conversion_per_rpc=st.floats(0.005, 0.5),
)


@given(
    agents=st.integers(1, 200),
    extra=st.integers(1, 50),
    days=st.integers(1, 31),
    hours=st.floats(1, 13),
    callable_=st.integers(1, 200_000),
    r=rates,
)
def test_capacity_and_expected_are_monotone_and_bounded(
    agents: int, extra: int, days: int, hours: float, callable_: int, r: Rates
) -> None:
    cap = capacity_attempts(agents, hours, days, r.attempts_per_agent_hour)
    more = capacity_attempts(agents + extra, hours, days, r.attempts_per_agent_hour)
    longer = capacity_attempts(agents, hours, days + 1, r.attempts_per_agent_hour)
    assert more >= cap and longer >= cap
    assert abs(cap - agents * hours * days * r.attempts_per_agent_hour) < 1
    e = expected_conversions(callable_, cap, r)
    assert expected_conversions(callable_, more, r) >= e
    assert e <= callable_ * r.rpc_per_contact * r.conversion_per_rpc + 1e-9
    assert e <= cap / r.attempts_per_contact * r.rpc_per_contact * r.conversion_per_rpc + 1e-9


@given(
    agents=st.integers(1, 100),
    days=st.integers(1, 30),
    hours=st.floats(1, 13),
    callable_=st.integers(100, 100_000),
    goal=st.integers(1, 5_000),
    r=rates,
)
def test_following_a_suggestion_reaches_the_goal(
    agents: int, days: int, hours: float, callable_: int, goal: int, r: Rates
) -> None:
    inp = inputs(
        agents=agents,
        days=days,
        hours_per_day=hours,
        callable_contacts=callable_,
        valid_numbers=callable_,
        list_size=callable_,
        goal_activations=goal,
        rates=r,
    )
    report = assess_feasibility(inp)
    per_contact = r.rpc_per_contact * r.conversion_per_rpc
    reachable_by_list = callable_ * per_contact >= goal
    if report.expected_conversions >= goal or not reachable_by_list:
        return
    attempts = math.ceil(math.ceil(goal / per_contact) * r.attempts_per_contact)
    extra_days, extra_agents = capacity_to_reach(attempts, inp)
    for changed in (
        replace(inp, days=days + extra_days),
        replace(inp, agents=agents + extra_agents),
    ):
        cap = capacity_attempts(changed.agents, hours, changed.days, r.attempts_per_agent_hour)
        assert expected_conversions(callable_, cap, r) >= goal - 1e-6


@given(valid=st.integers(0, 10_000), invalid=st.integers(0, 10_000))
def test_valid_share(valid: int, invalid: int) -> None:
    total = valid + invalid
    r = assess_feasibility(
        inputs(list_size=total, valid_numbers=valid, callable_contacts=min(valid, 8_000))
    )
    assert 0.0 <= r.valid_share <= 1.0
    if total:
        assert abs(r.valid_share - valid / total) < 1e-4


def test_funnel_hand_computed() -> None:
    by = {
        D.NO_ANSWER: 40,
        D.BUSY: 10,
        D.MACHINE: 10,
        D.NETWORK_FAIL: 5,
        D.NOT_ACCOUNT_HOLDER: 6,
        D.REFUSED: 20,
        D.SUCCESS: 8,
        D.INELIGIBLE: 2,
        D.COMPLAINT: 1,
        D.DNC_REQUEST: 3,
    }
    f = build_funnel(
        by,
        records_loaded=120,
        records_callable=100,
        records_dialled=80,
        talk_seconds=4000,
        goal_activations=16,
    )
    assert f.attempts == 100  # NETWORK_FAIL is not an attempt
    assert f.connected == 50  # machine 10 + live 40
    assert f.live_contacts == 40
    assert f.right_party == 34  # refused 20 + success 8 + ineligible 2 + complaint 1 + dnc 3
    assert f.pitched == 32
    assert f.connect_rate == 0.5 and f.contact_rate == 0.4
    assert f.rpc_rate == 0.85
    assert f.conversion_per_rpc == round(8 / 34, 4)
    assert f.conversion_per_record == 0.1 and f.conversion_per_attempt == 0.08
    assert f.completion == 0.5 and f.avg_talk_seconds == 100.0
    assert f.to_dict()["completion"] == 0.5


def test_empty_funnel_has_zero_rates() -> None:
    f = build_funnel(
        {},
        records_loaded=0,
        records_callable=0,
        records_dialled=0,
        talk_seconds=0,
        goal_activations=10,
    )
    assert f.connect_rate == 0 and f.conversion_per_rpc == 0 and f.completion == 0
