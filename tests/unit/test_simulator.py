"""The simulated dialer: progressive pacing, determinism, and an outcome mix near its model."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.errors import DialerRejected
from campaigns.model import LIVE_CONTACT, Disposition
from campaigns.ports import CallRequest
from dialer_adapters import available, load_dialer
from dialer_adapters.simulator import CustomerModel, SimulatedDialer

START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def run(dialer: SimulatedDialer, calls: int, agents: int = 5) -> list:
    dialer.start(agents=[f"A{i}" for i in range(agents)], at=START)
    outcomes = []
    placed = 0
    while placed < calls or dialer.in_flight():
        free = dialer.free_capacity()
        assert 0 <= free <= agents
        n = min(free, calls - placed)
        if n:
            dialer.originate(
                [CallRequest(f"k{placed + i}", placed + i, "+8613800000000", 1) for i in range(n)]
            )
            placed += n
        assert dialer.in_flight() <= agents
        outcomes += dialer.collect(until=START + timedelta(days=2))
    return outcomes


def test_registered_under_entry_point() -> None:
    assert "simulator" in available()
    assert isinstance(load_dialer("simulator", seed=1), SimulatedDialer)


def test_every_call_reported_once_in_time_order() -> None:
    outcomes = run(SimulatedDialer(seed=3), 500)
    assert sorted(o.key for o in outcomes) == sorted(f"k{i}" for i in range(500))
    for o in outcomes:
        assert o.dialed_at <= o.ended_at
        assert (o.answered_at is not None) == (o.talk_seconds > 0)


def test_same_seed_same_outcomes() -> None:
    a = {o.key: o.disposition for o in run(SimulatedDialer(seed=11), 300)}
    b = {o.key: o.disposition for o in run(SimulatedDialer(seed=11), 300, agents=3)}
    assert a == b  # outcomes depend on (seed, key), not on pacing


def test_outcome_mix_follows_the_model() -> None:
    model = CustomerModel()
    counts = Counter(o.disposition for o in run(SimulatedDialer(seed=5), 20_000, agents=50))
    n = sum(counts.values())
    assert abs(counts[Disposition.NO_ANSWER] / n - model.p_no_answer) < 0.02
    assert abs(counts[Disposition.BUSY] / n - model.p_busy) < 0.01
    live = sum(v for k, v in counts.items() if k in LIVE_CONTACT) / n
    expected_live = 1 - (
        model.p_invalid
        + model.p_unreachable
        + model.p_busy
        + model.p_no_answer
        + model.p_machine
        + model.p_network_fail
    )
    assert abs(live - expected_live) < 0.02


def test_cannot_overbook_agents() -> None:
    d = SimulatedDialer()
    d.start(agents=["A1"], at=START)
    with pytest.raises(DialerRejected):
        d.originate([CallRequest("a", 1, "+8613800000000", 1), CallRequest("b", 2, "+86", 1)])


def test_idle_collect_advances_clock_to_until() -> None:
    d = SimulatedDialer()
    d.start(agents=["A1"], at=START)
    assert d.collect(until=START + timedelta(hours=1)) == []
    assert d.now() == START + timedelta(hours=1)
