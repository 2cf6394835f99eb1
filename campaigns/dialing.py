"""The dialing loop: claim due contacts, originate through a Dialer, settle outcomes in batches.

The loop never sleeps on its own: it asks the dialer for the time and waits in
`dialer.collect`, so the same code runs on a simulated clock or a wall clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.model import (
    CallingHours,
    ContactState,
    DialContact,
    Disposition,
    ExclusionReason,
    Phase,
)
from campaigns.phone import time_zones
from campaigns.ports import CallOutcome, CallRequest, Dialer, UnitOfWork
from campaigns.rules import RetryPolicy, decide_next_attempt, is_callable, next_callable_time


@dataclass(slots=True)
class SliceSummary:
    """What one dialing slice did."""

    attempts: int = 0
    successes: int = 0
    finished: int = 0
    dnc_added: int = 0
    skipped_dnc: int = 0
    deferred_window: int = 0
    dispositions: dict[str, int] = field(default_factory=dict)

    def add(self, other: SliceSummary) -> None:
        """Accumulate another slice into this one."""
        self.attempts += other.attempts
        self.successes += other.successes
        self.finished += other.finished
        self.dnc_added += other.dnc_added
        self.skipped_dnc += other.skipped_dnc
        self.deferred_window += other.deferred_window
        for k, v in other.dispositions.items():
            self.dispositions[k] = self.dispositions.get(k, 0) + v


def attempt_key(campaign_id: int, contact: DialContact) -> str:
    """Idempotency key of the next attempt of a contact: one per attempt slot."""
    # NETWORK_FAIL does not use up an attempt, so retries of it get a sub-slot.
    sub = contact.streak if contact.last_disposition is Disposition.NETWORK_FAIL else 0
    return f"{campaign_id}:{contact.id}:{contact.attempts + 1}.{sub}"


class _Slice:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        dialer: Dialer,
        campaign_id: int,
        phase: Phase,
        end: datetime,
        policy: RetryPolicy,
        hours: CallingHours,
        agent_ids: dict[str, int],
        chunk: int,
    ) -> None:
        self.uow = uow
        self.dialer = dialer
        self.campaign_id = campaign_id
        self.phase = phase
        self.end = end
        self.policy = policy
        self.hours = hours
        self.agent_ids = agent_ids
        self.chunk = chunk
        self.queue: deque[DialContact] = deque()
        self.claimed: dict[int, DialContact] = {}
        self.attempt_rows: list[dict[str, Any]] = []
        self.contact_updates: list[dict[str, Any]] = []
        self.dnc_now: set[str] = set()
        self.hold_until: datetime | None = None
        self.summary = SliceSummary()
        self._zones: dict[str, tuple[str, ...]] = {}

    # ---------------------------------------------------------------- database

    def claim(self, now: datetime) -> None:
        self.flush()
        with self.uow:
            batch = self.uow.contacts.claim_due(
                self.campaign_id, now=now, limit=self.chunk, trial_only=self.phase is Phase.TRIAL
            )
            blocked = self.uow.dnc.blocked(
                [c.e164 for c in batch], campaign_id=self.campaign_id, now=now
            )
            self.uow.commit()
        for c in batch:
            self.claimed[c.id] = c
            if c.e164 in blocked:
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
            self.uow.attempts.add_many(self.attempt_rows)
            self.uow.contacts.update_after_attempts(self.contact_updates)
            self.uow.commit()
        self.attempt_rows = []
        self.contact_updates = []

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

    def _zones_of(self, number: str) -> tuple[str, ...]:
        prefix = number[:7]
        if prefix not in self._zones:
            self._zones[prefix] = time_zones(number)
        return self._zones[prefix]

    def settle(self, outcome: CallOutcome) -> None:
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
        self.attempt_rows.append(
            {
                "idempotency_key": outcome.key,
                "campaign_id": self.campaign_id,
                "contact_id": c.id,
                "e164": c.e164,
                "agent_id": self.agent_ids.get(outcome.agent_work_id or ""),
                "attempt_no": c.attempts + 1,
                "phase": self.phase,
                "disposition": outcome.disposition,
                "counts_as_attempt": step.counts_as_attempt,
                "dialed_at": outcome.dialed_at,
                "answered_at": outcome.answered_at,
                "ended_at": outcome.ended_at,
                "ring_seconds": outcome.ring_seconds,
                "talk_seconds": outcome.talk_seconds,
                "wrap_seconds": outcome.wrap_seconds,
                "note": outcome.note,
            }
        )
        due = step.due_at
        if due is not None:
            zones = self._zones_of(c.e164)
            if not is_callable(zones, self.hours, due):
                due = next_callable_time(zones, self.hours, due)
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

    # ---------------------------------------------------------------- loop

    def dial(self, now: datetime, free: int) -> None:
        requests: list[CallRequest] = []
        while self.queue and len(requests) < free:
            c = self.queue.popleft()
            if c.e164 in self.dnc_now:
                self._exclude(c, ExclusionReason.DO_NOT_CALL)
                continue
            zones = self._zones_of(c.e164)
            if not is_callable(zones, self.hours, now):
                self.claimed.pop(c.id, None)
                self.summary.deferred_window += 1
                self.contact_updates.append(
                    {
                        "id": c.id,
                        "state": ContactState.READY,
                        "next_attempt_at": next_callable_time(zones, self.hours, now),
                    }
                )
                continue
            requests.append(
                CallRequest(attempt_key(self.campaign_id, c), c.id, c.e164, c.attempts + 1)
            )
        if requests:
            self.dialer.originate(requests)

    def run(self) -> SliceSummary:
        d = self.dialer
        while True:
            now = d.now()
            if now >= self.end:
                break
            free = d.free_capacity()
            if free > 0 and not self.queue and (self.hold_until is None or now >= self.hold_until):
                self.hold_until = None
                self.claim(now)
            if free > 0 and self.queue:
                self.dial(now, free)
            if d.in_flight() == 0 and not self.queue:
                if self.hold_until is None:
                    continue  # everything claimed was skipped; claim again
                if self.hold_until >= self.end:
                    break
            wake = self.end
            if self.hold_until is not None and not self.queue and d.free_capacity() > 0:
                wake = min(wake, max(self.hold_until, now))
            for outcome in d.collect(until=wake):
                self.settle(outcome)
        for outcome in d.drain():
            self.settle(outcome)
        self.release()
        return self.summary


def run_slice(
    *,
    uow: UnitOfWork,
    dialer: Dialer,
    campaign_id: int,
    phase: Phase,
    start: datetime,
    end: datetime,
    policy: RetryPolicy | None = None,
    chunk: int = 200,
    agents: Sequence[tuple[int, str]] | None = None,
) -> SliceSummary:
    """Dial one campaign from `start` to `end`; in-flight calls finish after `end`."""
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        # Claims left by a crashed or stopped worker are released before new ones are taken.
        uow.contacts.release_claims(campaign_id)
        staff = list(agents) if agents is not None else uow.catalogue.outbound_agents()
        uow.commit()
    if not staff:
        return SliceSummary()
    dialer.start(agents=[w for _, w in staff], at=start)
    try:
        return _Slice(
            uow=uow,
            dialer=dialer,
            campaign_id=campaign_id,
            phase=phase,
            end=end,
            policy=policy or RetryPolicy(),
            hours=campaign.calling_hours,
            agent_ids={w: i for i, w in staff},
            chunk=chunk,
        ).run()
    finally:
        dialer.close()
