"""The default dialer: a discrete-event simulation of customers and agents on a simulated clock.

Customers (`CustomerModel`): the network outcome of a call (failed with a cause, busy,
rang out, answered by a machine or a person), with the answer probability varying by
the hour of the day and by customer segment; the delay to set up and to answer; who is
the account holder, and what an agent achieves with them. Agents (`AgentModel`): shifts,
talk time by outcome (gamma distributed), wrap-up, preview time.

Calls wait for an agent the way a real dialer does: a call originated for a named agent
(progressive, preview) is bridged to that agent, who waits for it; any other call goes,
once a person answers, to the agent idle longest. A person nobody takes within the
patience (2 s by default) hears the compliance message and is hung up on: the call
ends ABANDONED. With answering-machine detection (`amd=True`) machines are recognised
and hung up on; without it, they are bridged like people and the agent disposes them.

Every random draw of a call is seeded by (seed, attempt key), so the customer behaves
the same whatever pacing placed the call, and a run is reproducible from its seed.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.errors import ConfigurationError, DialerRejected, DialerUnavailable
from campaigns.model import Disposition
from campaigns.ports import (
    AgentSignedIn,
    AgentSignedOut,
    AnsweredBy,
    CallAnswered,
    CallBridged,
    CallDisposed,
    CallEnded,
    CallRequest,
    DialerCapabilities,
    DialerEvent,
    EndReason,
    FailureCause,
    Party,
    RingingStarted,
)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True, slots=True)
class CustomerModel:
    """How called parties behave. Network outcome probabilities sum to at most 1; the rest
    is answered by a person. `answer_by_hour` (local hour -> factor) and `answer_by_segment`
    scale the answered share (machine and person alike), taking from or giving to no-answer.
    """

    p_invalid: float = 0.02
    p_unreachable: float = 0.05
    p_suspended: float = 0.0
    p_declined: float = 0.0
    p_network_fail: float = 0.01
    p_busy: float = 0.06
    p_no_answer: float = 0.30
    p_machine: float = 0.07
    setup_delay: tuple[float, float] = (1.0, 3.0)
    answer_delay: tuple[float, float] = (2.0, 16.0)
    ring_timeout: float = 20.0
    answer_by_hour: Mapping[int, float] = field(default_factory=dict)
    answer_by_segment: Mapping[str, float] = field(default_factory=dict)
    p_account_holder: float = 0.85
    # Agent outcomes for a verified account holder, taken in this order (when they sum past
    # 1 the later ones get what is left); the rest are refusals.
    p_success: float = 0.08
    p_callback: float = 0.10
    p_hung_up: float = 0.08
    p_ineligible: float = 0.03
    p_dnc_request: float = 0.02
    p_complaint: float = 0.005

    def __post_init__(self) -> None:
        network = self._network_sum() + self.p_machine + self.p_no_answer
        probabilities = [getattr(self, f.name) for f in fields(self) if f.name.startswith("p_")]
        if any(not 0 <= p <= 1 for p in probabilities) or network > 1 + 1e-9:
            raise ConfigurationError(
                "customer model probabilities must be in [0, 1], network outcomes sum to <= 1"
            )
        if self.ring_timeout < 15:
            raise ConfigurationError("unanswered calls must ring at least 15 s")
        lo, hi = self.answer_delay
        if not 0 <= lo <= hi < self.ring_timeout:
            raise ConfigurationError("answer delays must be within the ring timeout")

    def _network_sum(self) -> float:
        return (
            self.p_network_fail
            + self.p_invalid
            + self.p_unreachable
            + self.p_suspended
            + self.p_declined
            + self.p_busy
        )

    @property
    def p_live(self) -> float:
        """Share of calls a person answers, before hour and segment factors."""
        return max(0.0, 1 - self._network_sum() - self.p_machine - self.p_no_answer)

    def answered_shares(self, hour: int, segment: str | None) -> tuple[float, float]:
        """(P(machine), P(person)) at a local hour for a segment."""
        factor = self.answer_by_hour.get(hour, 1.0)
        if segment is not None:
            factor *= self.answer_by_segment.get(segment, 1.0)
        answered = self.p_machine + self.p_live
        if answered <= 0:
            return 0.0, 0.0
        scaled = min(answered * factor, answered + self.p_no_answer)
        return self.p_machine * scaled / answered, self.p_live * scaled / answered


@dataclass(frozen=True, slots=True)
class AgentModel:
    """Agents: mean talk time by outcome (gamma, coefficient of variation `talk_cv`),
    wrap-up after each bridged call, time to read a previewed contact, and the shift
    (local times in the simulator's time zone; None: signed in for the whole session).
    """

    talk_success: float = 240.0
    talk_refused: float = 75.0
    talk_other: float = 50.0
    talk_not_holder: float = 20.0
    talk_machine: float = 8.0
    wrap_up: float = 20.0
    talk_cv: float = 0.5
    wrap_cv: float = 0.3
    preview_seconds: float = 8.0
    shift: tuple[time, time] | None = None

    def __post_init__(self) -> None:
        if self.shift is not None and not self.shift[0] < self.shift[1]:
            raise ConfigurationError("a shift starts and ends on the same day")

    def talk_mean(self, disposition: Disposition) -> float:
        """Mean talk time of a call that ends with this disposition."""
        return {
            Disposition.SUCCESS: self.talk_success,
            Disposition.REFUSED: self.talk_refused,
            Disposition.COMPLAINT: self.talk_refused,
            Disposition.CALLBACK: self.talk_other,
            Disposition.INELIGIBLE: self.talk_other,
            Disposition.HUNG_UP: self.talk_other / 2,
            Disposition.DNC_REQUEST: self.talk_other / 2,
            Disposition.NOT_ACCOUNT_HOLDER: self.talk_not_holder,
            Disposition.MACHINE: self.talk_machine,
        }.get(disposition, self.talk_other)

    def scaled_to(self, handle_seconds: float, customers: CustomerModel) -> AgentModel:
        """The same model with talk times scaled so a person's call takes `handle_seconds`
        on average, talk and wrap-up together."""
        talk = expected_handle_seconds(customers, self) - self.wrap_up
        factor = (handle_seconds - self.wrap_up) / talk
        return AgentModel(
            talk_success=self.talk_success * factor,
            talk_refused=self.talk_refused * factor,
            talk_other=self.talk_other * factor,
            talk_not_holder=self.talk_not_holder * factor,
            talk_machine=self.talk_machine,
            wrap_up=self.wrap_up,
            talk_cv=self.talk_cv,
            wrap_cv=self.wrap_cv,
            preview_seconds=self.preview_seconds,
            shift=self.shift,
        )


def _agent_outcomes(c: CustomerModel) -> list[tuple[float, Disposition]]:
    return [
        (c.p_success, Disposition.SUCCESS),
        (c.p_callback, Disposition.CALLBACK),
        (c.p_hung_up, Disposition.HUNG_UP),
        (c.p_ineligible, Disposition.INELIGIBLE),
        (c.p_dnc_request, Disposition.DNC_REQUEST),
        (c.p_complaint, Disposition.COMPLAINT),
    ]


def expected_handle_seconds(customers: CustomerModel, agents: AgentModel) -> float:
    """Mean talk + wrap-up of a call answered by a person, from the models."""
    outcomes = _agent_outcomes(customers)
    refused = 1 - sum(p for p, _ in outcomes)
    holder = sum(p * agents.talk_mean(d) for p, d in outcomes)
    holder += refused * agents.talk_mean(Disposition.REFUSED)
    talk = (
        customers.p_account_holder * holder
        + (1 - customers.p_account_holder) * agents.talk_not_holder
    )
    return talk + agents.wrap_up


REFUSAL_REASONS = (
    "资费太贵 price too high",
    "暂不需要 no need now",
    "已有类似业务 has a similar service",
    "不信任电话营销 distrusts phone sales",
    "要和家人商量 will ask family",
)
#: What customers who asked to be called back wanted to know first (客户热点: questions).
CUSTOMER_QUESTIONS = (
    "问合约期 asks about the contract term",
    "问流量是否清零 asks whether unused data expires",
    "要核实资费细则 wants the price details checked",
    "问能否随时取消 asks whether it can be cancelled any time",
)

# What happens next to a call or an agent, in simulated seconds.
_DIAL, _RING, _ANSWER, _END, _HANGUP, _DISPOSE, _PATIENCE, _SIGN_IN, _SIGN_OUT = range(9)

_FAILURES = {
    "network": (FailureCause.NETWORK, 0.0, "SIP 503 Service Unavailable"),
    "invalid": (FailureCause.INVALID_NUMBER, 3.0, "SIP 404 Not Found (空号)"),
    "unreachable": (FailureCause.UNREACHABLE, 5.0, "SIP 480 Temporarily Unavailable (关机)"),
    "suspended": (FailureCause.SUSPENDED, 3.0, "SIP 480 (停机 announcement)"),
}


@dataclass(slots=True)
class _Call:
    key: str
    request: CallRequest
    kind: str  # network | invalid | unreachable | suspended | declined | busy | no_answer | ...
    setup: float
    delay: float
    talk: float
    wrap: float
    disposition: Disposition | None
    callback_hours: int
    note: str | None
    agent: str | None = None
    bridged: bool = False


@dataclass(slots=True)
class _Agent:
    on_shift: bool = False
    call: str | None = None  # reserved for or bridged to
    leaving: bool = False


class SimulatedDialer:
    """A `Dialer` whose customers and agents are simulated; days of dialing take seconds."""

    name = "simulator"
    simulated_time = True

    def __init__(
        self,
        *,
        seed: int = 7,
        customers: CustomerModel | Mapping[str, Any] | None = None,
        agents: AgentModel | Mapping[str, Any] | None = None,
        amd: bool = True,
        amd_seconds: float = 1.5,
        patience: float = 2.0,
        timezone: str = "Asia/Shanghai",
        max_calls: int | None = None,
        outages: Sequence[tuple[datetime, datetime]] = (),
        journal: str | None = None,
        **_options: Any,
    ) -> None:
        self.seed = seed
        self.customers = (
            customers
            if isinstance(customers, CustomerModel)
            else CustomerModel(**dict(customers or {}))
        )
        self.agent_model = (
            agents if isinstance(agents, AgentModel) else AgentModel(**dict(agents or {}))
        )
        self.amd = amd
        self.amd_seconds = amd_seconds if amd else 0.0
        self.patience = patience
        self.zone = ZoneInfo(timezone)
        self.outages = list(outages)
        # One line per call placed, written to disk before the call exists: a witness that
        # outlives the process (the crash test reads it after kill -9).
        self.journal = journal
        self.capabilities = DialerCapabilities(
            bridging=True, amd=amd, preview=True, max_calls=max_calls
        )
        self._origin: datetime | None = None
        self._closed = False
        # Pure functions of the models, asked once per call: looked up, not recomputed.
        self._outcomes = _agent_outcomes(self.customers)
        self._talk_means = {d: self.agent_model.talk_mean(d) for d in Disposition}
        self._shares: dict[tuple[int, str | None], tuple[float, float]] = {}
        self._handlers: dict[int, Callable[[Any], None]] = {
            _DIAL: self._dial,
            _RING: self._ring,
            _ANSWER: self._answer,
            _END: self._end_event,
            _HANGUP: self._hang_up,
            _DISPOSE: self._dispose,
            _PATIENCE: self._abandon,
            _SIGN_IN: self._sign_in,
            _SIGN_OUT: self._sign_out,
        }
        self._reset()

    def _reset(self) -> None:
        self._t = 0.0
        self._now: tuple[float, datetime | None] = (0.0, None)
        self._heap: list[tuple[float, int, int, Any]] = []
        self._seq = itertools.count()
        self._outbox: list[DialerEvent] = []
        self._calls: dict[str, _Call] = {}
        self._up: set[str] = set()  # originated, not ended
        self._keys: set[str] = set()
        self._agents: dict[str, _Agent] = {}
        self._idle: dict[str, None] = {}  # longest idle first
        self._waiting: dict[str, float] = {}  # answered, no agent yet -> deadline

    # ---------------------------------------------------------------- protocol

    async def start(self, *, agents: Sequence[str], at: datetime) -> None:
        """Sign agents in (at their shift start) and set the simulated clock to `at`."""
        if at.tzinfo is None:
            raise DialerRejected("the simulator needs a timezone-aware start time")
        self._check_outage(at)
        self._reset()
        self._origin = at
        self._closed = False
        for name in agents:
            self._agents[name] = _Agent()
            self._schedule_shift(name, 0.0)

    def now(self) -> datetime:
        """Simulated time."""
        # Asked several times per event and per call: the datetime is made once per instant.
        t, at = self._now
        if t == self._t and at is not None:
            return at
        if self._origin is None:
            raise DialerRejected("start() was not called")
        at = self._origin + timedelta(seconds=self._t)
        self._now = (self._t, at)
        return at

    async def originate(self, calls: Sequence[CallRequest]) -> None:
        """Place calls; duplicates of keys already placed in this session are ignored."""
        self._check_open()
        self._check_outage(self.now())
        fresh: list[CallRequest] = []
        keys: set[str] = set()
        reserved: set[str] = set()
        for request in calls:
            if request.key in self._keys or request.key in keys:
                continue
            if not E164.match(request.number):
                raise DialerRejected(f"{request.number!r} is not an E.164 number")
            if request.preview and request.agent is None:
                raise DialerRejected("a preview call needs the agent who previews it")
            if request.agent is not None:
                if request.agent not in self._idle or request.agent in reserved:
                    raise DialerRejected(f"agent {request.agent} is not idle")
                reserved.add(request.agent)
            keys.add(request.key)
            fresh.append(request)
        limit = self.capabilities.max_calls
        if limit is not None and len(self._up) + len(fresh) > limit:
            raise DialerRejected(f"{len(self._up)} calls up, {len(fresh)} more exceed {limit}")
        if self.journal and fresh:
            fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, "".join(f"{r.key}\n" for r in fresh).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        for request in fresh:
            self._place(request)

    async def receive(self, *, until: datetime) -> list[DialerEvent]:
        """Advance to the next moment something happens (or `until`); return its events."""
        if self._closed:
            return []
        self.now()
        if self._outbox:
            return self._flush()
        assert self._origin is not None
        limit = (until - self._origin).total_seconds()
        handlers = self._handlers
        while self._heap and self._heap[0][0] <= limit:
            when = self._heap[0][0]
            self._t = max(self._t, when)
            while self._heap and self._heap[0][0] <= when:
                _, _, kind, payload = heapq.heappop(self._heap)
                handlers[kind](payload)
            if self._outbox:
                return self._flush()
        self._t = max(self._t, limit)
        return []

    async def close(self) -> None:
        """Hang up everything, sign agents out; nothing is reported after this."""
        self._closed = True
        self._heap.clear()
        self._outbox.clear()
        self._calls.clear()
        self._up.clear()
        self._idle.clear()
        self._waiting.clear()
        self._agents.clear()

    # ---------------------------------------------------------------- plumbing

    def _check_open(self) -> None:
        if self._origin is None or self._closed:
            raise DialerRejected("the simulator is not started (or was closed)")

    def _check_outage(self, at: datetime) -> None:
        for start, end in self.outages:
            if start <= at < end:
                raise DialerUnavailable(f"simulated outage until {end:%H:%M:%S}") from (
                    ConnectionRefusedError("simulated switch is down")
                )

    def _flush(self) -> list[DialerEvent]:
        out, self._outbox = self._outbox, []
        return out

    def _push(self, delay: float, kind: int, payload: Any) -> None:
        heapq.heappush(self._heap, (self._t + delay, next(self._seq), kind, payload))

    # ---------------------------------------------------------------- agents

    def _local(self, t: float) -> datetime:
        assert self._origin is not None
        return (self._origin + timedelta(seconds=t)).astimezone(self.zone)

    def _schedule_shift(self, name: str, after: float) -> None:
        """Sign the agent in now if on shift, else at the next shift start."""
        shift = self.agent_model.shift
        if shift is None:
            self._push(after, _SIGN_IN, name)
            return
        local = self._local(self._t + after)
        start = datetime.combine(local.date(), shift[0], tzinfo=self.zone)
        end = datetime.combine(local.date(), shift[1], tzinfo=self.zone)
        if local >= end:
            start += timedelta(days=1)
        wait = max(after, (start - local).total_seconds() + after)
        self._push(wait, _SIGN_IN, name)

    def _sign_in(self, name: str) -> None:
        agent = self._agents.get(name)
        if agent is None or agent.on_shift:
            return
        agent.on_shift, agent.leaving = True, False
        self._idle[name] = None
        self._outbox.append(AgentSignedIn(name, self.now()))
        shift = self.agent_model.shift
        if shift is not None:
            local = self._local(self._t)
            end = datetime.combine(local.date(), shift[1], tzinfo=self.zone)
            self._push(max(0.0, (end - local).total_seconds()), _SIGN_OUT, name)
        self._offer(name)

    def _sign_out(self, name: str) -> None:
        agent = self._agents.get(name)
        if agent is None or not agent.on_shift:
            return
        if agent.call is not None:
            agent.leaving = True  # after this call and its wrap-up
            return
        agent.on_shift = False
        self._idle.pop(name, None)
        self._outbox.append(AgentSignedOut(name, self.now()))
        self._schedule_shift(name, 1.0)

    def _release(self, name: str) -> None:
        """The agent is done with a call (or a reservation that was never answered)."""
        agent = self._agents.get(name)
        if agent is None:
            return
        agent.call = None
        if agent.leaving:
            self._sign_out(name)
            return
        self._idle[name] = None
        self._offer(name)

    def _offer(self, name: str) -> None:
        """A free agent takes the call that has waited longest, if any."""
        if self._waiting and name in self._idle:
            key = next(iter(self._waiting))
            del self._waiting[key]
            self._bridge(self._calls[key], name)

    # ---------------------------------------------------------------- calls

    def _place(self, request: CallRequest) -> None:
        rng = random.Random(f"{self.seed}:{request.key}")
        c, a = self.customers, self.agent_model
        # Every draw is made, in the same order, whatever the outcome: the outcome of a
        # key never depends on which branch an earlier draw took.
        r_class, r_holder, r_outcome = rng.random(), rng.random(), rng.random()
        setup = rng.uniform(*c.setup_delay)
        delay = rng.uniform(*c.answer_delay)
        review = _gamma(rng, a.preview_seconds, 0.5) if request.preview else 0.0
        talk_draw = _gamma(rng, 1.0, a.talk_cv)
        wrap = _gamma(rng, a.wrap_up, a.wrap_cv)
        note = rng.choice(REFUSAL_REASONS)
        callback_hours = rng.choice((2, 4, 24))
        # Drawn last, so adding it changed no earlier draw and no outcome of a key.
        question = rng.choice(CUSTOMER_QUESTIONS)

        local = self._local(self._t + review)
        shares = (local.hour, request.segment)
        if shares not in self._shares:
            self._shares[shares] = c.answered_shares(*shares)
        machine, person = self._shares[shares]
        kind = "no_answer"
        for p, k in (
            (c.p_network_fail, "network"),
            (c.p_invalid, "invalid"),
            (c.p_unreachable, "unreachable"),
            (c.p_suspended, "suspended"),
            (c.p_declined, "declined"),
            (c.p_busy, "busy"),
            (machine, "machine"),
            (person, "person"),
        ):
            if r_class < p:
                kind = k
                break
            r_class -= p
        disposition: Disposition | None = None
        if kind == "machine":
            disposition = Disposition.MACHINE
        elif kind == "person":
            disposition = Disposition.NOT_ACCOUNT_HOLDER
            if r_holder < c.p_account_holder:
                disposition = Disposition.REFUSED
                for p, d in self._outcomes:
                    if r_outcome < p:
                        disposition = d
                        break
                    r_outcome -= p
        talk = talk_draw * self._talk_means[disposition] if disposition else 0.0
        call = _Call(
            key=request.key,
            request=request,
            kind=kind,
            setup=setup,
            delay=delay,
            talk=talk,
            wrap=wrap,
            disposition=disposition,
            callback_hours=callback_hours,
            note=note
            if disposition is Disposition.REFUSED
            else question
            if disposition is Disposition.CALLBACK
            else None,
            agent=request.agent,
        )
        self._keys.add(request.key)
        self._up.add(request.key)
        self._calls[request.key] = call
        if request.agent is not None:
            self._idle.pop(request.agent, None)
            self._agents[request.agent].call = request.key
        self._push(review, _DIAL, call)

    def _dial(self, call: _Call) -> None:
        if call.kind in _FAILURES:
            self._push(call.setup + _FAILURES[call.kind][1], _END, (call, EndReason.FAILED))
        elif call.kind == "busy":
            self._push(call.setup + 0.5, _END, (call, EndReason.BUSY))
        else:
            self._push(call.setup, _RING, call)

    def _ring(self, call: _Call) -> None:
        self._outbox.append(RingingStarted(call.key, self.now()))
        c = self.customers
        if call.kind == "declined":
            self._push(call.delay / 2, _END, (call, EndReason.FAILED))
        elif call.kind == "no_answer":
            self._push(c.ring_timeout, _END, (call, EndReason.NO_ANSWER))
        else:
            self._push(call.delay + self.amd_seconds, _ANSWER, call)

    def _answer(self, call: _Call) -> None:
        if call.kind == "machine" and self.amd:
            self._outbox.append(CallAnswered(call.key, self.now(), AnsweredBy.MACHINE))
            self._end(call, EndReason.HUNG_UP, hung_up_by=Party.DIALER)
            return
        by = AnsweredBy.HUMAN if self.amd else AnsweredBy.UNKNOWN
        self._outbox.append(CallAnswered(call.key, self.now(), by))
        if call.agent is not None:
            self._bridge(call, call.agent)
        elif self._idle:
            self._bridge(call, next(iter(self._idle)))
        else:
            self._waiting[call.key] = self._t + self.patience
            self._push(self.patience, _PATIENCE, call)

    def _bridge(self, call: _Call, name: str) -> None:
        self._idle.pop(name, None)
        self._agents[name].call = call.key
        call.agent, call.bridged = name, True
        self._outbox.append(CallBridged(call.key, self.now(), name))
        self._push(call.talk, _HANGUP, call)

    def _hang_up(self, call: _Call) -> None:
        by = Party.CUSTOMER
        if call.disposition in (Disposition.SUCCESS, Disposition.MACHINE, Disposition.CALLBACK):
            by = Party.AGENT
        self._end(call, EndReason.HUNG_UP, hung_up_by=by)
        self._push(call.wrap, _DISPOSE, call)

    def _dispose(self, call: _Call) -> None:
        assert call.agent is not None and call.disposition is not None
        callback = None
        if call.disposition is Disposition.CALLBACK:
            callback = self.now() + timedelta(hours=call.callback_hours)
        self._outbox.append(
            CallDisposed(call.key, self.now(), call.agent, call.disposition, callback, call.note)
        )
        self._calls.pop(call.key, None)
        self._release(call.agent)

    def _end(self, call: _Call, reason: EndReason, *, hung_up_by: Party | None = None) -> None:
        cause = detail = None
        if reason is EndReason.FAILED:
            if call.kind == "declined":
                cause, detail = FailureCause.DECLINED, "SIP 603 Decline"
            else:
                cause, _, detail = _FAILURES[call.kind]
        elif reason is EndReason.BUSY:
            detail = "SIP 486 Busy Here"
        elif reason is EndReason.NO_ANSWER:
            detail = "SIP 487 Request Terminated (ring-out)"
        self._outbox.append(
            CallEnded(call.key, self.now(), reason, cause, hung_up_by, detail or "")
        )
        self._up.discard(call.key)
        if not call.bridged:  # a bridged call ends at its disposition, after wrap-up
            self._calls.pop(call.key, None)
            if call.agent is not None:
                self._release(call.agent)

    def _abandon(self, call: _Call) -> None:
        if self._waiting.pop(call.key, None) is None:
            return  # an agent took it in time
        self._end(call, EndReason.ABANDONED, hung_up_by=Party.DIALER)

    def _end_event(self, payload: tuple[_Call, EndReason]) -> None:
        call, reason = payload
        self._end(call, reason)


def _gamma(rng: random.Random, mean: float, cv: float) -> float:
    """A gamma draw with this mean and coefficient of variation (cv 0: the mean)."""
    if mean <= 0:
        return 0.0
    if cv <= 0:
        return mean
    shape = 1 / (cv * cv)
    return rng.gammavariate(shape, mean / shape)
