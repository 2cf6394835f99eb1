"""Feasibility verdicts (with properties) and the funnel against hand-computed figures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaigns.feasibility import FeasibilityInputs, assess_feasibility
from campaigns.feedback import build_funnel
from campaigns.model import Disposition as D
from campaigns.model import Verdict


def inputs(**kw: object) -> FeasibilityInputs:
    base: dict[str, object] = dict(
        list_size=10_000,
        valid_numbers=9_500,
        agents=20,
        hours_per_day=8,
        days=5,
        goal_activations=300,
    )
    base.update(kw)
    return FeasibilityInputs(**base)  # type: ignore[arg-type]


def test_feasible_request() -> None:
    r = assess_feasibility(inputs())
    # 20 agents x 8 h x 30 calls x 5 days
    assert r.capacity_attempts == 24_000
    assert r.needed_attempts == 17_100  # 9,500 x 1.8
    assert r.expected_conversions == 399.0  # 9,500 x 0.35 x 0.12
    assert r.verdict is Verdict.FEASIBLE


def test_capacity_shortfall_suggests_days_or_agents() -> None:
    r = assess_feasibility(inputs(agents=5, days=3, goal_activations=1))
    # capacity 5x8x30x3 = 3,600 < 17,100 needed: 15 days at 1,200/day, or 24 agents
    assert r.verdict is Verdict.AT_RISK
    assert "extend the window by 12 days or add 19 agents" in r.suggestions


def test_missing_script_or_agents_is_infeasible() -> None:
    assert assess_feasibility(inputs(script_exists=False)).verdict is Verdict.INFEASIBLE
    assert assess_feasibility(inputs(agents=0)).verdict is Verdict.INFEASIBLE
    assert assess_feasibility(inputs(valid_numbers=0)).verdict is Verdict.INFEASIBLE


@given(
    agents=st.integers(1, 200),
    extra=st.integers(1, 50),
    days=st.integers(1, 31),
    valid=st.integers(1, 100_000),
)
def test_more_agents_never_reduce_capacity_or_expected(
    agents: int, extra: int, days: int, valid: int
) -> None:
    a = assess_feasibility(inputs(agents=agents, days=days, valid_numbers=valid, list_size=valid))
    b = assess_feasibility(
        inputs(agents=agents + extra, days=days, valid_numbers=valid, list_size=valid)
    )
    assert b.capacity_attempts >= a.capacity_attempts
    assert b.expected_conversions >= a.expected_conversions
    assert a.expected_conversions <= valid * 0.35 * 0.12 + 0.05  # rounded to 0.1


@given(valid=st.integers(0, 10_000), invalid=st.integers(0, 10_000))
def test_valid_share(valid: int, invalid: int) -> None:
    total = valid + invalid
    r = assess_feasibility(inputs(list_size=total, valid_numbers=valid))
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
