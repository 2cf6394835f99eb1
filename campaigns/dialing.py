"""The dialing loop: claim due contacts, pace, originate through a Dialer, settle outcomes.

Three layers, innermost first:

- `CallTracker` folds a call's events into one `CallOutcome`; `OccupancyMeter` adds up
  agents' staffed and handling time. Both are pure.
- `DialingSession` joins a `Dialer`, a `Pacer` and those two; it knows no database, so
  the pacing benchmark drives exactly what production drives.
- `dial_slice` (async) / `run_slice` (sync) is the database loop: it claims contacts
  through the unit of work, writes each attempt row before the call is originated,
  completes the rows from the outcomes in batches and decides the next attempt.

The loop never sleeps on its own: it asks the dialer for the time and waits in
`dialer.receive`, so the same code runs on a simulated clock or a wall clock.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from campaigns.compliance import (
    ALL_DAYS,
    CallPolicy,
    RulePack,
    WaitReason,
    available_packs,
    check_call,
    effective_policy,
    load_pack,
    next_allowed,
    pack_for_number,
)
from campaigns.errors import (
    ConfigurationError,
    DialerRejected,
    DialerUnavailable,
    ValidationError,
)
from campaigns.model import (
    LIVE_CONTACT,
    CallingHours,
    ContactState,
    DialContact,
    Disposition,
    ExclusionReason,
    Phase,
)
from campaigns.pacing import Pacer, PacingConfig, PacingMode, Plan
from campaigns.phone import time_zones
from campaigns.ports import (
    DEFAULT_LEASE,
    AgentSignedIn,
    AgentSignedOut,
    AnsweredBy,
    CallAnswered,
    CallBridged,
    CallDisposed,
    CallEnded,
    CallOutcome,
    CallRequest,
    Dialer,
    DialerEvent,
    EndReason,
    FailureCause,
    RingingStarted,
    UnitOfWork,
)
from campaigns.rollups import Rollup
from campaigns.rules import RetryPolicy, decide_next_attempt

_FAILED = {
    FailureCause.INVALID_NUMBER: Disposition.INVALID,
    FailureCause.UNREACHABLE: Disposition.UNREACHABLE,
    FailureCause.SUSPENDED: Disposition.SUSPENDED,
    FailureCause.DECLINED: Disposition.REJECTED,
    FailureCause.NETWORK: Disposition.NETWORK_FAIL,
}
_MODE_NAMES = {mode: mode.value for mode in PacingMode}  # an enum's .value is a slow lookup
_ENDED = {
    EndReason.BUSY: Disposition.BUSY,
    EndReason.NO_ANSWER: Disposition.NO_ANSWER,
    EndReason.ABANDONED: Disposition.ABANDONED,
}


@dataclass(slots=True)
class SliceSummary:
    """What one dialing slice did."""

    attempts: int = 0
    successes: int = 0
    finished: int = 0
    dnc_added: int = 0
    skipped_dnc: int = 0
    deferred_window: int = 0  # claimed contacts the rule packs did not allow to be dialled yet
    waits: dict[str, int] = field(default_factory=dict)  # those, by WaitReason
    dispositions: dict[str, int] = field(default_factory=dict)
    handle_seconds: float = 0.0
    staffed_seconds: float = 0.0
    modes: dict[str, int] = field(default_factory=dict)

    def add(self, other: SliceSummary) -> None:
        """Accumulate another slice into this one."""
        self.attempts += other.attempts
        self.successes += other.successes
        self.finished += other.finished
        self.dnc_added += other.dnc_added
        self.skipped_dnc += other.skipped_dnc
        self.deferred_window += other.deferred_window
        self.handle_seconds += other.handle_seconds
        self.staffed_seconds += other.staffed_seconds
        for k, v in other.dispositions.items():
            self.dispositions[k] = self.dispositions.get(k, 0) + v
        for k, v in other.modes.items():
            self.modes[k] = self.modes.get(k, 0) + v
        for k, v in other.waits.items():
            self.waits[k] = self.waits.get(k, 0) + v

    @property
    def live(self) -> int:
        """Live contacts (abandoned calls included)."""
        return sum(n for d, n in self.dispositions.items() if Disposition(d) in LIVE_CONTACT)

    @property
    def abandoned(self) -> int:
        """Live answers no agent took in time."""
        return self.dispositions.get(Disposition.ABANDONED.value, 0)

    @property
    def abandon_rate(self) -> float:
        """Abandoned / live contacts."""
        return self.abandoned / self.live if self.live else 0.0

    @property
    def occupancy(self) -> float:
        """Talk and wrap-up time / staffed time."""
        return self.handle_seconds / self.staffed_seconds if self.staffed_seconds else 0.0


def attempt_key(campaign_id: int, contact: DialContact) -> str:
    """Idempotency key of the next attempt of a contact: one per attempt slot."""
    # NETWORK_FAIL does not use up an attempt, so retries of it get a sub-slot.
    sub = contact.streak if contact.last_disposition is Disposition.NETWORK_FAIL else 0
    return f"{campaign_id}:{contact.id}:{contact.attempts + 1}.{sub}"


# ------------------------------------------------------------------------ pure parts


@dataclass(slots=True)
class _Track:
    request: CallRequest
    dialed_at: datetime
    ring_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by: AnsweredBy | None = None
    bridged_at: datetime | None = None
    agent: str | None = None
    ended: CallEnded | None = None


class CallTracker:
    """Folds each call's events into one `CallOutcome`, once the call is fully over."""

    def __init__(self) -> None:
        self._calls: dict[str, _Track] = {}

    def originated(self, request: CallRequest, at: datetime) -> None:
        """A call was placed."""
        self._calls[request.key] = _Track(request, at)

    def pending(self) -> int:
        """Calls placed whose outcome is not known yet."""
        return len(self._calls)

    def observe(self, event: DialerEvent) -> CallOutcome | None:
        """Take in an event; return the call's outcome when this event completes it."""
        if isinstance(event, AgentSignedIn | AgentSignedOut):
            return None
        track = self._calls.get(event.key)
        if track is None:
            return None  # not ours (another session's call)
        match event:
            case RingingStarted(at=at):
                track.ring_at = track.ring_at or at
            case CallAnswered(at=at, answered_by=by):
                track.answered_at, track.answered_by = at, by
            case CallBridged(at=at, agent=agent):
                track.bridged_at, track.agent = at, agent
            case CallEnded():
                track.ended = event
                if track.bridged_at is None:
                    return self._finish(track, self._network_disposition(track, event))
            case CallDisposed(disposition=disposition, callback_at=callback, note=note):
                return self._finish(track, disposition, event.at, callback, note)
        return None

    def abandon_all(self, at: datetime, note: str) -> list[CallOutcome]:
        """Close every call still open because the dialer stopped reporting: a call never
        bridged as a network failure, a bridged one (a live contact) as hung up."""
        out = []
        for track in list(self._calls.values()):
            if track.ended is None:
                track.ended = CallEnded(track.request.key, at, EndReason.FAILED)
            bridged = track.bridged_at is not None
            disposition = Disposition.HUNG_UP if bridged else Disposition.NETWORK_FAIL
            out.append(self._finish(track, disposition, at if bridged else None, note=note))
        return out

    @staticmethod
    def _network_disposition(track: _Track, ended: CallEnded) -> Disposition:
        if ended.reason is EndReason.FAILED:
            return _FAILED[ended.cause or FailureCause.NETWORK]
        if ended.reason in _ENDED:
            return _ENDED[ended.reason]
        # HUNG_UP without an agent: a machine, or a person who left before an agent came.
        if track.answered_by is AnsweredBy.MACHINE:
            return Disposition.MACHINE
        if track.answered_at is not None:
            return Disposition.ABANDONED
        return Disposition.NETWORK_FAIL

    def _finish(
        self,
        track: _Track,
        disposition: Disposition,
        disposed_at: datetime | None = None,
        callback_at: datetime | None = None,
        note: str | None = None,
    ) -> CallOutcome:
        del self._calls[track.request.key]
        assert track.ended is not None
        ended_at = track.ended.at
        answered = track.answered_at
        ring = 0.0
        if track.ring_at is not None:
            ring = ((answered or ended_at) - track.ring_at).total_seconds()
        talk = (ended_at - answered).total_seconds() if answered is not None else 0.0
        wrap = (disposed_at - ended_at).total_seconds() if disposed_at is not None else 0.0
        cause = track.ended.detail or None
        if track.ended.cause is not None:
            cause = f"{track.ended.cause.value}: {track.ended.detail}".rstrip(": ")
        return CallOutcome(
            key=track.request.key,
            contact_id=track.request.contact_id,
            disposition=disposition,
            dialed_at=track.dialed_at,
            answered_at=answered,
            ended_at=ended_at,
            ring_seconds=round(max(0.0, ring), 2),
            talk_seconds=round(max(0.0, talk), 2),
            wrap_seconds=round(max(0.0, wrap), 2),
            agent_work_id=track.agent,
            callback_at=callback_at,
            note=note,
            bridged_at=track.bridged_at,
            cause=cause[:80] if cause else None,
        )


#: Events that change neither staffed nor handling time (most events are these).
_NOT_METERED = frozenset({RingingStarted, CallAnswered, CallEnded})


class OccupancyMeter:
    """Staffed time (signed in) and handling time (bridged to disposed) within [start, end]."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.staffed_seconds = 0.0
        self.handle_seconds = 0.0
        self._signed_in: dict[str, datetime] = {}
        self._handling: dict[str, datetime] = {}

    def _overlap(self, a: datetime, b: datetime) -> float:
        lo, hi = max(a, self.start), min(b, self.end)
        return max(0.0, (hi - lo).total_seconds())

    def observe(self, event: DialerEvent) -> None:
        """Take in an event."""
        if type(event) in _NOT_METERED:
            return
        match event:
            case AgentSignedIn(agent=agent, at=at):
                self._signed_in.setdefault(agent, at)
            case AgentSignedOut(agent=agent, at=at):
                since = self._signed_in.pop(agent, None)
                if since is not None:
                    self.staffed_seconds += self._overlap(since, at)
            case CallBridged(agent=agent, at=at):
                self._handling[agent] = at
            case CallDisposed(agent=agent, at=at):
                since = self._handling.pop(agent, None)
                if since is not None:
                    self.handle_seconds += self._overlap(since, at)
            case _:
                pass

    def close(self, at: datetime) -> None:
        """Count agents still signed in (and calls still handled) up to `at`."""
        for since in self._signed_in.values():
            self.staffed_seconds += self._overlap(since, at)
        for since in self._handling.values():
            self.handle_seconds += self._overlap(since, at)
        self._signed_in.clear()
        self._handling.clear()

    @property
    def occupancy(self) -> float:
        """Handling time / staffed time."""
        return self.handle_seconds / self.staffed_seconds if self.staffed_seconds else 0.0


class DialingSession:
    """A dialer, a pacer and the calls in flight: dialing that knows no database."""

    def __init__(self, dialer: Dialer, pacer: Pacer, *, start: datetime, end: datetime) -> None:
        self.dialer = dialer
        self.pacer = pacer
        self.tracker = CallTracker()
        self.meter = OccupancyMeter(start, end)

    def plan(self, now: datetime) -> Plan:
        """How many calls to place now (and which agents they reserve)."""
        return self.pacer.plan(now, max_calls=self.dialer.capabilities.max_calls)

    def wake(self, now: datetime, latest: datetime) -> datetime:
        """When to look again if no event comes first."""
        nxt = self.pacer.next_decision(now)
        return latest if nxt is None else min(latest, nxt)

    async def originate(self, requests: Sequence[CallRequest]) -> None:
        """Place calls; may raise DialerUnavailable / DialerRejected, placing none."""
        if not requests:
            return
        now = self.dialer.now()
        await self.dialer.originate(requests)
        for request in requests:
            self.tracker.originated(request, now)
            self.pacer.originated(request, now)

    async def step(self, until: datetime) -> list[CallOutcome]:
        """Wait for the next events (or `until`) and return the calls they completed."""
        out = []
        for event in await self.dialer.receive(until=until):
            self.pacer.observe(event)
            self.meter.observe(event)
            outcome = self.tracker.observe(event)
            if outcome is not None:
                out.append(outcome)
        return out

    async def drain(self, limit: datetime) -> list[CallOutcome]:
        """Let the calls in flight finish (until `limit`); calls still open then are closed."""
        out: list[CallOutcome] = []
        while self.tracker.pending() and self.dialer.now() < limit:
            out += await self.step(limit)
        if self.tracker.pending():
            out += self.tracker.abandon_all(self.dialer.now(), "no final event from the dialer")
        return out


# ------------------------------------------------------------------------ database loop


class _Slice:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        session: DialingSession,
        campaign_id: int,
        phase: Phase,
        end: datetime,
        policy: RetryPolicy,
        hours: CallingHours,
        agent_ids: dict[str, int],
        chunk: int,
        retries: int,
        worker: str,
        lease: timedelta,
        interval: timedelta,
    ) -> None:
        self.uow = uow
        self.worker = worker
        self.lease = lease
        self.renew_at = session.dialer.now() + lease / 5
        self.session = session
        self.dialer = session.dialer
        self.campaign_id = campaign_id
        self.phase = phase
        self.end = end
        self.policy = policy
        self.hours = hours
        self.agent_ids = agent_ids
        self.chunk = chunk
        self.retries = retries
        self.interval = interval
        self.next_round = session.dialer.now()
        self.queue: deque[DialContact] = deque()
        self.claimed: dict[int, DialContact] = {}
        self.attempt_rows: list[dict[str, Any]] = []
        self.contact_updates: list[dict[str, Any]] = []
        self.rollup = Rollup()
        self.dnc_now: set[str] = set()
        self.hold_until: datetime | None = None
        self.summary = SliceSummary()
        self._zones: dict[str, tuple[str, ...]] = {}
        self._policies: dict[str, CallPolicy] = {}
        self._by_prefix: dict[str, CallPolicy] = {}
        # Per claimed number, across campaigns: recent dial times and abandoned times.
        self.history: dict[str, tuple[list[datetime], list[datetime]]] = {}

    # ---------------------------------------------------------------- database

    def claim(self, now: datetime) -> None:
        self.flush()
        with self.uow:
            batch = self.uow.contacts.claim_due(
                self.campaign_id,
                now=now,
                limit=self.chunk,
                trial_only=self.phase is Phase.TRIAL,
                worker=self.worker,
                lease=self.lease,
            )
            orphans = self.uow.attempts.open_attempts([c.id for c in batch])
            blocked = self.uow.dnc.blocked(
                [c.e164 for c in batch], campaign_id=self.campaign_id, now=now
            )
            since, abandoned_since = history_reach(now)
            self.history.update(
                self.uow.attempts.dial_history(
                    [c.e164 for c in batch if c.e164 not in blocked],
                    since=since,
                    abandoned_since=abandoned_since,
                )
            )
            self.uow.commit()
        for c in batch:
            self.claimed[c.id] = c
            if c.id in orphans:
                # A worker died between writing this attempt and recording its outcome:
                # close it first; the contact comes back when its retry is due.
                key, dialed_at = orphans[c.id]
                request = CallRequest(key, c.id, c.e164, c.attempts + 1)
                lost = self._unplaced(request, now, "outcome lost: the worker stopped")
                lost = replace(lost, dialed_at=dialed_at)  # rolled up in the hour dialled
                self.settle(lost, keep_dialed_at=True, lost=True)
            elif c.e164 in blocked:
                self._exclude(c, ExclusionReason.DO_NOT_CALL)
            else:
                self.queue.append(c)
        if not batch:
            self.flush()
            with self.uow:
                due = self.uow.contacts.next_due_at(
                    self.campaign_id, trial_only=self.phase is Phase.TRIAL
                )
            self.hold_until = due or self.end

    def flush(self) -> None:
        if not (self.attempt_rows or self.contact_updates):
            return
        with self.uow:
            self.uow.attempts.finish_many(self.attempt_rows)
            self.uow.contacts.update_after_attempts(self.contact_updates)
            # In the same transaction as the outcomes: each attempt is rolled up once.
            self.uow.rollups.add(self.rollup.campaign_rows())
            self.uow.commit()
        self.attempt_rows = []
        self.contact_updates = []
        self.rollup.clear()

    def renew(self, now: datetime) -> None:
        """Extend the leases on everything claimed; drop queued contacts another worker took
        over after a lease ran out (a stalled worker)."""
        self.renew_at = now + self.lease / 5
        if not self.claimed:
            return
        with self.uow:
            # Leases with more than 3/5 left are not rewritten: claimed within the last two
            # renewals, they hold at least 2/5 of a lease until the next one.
            held = self.uow.contacts.renew_claims(
                self.campaign_id,
                worker=self.worker,
                until=now + self.lease,
                stale_before=now + self.lease * 3 / 5,
            )
            self.uow.commit()
        lost = {c.id for c in self.queue} - held
        if lost:
            self.queue = deque(c for c in self.queue if c.id not in lost)
            for contact_id in lost:
                self.claimed.pop(contact_id, None)

    def release(self) -> None:
        """Contacts claimed but never dialled go back to READY, unchanged."""
        for c in self.queue:
            self.contact_updates.append({"id": c.id, "state": ContactState.READY})
            self.claimed.pop(c.id, None)
        self.queue.clear()
        self.flush()

    # ---------------------------------------------------------------- decisions

    def _exclude(self, c: DialContact, reason: ExclusionReason) -> None:
        self.claimed.pop(c.id, None)
        self.summary.skipped_dnc += 1
        self.contact_updates.append(
            {"id": c.id, "state": ContactState.EXCLUDED, "exclusion_reason": reason}
        )

    def _defer(self, c: DialContact, reason: WaitReason | None, until: datetime | None) -> None:
        """A claimed contact the rules do not allow now: back to READY until `until`, or
        finished when no time within the horizon allows it."""
        self.claimed.pop(c.id, None)
        s = self.summary
        s.deferred_window += 1
        key = (reason or WaitReason.OUTSIDE_HOURS).value
        s.waits[key] = s.waits.get(key, 0) + 1
        if until is None:
            s.finished += 1
            self.contact_updates.append(
                {"id": c.id, "state": ContactState.DONE, "next_attempt_at": None}
            )
            return
        self.contact_updates.append(
            {"id": c.id, "state": ContactState.READY, "next_attempt_at": until}
        )

    def _zones_of(self, number: str) -> tuple[str, ...]:
        prefix = number[:7]
        if prefix not in self._zones:
            self._zones[prefix] = time_zones(number)
        return self._zones[prefix]

    def _policy_of(self, number: str) -> CallPolicy:
        """The campaign's policy under the number's rule pack, built once per slice."""
        # A pack is chosen by country code (at most three digits): "+" and three digits
        # decide it, so the lookup runs once per prefix, not once per dial.
        prefix = number[:4]
        policy = self._by_prefix.get(prefix)
        if policy is None:
            policy = self._by_prefix[prefix] = policy_for(number, self.hours, self._policies)
        return policy

    def _history_of(self, number: str) -> tuple[list[datetime], list[datetime]]:
        return self.history.setdefault(number, ([], []))

    def settle(
        self,
        outcome: CallOutcome,
        *,
        record: bool = True,
        keep_dialed_at: bool = False,
        lost: bool = False,
    ) -> None:
        c = self.claimed.pop(outcome.contact_id)
        step = decide_next_attempt(
            outcome.disposition,
            attempts_before=c.attempts,
            previous=c.last_disposition,
            streak_before=c.streak,
            policy=self.policy,
            now=outcome.ended_at,
            callback_at=outcome.callback_at,
        )
        if lost and not step.counts_as_attempt:
            # Nobody knows whether a call whose worker died was placed: its slot is spent,
            # so the contact is never dialled twice under one attempt key.
            attempts = c.attempts + 1
            final = step.final or attempts >= self.policy.max_attempts
            step = replace(
                step,
                counts_as_attempt=True,
                attempts=attempts,
                final=final,
                due_at=None if final else step.due_at,
            )
        if record:
            self.attempt_rows.append(
                {
                    "idempotency_key": outcome.key,
                    "agent_id": self.agent_ids.get(outcome.agent_work_id or ""),
                    "dialed_at": outcome.dialed_at,
                    "disposition": outcome.disposition,
                    "counts_as_attempt": step.counts_as_attempt,
                    "answered_at": outcome.answered_at,
                    "bridged_at": outcome.bridged_at,
                    "ended_at": outcome.ended_at,
                    "ring_seconds": outcome.ring_seconds,
                    "talk_seconds": outcome.talk_seconds,
                    "wrap_seconds": outcome.wrap_seconds,
                    "cause": outcome.cause,
                    "note": outcome.note,
                }
            )
            if keep_dialed_at:
                del self.attempt_rows[-1]["dialed_at"]
            self.rollup.add(
                campaign_id=self.campaign_id,
                phase=self.phase,
                disposition=outcome.disposition,
                counts_as_attempt=step.counts_as_attempt,
                dialed_at=outcome.dialed_at,
                answered_at=outcome.answered_at,
                bridged_at=outcome.bridged_at,
                ring_seconds=outcome.ring_seconds,
                talk_seconds=outcome.talk_seconds,
                wrap_seconds=outcome.wrap_seconds,
            )
        dials, abandons = self._history_of(c.e164)
        if outcome.disposition is Disposition.ABANDONED:
            abandons.append(outcome.ended_at)
        due = step.due_at
        if due is not None:
            # Retries and callbacks obey the same rules as dials.
            due = next_allowed(
                self._policy_of(c.e164), c.e164, self._zones_of(c.e164), due, dials, abandons
            )
        final = step.final or due is None
        self.contact_updates.append(
            {
                "id": c.id,
                "state": ContactState.DONE if final else ContactState.READY,
                "attempts": step.attempts,
                "last_disposition": outcome.disposition,
                "disposition_streak": step.streak,
                "next_attempt_at": None if final else due,
            }
        )
        if step.do_not_call:
            self.dnc_now.add(c.e164)
            self.summary.dnc_added += 1
            # A do-not-call request takes effect in every campaign at once, not at the next flush.
            with self.uow:
                self.uow.dnc.add_many([(c.e164, outcome.disposition.value)], now=outcome.ended_at)
                self.uow.commit()
        s = self.summary
        s.attempts += 1 if step.counts_as_attempt else 0
        s.successes += outcome.disposition is Disposition.SUCCESS
        s.finished += final
        s.dispositions[outcome.disposition.value] = (
            s.dispositions.get(outcome.disposition.value, 0) + 1
        )
        if not final and due is not None and (self.hold_until is None or due < self.hold_until):
            self.hold_until = due

    def _unplaced(self, request: CallRequest, at: datetime, note: str) -> CallOutcome:
        """The outcome of a call that was written down but never (knowingly) placed."""
        return CallOutcome(
            key=request.key,
            contact_id=request.contact_id,
            disposition=Disposition.NETWORK_FAIL,
            dialed_at=at,
            answered_at=None,
            ended_at=at,
            ring_seconds=0.0,
            talk_seconds=0.0,
            wrap_seconds=0.0,
            note=note,
        )

    # ---------------------------------------------------------------- loop

    async def dial(self, now: datetime, plan: Plan) -> None:
        requests: list[CallRequest] = []
        while self.queue and len(requests) < plan.calls:
            c = self.queue.popleft()
            if c.e164 in self.dnc_now:
                self._exclude(c, ExclusionReason.DO_NOT_CALL)
                continue
            dials, abandons = self._history_of(c.e164)
            verdict = check_call(
                self._policy_of(c.e164), c.e164, self._zones_of(c.e164), now, dials, abandons
            )
            if not verdict.allowed:
                self._defer(c, verdict.reason, verdict.until)
                continue
            dials.append(now)
            agent = plan.agents[len(requests)] if plan.agents else None
            requests.append(
                CallRequest(
                    attempt_key(self.campaign_id, c),
                    c.id,
                    c.e164,
                    c.attempts + 1,
                    agent=agent,
                    preview=plan.preview,
                )
            )
        if not requests:
            return
        # The attempt is on record before the call exists: a crash after this point
        # leaves a DIALLED row, and the same key is never dialled twice. Only contacts this
        # worker still holds are written: the lease renewal locks them against a takeover.
        with self.uow:
            held, barred, stored = self.uow.attempts.begin_held(
                [self._dialled_row(r, now) for r in requests],
                campaign_id=self.campaign_id,
                worker=self.worker,
                until=now + self.lease,
                now=now,
            )
            taken = [r for r in requests if r.contact_id not in held]
            requests = [r for r in requests if r.contact_id in held]
            # Do-not-call is looked up once more right before the call: a request made in
            # another campaign a second ago counts.
            blocked = [r for r in requests if r.number in barred]
            requests = [r for r in requests if r.number not in barred]
            self.uow.commit()
        for r in taken:
            self.claimed.pop(r.contact_id, None)
        for r in blocked:
            self.dnc_now.add(r.number)
            self._exclude(self.claimed[r.contact_id], ExclusionReason.DO_NOT_CALL)
        for r in requests:
            if r.key in stored:
                # Written by a run that stopped mid-call: close it, do not dial it again.
                disposition = stored[r.key]
                if disposition is None:
                    lost = self._unplaced(r, now, "outcome lost: the worker stopped")
                    self.settle(lost, keep_dialed_at=True, lost=True)
                else:
                    outcome = self._unplaced(r, now, "recovered")
                    self.settle(replace(outcome, disposition=disposition), record=False)
        await self._originate([r for r in requests if r.key not in stored])

    def _dialled_row(self, r: CallRequest, now: datetime) -> dict[str, Any]:
        c = self.claimed[r.contact_id]
        return {
            "idempotency_key": r.key,
            "campaign_id": self.campaign_id,
            "contact_id": c.id,
            "e164": c.e164,
            "agent_id": self.agent_ids.get(r.agent or ""),
            "attempt_no": c.attempts + 1,
            "phase": self.phase,
            "dialed_at": now,
            "answered_at": None,
            "bridged_at": None,
            "ring_seconds": 0.0,
            "talk_seconds": 0.0,
            "wrap_seconds": 0.0,
            "cause": None,
            "note": None,
        }

    def _close_unplaced(self, requests: list[CallRequest], note: str) -> None:
        now = self.dialer.now()
        for r in requests:
            self.settle(self._unplaced(r, now, note[:200]))

    async def _originate(self, requests: list[CallRequest]) -> None:
        """Place calls, retrying the same keys while the dialer is unreachable."""
        delay = 1.0
        for attempt in range(self.retries + 1):
            try:
                await self.session.originate(requests)
                return
            except DialerRejected as exc:  # permanent: record why, and stop the slice
                self._close_unplaced(requests, f"dialer rejected: {exc}")
                raise
            except DialerUnavailable as exc:
                if attempt == self.retries:
                    self._close_unplaced(requests, f"dialer unavailable: {exc}")
                    raise
            wait_until = self.dialer.now() + timedelta(seconds=delay)
            delay *= 2
            while self.dialer.now() < wait_until:
                for outcome in await self.session.step(wait_until):
                    self.settle(outcome)

    async def run(self) -> SliceSummary:
        s, d = self.session, self.dialer
        unavailable: DialerUnavailable | None = None
        try:
            try:
                await self._loop()
            except DialerUnavailable as exc:
                unavailable = exc  # place nothing more; the calls already up still finish
            for outcome in await s.drain(d.now() + timedelta(hours=2)):
                self.settle(outcome)
        finally:
            self.release()
        if unavailable is not None:
            raise unavailable
        s.meter.close(d.now())
        self.summary.handle_seconds = s.meter.handle_seconds
        self.summary.staffed_seconds = s.meter.staffed_seconds
        return self.summary

    async def _loop(self) -> None:
        s, d = self.session, self.dialer
        while True:
            now = d.now()
            if now >= self.end:
                return
            if now >= self.renew_at:
                self.renew(now)
            round_due = now >= self.next_round
            if self.queue and not round_due:
                # Between rounds with contacts in hand there is nothing to decide (no claim,
                # no dial), so no plan either: the pacer estimates when the round comes.
                wake = min(s.wake(now, self.end), max(self.renew_at, now), self.next_round)
                for outcome in await s.step(wake):
                    self.settle(outcome)
                continue
            plan = s.plan(now)
            modes = self.summary.modes
            mode = _MODE_NAMES[plan.mode]
            modes[mode] = modes.get(mode, 0) + 1
            due = self.hold_until is None or now >= self.hold_until
            # Top up the queue for the round about to be dialled (or at once when it is
            # empty, so a claim whose contacts were all deferred is followed by the next).
            if plan.calls > len(self.queue) and due and (round_due or not self.queue):
                self.hold_until = None
                self.claim(now)
            if plan.calls > 0 and self.queue and round_due:
                await self.dial(now, plan)
                self.next_round = now + self.interval
            if s.tracker.pending() == 0 and not self.queue:
                if self.hold_until is None and plan.calls > 0:
                    continue  # everything claimed was skipped; claim again
                if self.hold_until is not None and self.hold_until >= self.end:
                    return
            wake = min(s.wake(now, self.end), max(self.renew_at, now))
            if plan.calls > 0 and self.queue and not round_due:
                wake = min(wake, self.next_round)
            if self.hold_until is not None and not self.queue and plan.calls > 0:
                wake = min(wake, max(self.hold_until, now))
            for outcome in await s.step(wake):
                self.settle(outcome)


def policy_for(number: str, hours: CallingHours, cache: dict[str, CallPolicy]) -> CallPolicy:
    """A campaign's `CallPolicy` for a number: its country's rule pack narrowed by the
    campaign's hours (a country with no pack: the campaign's hours, every day); `cache`
    keeps one per pack."""
    try:
        name = pack_for_number(number)
    except ValidationError:
        name = ""
    if name not in cache:
        pack = load_pack(name) if name else RulePack("campaign", 0, hours, ALL_DAYS, frozenset())
        try:
            cache[name] = effective_policy(pack, hours)
        except ValidationError as exc:
            raise ConfigurationError(str(exc)) from exc
    return cache[name]


def default_worker() -> str:
    """This process's worker id: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def history_reach(now: datetime) -> tuple[datetime, datetime]:
    """How far back a number's dials (the longest cap) and abandons (the longest cool-off)
    matter under any packaged rule pack."""
    caps = [timedelta(0)]
    cooloffs = [timedelta(0)]
    for name in available_packs():
        pack = load_pack(name)
        caps += [cap.per for cap in pack.caps]
        caps += [cap.per for region in pack.regions for cap in region.caps]
        if pack.abandon_cooloff is not None:
            cooloffs.append(pack.abandon_cooloff)
    return now - max(caps), now - max(cooloffs)


def history_edges(start: datetime, config: PacingConfig, buckets: int = 48) -> list[datetime]:
    """Periods the pacer is seeded with: the abandon window in coarse buckets, and the last
    `warm_start` in quarters, which the margin is replayed over."""
    window = config.abandon.window
    recent = min(config.warm_start, window)
    width = (window - recent) / buckets
    edges = [start - window + width * i for i in range(buckets)]
    return edges + [start - recent + recent / 4 * i for i in range(5)]


async def dial_slice(
    *,
    uow: UnitOfWork,
    dialer: Dialer,
    campaign_id: int,
    phase: Phase,
    start: datetime,
    end: datetime,
    policy: RetryPolicy | None = None,
    pacing: PacingConfig | None = None,
    chunk: int = 200,
    agents: Sequence[tuple[int, str]] | None = None,
    retries: int = 4,
    worker: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> SliceSummary:
    """Dial one campaign from `start` to `end`; in-flight calls finish after `end`.

    `worker` names this process's claims (default host:pid); several workers can dial one
    campaign at once, each holding its claims under a `lease` it keeps renewing.
    """
    config = pacing or PacingConfig()
    worker = worker or default_worker()
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        # This worker's own claims left by an earlier run, and claims whose lease ran out
        # (a crashed worker's), go back to READY; other live workers' claims stay theirs.
        uow.contacts.release_claims(campaign_id, worker=worker, now=start)
        staff = list(agents) if agents is not None else uow.catalogue.outbound_agents()
        # The abandon rule's window reaches back before this slice.
        history = uow.attempts.tally(campaign_id, edges=history_edges(start, config))
        uow.commit()
    if not staff:
        return SliceSummary()
    if not dialer.capabilities.bridging:
        raise ConfigurationError(
            f"dialer {dialer.name!r} cannot bridge calls to agents; every live answer "
            "would be abandoned"
        )
    if config.mode is PacingMode.PREVIEW and not dialer.capabilities.preview:
        raise ConfigurationError(f"dialer {dialer.name!r} has no preview mode")
    pacer = Pacer(config)
    pacer.seed(history)
    await dialer.start(agents=[w for _, w in staff], at=start)
    try:
        summary = await _Slice(
            uow=uow,
            session=DialingSession(dialer, pacer, start=start, end=end),
            campaign_id=campaign_id,
            phase=phase,
            end=end,
            policy=policy or RetryPolicy(),
            hours=campaign.calling_hours,
            agent_ids={w: i for i, w in staff},
            # A claim feeds a few rounds: a large center needs more than `chunk` per round.
            chunk=max(chunk, 2 * len(staff)),
            retries=retries,
            worker=worker,
            lease=lease,
            interval=config.dial_interval,
        ).run()
    finally:
        await dialer.close()
    with uow:
        uow.rollups.refresh_agents(campaign_id, start=start, end=end)
        uow.commit()
    return summary


def run_slice(
    *,
    uow: UnitOfWork,
    dialer: Dialer,
    campaign_id: int,
    phase: Phase,
    start: datetime,
    end: datetime,
    policy: RetryPolicy | None = None,
    pacing: PacingConfig | None = None,
    chunk: int = 200,
    agents: Sequence[tuple[int, str]] | None = None,
    worker: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> SliceSummary:
    """`dial_slice` for synchronous callers (a Prefect task, a test); not from async code."""
    return asyncio.run(
        dial_slice(
            uow=uow,
            dialer=dialer,
            campaign_id=campaign_id,
            phase=phase,
            start=start,
            end=end,
            policy=policy,
            pacing=pacing,
            chunk=chunk,
            agents=agents,
            worker=worker,
            lease=lease,
        )
    )
