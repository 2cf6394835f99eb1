"""The simulator against queueing theory (DOMAIN.md §6), before anything trusts it.

- Progressive dialing: each agent alternates between waiting for a live contact (W) and
  handling it (h), so occupancy is h / (h + W). W is measured from the call records and
  also derived from the customer model by hand; both must agree with the agents' clock.
- Open-loop Poisson dialing with no queueing (patience 0) is an Erlang-B loss system:
  the abandon rate is B(N, a) and occupancy a (1 - B) / N, for N = 10 and N = 50.

Everything runs on simulated time: hours of dialing take a second or two.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.dialing import DialingSession, OccupancyMeter
from campaigns.model import LIVE_CONTACT, Disposition
from campaigns.pacing import Pacer, PacingConfig, PacingMode
from campaigns.ports import CallEnded, CallOutcome, CallRequest, EndReason
from dialer_adapters.simulator import AgentModel, CustomerModel, SimulatedDialer

START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of an M/G/N/N loss system (the stable recursion)."""
    b = 1.0
    for n in range(1, servers + 1):
        b = load * b / (n + load * b)
    return b


def load_for(servers: int, blocking: float) -> float:
    """The offered load (erlangs) at which B(servers, load) == blocking."""
    lo, hi = 0.0, 10.0 * servers
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if erlang_b(servers, mid) < blocking else (lo, mid)
    return (lo + hi) / 2


def test_erlang_b_helper_gives_the_figures_of_the_domain_brief() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    for servers, occupancy in ((10, 0.536), (50, 0.813)):
        a = load_for(servers, 0.03)
        assert erlang_b(servers, a) == pytest.approx(0.03)
        assert a * 0.97 / servers == pytest.approx(occupancy, abs=0.001)


# --------------------------------------------------------------------------- progressive

#: The benchmark's scenario: live 30%, machine 10%, no answer 40%, busy 5%, invalid 15%.
SCENARIO = CustomerModel(
    p_invalid=0.15,
    p_unreachable=0.0,
    p_network_fail=0.0,
    p_busy=0.05,
    p_no_answer=0.40,
    p_machine=0.10,
)


def analytic_wait(c: CustomerModel, amd_seconds: float) -> float:
    """W from the model, by hand: an agent's mean reserved time per live contact.

    Each attempt reserves the agent from dialling until it is bridged (a person) or over;
    attempts until a person answers are geometric with mean 1 / p_live.
    """
    setup = sum(c.setup_delay) / 2
    answer = sum(c.answer_delay) / 2
    reserved = (
        c.p_invalid * (setup + 3.0)  # the 空号 announcement
        + c.p_busy * (setup + 0.5)
        + c.p_no_answer * (setup + c.ring_timeout)
        + (c.p_machine + c.p_live) * (setup + answer + amd_seconds)
    )
    return reserved / c.p_live


def test_progressive_occupancy_is_h_over_h_plus_w() -> None:
    agents = AgentModel().scaled_to(140.0, SCENARIO)
    end = START + timedelta(hours=8)

    async def go() -> tuple[list[CallOutcome], OccupancyMeter]:
        dialer = SimulatedDialer(seed=21, customers=SCENARIO, agents=agents)
        session = DialingSession(
            dialer, Pacer(PacingConfig(mode=PacingMode.PROGRESSIVE)), start=START, end=end
        )
        await dialer.start(agents=[f"A{i}" for i in range(10)], at=START)
        outcomes: list[CallOutcome] = []
        n = 0
        while dialer.now() < end:
            plan = session.plan(dialer.now())
            requests = [
                CallRequest(f"p{n + i}", n + i, f"+86139{n + i:08d}", 1, agent=plan.agents[i])
                for i in range(plan.calls)
            ]
            n += plan.calls
            await session.originate(requests)
            outcomes += await session.step(end)
        outcomes += await session.drain(end + timedelta(hours=1))
        session.meter.close(end)
        return outcomes, session.meter

    outcomes, meter = asyncio.run(go())
    live = [o for o in outcomes if o.disposition in LIVE_CONTACT]
    assert not any(o.disposition is Disposition.ABANDONED for o in outcomes)
    h = sum(o.talk_seconds + o.wrap_seconds for o in live) / len(live)
    waited = sum(
        ((o.bridged_at or o.ended_at) - o.dialed_at).total_seconds() for o in outcomes
    ) / len(live)
    assert len(live) > 1200
    # The agents' own clock against the formula with measured h and W ...
    assert meter.occupancy == pytest.approx(h / (h + waited), abs=0.01)
    # ... and against the model: W derived by hand, h as configured.
    w_model = analytic_wait(SCENARIO, amd_seconds=1.5)
    assert waited == pytest.approx(w_model, rel=0.05)
    assert h == pytest.approx(140.0, rel=0.05)  # success calls (6.8%) last ~400 s: noisy
    assert meter.occupancy == pytest.approx(140.0 / (140.0 + w_model), abs=0.015)


# --------------------------------------------------------------------------- Erlang-B

#: Everyone answers in person and refuses; an agent is busy 120 s talking + 20 s wrapping.
PEOPLE = CustomerModel(
    p_invalid=0,
    p_unreachable=0,
    p_network_fail=0,
    p_busy=0,
    p_no_answer=0,
    p_machine=0,
    p_account_holder=1.0,
    p_success=0,
    p_callback=0,
    p_hung_up=0,
    p_ineligible=0,
    p_dnc_request=0,
    p_complaint=0,
)
HANDLE = AgentModel(talk_refused=120.0, wrap_up=20.0)


@pytest.mark.parametrize(("servers", "hours"), [(10, 60), (50, 15)])
def test_open_loop_poisson_dialing_is_an_erlang_b_loss_system(servers: int, hours: int) -> None:
    load = load_for(servers, 0.03)
    rate = load / 140.0  # calls per second, every one answered by a person
    warm = START + timedelta(hours=1)
    end = warm + timedelta(hours=hours)

    async def go() -> tuple[int, int, OccupancyMeter]:
        dialer = SimulatedDialer(seed=servers, customers=PEOPLE, agents=HANDLE, patience=0.0)
        meter = OccupancyMeter(warm, end)
        await dialer.start(agents=[f"A{i}" for i in range(servers)], at=START)
        arrivals = random.Random(servers)
        t, n, lost, offered = START, 0, 0, 0
        while t < end:
            t += timedelta(seconds=arrivals.expovariate(rate))
            while dialer.now() < t:
                for e in await dialer.receive(until=t):
                    meter.observe(e)
                    if isinstance(e, CallEnded) and e.reason is EndReason.ABANDONED:
                        lost += e.at >= warm
            await dialer.originate([CallRequest(f"e{n}", n, f"+86137{n:08d}", 1)])
            offered += t >= warm
            n += 1
        meter.close(end)
        return lost, offered, meter

    lost, offered, meter = asyncio.run(go())
    blocking = erlang_b(servers, load)
    assert offered > 5000
    assert lost / offered == pytest.approx(blocking, abs=0.006)
    assert meter.occupancy == pytest.approx(load * (1 - blocking) / servers, abs=0.012)
