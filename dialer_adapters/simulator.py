"""The default dialer: a discrete-event simulation of customers and agents on a simulated clock.

Progressive pacing: one call per idle agent, the agent reserved while it rings, so no
call is abandoned. Every random draw is seeded by (seed, attempt key), so a re-run of
the same attempt gives the same outcome whatever order calls were placed in.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from campaigns.errors import DialerRejected
from campaigns.model import Disposition
from campaigns.ports import CallOutcome, CallRequest


@dataclass(frozen=True, slots=True)
class CustomerModel:
    """How called parties behave. Probabilities of the network outcome sum to at most 1."""

    p_invalid: float = 0.02
    p_unreachable: float = 0.05
    p_busy: float = 0.06
    p_no_answer: float = 0.30
    p_machine: float = 0.07
    p_network_fail: float = 0.01
    answer_delay: tuple[float, float] = (3.0, 18.0)
    ring_timeout: float = 30.0
    p_account_holder: float = 0.85
    # Agent outcomes for a verified account holder; the rest are refusals.
    p_success: float = 0.08
    p_callback: float = 0.10
    p_hung_up: float = 0.08
    p_ineligible: float = 0.03
    p_dnc_request: float = 0.02
    p_complaint: float = 0.005


@dataclass(frozen=True, slots=True)
class AgentModel:
    """Handle times by outcome (mean seconds) and wrap-up after each live call."""

    talk_success: float = 240.0
    talk_refused: float = 75.0
    talk_other: float = 50.0
    talk_not_holder: float = 20.0
    wrap_up: float = 20.0


REFUSAL_REASONS = (
    "资费太贵 price too high",
    "暂不需要 no need now",
    "已有类似业务 has a similar service",
    "不信任电话营销 distrusts phone sales",
    "要和家人商量 will ask family",
)


class SimulatedDialer:
    """A `Dialer` whose customers and agents are simulated; days of dialing take seconds."""

    name = "simulator"
    simulated_time = True

    def __init__(
        self,
        *,
        seed: int = 7,
        customers: CustomerModel | None = None,
        agents: AgentModel | None = None,
        **_options: Any,
    ) -> None:
        self.seed = seed
        self.customers = customers or CustomerModel()
        self.agent_model = agents or AgentModel()
        self._now: datetime | None = None
        self._idle: list[str] = []
        self._events: list[tuple[datetime, int, str, Any]] = []
        self._seq = itertools.count()
        self._in_flight = 0

    # ---------------------------------------------------------------- protocol

    def start(self, *, agents: Sequence[str], at: datetime) -> None:
        """Sign agents in and set the simulated clock."""
        if at.tzinfo is None:
            raise DialerRejected("the simulator needs a timezone-aware start time")
        self._now = at
        self._idle = list(agents)
        self._events = []
        self._in_flight = 0

    def now(self) -> datetime:
        """Simulated time."""
        if self._now is None:
            raise DialerRejected("start() was not called")
        return self._now

    def free_capacity(self) -> int:
        """Idle agents (progressive pacing)."""
        return len(self._idle)

    def in_flight(self) -> int:
        """Calls originated and not yet reported."""
        return self._in_flight

    def originate(self, calls: Sequence[CallRequest]) -> None:
        """Reserve an idle agent per call and schedule how the call ends."""
        if len(calls) > len(self._idle):
            raise DialerRejected(f"{len(calls)} calls asked for, {len(self._idle)} agents idle")
        now = self.now()
        for request in calls:
            agent = self._idle.pop()
            outcome = self._play(request, agent, now)
            self._push(outcome.ended_at, "end", outcome)
            self._push(outcome.ended_at + timedelta(seconds=outcome.wrap_seconds), "free", agent)
            self._in_flight += 1

    def collect(self, until: datetime) -> list[CallOutcome]:
        """Advance to the next event (or `until`) and return the calls that ended then."""
        now = self.now()
        if not self._events or self._events[0][0] > until:
            self._now = max(now, until)
            return []
        when = self._events[0][0]
        self._now = max(now, when)
        ended: list[CallOutcome] = []
        while self._events and self._events[0][0] <= when:
            self._apply(heapq.heappop(self._events), ended)
        return ended

    def drain(self) -> list[CallOutcome]:
        """Run every pending event to completion."""
        ended: list[CallOutcome] = []
        while self._events:
            event = heapq.heappop(self._events)
            self._now = max(self.now(), event[0])
            self._apply(event, ended)
        return ended

    def close(self) -> None:
        """Nothing to release."""
        self._idle = []

    # ---------------------------------------------------------------- model

    def _push(self, when: datetime, kind: str, payload: Any) -> None:
        heapq.heappush(self._events, (when, next(self._seq), kind, payload))

    def _apply(self, event: tuple[datetime, int, str, Any], ended: list[CallOutcome]) -> None:
        _, _, kind, payload = event
        if kind == "end":
            self._in_flight -= 1
            ended.append(payload)
        else:
            self._idle.append(payload)

    def _play(self, request: CallRequest, agent: str, now: datetime) -> CallOutcome:
        rng = random.Random(f"{self.seed}:{request.key}")
        c = self.customers
        a = self.agent_model
        r = rng.random()
        network = [
            (c.p_network_fail, Disposition.NETWORK_FAIL, 1.0),
            (c.p_invalid, Disposition.INVALID, 4.0),
            (c.p_unreachable, Disposition.UNREACHABLE, 6.0),
            (c.p_busy, Disposition.BUSY, 3.0),
            (c.p_no_answer, Disposition.NO_ANSWER, c.ring_timeout),
        ]
        for p, disposition, seconds in network:
            if r < p:
                return self._outcome(request, agent, now, disposition, ring=seconds)
            r -= p
        ring = rng.uniform(*c.answer_delay)
        if r < c.p_machine:
            return self._outcome(request, agent, now, Disposition.MACHINE, ring=ring, talk=8.0)
        if rng.random() >= c.p_account_holder:
            talk = rng.expovariate(1 / a.talk_not_holder)
            return self._outcome(
                request, agent, now, Disposition.NOT_ACCOUNT_HOLDER, ring=ring, talk=talk, wrap=True
            )
        r = rng.random()
        agent_outcomes = [
            (c.p_success, Disposition.SUCCESS, a.talk_success),
            (c.p_callback, Disposition.CALLBACK, a.talk_other),
            (c.p_hung_up, Disposition.HUNG_UP, a.talk_other / 2),
            (c.p_ineligible, Disposition.INELIGIBLE, a.talk_other),
            (c.p_dnc_request, Disposition.DNC_REQUEST, a.talk_other / 2),
            (c.p_complaint, Disposition.COMPLAINT, a.talk_refused),
        ]
        disposition, mean = Disposition.REFUSED, a.talk_refused
        for p, d, m in agent_outcomes:
            if r < p:
                disposition, mean = d, m
                break
            r -= p
        talk = max(10.0, rng.gauss(mean, mean / 3))
        note = rng.choice(REFUSAL_REASONS) if disposition is Disposition.REFUSED else None
        callback = None
        if disposition is Disposition.CALLBACK:
            callback = now + timedelta(hours=rng.choice((2, 4, 24)))
        return self._outcome(
            request,
            agent,
            now,
            disposition,
            ring=ring,
            talk=talk,
            wrap=True,
            note=note,
            callback_at=callback,
        )

    def _outcome(
        self,
        request: CallRequest,
        agent: str,
        now: datetime,
        disposition: Disposition,
        *,
        ring: float,
        talk: float = 0.0,
        wrap: bool = False,
        note: str | None = None,
        callback_at: datetime | None = None,
    ) -> CallOutcome:
        answered = now + timedelta(seconds=ring) if talk else None
        ended = now + timedelta(seconds=ring + talk)
        return CallOutcome(
            key=request.key,
            contact_id=request.contact_id,
            disposition=disposition,
            dialed_at=now,
            answered_at=answered,
            ended_at=ended,
            ring_seconds=round(ring, 2),
            talk_seconds=round(talk, 2),
            wrap_seconds=self.agent_model.wrap_up if wrap else 0.0,
            agent_work_id=agent if talk else None,
            callback_at=callback_at,
            note=note,
        )
