"""Pacing: a pure object fed with dialer events, asked how many calls to place now."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.dialing import DialingSession
from campaigns.errors import ConfigurationError
from campaigns.model import LIVE_CONTACT, Disposition
from campaigns.pacing import (
    UK_RULE,
    US_RULE,
    AbandonRule,
    AbandonWindow,
    Pacer,
    PacingConfig,
    PacingMode,
)
from campaigns.ports import (
    AgentSignedIn,
    AgentSignedOut,
    AnsweredBy,
    AttemptTally,
    CallAnswered,
    CallBridged,
    CallDisposed,
    CallEnded,
    CallOutcome,
    CallRequest,
    EndReason,
)
from dialer_adapters.simulator import AgentModel, CustomerModel, SimulatedDialer

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def call(key: str, agent: str | None = None) -> CallRequest:
    return CallRequest(key, 0, "+8613800000000", 1, agent=agent)


def staffed(config: PacingConfig, agents: int) -> Pacer:
    pacer = Pacer(config)
    for i in range(agents):
        pacer.observe(AgentSignedIn(f"A{i}", T0))
    return pacer


def history(live: int, abandoned: int, *, ended: int | None = None) -> list[AttemptTally]:
    """One bucket of the hour before T0, as the attempts table would report it."""
    return [
        AttemptTally(
            at(-3600), T0, ended or 3 * live, live, abandoned, live - abandoned, 140.0 * live
        )
    ]


PREDICTIVE = PacingConfig(mode=PacingMode.PREDICTIVE, abandon=UK_RULE, min_predictive_agents=10)


# --------------------------------------------------------------------------- modes


def test_progressive_reserves_one_idle_agent_per_call() -> None:
    pacer = staffed(PacingConfig(mode=PacingMode.PROGRESSIVE), 3)
    plan = pacer.plan(T0)
    assert (plan.mode, plan.calls, plan.agents, plan.preview) == (
        PacingMode.PROGRESSIVE,
        3,
        ("A0", "A1", "A2"),
        False,
    )
    pacer.originated(call("k0", "A0"), T0)
    assert pacer.plan(T0).agents == ("A1", "A2")
    # The call rang out: the agent is free again; it signs out: it is not planned for.
    pacer.observe(CallEnded("k0", at(22), EndReason.NO_ANSWER))
    pacer.observe(AgentSignedOut("A1", at(22)))
    assert pacer.plan(at(22)).agents == ("A2", "A0")


def test_preview_is_one_call_per_agent_who_asked() -> None:
    plan = staffed(PacingConfig(mode=PacingMode.PREVIEW), 2).plan(T0)
    assert plan.preview and plan.agents == ("A0", "A1") and plan.mode is PacingMode.PREVIEW


def test_predictive_falls_back_to_progressive_with_few_agents() -> None:
    config = PacingConfig(mode=PacingMode.PREDICTIVE)  # default: 15 agents at least
    few = staffed(config, 14)
    assert few.plan(T0).mode is PacingMode.PROGRESSIVE and len(few.plan(T0).agents) == 14
    assert few.next_decision(T0) is None
    many = staffed(config, 15)
    plan = many.plan(T0)
    assert plan.mode is PacingMode.PREDICTIVE and plan.agents == ()
    assert many.next_decision(T0) == T0 + config.tick


def test_max_calls_is_honoured_in_every_mode() -> None:
    for mode in PacingMode:
        pacer = staffed(PacingConfig(mode=mode, min_predictive_agents=1), 5)
        pacer.seed(history(10_000, 0))
        assert pacer.plan(T0, max_calls=2).calls == 2
        pacer.originated(call("x"), T0)
        assert pacer.plan(at(1), max_calls=2).calls <= 1


# --------------------------------------------------------------------------- the guard


def test_without_abandon_budget_predictive_risks_nothing() -> None:
    """A fresh campaign: one abandoned call would be over the cap, so no call beyond the
    idle agents; with a long clean history, it over-dials."""
    fresh = staffed(PREDICTIVE, 20)
    assert fresh.plan(T0).calls == 20
    clean = staffed(PREDICTIVE, 20)
    clean.seed(history(10_000, 0))
    assert clean.plan(T0).calls > 30


def test_calls_at_risk_never_exceed_what_the_window_can_absorb() -> None:
    pacer = staffed(PREDICTIVE, 20)
    pacer.seed(history(1000, 27))  # (0.03 * 1000 - 27) / 0.97: 3 abandons still allowed
    assert pacer.plan(T0).calls == 23
    for i in range(23):
        pacer.originated(call(f"k{i}"), T0)
    assert pacer.plan(at(2)).calls == 0
    over = staffed(PREDICTIVE, 20)
    over.seed(history(1000, 31))  # already over the cap: only calls an idle agent will take
    assert over.plan(T0).calls == 20


def test_the_window_forgets_after_its_width_and_errs_on_the_safe_side() -> None:
    window = AbandonWindow(UK_RULE)
    day = UK_RULE.window.total_seconds()
    window.add(0.0, live=100, abandoned=3)
    assert window.counts(day - 1) == (100, 3)
    assert window.rate(day - 1) == pytest.approx(0.03)
    assert window.counts(day + 61) == (0, 0) and window.rate(day + 61) is None
    seeded = AbandonWindow(UK_RULE)
    seeded.seed(0.0, 3600.0, live=100, abandoned=3)
    # Live answers leave at the bucket's start, abandons at its end (+ slack).
    assert seeded.counts(day + 1) == (0, 3)
    assert seeded.counts(day + 3600 + 61) == (0, 0)


def test_abandon_rules() -> None:
    assert (US_RULE.cap, US_RULE.window) == (0.03, timedelta(days=30))
    assert (UK_RULE.cap, UK_RULE.window) == (0.03, timedelta(hours=24))
    with pytest.raises(ValueError):
        AbandonRule(cap=1.5)
    config = PacingConfig.from_options(
        {"mode": "progressive", "rule": "uk", "cap": 0.05, "min_predictive_agents": 10}
    )
    assert config.mode is PacingMode.PROGRESSIVE and config.min_predictive_agents == 10
    assert config.abandon.cap == 0.05 and config.abandon.window == timedelta(hours=24)
    assert PacingConfig.from_options(None) == PacingConfig()
    assert PacingConfig.from_options({"margin_bounds": [0, 2]}).margin_bounds == (0.0, 2.0)
    with pytest.raises(ConfigurationError, match="dial_harder"):
        PacingConfig.from_options({"dial_harder": True})


# --------------------------------------------------------------------------- estimates


def test_the_margin_rises_on_an_abandon_and_eases_on_a_connect() -> None:
    pacer = staffed(PREDICTIVE, 12)
    start = pacer.margin
    pacer.originated(call("a"), T0)
    pacer.observe(CallAnswered("a", at(9), AnsweredBy.HUMAN))
    pacer.observe(CallEnded("a", at(11), EndReason.ABANDONED))
    assert pacer.margin == pytest.approx(start + PREDICTIVE.margin_step)
    pacer.originated(call("b"), at(12))
    pacer.observe(CallAnswered("b", at(20), AnsweredBy.HUMAN))
    pacer.observe(CallBridged("b", at(20), "A1"))
    assert start < pacer.margin < start + PREDICTIVE.margin_step
    assert pacer.window.counts(at(21).timestamp()) == (2, 1)


def test_agents_in_wrap_up_count_as_about_to_be_free() -> None:
    def busy(wrapping: bool) -> int:
        pacer = staffed(PREDICTIVE, 15)
        pacer.seed(history(10_000, 0))
        for i in range(15):
            pacer.originated(call(f"k{i}"), T0)
            pacer.observe(CallAnswered(f"k{i}", at(8), AnsweredBy.HUMAN))
            pacer.observe(CallBridged(f"k{i}", at(8), f"A{i}"))
        if wrapping:
            for i in range(15):
                pacer.observe(CallEnded(f"k{i}", at(20), EndReason.HUNG_UP))
        return pacer.plan(at(30)).calls

    assert busy(wrapping=False) < busy(wrapping=True)


def test_measured_rates_replace_the_priors() -> None:
    pacer = staffed(PREDICTIVE, 12)
    assert pacer.live_rate() == pytest.approx(PREDICTIVE.prior_live_rate)
    pacer.seed(history(500, 0, ended=1000))
    assert pacer.live_rate() == pytest.approx(0.5)
    assert pacer.handle_seconds() == pytest.approx(140.0)
    for i in range(200):  # measured: one call in four answered in person
        pacer.originated(call(f"m{i}"), T0)
        if i % 4 == 0:
            pacer.observe(CallAnswered(f"m{i}", at(10), AnsweredBy.HUMAN))
        pacer.observe(CallEnded(f"m{i}", at(20), EndReason.NO_ANSWER))
    assert pacer.live_rate() == pytest.approx((50 + 20 * 0.5) / 220)
    pacer.observe(CallDisposed("m0", at(30), "A0", Disposition.MACHINE))
    assert pacer.window.counts(at(31).timestamp())[0] == 499  # an agent found a machine


# --------------------------------------------------------------------------- on the simulator

SCENARIO = CustomerModel(
    p_invalid=0.15, p_unreachable=0, p_network_fail=0, p_busy=0.05, p_no_answer=0.4, p_machine=0.1
)


def dial(config: PacingConfig, agents: int, hours: float) -> tuple[list[CallOutcome], float]:
    """Dial the benchmark scenario for `hours`; every outcome and the occupancy."""

    async def go() -> tuple[list[CallOutcome], float]:
        dialer = SimulatedDialer(
            seed=8, customers=SCENARIO, agents=AgentModel().scaled_to(140.0, SCENARIO)
        )
        end = T0 + timedelta(hours=hours)
        session = DialingSession(dialer, Pacer(config), start=T0, end=end)
        await dialer.start(agents=[f"A{i}" for i in range(agents)], at=T0)
        keys = itertools.count()
        outcomes: list[CallOutcome] = []
        while dialer.now() < end:
            plan = session.plan(dialer.now())
            await session.originate(
                [
                    CallRequest(f"c{n}", n, f"+86136{n:08d}", 1, agent=a)
                    for n, a in zip(
                        (next(keys) for _ in range(plan.calls)),
                        plan.agents or [None] * plan.calls,
                        strict=True,
                    )
                ]
            )
            outcomes += await session.step(session.wake(dialer.now(), end))
        outcomes += await session.drain(end + timedelta(hours=1))
        session.meter.close(end)
        return outcomes, session.meter.occupancy

    return asyncio.run(go())


def worst_trailing_rate(outcomes: list[CallOutcome], width: timedelta) -> float:
    """The highest abandoned / live over windows (t - width, t] ending at any live answer."""
    events = sorted(
        ((o.bridged_at or o.ended_at), o.disposition is Disposition.ABANDONED)
        for o in outcomes
        if o.disposition in LIVE_CONTACT
    )
    worst, lo, abandoned = 0.0, 0, 0
    for hi, (t, was_abandoned) in enumerate(events):
        abandoned += was_abandoned
        while events[lo][0] <= t - width:
            abandoned -= events[lo][1]
            lo += 1
        worst = max(worst, abandoned / (hi - lo + 1))
    return worst


def test_the_guard_holds_the_cap_even_when_the_controller_is_reckless() -> None:
    reckless = PacingConfig(
        mode=PacingMode.PREDICTIVE,
        abandon=UK_RULE,
        min_predictive_agents=1,
        margin=-3.0,
        margin_bounds=(-3.0, -3.0),  # never backs off: only the guard stands in the way
    )
    outcomes, _ = dial(reckless, agents=20, hours=3)
    abandoned = sum(o.disposition is Disposition.ABANDONED for o in outcomes)
    assert abandoned > 20  # it did push against the cap ...
    assert worst_trailing_rate(outcomes, UK_RULE.window) <= 0.03  # ... and never past it


def test_predictive_beats_progressive_within_the_cap() -> None:
    base = PacingConfig(abandon=UK_RULE, min_predictive_agents=1)
    progressive, occ_progressive = dial(
        PacingConfig(mode=PacingMode.PROGRESSIVE, abandon=UK_RULE), agents=20, hours=3
    )
    predictive, occ_predictive = dial(base, agents=20, hours=3)
    assert not any(o.disposition is Disposition.ABANDONED for o in progressive)
    assert occ_predictive > occ_progressive + 0.05
    assert worst_trailing_rate(predictive, UK_RULE.window) <= 0.03


def test_resumed_dialing_starts_from_where_the_margin_had_got_to() -> None:
    def margin_after(abandoned: int, hours_ago: float) -> float:
        pacer = Pacer(PREDICTIVE)
        end = T0 - timedelta(hours=hours_ago)
        pacer.seed([AttemptTally(end - timedelta(minutes=15), end, 900, 300, abandoned, 290, 0.0)])
        return pacer.margin

    assert margin_after(0, 0) < PREDICTIVE.margin < margin_after(20, 0)
    assert margin_after(20, 3) > PREDICTIVE.margin  # the newest history is what counts ...
    pacer = Pacer(PREDICTIVE)
    pacer.seed(
        [
            AttemptTally(at(-7200), at(-6300), 900, 300, 20, 280, 0.0),  # ... not older hours
            AttemptTally(at(-900), T0, 900, 300, 7, 293, 0.0),
        ]
    )
    assert pacer.margin == pytest.approx(margin_after(7, 0))
