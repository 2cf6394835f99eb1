"""SQLAlchemy repositories. They never commit and never open their own session."""

from __future__ import annotations

import enum
import io
import itertools
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Enum,
    Row,
    String,
    Table,
    Text,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from campaigns import rollups
from campaigns.access import Role
from campaigns.errors import NotFoundError
from campaigns.model import (
    CONNECTED,
    LIVE_CONTACT,
    PITCHED,
    RIGHT_PARTY,
    BranchRecord,
    CallingHours,
    CampaignRecord,
    CampaignState,
    ContactState,
    DeliveryStatus,
    DialContact,
    Disposition,
    ExclusionReason,
    OfferRecord,
    Phase,
    ScriptRecord,
)
from campaigns.ports import ANONYMOUS_WORKER, DEFAULT_LEASE, AttemptTally
from campaigns.storage import orm
from campaigns.storage.facts import number_of
from campaigns.trial import NO_SEGMENT, spread_indices

_CHUNK = 900  # stays under SQLite's bound-parameter limit for IN lists


def _lease_expired(now: datetime) -> Any:
    """A claim whose lease ran out by `now` (or that predates leases)."""
    until = _contacts().c.claimed_until
    return until.is_(None) | (until <= now)


def _update_from_values(
    session: Session,
    table: Table,
    key: str,
    rows: Sequence[dict[str, Any]],
    fixed: dict[str, Any] | None = None,
) -> bool:
    """On PostgreSQL (psycopg2), update many rows matched by `key`, setting the columns
    `fixed` to the same value in every row: COPY them into a temporary table, then one
    UPDATE … FROM it per set of columns. Returns False elsewhere (nothing done)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.driver != "psycopg2":
        return False
    fixed = fixed or {}
    # Rows are grouped by the columns they set: sorted once per shape of dict, not per row.
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        shapes.setdefault(tuple(r), []).append(r)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for shape, members in shapes.items():
        columns = tuple(sorted(k for k in shape if k != key and k not in fixed))
        groups.setdefault(columns, []).extend(members)
    cursor = session.connection().connection.cursor()
    try:
        for columns, group in groups.items():
            names = [key, *columns]
            types, converters = _sql_types(table, names, bind.dialect)
            temp = f"_bulk_{table.name}_{zlib.crc32(' '.join(names).encode()):08x}"
            # COPY parses a thousand rows in a fraction of what a VALUES list costs.
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {temp} "
                f"({', '.join(f'{n} {t}' for n, t in zip(names, types, strict=True))})"
            )
            # Column by column: one kind of value each, formatted without a call per cell.
            cells = [
                _copy_cells(convert([r[n] for r in group]))
                for n, convert in zip(names, converters, strict=True)
            ]
            lines = "\n".join(map("\t".join, zip(*cells, strict=True)))
            cursor.copy_expert(f"COPY {temp} FROM STDIN", io.StringIO(lines + "\n"))
            sets = ", ".join(
                [*(f"{n} = v.{n}" for n in columns), *(f"{n} = %({n})s" for n in fixed)]
            )
            # The keys also as an array compared with = ANY: the rows are looked up in the
            # key's index. Joined to the temporary table alone, the planner hashed the
            # whole table (a sequential scan of every contact, or every attempt, per flush).
            cursor.execute(
                f"UPDATE {table.name} AS t SET {sets} FROM {temp} AS v WHERE t.{key} = v.{key} "
                f"AND t.{key} = ANY(ARRAY(SELECT {key} FROM {temp}))",
                fixed,
            )
            cursor.execute(f"DELETE FROM {temp}")
    finally:
        cursor.close()
    return True


_Converter = Callable[[list[Any]], list[Any]]
_TYPES: dict[tuple[Table, tuple[str, ...], Any], tuple[list[str], list[_Converter]]] = {}


def _sql_types(
    table: Table, names: Sequence[str], dialect: Any
) -> tuple[list[str], list[_Converter]]:
    """Per column: its type in SQL, and the function that turns a column of values into
    parameters; for statements written out by hand (kept per table, columns and dialect)."""
    key = (table, tuple(names), dialect)
    if key not in _TYPES:
        columns = [table.c[n] for n in names]
        _TYPES[key] = (
            [c.type.compile(dialect=dialect) for c in columns],
            [_converter(c.type, c.type.bind_processor(dialect)) for c in columns],
        )
    return _TYPES[key]


def _converter(kind: Any, processor: Any) -> _Converter:
    """A column's values as parameters: each through the type's bind processor, except
    that an enum is converted once per member and a UTC timestamp needs no conversion."""
    if processor is None:
        return list
    if isinstance(kind, orm.UTCDateTime):
        # The processor turns an aware timestamp into UTC: one already in UTC is the same.
        return lambda values: [v if v is None or v.tzinfo is UTC else processor(v) for v in values]
    if isinstance(kind, Enum):

        def enums(values: list[Any]) -> list[Any]:
            kinds = {type(v) for v in values}
            kinds.discard(type(None))
            if len(kinds) > 1 or not all(issubclass(k, enum.Enum) for k in kinds):
                return [processor(v) for v in values]
            done = {v: processor(v) for v in set(values)}
            return [done[v] for v in values]

        return enums
    return lambda values: [processor(v) for v in values]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One cell in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def _copy_cells(values: list[Any]) -> list[str]:
    """One column's cells in COPY's text format, as `_copy_text` writes each."""
    kinds = {type(v) for v in values}
    kinds.discard(type(None))
    if kinds <= {int, float}:
        return ["\\N" if v is None else str(v) for v in values]
    if kinds == {str}:
        return ["\\N" if v is None else v.translate(_COPY_ESCAPES) for v in values]
    if kinds == {datetime}:
        return ["\\N" if v is None else v.isoformat() for v in values]
    return [_copy_text(v) for v in values]


def _array_text(values: Sequence[Any]) -> str:
    """An array's text form ('{"a","b",NULL}'), for a statement written out by hand; every
    element but a number is quoted, so any value's text can be read back."""
    kinds = {type(v) for v in values}
    kinds.discard(type(None))
    if kinds <= {int}:
        cells = ["NULL" if v is None else str(v) for v in values]
    elif kinds == {datetime}:
        cells = ["NULL" if v is None else f'"{v.isoformat()}"' for v in values]
    elif kinds == {str}:
        cells = [
            "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        ]
    else:
        cells = ["NULL" if v is None else _array_cell(v) for v in values]
    return "{" + ",".join(cells) + "}"


def _array_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_HELD_COLUMNS: tuple[str, ...] = ("idempotency_key", "campaign_id", "contact_id", "e164")
_HELD_COLUMNS += ("agent_id", "attempt_no", "phase", "dialed_at")
_BEGIN_HELD = "outbound_begin_held_v2"


def _prepare_begin_held(types: Sequence[str]) -> str:
    """The PREPARE of `begin_held`'s statement: lock the contacts still held, look up
    do-not-call, and insert their attempts, given one array per attempt column."""
    columns = ", ".join(_HELD_COLUMNS)
    arrays = ", ".join(f"${i}" for i in range(8, 8 + len(types)))
    return (
        f"PREPARE {_BEGIN_HELD} (bigint[], text, text, text[], integer, timestamptz, "
        f"text, {', '.join(f'{t}[]' for t in types)}) AS "
        # A row lock, not an update: no new row version and no index entries per dial. The
        # lease itself is kept fresh by the slice's renewals.
        "WITH held AS (SELECT id FROM contacts "
        "WHERE id = ANY($1) AND state = $2 AND claimed_by = $3 FOR NO KEY UPDATE), "
        "blocked AS (SELECT DISTINCT e164 FROM dnc_entries WHERE e164 = ANY($4) "
        "AND (campaign_id IS NULL OR campaign_id = $5) "
        "AND (expires_at IS NULL OR expires_at > $6)), "
        f"ins AS (INSERT INTO call_attempts ({columns}, status, counts_as_attempt, "
        "ring_seconds, talk_seconds, wrap_seconds) "
        f"SELECT {columns}, $7, false, 0, 0, 0 FROM unnest({arrays}) AS v ({columns}) "
        "WHERE v.contact_id IN (SELECT id FROM held) "
        "AND v.e164 NOT IN (SELECT e164 FROM blocked) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key) "
        "SELECT 'held', id::text FROM held "
        "UNION ALL SELECT 'new', idempotency_key FROM ins "
        "UNION ALL SELECT 'dnc', e164 FROM blocked"
    )


def _contacts() -> Table:
    # Core statements on the table: the hot dialing path skips the ORM's bulk machinery.
    return cast(Table, orm.Contact.__table__)


def _among(session: Session, column: Any, values: Sequence[Any]) -> Iterable[Any]:
    """Conditions that together select the rows whose `column` is among `values`: on
    PostgreSQL one, the values as one array literal compared with = ANY (no bound
    parameter per value to render, nor an expression per element for the server to
    parse); elsewhere IN over chunks that stay under SQLite's parameter limit."""
    if session.get_bind().dialect.name == "postgresql":
        if values:
            literal = bindparam(None, _array_text(values), type_=Text)
            yield column == any_(sql_cast(literal, ARRAY(column.type)))
        return
    for part in _chunks(values):
        yield column.in_(part)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _branch(row: orm.Branch) -> BranchRecord:
    return BranchRecord(
        row.id, row.code, row.name, row.timezone, row.region, row.webhook_url, row.monthly_quota
    )


def _offer(row: orm.Service) -> OfferRecord:
    return OfferRecord(
        row.id, row.code, row.name, row.exclusion_group, row.requires_mobile, row.monthly_price
    )


class SqlAlchemyCatalogueRepository:
    """Branches, offers, scripts and agents."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def branch_by_code(self, code: str) -> BranchRecord | None:
        """The branch with this code, or None."""
        row = self.session.scalar(select(orm.Branch).where(orm.Branch.code == code))
        return _branch(row) if row else None

    def offer_by_code(self, code: str) -> OfferRecord | None:
        """The offer with this code, or None."""
        row = self.session.scalar(select(orm.Service).where(orm.Service.code == code))
        return _offer(row) if row else None

    def update_branch(self, branch_id: int, **fields: Any) -> None:
        """Set columns of one branch (monthly_quota, webhook_url)."""
        if fields:
            self.session.execute(
                update(orm.Branch).where(orm.Branch.id == branch_id).values(**fields)
            )

    def branches(self) -> list[BranchRecord]:
        """Every branch, by code."""
        return [
            _branch(b) for b in self.session.scalars(select(orm.Branch).order_by(orm.Branch.code))
        ]

    def offers(self) -> list[OfferRecord]:
        """Every service of the catalogue, by code."""
        return [
            _offer(o) for o in self.session.scalars(select(orm.Service).order_by(orm.Service.code))
        ]

    def offer(self, offer_id: int) -> OfferRecord:
        """The offer with this id."""
        row = self.session.get(orm.Service, offer_id)
        if row is None:
            raise NotFoundError(f"offer {offer_id} does not exist")
        return _offer(row)

    def exclusive_service_ids(self, offer_id: int) -> list[int]:
        """Services in the offer's mutual-exclusion group, the offer itself left out."""
        offer = self.offer(offer_id)
        if offer.exclusion_group is None:
            return []
        return list(
            self.session.scalars(
                select(orm.Service.id).where(
                    orm.Service.exclusion_group == offer.exclusion_group,
                    orm.Service.id != offer_id,
                )
            )
        )

    def outbound_agents(self) -> list[tuple[int, str]]:
        """(id, work ID) of every outbound-enabled agent."""
        rows = self.session.execute(
            select(orm.Agent.id, orm.Agent.work_id)
            .where(orm.Agent.outbound_enabled.is_(True))
            .order_by(orm.Agent.work_id)
        )
        return [(r.id, r.work_id) for r in rows]

    def latest_script(self, offer_id: int) -> ScriptRecord | None:
        """The newest published script version for an offer."""
        row = self.session.scalar(
            select(orm.Script)
            .where(orm.Script.offer_id == offer_id, orm.Script.published.is_(True))
            .order_by(orm.Script.version.desc())
            .limit(1)
        )
        if row is None:
            return None
        return ScriptRecord(row.id, row.offer_id, row.version, row.title, dict(row.sections))

    def script(self, script_id: int) -> ScriptRecord:
        """A script by id."""
        row = self.session.get(orm.Script, script_id)
        if row is None:
            raise NotFoundError(f"script {script_id} does not exist")
        return ScriptRecord(row.id, row.offer_id, row.version, row.title, dict(row.sections))


class SqlAlchemyCampaignRepository:
    """Requests and campaigns."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find_by_hash(self, content_hash: str) -> int | None:
        """The campaign created from a request with this content hash, if any."""
        return self.session.scalar(
            select(orm.Campaign.id)
            .join(orm.CampaignRequest, orm.Campaign.request_id == orm.CampaignRequest.id)
            .where(orm.CampaignRequest.content_hash == content_hash)
        )

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
    ) -> int:
        """Store a request and its campaign in SUBMITTED; returns the campaign id."""
        request = orm.CampaignRequest(
            branch_id=branch_id,
            offer_id=offer_id,
            target_group=target_group,
            requested_contacts=requested_contacts,
            goal_activations=goal_activations,
            window_start=window_start,
            window_end=window_end,
            month=month,
            list_filename=list_filename,
            content_hash=content_hash,
            submitted_by=submitted_by,
            submitted_at=now,
        )
        self.session.add(request)
        self.session.flush()
        campaign = orm.Campaign(
            request_id=request.id,
            name=name,
            state=CampaignState.SUBMITTED,
            calling_start_minute=calling_hours.start.hour * 60 + calling_hours.start.minute,
            calling_end_minute=calling_hours.end.hour * 60 + calling_hours.end.minute,
            created_at=now,
            updated_at=now,
        )
        self.session.add(campaign)
        self.session.flush()
        return campaign.id

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
    ) -> None:
        """Store what intake learned about the list on the campaign's request."""
        request_id = select(orm.Campaign.request_id).where(orm.Campaign.id == campaign_id)
        self.session.execute(
            update(orm.CampaignRequest)
            .where(orm.CampaignRequest.id == request_id.scalar_subquery())
            .values(
                list_rows=rows,
                requested_contacts=requested_contacts,
                goal_activations=goal_activations,
                goal_conversion_rate=goal_conversion_rate,
                segment_filters={"segments": segment_filters} if segment_filters else None,
                row_problem_count=problem_count,
                row_problems={"rows": problems} if problems else None,
            )
        )

    def contacts_requested(self, branch_id: int, month: str, *, exclude_campaign: int) -> int:
        """List rows a branch already requested for a month, rejected and cancelled ones aside."""
        value = self.session.scalar(
            select(func.coalesce(func.sum(orm.CampaignRequest.list_rows), 0))
            .join(orm.Campaign, orm.Campaign.request_id == orm.CampaignRequest.id)
            .where(
                orm.CampaignRequest.branch_id == branch_id,
                orm.CampaignRequest.month == month,
                orm.Campaign.id != exclude_campaign,
                orm.Campaign.state.not_in([CampaignState.REJECTED, CampaignState.CANCELLED]),
            )
        )
        return int(value or 0)

    def row_problems(self, campaign_id: int) -> tuple[int, list[list[Any]]]:
        """(count, first rows) of the problems intake found in the list."""
        row = self.session.execute(
            select(orm.CampaignRequest.row_problem_count, orm.CampaignRequest.row_problems)
            .join(orm.Campaign, orm.Campaign.request_id == orm.CampaignRequest.id)
            .where(orm.Campaign.id == campaign_id)
        ).one()
        return int(row[0]), list((row[1] or {}).get("rows", []))

    def history(self, offer_id: int, *, exclude_campaign: int) -> dict[str, float]:
        """Totals of past dialing for an offer, for feasibility's expected figures."""
        conds = [
            orm.CampaignRequest.offer_id == offer_id,
            orm.CallAttempt.campaign_id != exclude_campaign,
            orm.CallAttempt.counts_as_attempt.is_(True),
        ]
        row = self.session.execute(
            select(
                func.count(func.distinct(orm.CallAttempt.campaign_id)),
                func.count(),
                func.count(func.distinct(orm.CallAttempt.contact_id)),
                # Contacts reached as the account holder at least once, not RPC attempts:
                # a callback is a second RPC attempt of the same person.
                func.count(func.distinct(orm.CallAttempt.contact_id)).filter(
                    orm.CallAttempt.disposition.in_(sorted(RIGHT_PARTY))
                ),
                func.count().filter(orm.CallAttempt.disposition == Disposition.SUCCESS),
                func.coalesce(
                    func.sum(
                        orm.CallAttempt.ring_seconds
                        + orm.CallAttempt.talk_seconds
                        + orm.CallAttempt.wrap_seconds
                    ),
                    0,
                ),
            )
            .select_from(orm.CallAttempt)
            .join(orm.Campaign, orm.Campaign.id == orm.CallAttempt.campaign_id)
            .join(orm.CampaignRequest, orm.CampaignRequest.id == orm.Campaign.request_id)
            .where(*conds)
        ).one()
        keys = ("campaigns", "attempts", "contacts", "right_party", "successes", "busy_seconds")
        return {k: float(v or 0) for k, v in zip(keys, row, strict=True)}

    def overlap(self, campaign_id: int, states: Sequence[CampaignState]) -> int:
        """Numbers of this campaign's list that are also in campaigns in the given states."""
        # This list's numbers, kept or excluded, against the contacts (rows not excluded by
        # cleaning) of the other campaigns.
        c, e = orm.Contact, orm.ListExclusion
        mine = union_all(
            select(c.e164).where(c.campaign_id == campaign_id, c.e164.is_not(None)),
            select(e.e164).where(e.campaign_id == campaign_id, e.e164.is_not(None)),
        ).subquery("mine")
        other = orm.Contact.__table__.alias("other")
        value = self.session.scalar(
            select(func.count(func.distinct(mine.c.e164)))
            .select_from(mine)
            .join(other, other.c.e164 == mine.c.e164)
            .join(orm.Campaign, orm.Campaign.id == other.c.campaign_id)
            .where(
                other.c.campaign_id != campaign_id,
                orm.Campaign.state.in_(list(states)),
            )
        )
        return int(value or 0)

    def _select(self) -> Any:
        return (
            select(orm.Campaign, orm.CampaignRequest, orm.Branch, orm.Service)
            .join(orm.CampaignRequest, orm.Campaign.request_id == orm.CampaignRequest.id)
            .join(orm.Branch, orm.CampaignRequest.branch_id == orm.Branch.id)
            .join(orm.Service, orm.CampaignRequest.offer_id == orm.Service.id)
        )

    @staticmethod
    def _record(row: Row[Any]) -> CampaignRecord:
        c, r, b, s = tuple(row)
        return CampaignRecord(
            id=c.id,
            name=c.name,
            state=c.state,
            request_id=r.id,
            branch_id=b.id,
            branch_code=b.code,
            branch_timezone=b.timezone,
            branch_region=b.region,
            webhook_url=b.webhook_url,
            offer_id=s.id,
            offer_code=s.code,
            goal_activations=r.goal_activations,
            requested_contacts=r.requested_contacts,
            window_start=r.window_start,
            window_end=r.window_end,
            month=r.month,
            script_id=c.script_id,
            calling_hours=CallingHours(
                time(c.calling_start_minute // 60, c.calling_start_minute % 60),
                time(c.calling_end_minute // 60, c.calling_end_minute % 60),
            ),
            dialed_until=c.dialed_until,
            feasibility=c.feasibility,
            cleaning_summary=c.cleaning_summary,
            target_group=r.target_group,
            list_rows=r.list_rows,
            goal_conversion_rate=r.goal_conversion_rate,
            segment_filters=tuple((r.segment_filters or {}).get("segments", ())),
            flow_run_id=c.flow_run_id,
            submitted_by=r.submitted_by,
            cleaning_policy=c.cleaning_policy,
            cleaning_ledger=c.cleaning_ledger,
        )

    def get(self, campaign_id: int, *, for_update: bool = False) -> CampaignRecord:
        """A campaign by id; NotFoundError if there is none."""
        stmt = self._select().where(orm.Campaign.id == campaign_id)
        if for_update:
            stmt = stmt.with_for_update(of=orm.Campaign)
        row = self.session.execute(stmt).first()
        if row is None:
            raise NotFoundError(f"campaign {campaign_id} does not exist")
        return self._record(row)

    def in_state(self, state: CampaignState) -> list[CampaignRecord]:
        """Campaigns in one state, oldest first (e.g. those waiting for approval)."""
        rows = self.session.execute(
            self._select().where(orm.Campaign.state == state).order_by(orm.Campaign.id)
        )
        return [self._record(r) for r in rows]

    def all(self) -> list[CampaignRecord]:
        """Every campaign, newest first."""
        rows = self.session.execute(self._select().order_by(orm.Campaign.id.desc()))
        return [self._record(r) for r in rows]

    def update(self, campaign_id: int, *, now: datetime, **fields: Any) -> None:
        """Set columns of one campaign (state, script_id, feasibility, dialed_until, ...)."""
        self.session.execute(
            update(orm.Campaign)
            .where(orm.Campaign.id == campaign_id)
            .values(updated_at=now, **fields)
        )


class SqlAlchemyContactRepository:
    """Contacts of campaign lists, and the set-based look-ups cleaning needs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def count_by_state(self, campaign_id: int) -> dict[ContactState, int]:
        """How many rows of the list are in each state (excluded ones from both tables)."""
        rows = self.session.execute(
            select(orm.Contact.state, func.count())
            .where(orm.Contact.campaign_id == campaign_id)
            .group_by(orm.Contact.state)
        )
        counts = {ContactState(s): n for s, n in rows}
        excluded = self._excluded_count(campaign_id)
        if excluded:
            counts[ContactState.EXCLUDED] = counts.get(ContactState.EXCLUDED, 0) + excluded
        return counts

    def _excluded_count(self, campaign_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count()).where(orm.ListExclusion.campaign_id == campaign_id)
            )
            or 0
        )

    def count_all(self, campaign_id: int) -> int:
        """Rows of the campaign's list."""
        return sum(self.count_by_state(campaign_id).values())

    def count_valid(self, campaign_id: int) -> int:
        """Rows whose number normalised to E.164."""
        kept = self.session.scalar(
            select(func.count()).where(
                orm.Contact.campaign_id == campaign_id, orm.Contact.e164.is_not(None)
            )
        )
        excluded = self.session.scalar(
            select(func.count()).where(
                orm.ListExclusion.campaign_id == campaign_id, orm.ListExclusion.e164.is_not(None)
            )
        )
        return int(kept or 0) + int(excluded or 0)

    def exclusion_counts(self, campaign_id: int) -> dict[ExclusionReason, int]:
        """Excluded rows by reason: by cleaning, and by a dialing worker later (do-not-call)."""
        out: dict[ExclusionReason, int] = {}
        for reason, n in self.session.execute(
            select(orm.ListExclusion.reason, func.count())
            .where(orm.ListExclusion.campaign_id == campaign_id)
            .group_by(orm.ListExclusion.reason)
        ):
            out[ExclusionReason(reason)] = int(n)
        for late, n in self.session.execute(
            select(orm.Contact.exclusion_reason, func.count())
            .where(
                orm.Contact.campaign_id == campaign_id,
                orm.Contact.state == ContactState.EXCLUDED,
                orm.Contact.exclusion_reason.is_not(None),
            )
            .group_by(orm.Contact.exclusion_reason)
        ):
            key = ExclusionReason(str(late))
            out[key] = out.get(key, 0) + int(n)
        return out

    def batch_for_cleaning(
        self, campaign_id: int, *, after_row: int, limit: int
    ) -> list[tuple[int, str | None, bool, ExclusionReason | None]]:
        """(row number, E.164, is mobile, intake reason) of the next rows in list order,
        from the contacts and the excluded rows alike."""
        c, e = orm.Contact, orm.ListExclusion
        kept = select(
            c.row_number, c.e164, c.is_mobile, literal(None, String(32)).label("intake")
        ).where(c.campaign_id == campaign_id, c.row_number > after_row)
        # A row without a number keeps intake's reason as its reason: it is always that
        # row's first reason, so re-cleaning reads the same value.
        excluded = select(
            e.row_number, e.e164, e.is_mobile, case((e.e164.is_(None), e.reason), else_=None)
        ).where(e.campaign_id == campaign_id, e.row_number > after_row)
        both = union_all(kept, excluded).subquery()
        rows = self.session.execute(select(both).order_by(both.c.row_number).limit(limit))
        return [(r[0], r[1], bool(r[2]), ExclusionReason(r[3]) if r[3] else None) for r in rows]

    def in_other_campaigns(
        self, numbers: Sequence[str], campaign_id: int, states: Sequence[CampaignState]
    ) -> set[str]:
        """Numbers that are callable contacts of other campaigns in the given states."""
        out: set[str] = set()
        for part in _chunks(numbers):
            out.update(
                self.session.scalars(
                    select(orm.Contact.e164)
                    .join(orm.Campaign, orm.Campaign.id == orm.Contact.campaign_id)
                    .where(
                        orm.Contact.e164.in_(part),
                        orm.Contact.campaign_id != campaign_id,
                        orm.Contact.state.not_in([ContactState.EXCLUDED, ContactState.PENDING]),
                        orm.Campaign.state.in_(list(states)),
                    )
                    .distinct()
                )
            )
        return out

    def _ready_segments(self, campaign_id: int) -> Any:
        """READY contacts with their snapshot segment (NO_SEGMENT when unknown)."""
        return (
            select(
                orm.Contact.id,
                func.coalesce(orm.SubscriberFacts.segment, NO_SEGMENT).label("segment"),
            )
            .outerjoin(orm.SubscriberFacts, orm.SubscriberFacts.num == number_of(orm.Contact.e164))
            .where(
                orm.Contact.campaign_id == campaign_id,
                orm.Contact.state == ContactState.READY,
            )
        )

    def ready_by_segment(self, campaign_id: int) -> dict[str, int]:
        """READY contacts per subscriber segment (from the snapshot's subscriber facts)."""
        q = self._ready_segments(campaign_id).subquery()
        rows = self.session.execute(select(q.c.segment, func.count()).group_by(q.c.segment))
        return {str(segment): int(n) for segment, n in rows}

    def mark_trial_sample(self, campaign_id: int, allocation: dict[str, int]) -> dict[str, int]:
        """Flag READY contacts as the trial, `allocation[segment]` of each segment, spread
        evenly through the segment in list order; returns how many were flagged per segment.
        """
        members: dict[str, list[int]] = {}
        for cid, segment in self.session.execute(
            self._ready_segments(campaign_id).order_by(orm.Contact.row_number)
        ):
            members.setdefault(str(segment), []).append(cid)
        ids: list[int] = []
        picked: dict[str, int] = {}
        for segment, wanted in allocation.items():
            pool = members.get(segment, [])
            chosen = [pool[i] for i in spread_indices(len(pool), wanted)]
            picked[segment] = len(chosen)
            ids.extend(chosen)
        for part in _chunks(ids):
            self.session.execute(
                update(orm.Contact).where(orm.Contact.id.in_(part)).values(is_trial=True)
            )
        return picked

    def claim_due(
        self,
        campaign_id: int,
        *,
        now: datetime,
        limit: int,
        trial_only: bool,
        worker: str = ANONYMOUS_WORKER,
        lease: timedelta = DEFAULT_LEASE,
    ) -> list[DialContact]:
        """Claim READY contacts due by `now`, and DIALING ones whose lease has run out, for
        `worker` until `now + lease`, marking them DIALING (SKIP LOCKED on PostgreSQL)."""
        t = _contacts()
        conds = [
            t.c.campaign_id == campaign_id,
            ((t.c.state == ContactState.READY) & (t.c.next_attempt_at <= now))
            | ((t.c.state == ContactState.DIALING) & _lease_expired(now)),
        ]
        if trial_only:
            conds.append(t.c.is_trial.is_(True))
        order = (t.c.next_attempt_at, t.c.id)
        claim = {"state": ContactState.DIALING, "claimed_by": worker, "claimed_until": now + lease}
        columns = (
            t.c.id,
            t.c.e164,
            t.c.attempts,
            t.c.last_disposition,
            t.c.disposition_streak,
            t.c.is_trial,
            t.c.next_attempt_at,
        )
        if self.session.get_bind().dialect.name == "postgresql":
            # One statement: pick and lock (skipping rows another worker holds), then mark.
            # Each kind of due contact is picked in the due index's own order, so the pick
            # reads `limit` rows, not every due one; the marking finds them by key.
            def pick(name: str, *kind: Any) -> Any:
                return (
                    select(t.c.id, t.c.next_attempt_at)
                    .where(*conds[:1], *kind, *conds[2:])
                    .order_by(*order)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                    .cte(name)
                )

            ready = pick("ready", t.c.state == ContactState.READY, t.c.next_attempt_at <= now)
            expired = pick("expired", t.c.state == ContactState.DIALING, _lease_expired(now))
            both = union_all(select(ready), select(expired)).subquery("due")
            chosen = (
                select(both.c.id).order_by(both.c.next_attempt_at, both.c.id).limit(limit)
            ).subquery("chosen")
            # An array compared with = ANY: the keys are looked up in the primary key
            # (IN (subquery) was planned as a hash join over the whole table).
            keys = sql_cast(
                select(func.array_agg(chosen.c.id)).scalar_subquery(), ARRAY(BigInteger)
            )
            rows = list(
                self.session.execute(
                    update(t).where(t.c.id == any_(keys)).values(claim).returning(*columns)
                )
            )
            # RETURNING keeps no order: due first, as the pick was.
            rows.sort(key=lambda r: (r.next_attempt_at, r.id))
        else:
            rows = list(
                self.session.execute(select(*columns).where(*conds).order_by(*order).limit(limit))
            )
            for part in _chunks([r.id for r in rows]):
                self.session.execute(update(t).where(t.c.id.in_(part)).values(claim))
        return [
            DialContact(
                r.id, r.e164, r.attempts, r.last_disposition, r.disposition_streak, r.is_trial
            )
            for r in rows
        ]

    def renew_claims(
        self,
        campaign_id: int,
        *,
        worker: str,
        until: datetime,
        ids: Sequence[int] | None = None,
        stale_before: datetime | None = None,
    ) -> set[int]:
        """Extend `worker`'s leases (on `ids` only, if given; with `stale_before`, only those
        that run out before it) to `until`; returns the ids it still holds, renewed or not.
        A contact another worker took over after the lease ran out is not among them, and
        must not be dialled."""
        t = _contacts()
        conds = [t.c.state == ContactState.DIALING, t.c.claimed_by == worker]
        parts: Iterable[Sequence[int] | None] = [None] if ids is None else _chunks(ids)
        held: set[int] = set()
        for part in parts:
            # With ids, by primary key only: the planner's statistics lag behind the claims,
            # and a scan of the campaign's DIALING rows per call costs milliseconds.
            where = (
                [*conds, t.c.campaign_id == campaign_id]
                if part is None
                else [*conds, t.c.id.in_(part)]
            )
            if stale_before is None:
                held.update(
                    self.session.execute(
                        update(t).where(*where).values(claimed_until=until).returning(t.c.id)
                    ).scalars()
                )
                continue
            # Each renewal writes a new version of every row it extends, with its index
            # entries: leases with time left are looked at, not rewritten.
            held.update(self.session.scalars(select(t.c.id).where(*where)))
            stale = t.c.claimed_until.is_(None) | (t.c.claimed_until < stale_before)
            self.session.execute(update(t).where(*where, stale).values(claimed_until=until))
        return held

    def release_claims(self, campaign_id: int, *, worker: str, now: datetime) -> int:
        """Return to READY the DIALING contacts `worker` holds and those whose lease ran
        out by `now` (a crashed or stopped worker's); live leases of others stay."""
        c = orm.Contact
        result = self.session.execute(
            update(c)
            .where(
                c.campaign_id == campaign_id,
                c.state == ContactState.DIALING,
                (c.claimed_by == worker) | _lease_expired(now),
            )
            .values(state=ContactState.READY, claimed_by=None, claimed_until=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def waiting(
        self, campaign_id: int, *, now: datetime
    ) -> list[tuple[Disposition | None, int, datetime, datetime]]:
        """READY contacts not due by `now`, grouped by their last disposition:
        (disposition, contacts, earliest due, latest due)."""
        c = orm.Contact
        rows = self.session.execute(
            select(
                c.last_disposition,
                func.count(),
                func.min(c.next_attempt_at),
                func.max(c.next_attempt_at),
            )
            .where(
                c.campaign_id == campaign_id,
                c.state == ContactState.READY,
                c.next_attempt_at > now,
            )
            .group_by(c.last_disposition)
        )
        # next_attempt_at > now holds only for rows that have one: min and max are set.
        return [(d, int(n), cast(datetime, lo), cast(datetime, hi)) for d, n, lo, hi in rows]

    def due_sample(self, campaign_id: int, *, now: datetime, limit: int) -> tuple[int, list[str]]:
        """How many READY contacts are due by `now`, and the numbers of the first `limit`."""
        c = orm.Contact
        due = [
            c.campaign_id == campaign_id,
            c.state == ContactState.READY,
            c.next_attempt_at <= now,
        ]
        count = int(self.session.scalar(select(func.count()).where(*due)) or 0)
        sample = self.session.scalars(
            select(c.e164).where(*due).order_by(c.next_attempt_at, c.id).limit(limit)
        )
        return count, [n for n in sample if n]

    def next_due_at(self, campaign_id: int, *, trial_only: bool) -> datetime | None:
        """The earliest due time among READY contacts."""
        conds = [
            orm.Contact.campaign_id == campaign_id,
            orm.Contact.state == ContactState.READY,
        ]
        if trial_only:
            conds.append(orm.Contact.is_trial.is_(True))
        value: datetime | None = self.session.scalar(
            select(func.min(orm.Contact.next_attempt_at)).where(*conds)
        )
        return value

    def update_after_attempts(self, updates: Sequence[dict[str, Any]]) -> None:
        """Bulk update contacts by primary key after their attempts were recorded; each
        leaves its worker's claim."""
        if updates:
            released = {"claimed_by": None, "claimed_until": None}
            if not _update_from_values(self.session, _contacts(), "id", updates, released):
                self.session.execute(update(orm.Contact), [u | released for u in updates])


class SqlAlchemyDncRepository:
    """Do-not-call entries, global or per campaign, honouring expiry."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def blocked(self, numbers: Sequence[str], *, campaign_id: int, now: datetime) -> set[str]:
        """Numbers on the do-not-call list for this campaign right now."""
        out: set[str] = set()
        for part in _chunks(numbers):
            out.update(
                self.session.scalars(
                    select(orm.DncEntry.e164).where(
                        orm.DncEntry.e164.in_(part),
                        or_(
                            orm.DncEntry.campaign_id.is_(None),
                            orm.DncEntry.campaign_id == campaign_id,
                        ),
                        or_(orm.DncEntry.expires_at.is_(None), orm.DncEntry.expires_at > now),
                    )
                )
            )
        return out

    def add_many(self, entries: Sequence[tuple[str, str]], *, now: datetime) -> None:
        """Add global entries (number, reason) effective at once."""
        if entries:
            # A Core insert into the table: the ORM's bulk path cost more than the round trip
            # for the one entry a call adds.
            self.session.execute(
                insert(cast(Table, orm.DncEntry.__table__)),
                [
                    {"e164": n, "reason": r, "campaign_id": None, "created_at": now}
                    for n, r in entries
                ],
            )


class SqlAlchemyAttemptRepository:
    """Call attempts and the aggregates built from them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert attempts whose idempotency key is new; returns how many were written."""
        if not rows:
            return 0
        keys = [r["idempotency_key"] for r in rows]
        existing: set[str] = set()
        for part in _chunks(keys):
            existing.update(
                self.session.scalars(
                    select(orm.CallAttempt.idempotency_key).where(
                        orm.CallAttempt.idempotency_key.in_(part)
                    )
                )
            )
        fresh = [r for r in rows if r["idempotency_key"] not in existing]
        if fresh:
            self.session.execute(insert(orm.CallAttempt), fresh)
        return len(fresh)

    def begin_many(self, rows: Sequence[dict[str, Any]]) -> dict[str, Disposition | None]:
        """Write attempts about to be dialled (no outcome yet). Keys already stored are left
        alone and returned with their disposition (None: that attempt never finished)."""
        if not rows:
            return {}
        table = cast(Table, orm.CallAttempt.__table__)
        fresh = [
            r
            | {
                "status": orm.ATTEMPT_DIALLED,
                "disposition": None,
                "counts_as_attempt": False,
                "ended_at": None,
            }
            for r in rows
        ]
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            statement: Any = pg_insert(table).on_conflict_do_nothing(
                index_elements=["idempotency_key"]
            )
        elif dialect == "sqlite":
            statement = sqlite_insert(table).on_conflict_do_nothing(
                index_elements=["idempotency_key"]
            )
        else:  # no ON CONFLICT: look first
            return self._begin_checked(table, fresh)
        # One round trip in the usual case: every key is new.
        written = set(
            self.session.execute(statement.returning(table.c.idempotency_key), fresh).scalars()
        )
        return self._dispositions(
            [r["idempotency_key"] for r in fresh if r["idempotency_key"] not in written]
        )

    def begin_held(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        campaign_id: int,
        worker: str,
        until: datetime,
        now: datetime,
    ) -> tuple[set[int], set[str], dict[str, Disposition | None]]:
        """Right before the calls: check that `worker` still holds the rows' contacts (on
        PostgreSQL by locking them, elsewhere by renewing their leases until `until`), look
        the numbers up on the do-not-call list once more, and write the attempts of the
        contacts still held whose number is not blocked; one statement on PostgreSQL. Returns the
        contact ids held, the numbers blocked, and (as `begin_many` does) the keys already on
        record with their disposition."""
        if not rows:
            return set(), set(), {}
        ids = [r["contact_id"] for r in rows]
        numbers = sorted({r["e164"] for r in rows})
        bind = self.session.get_bind()
        if bind.dialect.name != "postgresql" or bind.dialect.driver != "psycopg2":
            kept = SqlAlchemyContactRepository(self.session).renew_claims(
                campaign_id, worker=worker, until=until, ids=ids
            )
            stopped = SqlAlchemyDncRepository(self.session).blocked(
                numbers, campaign_id=campaign_id, now=now
            )
            fresh = [r for r in rows if r["contact_id"] in kept and r["e164"] not in stopped]
            return kept, stopped, self.begin_many(fresh)
        table = cast(Table, orm.CallAttempt.__table__)
        types, converters = _sql_types(table, _HELD_COLUMNS, bind.dialect)
        raw = self.session.connection().connection
        cursor = raw.cursor()
        try:
            if _BEGIN_HELD not in raw.info:
                # Prepared once per connection: the statement runs every dialing round,
                # and planning it afresh cost more than running it.
                cursor.execute(_prepare_begin_held(types))
                raw.info[_BEGIN_HELD] = True
            # Each array goes as one literal ('{...}'): the server reads it with the array
            # type's input function, where ARRAY[...] made it parse and evaluate one
            # expression per element.
            columns = [
                _array_text(convert([r[n] for r in rows]))
                for n, convert in zip(_HELD_COLUMNS, converters, strict=True)
            ]
            casts = ", ".join(f"%s::{t}[]" for t in types)
            cursor.execute(
                f"EXECUTE {_BEGIN_HELD} (%s::bigint[], %s, %s, %s::text[], %s, %s, %s, {casts})",
                [
                    _array_text(ids),
                    ContactState.DIALING.value,
                    worker,
                    _array_text(numbers),
                    campaign_id,
                    now,
                    orm.ATTEMPT_DIALLED,
                    *columns,
                ],
            )
            held: set[int] = set()
            written: set[str] = set()
            barred: set[str] = set()
            for kind, value in cursor.fetchall():
                if kind == "held":
                    held.add(int(value))
                elif kind == "new":
                    written.add(value)
                else:
                    barred.add(value)
        finally:
            cursor.close()
        existing = self._dispositions(
            [
                r["idempotency_key"]
                for r in rows
                if r["contact_id"] in held
                and r["e164"] not in barred
                and r["idempotency_key"] not in written
            ]
        )
        return held, barred, existing

    def _dispositions(self, keys: Sequence[str]) -> dict[str, Disposition | None]:
        """The attempts on record among `keys`, with their disposition (None: unfinished)."""
        a = orm.CallAttempt
        existing: dict[str, Disposition | None] = {}
        for part in _chunks(keys):
            for key, disposition in self.session.execute(
                select(a.idempotency_key, a.disposition).where(a.idempotency_key.in_(part))
            ):
                existing[key] = disposition
        return existing

    def _begin_checked(
        self, table: Table, fresh: list[dict[str, Any]]
    ) -> dict[str, Disposition | None]:
        existing = self._dispositions([r["idempotency_key"] for r in fresh])
        new = [r for r in fresh if r["idempotency_key"] not in existing]
        if new:
            self.session.execute(insert(table), new)
        return existing

    def open_attempts(self, contact_ids: Sequence[int]) -> dict[int, tuple[str, datetime]]:
        """Attempts of these contacts written but never finished (a worker died mid-call):
        contact id -> (idempotency key, dialed at)."""
        a = orm.CallAttempt
        out: dict[int, tuple[str, datetime]] = {}
        for among in _among(self.session, a.contact_id, contact_ids):
            for contact_id, key, dialed_at in self.session.execute(
                select(a.contact_id, a.idempotency_key, a.dialed_at).where(
                    among, a.status == orm.ATTEMPT_DIALLED
                )
            ):
                out[contact_id] = (key, dialed_at)
        return out

    def finish_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Complete attempts with their outcome, matched by idempotency key; a column a row
        leaves out keeps its stored value."""
        table = cast(Table, orm.CallAttempt.__table__)
        fixed = {"status": orm.ATTEMPT_ENDED}
        if _update_from_values(self.session, table, "idempotency_key", rows, fixed):
            return
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for r in rows:
            columns = tuple(sorted(k for k in r if k != "idempotency_key"))
            groups.setdefault(columns, []).append(r)
        for columns, group in groups.items():
            statement = (
                update(table)
                .where(table.c.idempotency_key == bindparam("b_key"))
                .values({c: bindparam(c) for c in [*columns, "status"]})
            )
            self.session.execute(
                statement,
                [
                    {k: v for k, v in r.items() if k != "idempotency_key"}
                    | {"b_key": r["idempotency_key"], "status": orm.ATTEMPT_ENDED}
                    for r in group
                ],
            )

    def tally(self, campaign_id: int, *, edges: Sequence[datetime]) -> list[AttemptTally]:
        """Per period between consecutive edges: outcomes, live, abandoned, agent time."""
        if len(edges) < 2:
            return []
        a = orm.CallAttempt
        handled = a.bridged_at.is_not(None)
        columns: list[Any] = []
        for start, end in itertools.pairwise(edges):
            inside = (a.dialed_at >= start) & (a.dialed_at < end)
            columns += [
                func.count().filter(inside & a.disposition.is_not(None)),
                func.count().filter(inside & a.disposition.in_(sorted(LIVE_CONTACT))),
                func.count().filter(inside & (a.disposition == Disposition.ABANDONED)),
                func.count().filter(inside & handled),
                func.coalesce(
                    func.sum(a.talk_seconds + a.wrap_seconds).filter(inside & handled), 0.0
                ),
            ]
        row = self.session.execute(
            select(*columns).where(
                a.campaign_id == campaign_id, a.dialed_at >= edges[0], a.dialed_at < edges[-1]
            )
        ).one()
        out = []
        for i, (start, end) in enumerate(itertools.pairwise(edges)):
            ended, live, abandoned, bridged, handle = row[5 * i : 5 * i + 5]
            out.append(
                AttemptTally(
                    start, end, int(ended), int(live), int(abandoned), int(bridged), float(handle)
                )
            )
        return out

    def dial_history(
        self, numbers: Sequence[str], *, since: datetime, abandoned_since: datetime
    ) -> dict[str, tuple[list[datetime], list[datetime]]]:
        """Per number, across every campaign: its dial times since `since` and the times its
        calls were abandoned since `abandoned_since`; one query per chunk of numbers."""
        a = orm.CallAttempt
        abandoned = a.disposition == Disposition.ABANDONED
        out: dict[str, tuple[list[datetime], list[datetime]]] = {}
        for among in _among(self.session, a.e164, sorted(set(numbers))):
            rows = self.session.execute(
                select(a.e164, a.dialed_at, a.ended_at, a.disposition).where(
                    among,
                    (a.dialed_at >= since) | (abandoned & (a.dialed_at >= abandoned_since)),
                )
            )
            for e164, dialed_at, ended_at, disposition in rows:
                dials, abandons = out.setdefault(e164, ([], []))
                if dialed_at >= since:
                    dials.append(dialed_at)
                if disposition is Disposition.ABANDONED:
                    abandons.append(ended_at or dialed_at)
        return out

    def latest_dial_at(self, campaign_id: int) -> datetime | None:
        """When the campaign's latest call was dialled."""
        value: datetime | None = self.session.scalar(
            select(func.max(orm.CallAttempt.dialed_at)).where(
                orm.CallAttempt.campaign_id == campaign_id
            )
        )
        return value

    def last_attempts(
        self, numbers: Sequence[str], *, exclude_campaign: int
    ) -> dict[str, datetime]:
        """The latest attempt per number in campaigns other than this one."""
        return self._latest(numbers, [orm.CallAttempt.campaign_id != exclude_campaign])

    def last_refusals(
        self, numbers: Sequence[str], *, offer_id: int, exclude_campaign: int
    ) -> dict[str, datetime]:
        """The latest refusal of an offer per number, in other campaigns of that offer."""
        offer_campaigns = (
            select(orm.Campaign.id)
            .join(orm.CampaignRequest, orm.CampaignRequest.id == orm.Campaign.request_id)
            .where(orm.CampaignRequest.offer_id == offer_id)
        )
        return self._latest(
            numbers,
            [
                orm.CallAttempt.campaign_id != exclude_campaign,
                orm.CallAttempt.disposition == Disposition.REFUSED,
                orm.CallAttempt.campaign_id.in_(offer_campaigns),
            ],
        )

    def _latest(self, numbers: Sequence[str], conds: list[Any]) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        # max() loses the column type; coerce it back so values come out timezone-aware.
        latest = type_coerce(func.max(orm.CallAttempt.dialed_at), orm.UTCDateTime())
        for part in _chunks(numbers):
            rows = self.session.execute(
                select(orm.CallAttempt.e164, latest)
                .where(orm.CallAttempt.e164.in_(part), *conds)
                .group_by(orm.CallAttempt.e164)
            )
            out.update({n: t for n, t in rows})
        return out

    def counts(
        self,
        campaign_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        phase: Phase | None = None,
    ) -> tuple[dict[Disposition, int], int, int]:
        """(attempts by disposition, distinct contacts dialled, talk seconds) in a period."""
        conds = [orm.CallAttempt.campaign_id == campaign_id]
        if start is not None:
            conds.append(orm.CallAttempt.dialed_at >= start)
        if end is not None:
            conds.append(orm.CallAttempt.dialed_at < end)
        if phase is not None:
            conds.append(orm.CallAttempt.phase == phase)
        by = {
            Disposition(d): n
            for d, n in self.session.execute(
                select(orm.CallAttempt.disposition, func.count())
                .where(*conds, orm.CallAttempt.disposition.is_not(None))
                .group_by(orm.CallAttempt.disposition)
            )
            if d is not None
        }
        # A contact counts as dialled once it had an attempt that counts (not NETWORK_FAIL).
        dialled, talk = self.session.execute(
            select(
                func.count(func.distinct(orm.CallAttempt.contact_id)).filter(
                    orm.CallAttempt.counts_as_attempt.is_(True)
                ),
                func.coalesce(func.sum(orm.CallAttempt.talk_seconds), 0),
            ).where(*conds)
        ).one()
        return by, int(dialled), int(talk)

    def reached(self, campaign_id: int) -> dict[str, int]:
        """Distinct contacts that reached each funnel stage at least once."""
        contact = func.count(func.distinct(orm.CallAttempt.contact_id))
        d = orm.CallAttempt.disposition
        row = self.session.execute(
            select(
                contact.filter(orm.CallAttempt.counts_as_attempt.is_(True)),
                contact.filter(d.in_(sorted(CONNECTED))),
                contact.filter(d.in_(sorted(RIGHT_PARTY))),
                contact.filter(d.in_(sorted(PITCHED))),
                contact.filter(d == Disposition.SUCCESS),
            ).where(orm.CallAttempt.campaign_id == campaign_id)
        ).one()
        keys = ("dialled", "connected", "right_party", "pitched", "successes")
        return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}

    def masked_samples(
        self, campaign_id: int, disposition: Disposition, *, start: datetime, end: datetime
    ) -> list[tuple[str, datetime, str | None]]:
        """(number, time, note) of attempts with one disposition; callers mask the number."""
        rows = self.session.execute(
            select(orm.CallAttempt.e164, orm.CallAttempt.dialed_at, orm.CallAttempt.note)
            .where(
                orm.CallAttempt.campaign_id == campaign_id,
                orm.CallAttempt.disposition == disposition,
                orm.CallAttempt.dialed_at >= start,
                orm.CallAttempt.dialed_at < end,
            )
            .order_by(orm.CallAttempt.dialed_at)
            .limit(50)
        )
        return [(r.e164, r.dialed_at, r.note) for r in rows]

    def refusal_reasons(self, campaign_id: int, *, limit: int = 5) -> list[tuple[str, int]]:
        """Most frequent refusal notes of a campaign."""
        rows = self.session.execute(
            select(orm.CallAttempt.note, func.count().label("n"))
            .where(
                orm.CallAttempt.campaign_id == campaign_id,
                orm.CallAttempt.disposition == Disposition.REFUSED,
                orm.CallAttempt.note.is_not(None),
            )
            .group_by(orm.CallAttempt.note)
            .order_by(func.count().desc(), orm.CallAttempt.note)
            .limit(limit)
        )
        return [(str(r.note), int(r.n)) for r in rows]


class SqlAlchemyRollupRepository:
    """Hourly rollups: campaign hours added to in place (INSERT ... ON CONFLICT DO UPDATE),
    agent hours recomputed from the attempts."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, campaign_rows: Sequence[dict[str, Any]]) -> None:
        """Add these campaign-hour sums to the stored ones, creating rows that are new."""
        if not campaign_rows:
            return
        table = cast(Table, orm.AttemptHourly.__table__)
        key, sums = rollups.CAMPAIGN_KEY, rollups.CAMPAIGN_SUMS
        dialect = self.session.get_bind().dialect.name
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={n: table.c[n] + statement.excluded[n] for n in sums},
        )
        # Sorted by key, so two workers adding to the same rows lock them in one order.
        ordered = sorted(campaign_rows, key=lambda r: tuple(str(r[k]) for k in key))
        for part in _chunks(ordered):
            self.session.execute(statement, list(part))

    def refresh_agents(self, campaign_id: int, *, start: datetime, end: datetime) -> None:
        """Recompute one campaign's agent hours that overlap [start, end) from its finished
        attempts (a worker recomputing what another wrote gets the same rows)."""
        a = cast(Table, orm.CallAttempt.__table__)
        t = cast(Table, orm.AgentHourly.__table__)
        first = rollups.hour_of(start)
        last = rollups.hour_of(end) + timedelta(hours=1)
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            hour: Any = func.timezone(
                "UTC", func.date_trunc("hour", func.timezone("UTC", a.c.dialed_at))
            )
        else:  # SQLite keeps UTC as naive text
            hour = func.strftime("%Y-%m-%d %H:00:00.000000", a.c.dialed_at)
        query = (
            select(
                a.c.agent_id,
                hour,
                a.c.campaign_id,
                a.c.disposition,
                func.count(),
                func.sum(a.c.talk_seconds),
                func.sum(a.c.wrap_seconds),
            )
            .where(
                a.c.campaign_id == campaign_id,
                a.c.dialed_at >= first,
                a.c.dialed_at < last,
                a.c.status == orm.ATTEMPT_ENDED,
                a.c.agent_id.is_not(None),
                a.c.disposition.is_not(None),
            )
            .group_by(a.c.agent_id, hour, a.c.campaign_id, a.c.disposition)
        )
        names = [*rollups.AGENT_KEY, *rollups.AGENT_SUMS]
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(t)
        statement = statement.from_select(names, query)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=list(rollups.AGENT_KEY),
                set_={n: statement.excluded[n] for n in rollups.AGENT_SUMS},
            )
        )

    def campaign_hours(self, campaign_id: int) -> list[dict[str, Any]]:
        """One campaign's rows, by hour."""
        t = orm.AttemptHourly
        rows = self.session.execute(
            select(t.__table__).where(t.campaign_id == campaign_id).order_by(t.hour)
        )
        return [dict(r._mapping) for r in rows]

    def agent_hours(self, campaign_id: int) -> list[dict[str, Any]]:
        """Per agent and hour, one campaign's rows."""
        t = orm.AgentHourly
        rows = self.session.execute(
            select(t.__table__).where(t.campaign_id == campaign_id).order_by(t.hour)
        )
        return [dict(r._mapping) for r in rows]

    def agent_totals(self, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Per agent, its calls, talk and wrap-up time and successes in [start, end), from
        the agent hours (every campaign)."""
        t, a = orm.AgentHourly, orm.Agent
        success = func.sum(case((t.disposition == Disposition.SUCCESS, t.calls), else_=0))
        rows = self.session.execute(
            select(
                a.work_id,
                a.name,
                func.sum(t.calls).label("calls"),
                func.sum(t.talk_seconds).label("talk_seconds"),
                func.sum(t.wrap_seconds).label("wrap_seconds"),
                success.label("successes"),
            )
            .join(a, a.id == t.agent_id)
            .where(t.hour >= start, t.hour < end)
            .group_by(a.work_id, a.name)
            .order_by(a.work_id)
        )
        return [dict(r._mapping) for r in rows]


class SqlAlchemyReportRepository:
    """Daily reports and their delivery state."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def upsert(self, campaign_id: int, day: date, payload: dict[str, Any], *, now: datetime) -> int:
        """Store a day's report, replacing an earlier version of the same day."""
        row = self.session.scalar(
            select(orm.DailyReport).where(
                orm.DailyReport.campaign_id == campaign_id, orm.DailyReport.report_date == day
            )
        )
        if row is None:
            row = orm.DailyReport(
                campaign_id=campaign_id,
                report_date=day,
                payload=payload,
                delivery_status=DeliveryStatus.PENDING,
                delivery_attempts=0,
                created_at=now,
            )
            self.session.add(row)
        else:
            row.payload = payload
            row.delivery_status = DeliveryStatus.PENDING
        self.session.flush()
        return row.id

    def get(self, report_id: int) -> tuple[int, date, dict[str, Any], DeliveryStatus]:
        """(campaign id, date, payload, delivery status) of one report."""
        row = self.session.get(orm.DailyReport, report_id)
        if row is None:
            raise NotFoundError(f"report {report_id} does not exist")
        return row.campaign_id, row.report_date, dict(row.payload), row.delivery_status

    def mark(
        self,
        report_id: int,
        *,
        status: DeliveryStatus,
        now: datetime,
        error: str | None = None,
        file_path: str | None = None,
        attempted: bool = False,
    ) -> None:
        """Record a delivery outcome and, when given, where the file was written."""
        values: dict[str, Any] = {"delivery_status": status, "last_error": error}
        if attempted:
            values["delivery_attempts"] = orm.DailyReport.delivery_attempts + 1
        if status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        if file_path is not None:
            values["file_path"] = file_path
        self.session.execute(
            update(orm.DailyReport).where(orm.DailyReport.id == report_id).values(**values)
        )

    def list_for(self, campaign_id: int) -> list[dict[str, Any]]:
        """Every stored report of a campaign in date order, with its delivery state."""
        rows = self.session.scalars(
            select(orm.DailyReport)
            .where(orm.DailyReport.campaign_id == campaign_id)
            .order_by(orm.DailyReport.report_date)
        )
        return [
            {
                "id": r.id,
                "date": r.report_date,
                "payload": r.payload,
                "delivery_status": r.delivery_status,
                "delivery_attempts": r.delivery_attempts,
                "last_error": r.last_error,
                "file_path": r.file_path,
            }
            for r in rows
        ]


class SqlAlchemyUserRepository:
    """Dashboard users, with their branch's code."""

    def __init__(self, session: Session) -> None:
        self.session = session

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
    ) -> int:
        """Store a new user; its id."""
        user = orm.User(
            username=username,
            password_hash=password_hash,
            role=role,
            branch_id=branch_id,
            pii=pii,
            disabled=False,
            created_at=now,
            display_name=display_name,
        )
        self.session.add(user)
        self.session.flush()
        return user.id

    def _select(self) -> Any:
        u, b = orm.User, orm.Branch
        return (
            select(
                u.id,
                u.username,
                u.password_hash,
                u.role,
                u.pii,
                u.disabled,
                u.created_at,
                u.display_name,
                b.code.label("branch_code"),
            )
            .outerjoin(b, b.id == u.branch_id)
            .order_by(u.username)
        )

    def find(self, username: str) -> dict[str, Any] | None:
        """One user by name, or None."""
        row = self.session.execute(self._select().where(orm.User.username == username)).first()
        return dict(row._mapping) if row else None

    def all(self) -> list[dict[str, Any]]:
        """Every user, by name."""
        return [dict(r._mapping) for r in self.session.execute(self._select())]

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable or enable a user; False if there is none by that name."""
        done = self.session.execute(
            update(orm.User).where(orm.User.username == username).values(disabled=disabled)
        )
        return bool(cast(Any, done).rowcount)


class SqlAlchemyAuditLog:
    """Append-only audit entries."""

    def __init__(self, session: Session) -> None:
        self.session = session

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
    ) -> None:
        """Write one entry."""
        self.session.add(
            orm.AuditEntry(
                at=at,
                actor=actor,
                entity=entity,
                entity_id=entity_id,
                action=action,
                from_state=from_state,
                to_state=to_state,
                detail=detail,
            )
        )

    def for_entity(self, entity: str, entity_id: int) -> list[dict[str, Any]]:
        """Entries of one entity in the order they were written."""
        rows = self.session.scalars(
            select(orm.AuditEntry)
            .where(orm.AuditEntry.entity == entity, orm.AuditEntry.entity_id == entity_id)
            .order_by(orm.AuditEntry.id)
        )
        return [
            {
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "from_state": r.from_state,
                "to_state": r.to_state,
                "detail": r.detail,
            }
            for r in rows
        ]
