"""The `Dialer` contract as a checker: feed it what was originated and what was reported.

It knows nothing of any adapter; it reads only the protocol's events and capabilities,
and lists every broken rule in words, so a failing adapter learns what it did wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from campaigns.model import LIVE_CONTACT, Disposition
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
    RingingStarted,
)

#: What an agent may dispose a call as: a person's outcome, or a machine it found.
AGENT_DISPOSITIONS = (LIVE_CONTACT - {Disposition.ABANDONED}) | {Disposition.MACHINE}


@dataclass
class _Call:
    request: CallRequest
    originated: datetime
    states: list[str] = field(default_factory=list)  # event names, in order
    rang: datetime | None = None
    answered_by: AnsweredBy | None = None
    agent: str | None = None
    ended: EndReason | None = None


class ContractChecker:
    """Collects violations of the Dialer contract over one session."""

    def __init__(self, capabilities: DialerCapabilities) -> None:
        self.capabilities = capabilities
        self.violations: list[str] = []
        self.calls: dict[str, _Call] = {}
        self.signed_in: set[str] = set()
        self.on_call: dict[str, str] = {}  # agent -> key, from reservation or bridge to disposal
        self.kinds: Counter[str] = Counter()
        self._last: datetime | None = None
        self._up: set[str] = set()

    def _fail(self, message: str) -> None:
        self.violations.append(message)

    # ---------------------------------------------------------------- inputs

    def originated(self, requests: list[CallRequest], at: datetime) -> None:
        """Calls the adapter accepted (originate returned)."""
        for r in requests:
            if r.key in self.calls:
                continue  # a repeated key is not a new call
            self.calls[r.key] = _Call(r, at)
            self._up.add(r.key)
            if r.agent is not None:
                self.on_call[r.agent] = r.key
        limit = self.capabilities.max_calls
        if limit is not None and len(self._up) > limit:
            self._fail(f"{len(self._up)} calls up at once, max_calls is {limit}")

    def up(self) -> int:
        """Calls originated and not ended."""
        return len(self._up)

    def idle_agents(self) -> list[str]:
        """Agents signed in and on no call, as the events tell."""
        return sorted(self.signed_in - set(self.on_call))

    def observe(self, event: DialerEvent) -> None:
        """One reported event."""
        if event.at.tzinfo is None:
            self._fail(f"{event} has a naive timestamp")
            return
        if self._last is not None and event.at < self._last:
            self._fail(f"{event} comes after an event at {self._last}: out of time order")
        self._last = event.at
        self.kinds[type(event).__name__] += 1
        if isinstance(event, AgentSignedIn | AgentSignedOut):
            self._agent(event)
            return
        c = self.calls.get(event.key)
        if c is None:
            self._fail(f"{event} is about a call that was never originated")
            return
        if event.at < c.originated:
            self._fail(f"{event} happens before its call was originated")
        if c.states and c.states[-1] == "CallDisposed":
            self._fail(f"{event} comes after the call was disposed")
            return
        match event:
            case RingingStarted():
                self._expect(c, event, {""})  # first, and once
                c.rang = event.at
            case CallAnswered(answered_by=by):
                self._expect(c, event, {"", "RingingStarted"})
                if by is AnsweredBy.MACHINE and not self.capabilities.amd:
                    self._fail(f"{event}: a machine reported by an adapter without AMD")
                if by is AnsweredBy.UNKNOWN and self.capabilities.amd:
                    self._fail(f"{event}: an adapter with AMD must say who answered")
                c.answered_by = by
            case CallBridged(agent=agent):
                self._bridged(c, event, agent)
            case CallEnded(reason=reason):
                self._ended(c, event, reason)
            case CallDisposed(agent=agent, disposition=disposition):
                if not self.capabilities.bridging:
                    self._fail(f"{event}: a disposition from an adapter that bridges no agents")
                self._expect(c, event, {"CallEnded"})
                if c.agent is None or c.ended is not EndReason.HUNG_UP:
                    self._fail(f"{event}: only a bridged call that hung up is disposed")
                elif agent != c.agent:
                    self._fail(f"{event}: disposed by {agent}, bridged to {c.agent}")
                if disposition not in AGENT_DISPOSITIONS:
                    self._fail(f"{event}: {disposition} is not an agent's disposition")
                if self.on_call.get(agent) == event.key:
                    del self.on_call[agent]
        c.states.append(type(event).__name__)

    def _agent(self, event: AgentSignedIn | AgentSignedOut) -> None:
        if not self.capabilities.bridging:
            self._fail(f"{event}: agent events from an adapter that bridges no agents")
        if isinstance(event, AgentSignedIn):
            if event.agent in self.signed_in:
                self._fail(f"{event}: already signed in")
            self.signed_in.add(event.agent)
            return
        if event.agent in self.on_call:
            self._fail(f"{event}: signed out while on call {self.on_call[event.agent]}")
        self.signed_in.discard(event.agent)

    def _expect(self, c: _Call, event: DialerEvent, after: set[str]) -> None:
        previous = c.states[-1] if c.states else ""
        if previous not in after:
            self._fail(f"{event} after {previous or 'origination'}: illegal order")

    def _bridged(self, c: _Call, event: CallBridged, agent: str) -> None:
        if not self.capabilities.bridging:
            self._fail(f"{event}: a bridge from an adapter that bridges no agents")
        self._expect(c, event, {"CallAnswered"})
        if c.answered_by is AnsweredBy.MACHINE:
            self._fail(f"{event}: a machine the adapter recognised was bridged")
        if agent not in self.signed_in:
            self._fail(f"{event}: {agent} is not signed in")
        if c.request.agent is not None and agent != c.request.agent:
            self._fail(f"{event}: reserved for {c.request.agent}, bridged to {agent}")
        holder = self.on_call.get(agent)
        if holder is not None and holder != event.key:
            self._fail(f"{event}: {agent} is already on call {holder}")
        self.on_call[agent] = event.key
        c.agent = agent

    def _ended(self, c: _Call, event: CallEnded, reason: EndReason) -> None:
        if c.ended is not None:
            self._fail(f"{event}: the call already ended ({c.ended})")
            return
        previous = c.states[-1] if c.states else ""
        legal = {
            EndReason.BUSY: {"", "RingingStarted"},
            EndReason.FAILED: {"", "RingingStarted"},
            EndReason.NO_ANSWER: {"RingingStarted"},
            EndReason.ABANDONED: {"CallAnswered"},
            EndReason.HUNG_UP: {"CallAnswered", "CallBridged"},
        }[reason]
        if previous not in legal:
            self._fail(f"{event} after {previous or 'origination'}: illegal order")
        if reason is EndReason.FAILED and event.cause is None:
            self._fail(f"{event}: a failure without its cause")
        if reason is EndReason.NO_ANSWER:
            rang = c.rang or c.originated
            if (event.at - rang).total_seconds() < 15:
                self._fail(f"{event}: rang {(event.at - rang).total_seconds():.1f} s (< 15 s)")
        if reason is EndReason.ABANDONED and c.answered_by is AnsweredBy.MACHINE:
            self._fail(f"{event}: a machine cannot be abandoned")
        c.ended = reason
        self._up.discard(c.request.key)
        reserved = c.request.agent
        if c.agent is None and reserved is not None and self.on_call.get(reserved) == c.request.key:
            del self.on_call[reserved]  # the reservation ends with a call nobody was bridged to

    # ---------------------------------------------------------------- results

    def open_calls(self) -> list[str]:
        """Calls not yet fully reported: not ended, or bridged and not yet disposed."""
        return [
            key
            for key, c in self.calls.items()
            if c.ended is None or (c.agent is not None and "CallDisposed" not in c.states)
        ]

    def finish(self) -> list[str]:
        """The violations, with every call that never got its terminal events."""
        for key in self.open_calls():
            c = self.calls[key]
            missing = "CallEnded" if c.ended is None else "CallDisposed"
            self._fail(f"call {key} never got its {missing}")
        return self.violations
