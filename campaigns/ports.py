"""Ports: what the domain needs from the outside world, as small Protocols."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from campaigns.ledger import CleaningTally
from campaigns.model import (
    BranchRecord,
    CallingHours,
    CampaignRecord,
    CampaignState,
    CleaningPolicy,
    ContactState,
    DeliveryStatus,
    DialContact,
    Disposition,
    ExclusionReason,
    NewContact,
    OfferRecord,
    Phase,
    ScriptRecord,
    SubscriberFacts,
)

# --------------------------------------------------------------------------- dialer


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One call to originate. `key` is the attempt's idempotency key."""

    key: str
    contact_id: int
    number: str
    attempt_no: int


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """A finished call: the disposition and the timings reported by the dialer."""

    key: str
    contact_id: int
    disposition: Disposition
    dialed_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    ring_seconds: float
    talk_seconds: float
    wrap_seconds: float
    agent_work_id: str | None = None
    callback_at: datetime | None = None
    note: str | None = None


class Dialer(Protocol):
    """Places calls and reports how they ended; the engine decides who to call and when.

    The dialing loop in `campaigns.dialing` drives any adapter the same way:

        dialer.start(agents=["A001", "A002"], at=slice_start)
        while dialer.now() < slice_end:
            free = dialer.free_capacity()          # e.g. idle agents in progressive mode
            dialer.originate(requests[:free])      # never more than `free`
            for outcome in dialer.collect(until=slice_end):
                record(outcome)                    # one CallOutcome per originated call
        dialer.drain()                             # in-flight calls finish and are reported
        dialer.close()

    `collect(until)` returns as soon as something changed (a call ended or an agent
    became free) or `until` passed; it may return an empty list. A simulated adapter
    advances its own clock there (`simulated_time = True`), a real one waits on the
    wall clock, so the same loop runs days of simulated dialing in seconds or a real
    day of calls. Adapters raise `DialerUnavailable` (retryable) or `DialerRejected`
    (permanent) from `campaigns.errors`, chained from the vendor error.
    """

    name: str
    simulated_time: bool

    def start(self, *, agents: Sequence[str], at: datetime) -> None:
        """Sign agents in; a simulated adapter sets its clock to `at`."""
        ...

    def now(self) -> datetime:
        """The adapter's current time (simulated or wall clock), timezone-aware."""
        ...

    def free_capacity(self) -> int:
        """How many calls may be originated right now."""
        ...

    def in_flight(self) -> int:
        """Calls originated and not yet reported by `collect`."""
        ...

    def originate(self, calls: Sequence[CallRequest]) -> None:
        """Start calls; outcomes arrive later from `collect`."""
        ...

    def collect(self, until: datetime) -> list[CallOutcome]:
        """Wait until something changes or `until` passes; return the calls that ended."""
        ...

    def drain(self) -> list[CallOutcome]:
        """Let in-flight calls finish and return their outcomes; agents end wrap-up."""
        ...

    def close(self) -> None:
        """Release connections and sign agents out."""
        ...


class FeedbackSender(Protocol):
    """Delivers a report payload to a branch; raises DialerUnavailable-like errors never."""

    def send(self, url: str, payload: dict[str, Any], *, idempotency_key: str) -> str | None:
        """POST the payload; return None on success or a short error text."""
        ...


class SubscriberSource(Protocol):
    """Where cleaning learns about subscribers: the snapshot tables or the operator's CRM.

    `lookup` takes a batch of E.164 numbers (hundreds to thousands) and returns facts for
    the numbers the operator knows; unknown numbers are simply absent. Implementations
    batch their own I/O and raise `DialerUnavailable`-style retryable errors from
    `campaigns.errors` (`SourceUnavailable`) when the source cannot be reached.
    """

    def lookup(self, numbers: Sequence[str]) -> dict[str, SubscriberFacts]:
        """Facts for the known numbers of the batch."""
        ...


# --------------------------------------------------------------------------- storage


class CatalogueRepository(Protocol):
    """Branches, offers, scripts and agents."""

    def update_branch(self, branch_id: int, **fields: Any) -> None: ...
    def branches(self) -> list[BranchRecord]: ...
    def offers(self) -> list[OfferRecord]: ...
    def branch_by_code(self, code: str) -> BranchRecord | None: ...
    def offer_by_code(self, code: str) -> OfferRecord | None: ...
    def offer(self, offer_id: int) -> OfferRecord: ...
    def exclusive_service_ids(self, offer_id: int) -> list[int]: ...
    def outbound_agents(self) -> list[tuple[int, str]]: ...
    def latest_script(self, offer_id: int) -> ScriptRecord | None: ...
    def script(self, script_id: int) -> ScriptRecord: ...


class CampaignRepository(Protocol):
    """Requests and campaigns."""

    def find_by_hash(self, content_hash: str) -> int | None: ...
    def add(
        self,
        *,
        branch_id: int,
        offer_id: int,
        target_group: str,
        requested_contacts: int,
        goal_activations: int,
        window_start: date,
        window_end: date,
        month: str,
        list_filename: str,
        content_hash: str,
        submitted_by: str,
        name: str,
        calling_hours: CallingHours,
        now: datetime,
    ) -> int: ...
    def record_list(
        self,
        campaign_id: int,
        *,
        rows: int,
        requested_contacts: int,
        goal_activations: int,
        goal_conversion_rate: float | None,
        segment_filters: list[str],
        problem_count: int,
        problems: list[list[Any]],
    ) -> None: ...
    def contacts_requested(self, branch_id: int, month: str, *, exclude_campaign: int) -> int: ...
    def row_problems(self, campaign_id: int) -> tuple[int, list[list[Any]]]: ...
    def history(self, offer_id: int, *, exclude_campaign: int) -> dict[str, float]: ...
    def overlap(self, campaign_id: int, states: Sequence[CampaignState]) -> int: ...
    def get(self, campaign_id: int, *, for_update: bool = False) -> CampaignRecord: ...
    def in_state(self, state: CampaignState) -> list[CampaignRecord]: ...
    def all(self) -> list[CampaignRecord]: ...
    def update(self, campaign_id: int, *, now: datetime, **fields: Any) -> None: ...


class ContactRepository(Protocol):
    """Contacts of campaign lists."""

    def add_many(self, campaign_id: int, contacts: Iterable[NewContact]) -> int: ...
    def count_by_state(self, campaign_id: int) -> dict[ContactState, int]: ...
    def count_all(self, campaign_id: int) -> int: ...
    def count_valid(self, campaign_id: int) -> int: ...
    def exclusion_counts(self, campaign_id: int) -> dict[ExclusionReason, int]: ...
    def batch_for_cleaning(
        self, campaign_id: int, *, after_row: int, limit: int
    ) -> list[tuple[int, int, str | None, bool, ExclusionReason | None]]: ...
    def apply_verdicts(
        self,
        verdicts: Sequence[tuple[int, ExclusionReason | None]],
        *,
        due_at: datetime,
    ) -> None: ...
    def in_other_campaigns(
        self, numbers: Sequence[str], campaign_id: int, states: Sequence[CampaignState]
    ) -> set[str]: ...
    def mark_trial_sample(self, campaign_id: int, size: int) -> int: ...
    def claim_due(
        self, campaign_id: int, *, now: datetime, limit: int, trial_only: bool
    ) -> list[DialContact]: ...
    def release_claims(self, campaign_id: int) -> int: ...
    def next_due_at(self, campaign_id: int, *, trial_only: bool) -> datetime | None: ...
    def update_after_attempts(self, updates: Sequence[dict[str, Any]]) -> None: ...


class DncRepository(Protocol):
    """Do-not-call entries."""

    def blocked(self, numbers: Sequence[str], *, campaign_id: int, now: datetime) -> set[str]: ...
    def add_many(self, entries: Sequence[tuple[str, str]], *, now: datetime) -> None: ...


class AttemptRepository(Protocol):
    """Call attempts and their aggregates."""

    def add_many(self, rows: Sequence[dict[str, Any]]) -> int: ...
    def last_attempts(
        self, numbers: Sequence[str], *, exclude_campaign: int
    ) -> dict[str, datetime]: ...
    def last_refusals(
        self, numbers: Sequence[str], *, offer_id: int, exclude_campaign: int
    ) -> dict[str, datetime]: ...
    def counts(
        self,
        campaign_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        phase: Phase | None = None,
    ) -> tuple[dict[Disposition, int], int, int]: ...
    def reached(self, campaign_id: int) -> dict[str, int]: ...
    def masked_samples(
        self, campaign_id: int, disposition: Disposition, *, start: datetime, end: datetime
    ) -> list[tuple[str, datetime, str | None]]: ...
    def refusal_reasons(self, campaign_id: int, *, limit: int = 5) -> list[tuple[str, int]]: ...


class ReportRepository(Protocol):
    """Daily reports."""

    def upsert(
        self, campaign_id: int, day: date, payload: dict[str, Any], *, now: datetime
    ) -> int: ...
    def get(self, report_id: int) -> tuple[int, date, dict[str, Any], DeliveryStatus]: ...
    def mark(
        self,
        report_id: int,
        *,
        status: DeliveryStatus,
        now: datetime,
        error: str | None = None,
        file_path: str | None = None,
        attempted: bool = False,
    ) -> None: ...
    def list_for(self, campaign_id: int) -> list[dict[str, Any]]: ...


class AuditLog(Protocol):
    """Append-only audit trail."""

    def append(
        self,
        *,
        actor: str,
        entity: str,
        entity_id: int | None,
        action: str,
        at: datetime,
        from_state: str | None = None,
        to_state: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None: ...
    def for_entity(self, entity: str, entity_id: int) -> list[dict[str, Any]]: ...


class SetCleaner(Protocol):
    """Cleaning computed inside the database over the snapshot tables (no row leaves it)."""

    def tally(
        self, campaign_id: int, policy: CleaningPolicy, now: datetime, *, due_at: datetime | None
    ) -> CleaningTally:
        """Evaluate every rule; with `due_at` also write each contact's verdict."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository; use as `with uow: ... uow.commit()`."""

    @property
    def catalogue(self) -> CatalogueRepository: ...
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def contacts(self) -> ContactRepository: ...
    @property
    def snapshot(self) -> SubscriberSource: ...
    @property
    def cleaner(self) -> SetCleaner: ...
    @property
    def dnc(self) -> DncRepository: ...
    @property
    def attempts(self) -> AttemptRepository: ...
    @property
    def reports(self) -> ReportRepository: ...
    @property
    def audit(self) -> AuditLog: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
