"""Domain vocabulary: enums and frozen value objects shared by rules and services."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time


class CampaignState(enum.StrEnum):
    """Lifecycle of a campaign; allowed moves live in `campaigns.states`."""

    SUBMITTED = "SUBMITTED"
    FEASIBILITY = "FEASIBILITY"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CLEANING = "CLEANING"
    READY = "READY"
    TRIAL = "TRIAL"
    TRIAL_REVIEW = "TRIAL_REVIEW"
    LIVE = "LIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class ContactState(enum.StrEnum):
    """Where one contact of a campaign stands."""

    PENDING = "PENDING"  # loaded, not cleaned yet
    EXCLUDED = "EXCLUDED"  # removed by cleaning; see exclusion_reason
    READY = "READY"  # callable, due at next_attempt_at
    DIALING = "DIALING"  # claimed by a dialing worker
    DONE = "DONE"  # final disposition reached or attempts exhausted


class SubscriberStatus(enum.StrEnum):
    """Operator-side status of a subscriber line."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"  # 停机
    CANCELLED = "CANCELLED"  # 销户


class Phase(enum.StrEnum):
    """Trial dialing on a sample, or live dialing."""

    TRIAL = "TRIAL"
    LIVE = "LIVE"


class Disposition(enum.StrEnum):
    """Outcome of one call attempt: network outcomes first, then agent outcomes."""

    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    MACHINE = "MACHINE"
    UNREACHABLE = "UNREACHABLE"
    INVALID = "INVALID"
    SUSPENDED = "SUSPENDED"
    REJECTED = "REJECTED"
    NETWORK_FAIL = "NETWORK_FAIL"
    ABANDONED = "ABANDONED"
    SUCCESS = "SUCCESS"
    REFUSED = "REFUSED"
    CALLBACK = "CALLBACK"
    NOT_ACCOUNT_HOLDER = "NOT_ACCOUNT_HOLDER"
    WRONG_NUMBER = "WRONG_NUMBER"
    DNC_REQUEST = "DNC_REQUEST"
    INELIGIBLE = "INELIGIBLE"
    HUNG_UP = "HUNG_UP"
    COMPLAINT = "COMPLAINT"


#: Outcomes where a person picked up and talked to an agent (a live contact).
LIVE_CONTACT = frozenset(
    {
        Disposition.ABANDONED,
        Disposition.SUCCESS,
        Disposition.REFUSED,
        Disposition.CALLBACK,
        Disposition.NOT_ACCOUNT_HOLDER,
        Disposition.WRONG_NUMBER,
        Disposition.DNC_REQUEST,
        Disposition.INELIGIBLE,
        Disposition.HUNG_UP,
        Disposition.COMPLAINT,
    }
)
#: Network-answered: a live contact or an answering machine.
CONNECTED = LIVE_CONTACT | {Disposition.MACHINE}
#: Live contacts where the account holder (机主本人) was verified.
RIGHT_PARTY = frozenset(
    {
        Disposition.SUCCESS,
        Disposition.REFUSED,
        Disposition.CALLBACK,
        Disposition.DNC_REQUEST,
        Disposition.INELIGIBLE,
        Disposition.HUNG_UP,
        Disposition.COMPLAINT,
    }
)
#: Right-party contacts that heard the pitch (INELIGIBLE ones are not pitched).
PITCHED = RIGHT_PARTY - {Disposition.INELIGIBLE}


class ExclusionReason(enum.StrEnum):
    """Stable reason codes for removing a contact during cleaning."""

    INVALID_NUMBER = "INVALID_NUMBER"
    SHORT_CODE = "SHORT_CODE"
    NOT_MOBILE = "NOT_MOBILE"
    DUPLICATE = "DUPLICATE"
    UNKNOWN_SUBSCRIBER = "UNKNOWN_SUBSCRIBER"
    SUBSCRIBER_INACTIVE = "SUBSCRIBER_INACTIVE"
    HOLDS_OFFER = "HOLDS_OFFER"
    HOLDS_EXCLUSIVE = "HOLDS_EXCLUSIVE"
    RECENT_CONTACT = "RECENT_CONTACT"
    PRIOR_FOLLOW_UP = "PRIOR_FOLLOW_UP"
    DO_NOT_CALL = "DO_NOT_CALL"
    REFUSED_BEFORE = "REFUSED_BEFORE"
    IN_OTHER_CAMPAIGN = "IN_OTHER_CAMPAIGN"
    OUT_OF_REGION = "OUT_OF_REGION"
    SEGMENT_FILTER = "SEGMENT_FILTER"


class Verdict(enum.StrEnum):
    """Outcome of a feasibility check."""

    FEASIBLE = "FEASIBLE"
    AT_RISK = "AT_RISK"
    INFEASIBLE = "INFEASIBLE"


class DeliveryStatus(enum.StrEnum):
    """Delivery state of a daily report to the branch webhook."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    NOT_CONFIGURED = "NOT_CONFIGURED"


@dataclass(frozen=True, slots=True)
class CallingHours:
    """Daily calling window in the called party's local time."""

    start: time = time(9, 0)
    end: time = time(20, 0)

    @property
    def hours_per_day(self) -> float:
        """Length of the window in hours."""
        return (
            (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)
        ) / 60


@dataclass(frozen=True, slots=True)
class CampaignRequestDraft:
    """What a branch asks for, before it is stored."""

    branch_code: str
    offer_code: str
    target_group: str
    requested_contacts: int
    goal_activations: int
    window_start: date
    window_end: date
    month: str
    submitted_by: str = "branch"
    segment_filters: tuple[str, ...] = ()
    goal_conversion_rate: float | None = None


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """Everything cleaning needs to know about one contact, gathered before the rules run."""

    contact_id: int
    e164: str | None
    invalid_reason: ExclusionReason | None = None
    duplicate_of_earlier_row: bool = False
    subscriber_status: SubscriberStatus | None = None
    holds_offer: bool = False
    holds_exclusive: bool = False
    last_contacted_at: datetime | None = None
    has_follow_up: bool = False
    on_dnc: bool = False
    last_refused_at: datetime | None = None  # refused this offer in an earlier campaign
    in_other_campaign: bool = False
    out_of_region: bool = False
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class CleaningPolicy:
    """Per-campaign cleaning configuration; stored with the campaign and with its ledger.

    `disabled` switches rules off by reason code; the invalid-number, short-code and
    duplicate rules cannot be switched off, since no campaign can dial those contacts.
    """

    cooldown_days: int = 30
    refusal_cooloff_days: int = 90
    segments: tuple[str, ...] = ()
    disabled: frozenset[ExclusionReason] = frozenset()

    def enabled(self, reason: ExclusionReason) -> bool:
        """Whether a rule applies under this policy."""
        return reason not in self.disabled

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form for storage."""
        return {
            "cooldown_days": self.cooldown_days,
            "refusal_cooloff_days": self.refusal_cooloff_days,
            "segments": list(self.segments),
            "disabled": sorted(r.value for r in self.disabled),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> CleaningPolicy:
        """Read a stored policy; missing keys take their defaults."""
        if not data:
            return cls()
        default = cls()
        disabled = data.get("disabled") or []
        segments = data.get("segments") or []
        assert isinstance(disabled, list) and isinstance(segments, list)
        return cls(
            cooldown_days=int(str(data.get("cooldown_days", default.cooldown_days))),
            refusal_cooloff_days=int(
                str(data.get("refusal_cooloff_days", default.refusal_cooloff_days))
            ),
            segments=tuple(str(s) for s in segments),
            disabled=frozenset(ExclusionReason(str(r)) for r in disabled),
        )


@dataclass(frozen=True, slots=True)
class CleaningVerdict:
    """Kept, or excluded with the first matching reason (and every reason that matched)."""

    contact_id: int
    reason: ExclusionReason | None
    all_reasons: tuple[ExclusionReason, ...] = field(default=())

    @property
    def kept(self) -> bool:
        """True when no rule excluded the contact."""
        return self.reason is None


# ------------------------------------------------------------------ records read by services


@dataclass(frozen=True, slots=True)
class BranchRecord:
    """A branch as services see it."""

    id: int
    code: str
    name: str
    timezone: str
    region: str
    webhook_url: str | None
    monthly_quota: int | None


@dataclass(frozen=True, slots=True)
class OfferRecord:
    """An offer from the catalogue."""

    id: int
    code: str
    name: str
    exclusion_group: str | None
    requires_mobile: bool
    monthly_price: float


@dataclass(frozen=True, slots=True)
class ScriptRecord:
    """One published version of an offer's call script."""

    id: int
    offer_id: int
    version: int
    title: str
    sections: dict[str, object]


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A campaign joined with its request and branch: what flows and views need."""

    id: int
    name: str
    state: CampaignState
    request_id: int
    branch_id: int
    branch_code: str
    branch_timezone: str
    branch_region: str
    webhook_url: str | None
    offer_id: int
    offer_code: str
    goal_activations: int
    requested_contacts: int
    window_start: date
    window_end: date
    month: str
    script_id: int | None
    calling_hours: CallingHours
    dialed_until: datetime | None
    feasibility: dict[str, object] | None
    cleaning_summary: dict[str, object] | None
    target_group: str = ""
    list_rows: int = 0
    goal_conversion_rate: float | None = None
    segment_filters: tuple[str, ...] = ()
    flow_run_id: str | None = None
    submitted_by: str = ""
    cleaning_policy: dict[str, object] | None = None
    cleaning_ledger: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class DialContact:
    """A claimed contact, with what retry decisions need."""

    id: int
    e164: str
    attempts: int
    last_disposition: Disposition | None
    streak: int
    is_trial: bool


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A list row that could not be used, with its spreadsheet row number."""

    row_number: int
    raw: str
    reason: str


#: How many row problems are kept for display; the rest are only counted.
PROBLEMS_SHOWN = 500


@dataclass(frozen=True, slots=True)
class SubscriberFacts:
    """What the operator knows about one number, from its snapshot or its CRM."""

    msisdn: str
    status: SubscriberStatus
    segment: str | None = None
    branch_code: str | None = None
    services: frozenset[str] = frozenset()  # codes of the services the subscriber holds
    has_follow_up: bool = False
    last_contacted_at: datetime | None = None  # the operator's own contact history


@dataclass(frozen=True, slots=True)
class AttemptFact:
    """One finished call attempt with what reports group it by; the number is never kept."""

    campaign_id: int
    contact_id: int
    phase: Phase
    disposition: Disposition
    dialed_at: datetime
    answered_at: datetime | None = None
    bridged_at: datetime | None = None
    talk_seconds: float = 0.0
    wrap_seconds: float = 0.0
    agent: str | None = None  # the agent's work ID (工号)
    segment: str | None = None
    note: str | None = None
    offer: str = ""
