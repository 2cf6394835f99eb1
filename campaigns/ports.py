"""Ports: what the domain needs from the outside world, as small Protocols."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, TypeAlias

from campaigns.access import Role
from campaigns.intake import ListFile, ListRow
from campaigns.ledger import CleaningTally, LoadedList
from campaigns.model import (
    AttemptFact,
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
    OfferRecord,
    Phase,
    ScriptRecord,
    SubscriberFacts,
)
from campaigns.operations import RatingCounts, ShiftTotals

# --------------------------------------------------------------------------- dialer


class AnsweredBy(enum.StrEnum):
    """Who picked up, as far as the dialer can tell."""

    HUMAN = "HUMAN"
    MACHINE = "MACHINE"  # only from an adapter with answering-machine detection
    UNKNOWN = "UNKNOWN"  # no detection: treat as a person and bridge an agent


class EndReason(enum.StrEnum):
    """Why a call ended; every originated call ends exactly once."""

    BUSY = "BUSY"
    NO_ANSWER = "NO_ANSWER"  # rang out, at least 15 s
    FAILED = "FAILED"  # see FailureCause
    ABANDONED = "ABANDONED"  # answered by a person, no agent within the patience
    HUNG_UP = "HUNG_UP"  # answered, then hung up by someone (see Party)


class FailureCause(enum.StrEnum):
    """Why a call failed, translated from the network's cause (SIP status, Q.850)."""

    INVALID_NUMBER = "INVALID_NUMBER"  # 空号; SIP 404/484, Q.850 1
    UNREACHABLE = "UNREACHABLE"  # 关机/无法接通; SIP 480, Q.850 18/20
    SUSPENDED = "SUSPENDED"  # 停机; the operator's announcement
    DECLINED = "DECLINED"  # the called party rejected the call; SIP 603, Q.850 21
    NETWORK = "NETWORK"  # congestion, timeouts, 5xx; not the customer's doing


class Party(enum.StrEnum):
    """Who hung up an answered call."""

    CUSTOMER = "CUSTOMER"
    AGENT = "AGENT"
    DIALER = "DIALER"


@dataclass(frozen=True, slots=True)
class DialerCapabilities:
    """What an adapter can do; the engine never asks for more, and adapters never claim more.

    `bridging`: answered calls are connected to the engine's agents, and the agents'
    dispositions come back (`CallBridged`, `CallDisposed`, agent sign-in/out events).
    `amd`: answering machines are told from people (`AnsweredBy.MACHINE`).
    `preview`: a request with `preview=True` is shown to its agent, who then dials.
    `max_calls`: calls that may be up at once (trunk channels); None means no limit.
    """

    bridging: bool
    amd: bool
    preview: bool
    max_calls: int | None = None


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One call to originate. `key` is the attempt's idempotency key.

    `agent` reserves that (idle) agent for the call, as progressive and preview pacing do;
    None leaves the call to whichever agent is free when it is answered (predictive).
    `segment` is the customer group, for adapters that can use it (the simulator does).
    """

    key: str
    contact_id: int
    number: str
    attempt_no: int
    agent: str | None = None
    preview: bool = False
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class AgentSignedIn:
    """An agent became available to the dialer (shift start, back from a break)."""

    agent: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AgentSignedOut:
    """An agent left; adapters sign agents out only between calls."""

    agent: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RingingStarted:
    """The called phone rings (SIP 180/183)."""

    key: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """The call was answered; `at` is when the dialer knows by whom (after detection)."""

    key: str
    at: datetime
    answered_by: AnsweredBy


@dataclass(frozen=True, slots=True)
class CallBridged:
    """An answered call was connected to an agent."""

    key: str
    at: datetime
    agent: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over: the one terminal event of every originated call."""

    key: str
    at: datetime
    reason: EndReason
    cause: FailureCause | None = None  # with FAILED
    hung_up_by: Party | None = None  # with HUNG_UP and ABANDONED
    detail: str = ""  # the network's own words, e.g. "SIP 486 Busy Here"


@dataclass(frozen=True, slots=True)
class CallDisposed:
    """The agent finished wrap-up and chose a disposition; the agent is free again."""

    key: str
    at: datetime
    agent: str
    disposition: Disposition
    callback_at: datetime | None = None
    note: str | None = None


#: Everything a dialer reports. Call events carry the request's key.
DialerEvent: TypeAlias = (
    AgentSignedIn
    | AgentSignedOut
    | RingingStarted
    | CallAnswered
    | CallBridged
    | CallEnded
    | CallDisposed
)


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """A finished call, folded from its events by the engine: what an attempt row records."""

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
    bridged_at: datetime | None = None
    cause: str | None = None


class Dialer(Protocol):
    """Places calls and reports what happens to them; the engine decides who to call and when.

    A dialer is a stream of events about calls and agents. The engine originates calls
    (`originate`) and reads events (`receive`); it keeps no other channel to the adapter.
    Each originated call goes through a legal sequence of events:

        RingingStarted? then one of
            CallEnded(BUSY | NO_ANSWER | FAILED)                    NO_ANSWER only after >= 15 s
            CallAnswered(MACHINE) -> CallEnded(HUNG_UP)             only with capabilities.amd
            CallAnswered(HUMAN | UNKNOWN) -> CallEnded(ABANDONED)   no agent within the patience
            CallAnswered(HUMAN | UNKNOWN) -> CallBridged -> CallEnded(HUNG_UP) -> CallDisposed

    `CallEnded` comes exactly once per call; `CallBridged` and `CallDisposed` only from an
    adapter with `capabilities.bridging`, which also reports agents signing in and out.
    An agent is bridged to one call at a time, and is free again at its `CallDisposed`.

    The loop in `campaigns.dialing` drives every adapter the same way:

        await dialer.start(agents=["A001", "A002"], at=slice_start)
        while dialer.now() < slice_end:
            n = pacer.plan(dialer.now()).calls              # how many calls to place now
            await dialer.originate(requests[:n])            # returns at once
            for event in await dialer.receive(until=dialer.now() + tick):
                pacer.observe(event)                        # and record outcomes
        ...                                                 # receive until every call ended
        await dialer.close()

    `receive(until=...)` returns as soon as there are events, or with `[]` when `until`
    passes. A simulated adapter (`simulated_time = True`) advances its own clock there,
    a real one waits on the wall clock, so the same loop runs days of simulated dialing
    in seconds or a real day of calls. `now()` is the only clock the engine reads.

    Originating a key that was already originated in this session places no second call.
    Errors: `DialerUnavailable` (retryable: the switch or trunk cannot be reached; the same
    requests may be sent again with the same keys) and `DialerRejected` (permanent: not
    started or closed, an agent that is not idle, a capability the adapter lacks, more
    than `max_calls`), both from `campaigns.errors` and chained from the vendor error.
    What a network says about one number (busy, invalid, unreachable) is an event, never
    an exception. `close()` hangs up what is still up, signs agents out and releases
    connections; nothing is reported after it, and `start()` may begin a new session.
    """

    name: str
    simulated_time: bool
    capabilities: DialerCapabilities

    async def start(self, *, agents: Sequence[str], at: datetime) -> None:
        """Sign agents in (their sign-in events follow); a simulated clock starts at `at`."""
        ...

    def now(self) -> datetime:
        """The adapter's current time (simulated or wall clock), timezone-aware."""
        ...

    async def originate(self, calls: Sequence[CallRequest]) -> None:
        """Start calls; what happens to them arrives later through `receive`."""
        ...

    async def receive(self, *, until: datetime) -> list[DialerEvent]:
        """Wait for events, or until `until`; return them in time order."""
        ...

    async def close(self) -> None:
        """Hang up, sign agents out and release connections."""
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


#: Who holds a claim when the caller names no worker.
ANONYMOUS_WORKER = "anonymous"
#: How long a claim holds unless its worker renews it; after that, any worker may take it.
DEFAULT_LEASE = timedelta(minutes=10)


class ContactRepository(Protocol):
    """Contacts of campaign lists.

    A dialing worker claims due contacts (state DIALING, `claimed_by` itself, a lease until
    `claimed_until`) and renews the lease while it holds them; a claim whose lease ran out
    belongs to a worker that stopped, and any worker may take it over.
    """

    def count_by_state(self, campaign_id: int) -> dict[ContactState, int]: ...
    def count_all(self, campaign_id: int) -> int: ...
    def count_valid(self, campaign_id: int) -> int: ...
    def exclusion_counts(self, campaign_id: int) -> dict[ExclusionReason, int]: ...
    def batch_for_cleaning(
        self, campaign_id: int, *, after_row: int, limit: int
    ) -> list[tuple[int, str | None, bool, ExclusionReason | None]]: ...
    def in_other_campaigns(
        self, numbers: Sequence[str], campaign_id: int, states: Sequence[CampaignState]
    ) -> set[str]: ...
    def ready_by_segment(self, campaign_id: int) -> dict[str, int]: ...
    def mark_trial_sample(self, campaign_id: int, allocation: dict[str, int]) -> dict[str, int]: ...
    def claim_due(
        self,
        campaign_id: int,
        *,
        now: datetime,
        limit: int,
        trial_only: bool,
        worker: str = ANONYMOUS_WORKER,
        lease: timedelta = DEFAULT_LEASE,
    ) -> list[DialContact]: ...
    def renew_claims(
        self,
        campaign_id: int,
        *,
        worker: str,
        until: datetime,
        ids: Sequence[int] | None = None,
        stale_before: datetime | None = None,
    ) -> set[int]: ...
    def release_claims(self, campaign_id: int, *, worker: str, now: datetime) -> int: ...
    def waiting(
        self, campaign_id: int, *, now: datetime
    ) -> list[tuple[Disposition | None, int, datetime, datetime]]: ...
    def due_sample(
        self, campaign_id: int, *, now: datetime, limit: int
    ) -> tuple[int, list[str]]: ...
    def next_due_at(self, campaign_id: int, *, trial_only: bool) -> datetime | None: ...
    def update_after_attempts(self, updates: Sequence[dict[str, Any]]) -> None: ...


class DncRepository(Protocol):
    """Do-not-call entries."""

    def blocked(self, numbers: Sequence[str], *, campaign_id: int, now: datetime) -> set[str]: ...
    def add_many(self, entries: Sequence[tuple[str, str]], *, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class AttemptTally:
    """Attempts of a campaign dialled in [start, end): what pacing needs from history."""

    start: datetime
    end: datetime
    ended: int  # attempts with an outcome
    live: int  # live contacts (abandoned ones included)
    abandoned: int
    bridged: int  # calls an agent handled
    handle_seconds: float  # their talk + wrap-up


class AttemptRepository(Protocol):
    """Call attempts and their aggregates.

    An attempt row is written when the call is dialled (`begin_many`: no disposition yet)
    and completed with its outcome (`finish_many`); aggregates count completed rows only.
    """

    def add_many(self, rows: Sequence[dict[str, Any]]) -> int: ...
    def begin_many(self, rows: Sequence[dict[str, Any]]) -> dict[str, Disposition | None]: ...
    def begin_held(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        campaign_id: int,
        worker: str,
        until: datetime,
        now: datetime,
    ) -> tuple[set[int], set[str], dict[str, Disposition | None]]: ...
    def finish_many(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def tally(self, campaign_id: int, *, edges: Sequence[datetime]) -> list[AttemptTally]: ...
    def dial_history(
        self, numbers: Sequence[str], *, since: datetime, abandoned_since: datetime
    ) -> dict[str, tuple[list[datetime], list[datetime]]]: ...
    def latest_dial_at(self, campaign_id: int) -> datetime | None: ...
    def open_attempts(self, contact_ids: Sequence[int]) -> dict[int, tuple[str, datetime]]: ...
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


class RollupRepository(Protocol):
    """Hourly rollups of finished attempts (campaigns.rollups)."""

    def add(self, campaign_rows: Sequence[dict[str, Any]]) -> None: ...
    def refresh_agents(self, campaign_id: int, *, start: datetime, end: datetime) -> None: ...
    def campaign_hours(self, campaign_id: int) -> list[dict[str, Any]]: ...
    def agent_hours(self, campaign_id: int) -> list[dict[str, Any]]: ...
    def agent_totals(self, *, start: datetime, end: datetime) -> list[dict[str, Any]]: ...


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


class UserRepository(Protocol):
    """Dashboard users."""

    def add(
        self,
        *,
        username: str,
        password_hash: str,
        role: Role,
        branch_id: int | None,
        pii: bool,
        now: datetime,
        display_name: str | None = None,
    ) -> int: ...
    def find(self, username: str) -> dict[str, Any] | None: ...
    def all(self) -> list[dict[str, Any]]: ...
    def set_disabled(self, username: str, disabled: bool) -> bool: ...


class ReportQueries(Protocol):
    """Queries behind the reports (daily feedback, final summary, operations), and the
    agents' shifts and the calls' ratings imported for the operations reports.

    Facts never carry a phone number, so nothing computed from them can leak one.
    """

    def attempt_facts(
        self,
        *,
        campaign_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[AttemptFact]: ...
    def refusal_counts(
        self, campaign_id: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, int]: ...
    def first_dial_at(self, campaign_id: int) -> datetime | None: ...
    def campaigns_dialled(self, *, start: datetime, end: datetime) -> list[int]: ...
    def report_id(self, campaign_id: int, day: date) -> int | None: ...
    def undelivered(self, statuses: Sequence[DeliveryStatus]) -> list[int]: ...
    def shift_totals(self, *, first: date, last: date) -> dict[str, ShiftTotals]: ...
    def agent_ids(self, work_ids: Sequence[str]) -> dict[str, int]: ...
    def replace_shifts(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def rating_counts(self, *, start: datetime, end: datetime) -> RatingCounts: ...
    def attempt_ids(self, keys: Sequence[str]) -> dict[str, int]: ...
    def replace_ratings(self, rows: Sequence[dict[str, Any]]) -> None: ...


class DashboardQueries(Protocol):
    """What the dashboard reads beyond the other repositories, from rollups only: totals
    per campaign and disposition from the campaign hours, and contacts per funnel stage.

    `refresh_reach` keeps the second up to date; each dialing slice calls it for its hours.
    """

    def refresh_reach(
        self, campaign_id: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> None: ...
    def reach(self, campaign_id: int) -> dict[Phase | None, dict[str, int]]: ...
    def campaign_totals(
        self,
        campaign_ids: Sequence[int] | None,
        *,
        periods: Sequence[tuple[datetime, datetime]] = (),
    ) -> list[dict[str, Any]]: ...
    def latest_hour(self, campaign_id: int) -> tuple[datetime | None, dict[Disposition, int]]: ...


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
    """Cleaning computed inside the database over the snapshot tables (no row leaves it).

    A list row is in contacts (pending or kept) or in the exclusions with the mask of every
    rule that matched (`campaigns.rules.REASON_BITS`); writing a verdict moves the row.
    """

    def tally(
        self, campaign_id: int, policy: CleaningPolicy, now: datetime, *, due_at: datetime | None
    ) -> CleaningTally:
        """Evaluate every rule; with `due_at` also write each row's verdict."""
        ...

    def apply(
        self, campaign_id: int, masks: Sequence[tuple[int, int]], *, due_at: datetime
    ) -> None:
        """Write verdicts computed elsewhere: (row number, mask) for every row of the list."""
        ...


class ListStore(Protocol):
    """Storing a campaign's list as it arrives.

    Each row of the list is written once: to the contacts when it is kept (or not cleaned
    yet), to the exclusions when a rule removes it. Cleaned while stored when a policy is
    given (the snapshot's rules are evaluated where the rows land); otherwise only rows no
    policy could keep (unreadable numbers, repeats) are excluded. Example::

        loaded = uow.lists.load(campaign_id, list_file, region="CN", max_rows=2_000_000,
                                policy=CleaningPolicy(), now=now)
        loaded.stored, loaded.valid, loaded.tally.summary()
    """

    def load(
        self,
        campaign_id: int,
        source: ListFile | Iterable[ListRow],
        *,
        region: str,
        max_rows: int,
        policy: CleaningPolicy | None,
        now: datetime,
        due_at: datetime | None = None,
    ) -> LoadedList:
        """Store the list; ValidationError past `max_rows` rows (the caller rolls back)."""
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
    def lists(self) -> ListStore: ...
    @property
    def dnc(self) -> DncRepository: ...
    @property
    def attempts(self) -> AttemptRepository: ...
    @property
    def reports(self) -> ReportRepository: ...
    @property
    def rollups(self) -> RollupRepository: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def analytics(self) -> ReportQueries: ...
    @property
    def dashboard(self) -> DashboardQueries: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
