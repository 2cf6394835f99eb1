"""SQLAlchemy 2 typed tables. The schema is built by Alembic; these classes must agree with it."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from campaigns.access import Role
from campaigns.model import (
    CampaignState,
    ContactState,
    DeliveryStatus,
    Disposition,
    ExclusionReason,
    Phase,
    SubscriberStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on every backend; SQLite stores UTC without an offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as VARCHAR so adding a value never needs an ALTER TYPE migration.
    return Enum(cls, native_enum=False, create_constraint=False, length=32)


intpk = Annotated[int, mapped_column(primary_key=True)]
str64 = Annotated[str, mapped_column(String(64))]
str200 = Annotated[str, mapped_column(String(200))]
msisdn_str = Annotated[str, mapped_column(String(20))]


class Base(DeclarativeBase):
    """Declarative base with the naming convention Alembic batch mode relies on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON(),
        CampaignState: _enum(CampaignState),
        ContactState: _enum(ContactState),
        DeliveryStatus: _enum(DeliveryStatus),
        Disposition: _enum(Disposition),
        ExclusionReason: _enum(ExclusionReason),
        Phase: _enum(Phase),
        Role: _enum(Role),
        SubscriberStatus: _enum(SubscriberStatus),
    }


class Branch(Base):
    """A city branch office (地市公司) that requests campaigns."""

    __tablename__ = "branches"
    id: Mapped[intpk]
    code: Mapped[str64] = mapped_column(unique=True)
    name: Mapped[str200]
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    region: Mapped[str] = mapped_column(String(2), default="CN")
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    monthly_quota: Mapped[int | None]


class Service(Base):
    """An offer in the catalogue; services sharing an exclusion group are mutually exclusive."""

    __tablename__ = "services"
    id: Mapped[intpk]
    code: Mapped[str64] = mapped_column(unique=True)
    name: Mapped[str200]
    monthly_price: Mapped[float] = mapped_column(Float, default=0.0)
    exclusion_group: Mapped[str | None] = mapped_column(String(64), index=True)
    requires_mobile: Mapped[bool] = mapped_column(Boolean, default=True)


class Subscriber(Base):
    """The operator's subscriber line."""

    __tablename__ = "subscribers"
    id: Mapped[intpk]
    msisdn: Mapped[msisdn_str] = mapped_column(unique=True)
    status: Mapped[SubscriberStatus]
    segment: Mapped[str | None] = mapped_column(String(64))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))


class SubscriberService(Base):
    """A service a subscriber holds."""

    __tablename__ = "subscriber_services"
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    since: Mapped[date | None]


class FollowUp(Base):
    """A prior follow-up record (回访记录) for a number."""

    __tablename__ = "follow_ups"
    id: Mapped[intpk]
    msisdn: Mapped[msisdn_str] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)


class ContactHistory(Base):
    """A contact made outside this engine (the operator's own history), for cooldowns."""

    __tablename__ = "contact_history"
    id: Mapped[intpk]
    msisdn: Mapped[msisdn_str] = mapped_column(index=True)
    contacted_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(64), default="operator")


class SubscriberFacts(Base):
    """One row per snapshot subscriber with what cleaning asks of it, rebuilt on every import.

    Derived from subscribers, subscriber_services, contact_history and follow_ups by
    `campaigns.storage.snapshot.refresh_facts`, so set-based cleaning joins one table instead
    of four (two of them aggregated) for every list.
    """

    __tablename__ = "subscriber_facts"
    #: The number's digits as an integer (E.164 without "+"): lists are joined on it, and
    #: integers sort and compare several times faster than the text.
    num: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    msisdn: Mapped[msisdn_str]
    status: Mapped[SubscriberStatus]
    segment: Mapped[str | None] = mapped_column(String(64))
    branch_id: Mapped[int | None]
    #: Held service ids as ",3,7,", so "holds service 3" is `services LIKE '%,3,%'` anywhere.
    services: Mapped[str | None] = mapped_column(Text)
    last_contact: Mapped[datetime | None]
    follow_up: Mapped[bool]


class CampaignRequest(Base):
    """A branch's request, identified by the hash of its content and list file."""

    __tablename__ = "campaign_requests"
    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    target_group: Mapped[str] = mapped_column(Text)
    requested_contacts: Mapped[int]
    goal_activations: Mapped[int]
    window_start: Mapped[date]
    window_end: Mapped[date]
    month: Mapped[str] = mapped_column(String(7))
    list_filename: Mapped[str] = mapped_column(String(300))
    list_rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    segment_filters: Mapped[dict[str, Any] | None]
    goal_conversion_rate: Mapped[float | None] = mapped_column(Float)
    row_problem_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    row_problems: Mapped[dict[str, Any] | None]
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime]


class Script(Base):
    """A versioned call script for one offer."""

    __tablename__ = "scripts"
    __table_args__ = (UniqueConstraint("offer_id", "version"),)
    id: Mapped[intpk]
    offer_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    version: Mapped[int]
    title: Mapped[str200]
    sections: Mapped[dict[str, Any]]
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Campaign(Base):
    """A campaign carried through the lifecycle by the campaign flow."""

    __tablename__ = "campaigns"
    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("campaign_requests.id"), unique=True)
    name: Mapped[str200]
    state: Mapped[CampaignState] = mapped_column(index=True)
    script_id: Mapped[int | None] = mapped_column(ForeignKey("scripts.id"))
    calling_start_minute: Mapped[int] = mapped_column(Integer, default=9 * 60)
    calling_end_minute: Mapped[int] = mapped_column(Integer, default=20 * 60)
    dialed_until: Mapped[datetime | None]
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    feasibility: Mapped[dict[str, Any] | None]
    cleaning_summary: Mapped[dict[str, Any] | None]
    cleaning_policy: Mapped[dict[str, Any] | None]
    cleaning_ledger: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Contact(Base):
    """One row of a campaign's list, from raw input to its final disposition."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "row_number"),
        # In the claim's order (due first, then by id), so a claim reads only what it takes.
        Index("ix_contacts_due", "campaign_id", "state", "next_attempt_at", "id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    row_number: Mapped[int]
    raw_input: Mapped[str] = mapped_column(String(100))
    e164: Mapped[str | None] = mapped_column(String(20), index=True)
    is_mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any] | None]
    state: Mapped[ContactState]
    exclusion_reason: Mapped[ExclusionReason | None]
    rule_version: Mapped[str | None] = mapped_column(String(40))
    is_trial: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_disposition: Mapped[Disposition | None]
    disposition_streak: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the dialing worker's id
    claimed_until: Mapped[datetime | None]  # its lease; after this, any worker may take over


class ListExclusion(Base):
    """A row of a campaign's list that cleaning excluded: the exclusion ledger, row by row.

    Every row of a list is either here or in `contacts` (kept, not yet cleaned, or dialled),
    never both. Kept apart because a list is mostly excluded rows (82% in bench/cleaning.py),
    which are never dialled, claimed or looked up by number: they need none of contacts'
    four indexes or its per-row key check, and an ordinary btree on a million rows costs
    more to maintain than writing them. `mask` holds every rule that matched
    (`campaigns.rules.REASON_BITS`), `reason` the first of them in rule order. The columns
    a re-cleaning needs to bring a row back (number, attributes) are kept.

    No primary key: (campaign_id, row_number) is unique by construction, and a BRIN index
    on campaign_id finds a campaign's rows, which are written together.
    """

    __tablename__ = "list_exclusions"
    __table_args__ = (
        Index(
            "ix_list_exclusions_campaign_id",
            "campaign_id",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
    )
    __mapper_args__ = {"primary_key": ["campaign_id", "row_number"]}
    campaign_id: Mapped[int]
    row_number: Mapped[int]
    raw_input: Mapped[str] = mapped_column(String(100))
    e164: Mapped[str | None] = mapped_column(String(20))
    is_mobile: Mapped[bool] = mapped_column(Boolean)
    attributes: Mapped[dict[str, Any] | None]
    reason: Mapped[ExclusionReason]
    rule_version: Mapped[str] = mapped_column(String(40))
    mask: Mapped[int]


class Agent(Base):
    """An agent with a work ID (工号); only outbound-enabled ones may dial."""

    __tablename__ = "agents"
    id: Mapped[intpk]
    work_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str200]
    outbound_enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class AgentShift(Base):
    """One agent's day from the workforce schedule and the ACD: what 有效工时利用率 needs.

    Imported (`outbound shifts import`), since neither the dialer nor this engine knows an
    agent's schedule or the time the agent flagged busy (示忙).
    """

    __tablename__ = "agent_shifts"
    __table_args__ = (UniqueConstraint("agent_id", "day"),)
    id: Mapped[intpk]
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    day: Mapped[date]
    scheduled_seconds: Mapped[int]  # 排班时长
    work_seconds: Mapped[int]  # 工作时长: signed in
    busy_seconds: Mapped[int]  # 示忙时长: signed in but flagged busy
    imported_at: Mapped[datetime]


#: An attempt row is written as DIALLED before the call is originated, then ENDED.
ATTEMPT_DIALLED = "DIALLED"
ATTEMPT_ENDED = "ENDED"


class CallAttempt(Base):
    """One dial attempt; the idempotency key makes a re-run write nothing twice.

    The row is written before the call is placed (status DIALLED, no disposition yet)
    and completed with the outcome (status ENDED). Aggregates read ENDED rows only.
    """

    __tablename__ = "call_attempts"
    __table_args__ = (
        Index("ix_call_attempts_campaign_started", "campaign_id", "dialed_at"),
        # Room on each page for the row's one update (its outcome), so that update is HOT.
        {"postgresql_with": {"fillfactor": 45}},
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    # No foreign keys to campaigns and agents on this hot path (migration 0007): the
    # campaign is the contact's, and agents are never deleted.
    campaign_id: Mapped[int]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    e164: Mapped[str] = mapped_column(String(20), index=True)
    agent_id: Mapped[int | None]
    attempt_no: Mapped[int]
    phase: Mapped[Phase]
    status: Mapped[str] = mapped_column(
        String(12), default=ATTEMPT_ENDED, server_default=ATTEMPT_ENDED
    )
    disposition: Mapped[Disposition | None]
    counts_as_attempt: Mapped[bool] = mapped_column(Boolean, default=True)
    dialed_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    bridged_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ring_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    cause: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(200))


class AttemptHourly(Base):
    """Finished attempts of one campaign, UTC hour, phase and disposition (campaigns.rollups).

    Written in the transaction that records the outcomes, so it never counts one twice.
    """

    __tablename__ = "attempt_hourly"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    phase: Mapped[Phase] = mapped_column(primary_key=True)
    disposition: Mapped[Disposition] = mapped_column(primary_key=True)
    calls: Mapped[int]
    attempts: Mapped[int]
    ring_seconds: Mapped[float] = mapped_column(Float)
    talk_seconds: Mapped[float] = mapped_column(Float)
    wrap_seconds: Mapped[float] = mapped_column(Float)
    bridged: Mapped[int]
    bridged_in_time: Mapped[int]
    wait_seconds: Mapped[float] = mapped_column(Float)


class AgentHourly(Base):
    """Finished attempts of one agent, UTC hour, campaign and disposition."""

    __tablename__ = "agent_hourly"
    # The Agents page reads a range of days across every agent: by hour, not by agent first.
    __table_args__ = (Index("ix_agent_hourly_hour", "hour"),)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    disposition: Mapped[Disposition] = mapped_column(primary_key=True)
    calls: Mapped[int]
    talk_seconds: Mapped[float] = mapped_column(Float)
    wrap_seconds: Mapped[float] = mapped_column(Float)


#: Funnel stages of `ContactReach.stage`, in order; a contact that reached one reached
#: every stage before it (campaigns.rollups.reach_stage).
REACH_DIALLED, REACH_CONNECTED, REACH_RIGHT_PARTY, REACH_PITCHED, REACH_SUCCESS = 1, 2, 3, 4, 5


class ContactReach(Base):
    """The furthest funnel stage one contact reached in one phase (dialled, connected,
    account holder verified, pitched, success), so the campaign page counts contacts per
    stage from one index instead of every attempt. Recomputed for the attempts of each
    dialing slice when it ends (`services.refresh_contact_reach`); a stage only rises.
    """

    __tablename__ = "contact_reach"
    __table_args__ = (Index("ix_contact_reach_campaign", "campaign_id", "phase", "stage"),)
    contact_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    phase: Mapped[Phase] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    stage: Mapped[int] = mapped_column(SmallInteger)


class CallRating(Base):
    """The customer's rating of one call (评定), from the survey after it; imported.

    A row with no rating is a survey sent and not answered: it counts in 评定总数 only.
    """

    __tablename__ = "call_ratings"
    id: Mapped[intpk]
    attempt_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("call_attempts.id"), unique=True
    )
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    imported_at: Mapped[datetime]


class DncEntry(Base):
    """A do-not-call entry; campaign_id NULL means every campaign."""

    __tablename__ = "dnc_entries"
    id: Mapped[intpk]
    e164: Mapped[msisdn_str] = mapped_column(index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    reason: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class DailyReport(Base):
    """One day's feedback for one campaign, and whether the branch received it."""

    __tablename__ = "daily_reports"
    __table_args__ = (UniqueConstraint("campaign_id", "report_date"),)
    id: Mapped[intpk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    report_date: Mapped[date]
    payload: Mapped[dict[str, Any]]
    delivery_status: Mapped[DeliveryStatus]
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    file_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class User(Base):
    """Someone who signs in to the dashboard (campaigns.access)."""

    __tablename__ = "users"
    id: Mapped[intpk]
    username: Mapped[str64] = mapped_column(unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role]
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    pii: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    #: The name the dashboard greets the user by (张伟); the user name is for signing in.
    display_name: Mapped[str | None] = mapped_column(String(100))


class AuditEntry(Base):
    """Append-only record of who changed what, and when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None]


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _ctx: object, _instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry):
            raise AppendOnlyViolation("the audit log is append-only")
