"""Cleaning in SQL: every exclusion rule of `evaluate_contact` as one bit mask per list row.

A row of a campaign's list is in `contacts` (not cleaned yet, or kept) or in
`list_exclusions` (excluded, with the mask of every rule that matched; bit i is
`campaigns.rules.REASON_BITS`). Cleaning computes a mask for every row of a *source* in one
statement, joining the subscriber facts on the number's integer key and the small look-ups
(do-not-call, refusals, other campaigns, our own recent calls) on the number:

- a fresh list, staged by `campaigns.storage.fastload` (it writes each row once, to the
  table its mask sends it to);
- the list as stored (`_STORED`), for a preview or a re-cleaning, which then moves only the
  rows whose verdict changed (`_apply`).

Rules the policy switches off are left out of the mask (MANDATORY ones never are). No row
travels to Python here and no query runs per row.

It gives the same verdicts as `campaigns.services._verdict_batches` over the snapshot
tables (`SqlAlchemySnapshotSource`): tests/integration/test_setclean.py checks that, rule by
rule, on both PostgreSQL and SQLite. A CRM `SubscriberSource` cannot be joined in SQL;
campaigns cleaned against a CRM keep the batch path, whose verdicts `apply_masks` writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, TextClause

from campaigns.ledger import ACTIVE_STATES, CleaningTally
from campaigns.model import CleaningPolicy, ContactState, Disposition, ExclusionReason
from campaigns.rules import MANDATORY, REASON_BITS, RULE_ORDER, rule_tag
from campaigns.storage.facts import number_key
from campaigns.storage.orm import UTCDateTime

_BIT = REASON_BITS
_VERDICTS = "clean_verdicts"
#: States of contacts that cleaning may still move: nothing dialled them yet.
_CLEANABLE = (ContactState.PENDING.value, ContactState.READY.value)

#: Every source has these columns: the row's number in the file, its number (E.164 text and
#: integer key), whether it is a mobile, why intake could not read it (when e164 is NULL),
#: and whether an earlier row of the list has the same number.
SOURCE_COLUMNS = "row_number, e164, num, is_mobile, intake, dup"

#: Contacts cleaning may still move: not dialled yet (an attempt row refers to its contact).
_UNDIALLED = "NOT EXISTS (SELECT 1 FROM call_attempts a WHERE a.contact_id = {}.id)"

#: The list as stored. Every row is judged, dialled ones too (a repeat is judged against
#: them), though only rows not dialled yet move (`_apply`).
_STORED = (
    f"SELECT row_number, e164, {number_key('e164')} AS num, is_mobile, NULL AS intake, "
    "false AS dup FROM contacts WHERE campaign_id = :cid "
    f"UNION ALL SELECT row_number, e164, {number_key('e164')}, is_mobile, "
    "CASE WHEN e164 IS NULL THEN reason END, "
    # A duplicate stays one: the list's order does not change.
    f"(mask & {_BIT[ExclusionReason.DUPLICATE]}) <> 0 FROM list_exclusions "
    "WHERE campaign_id = :cid"
)


@dataclass(frozen=True, slots=True)
class _Campaign:
    id: int
    offer_id: int
    branch_id: int
    requires_mobile: bool
    exclusive_ids: tuple[int, ...]


def _campaign(conn: Connection, campaign_id: int) -> _Campaign:
    row = conn.execute(
        text(
            "SELECT r.offer_id, r.branch_id, s.requires_mobile, s.exclusion_group "
            "FROM campaigns c JOIN campaign_requests r ON r.id = c.request_id "
            "JOIN services s ON s.id = r.offer_id WHERE c.id = :cid"
        ),
        {"cid": campaign_id},
    ).one()
    exclusive: tuple[int, ...] = ()
    if row.exclusion_group is not None:
        exclusive = tuple(
            conn.scalars(
                text("SELECT id FROM services WHERE exclusion_group = :g AND id <> :o"),
                {"g": row.exclusion_group, "o": row.offer_id},
            )
        )
    return _Campaign(campaign_id, row.offer_id, row.branch_id, bool(row.requires_mobile), exclusive)


def _active(reason: ExclusionReason, policy: CleaningPolicy) -> bool:
    return reason in MANDATORY or policy.enabled(reason)


def _rule_sql(camp: _Campaign, policy: CleaningPolicy) -> dict[ExclusionReason, str]:
    """Each rule as a SQL condition over the source row c, its facts f and look-ups s."""
    mobile = " OR (c.e164 IS NOT NULL AND NOT c.is_mobile)" if camp.requires_mobile else ""
    return {
        ExclusionReason.INVALID_NUMBER: "c.e164 IS NULL AND (c.intake IS NULL "
        "OR c.intake = 'INVALID_NUMBER')",
        ExclusionReason.SHORT_CODE: "c.e164 IS NULL AND c.intake = 'SHORT_CODE'",
        ExclusionReason.NOT_MOBILE: "(c.e164 IS NULL AND c.intake = 'NOT_MOBILE')" + mobile,
        ExclusionReason.DUPLICATE: "c.dup",
        ExclusionReason.UNKNOWN_SUBSCRIBER: "f.num IS NULL AND c.e164 IS NOT NULL",
        ExclusionReason.SUBSCRIBER_INACTIVE: "f.status <> 'ACTIVE'",
        # Branch codes are unique, so comparing ids is comparing codes.
        ExclusionReason.OUT_OF_REGION: "f.branch_id IS NOT NULL AND f.branch_id <> :branch_id",
        ExclusionReason.SEGMENT_FILTER: (
            "f.num IS NOT NULL AND (f.segment IS NULL OR f.segment NOT IN :segments)"
            if policy.segments
            else ""
        ),
        # Held services are stored as ",3,7,"; see campaigns.storage.facts.
        ExclusionReason.HOLDS_OFFER: "f.services LIKE :offer_like",
        ExclusionReason.HOLDS_EXCLUSIVE: " OR ".join(
            f"f.services LIKE :exclusive_like_{i}" for i in range(len(camp.exclusive_ids))
        ),
        ExclusionReason.DO_NOT_CALL: "s.dnc = 1",
        ExclusionReason.REFUSED_BEFORE: "s.ref = 1",
        ExclusionReason.IN_OTHER_CAMPAIGN: "s.oth = 1",
        # The operator's history only counts for numbers in the snapshot, as its source reads
        # it; subscriber_facts holds subscribers only.
        ExclusionReason.RECENT_CONTACT: "f.last_contact > :contact_since OR s.ours = 1",
        ExclusionReason.PRIOR_FOLLOW_UP: "f.follow_up",
    }


#: The look-ups that are not subscriber facts: one flag column each, set to 1 for the
#: numbers the query finds. They are gathered into one table keyed by the number, so the
#: list is joined once for all of them.
_LOOKUPS: dict[ExclusionReason, tuple[str, str]] = {
    ExclusionReason.DO_NOT_CALL: (
        "dnc",
        "SELECT e164 FROM dnc_entries WHERE (campaign_id IS NULL OR campaign_id = :cid) "
        "AND (expires_at IS NULL OR expires_at > :now)",
    ),
    ExclusionReason.REFUSED_BEFORE: (
        "ref",
        "SELECT a.e164 FROM call_attempts a JOIN campaigns k ON k.id = a.campaign_id "
        "JOIN campaign_requests q ON q.id = k.request_id "
        "WHERE q.offer_id = :offer_id AND a.campaign_id <> :cid AND a.disposition = :refused "
        "AND a.dialed_at > :refusal_since",
    ),
    ExclusionReason.IN_OTHER_CAMPAIGN: (
        "oth",
        "SELECT o.e164 FROM contacts o JOIN campaigns k ON k.id = o.campaign_id "
        "WHERE o.campaign_id <> :cid AND o.e164 IS NOT NULL AND o.state NOT IN :idle "
        "AND k.state IN :active_states",
    ),
    ExclusionReason.RECENT_CONTACT: (
        "ours",
        "SELECT e164 FROM call_attempts WHERE campaign_id <> :cid AND dialed_at > :contact_since",
    ),
}


def _lookups_sql(wanted: set[ExclusionReason]) -> str | None:
    """One row per number found by any wanted look-up, with a 0/1 flag per look-up."""
    used = [(r, *_LOOKUPS[r]) for r in _LOOKUPS if r in wanted]
    if not used:
        return None
    names = [name for _, name, _ in used]
    parts = []
    for _, name, query in used:
        flags = ", ".join(f"{1 if n == name else 0} AS {n}" for n in names)
        parts.append(f"SELECT e164, {flags} FROM ({query}) q_{name}")
    maxima = ", ".join(f"MAX({n}) AS {n}" for n in names)
    return f"SELECT e164, {maxima} FROM ({' UNION ALL '.join(parts)}) u GROUP BY e164"


def _mask_select(camp: _Campaign, policy: CleaningPolicy, source: str) -> str:
    """SELECT c.row_number, mask for every row of `source` (SOURCE_COLUMNS)."""
    rules = _rule_sql(camp, policy)
    wanted = [r for r in RULE_ORDER if rules[r] and _active(r, policy)]
    terms = [f"CASE WHEN {rules[r]} THEN {_BIT[r]} ELSE 0 END" for r in wanted]
    joins = ["LEFT JOIN subscriber_facts f ON f.num = c.num"]
    lookups = _lookups_sql(set(wanted))
    if lookups is not None:
        joins.append(f"LEFT JOIN ({lookups}) s ON s.e164 = c.e164")
    mask = " + ".join(terms) if terms else "0"
    return f"SELECT c.row_number, {mask} AS mask FROM ({source}) c {' '.join(joins)}"


def _bind(stmt: str, camp: _Campaign, policy: CleaningPolicy, now: datetime) -> TextClause:
    """The statement with every parameter it names bound, typed for both backends."""
    values: dict[str, Any] = {
        "cid": camp.id,
        "branch_id": camp.branch_id,
        "offer_id": camp.offer_id,
        "refused": Disposition.REFUSED.value,
        "offer_like": f"%,{camp.offer_id},%",
    }
    for i, service_id in enumerate(camp.exclusive_ids):
        values[f"exclusive_like_{i}"] = f"%,{service_id},%"
    expanding: dict[str, list[Any]] = {
        "segments": list(policy.segments),
        "idle": [ContactState.EXCLUDED.value, ContactState.PENDING.value],
        "active_states": [s.value for s in ACTIVE_STATES],
        "cleanable": list(_CLEANABLE),
    }
    times = {
        "now": now,
        "contact_since": now - timedelta(days=policy.cooldown_days),
        "refusal_since": now - timedelta(days=policy.refusal_cooloff_days),
    }
    params: list[BindParameter[Any]] = [
        bindparam(k, v) for k, v in values.items() if f":{k}" in stmt
    ]
    params += [bindparam(k, v, expanding=True) for k, v in expanding.items() if f":{k}" in stmt]
    # Typed so SQLite compares against the naive UTC text UTCDateTime stores.
    params += [bindparam(k, v, type_=UTCDateTime()) for k, v in times.items() if f":{k}" in stmt]
    return text(stmt).bindparams(*params)


#: Settings for the cleaning statements on PostgreSQL. A list stored in this transaction or
#: just before has no statistics worth planning on (a million rows look like a thousand),
#: and the planner then picks a nested loop of a million index look-ups into the facts
#: (15 s instead of 7 s on bench/cleaning.py's list); every join here is a bulk one. The
#: hash tables over a million numbers need more than the default 4MB to stay in memory; and
#: compiling the mask expressions (JIT) costs about a second and saves less.
PG_SETTINGS = {"work_mem": "256MB", "jit": "off", "enable_nestloop": "off"}


def set_local(conn: Connection, settings: Mapping[str, str]) -> dict[str, str]:
    """Set each setting for the rest of the transaction; returns the values they had."""
    if conn.dialect.name != "postgresql":
        return {}
    before = {}
    for name, value in settings.items():
        before[name] = str(conn.scalar(text("SELECT current_setting(:n)"), {"n": name}))
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    return before


def _first_reason_case(column: str, label: Callable[[ExclusionReason], str]) -> str:
    """A CASE over a mask column giving the label of its first reason in rule order."""
    whens = " ".join(f"WHEN {column} & {_BIT[r]} <> 0 THEN '{label(r)}'" for r in RULE_ORDER)
    return f"CASE {whens} END"


def mask_counts(
    conn: Connection, campaign_id: int, policy: CleaningPolicy, now: datetime, source: str
) -> dict[int, int]:
    """How many rows of `source` have each mask."""
    camp = _campaign(conn, campaign_id)
    select = _mask_select(camp, policy, source)
    rows = conn.execute(
        _bind(f"SELECT mask, COUNT(*) FROM ({select}) m GROUP BY mask", camp, policy, now)
    )
    return {int(m): int(n) for m, n in rows}


def masks_in_order(
    conn: Connection, campaign_id: int, policy: CleaningPolicy, now: datetime, source: str
) -> list[int]:
    """The mask of every row of `source`, in row order."""
    camp = _campaign(conn, campaign_id)
    select = _mask_select(camp, policy, source)
    if conn.dialect.name == "postgresql":
        # One value instead of a million rows: the driver's per-row cost is the larger one.
        joined = conn.scalar(
            _bind(
                f"SELECT string_agg(m.mask::text, ',' ORDER BY m.row_number) FROM ({select}) m",
                camp,
                policy,
                now,
            )
        )
        return [int(m) for m in joined.split(",")] if joined else []
    rows = conn.scalars(
        _bind(f"SELECT m.mask FROM ({select}) m ORDER BY m.row_number", camp, policy, now)
    )
    return [int(m) for m in rows]


def stored_masks(
    conn: Connection, campaign_id: int, policy: CleaningPolicy, now: datetime
) -> dict[int, int]:
    """The mask every row of the campaign's stored list would get now, by row number."""
    camp = _campaign(conn, campaign_id)
    select = _mask_select(camp, policy, _STORED)
    return {int(r): int(m) for r, m in conn.execute(_bind(select, camp, policy, now))}


def tally_set_based(
    conn: Connection,
    campaign_id: int,
    policy: CleaningPolicy,
    now: datetime,
    *,
    due_at: datetime | None,
) -> CleaningTally:
    """Run every rule over the stored list; with `due_at`, move the rows whose verdict changed."""
    tally = CleaningTally()
    saved = set_local(conn, PG_SETTINGS)
    if due_at is None:
        tally.add_masks(mask_counts(conn, campaign_id, policy, now, _STORED))
    else:
        camp = _campaign(conn, campaign_id)
        select = _mask_select(camp, policy, _STORED)
        _create_verdicts(conn, lambda head: _bind(head + select, camp, policy, now))
        tally.add_masks(_apply(conn, campaign_id, due_at))
    set_local(conn, saved)
    return tally


def _create_verdicts(conn: Connection, fill: Callable[[str], TextClause] | None = None) -> None:
    """The verdicts table: empty (row_number, mask), or made by `fill` from the statement head
    "CREATE TEMPORARY TABLE … AS " it is given."""
    postgres = conn.dialect.name == "postgresql"
    on_commit = " ON COMMIT DROP" if postgres else ""
    conn.execute(text(f"DROP TABLE IF EXISTS {_VERDICTS}"))
    if fill is None:
        conn.execute(
            text(
                f"CREATE TEMPORARY TABLE {_VERDICTS} (row_number INTEGER PRIMARY KEY, "
                f"mask INTEGER NOT NULL){on_commit}"
            )
        )
        return
    # CREATE TABLE AS may run its query in parallel, INSERT ... SELECT may not
    # (PostgreSQL 15): 1M rows take 3 s instead of 5.
    conn.execute(fill(f"CREATE TEMPORARY TABLE {_VERDICTS}{on_commit} AS "))
    if postgres:
        conn.execute(text(f"ANALYZE {_VERDICTS}"))


def apply_masks(
    conn: Connection, campaign_id: int, masks: Sequence[tuple[int, int]], *, due_at: datetime
) -> None:
    """Write verdicts computed elsewhere (the batch path): (row number, mask) per row."""
    _create_verdicts(conn)
    if masks:
        conn.execute(
            text(f"INSERT INTO {_VERDICTS} (row_number, mask) VALUES (:r, :m)"),
            [{"r": r, "m": m} for r, m in masks],
        )
    _apply(conn, campaign_id, due_at)


def _apply(conn: Connection, campaign_id: int, due_at: datetime) -> dict[int, int]:
    """Move the rows whose verdict in the verdicts table changed; returns the mask counts.

    Newly excluded contacts go to list_exclusions, newly kept rows come back to contacts
    (READY, due at `due_at`), excluded rows whose rules changed get their new mask, and
    every kept contact is READY and due at `due_at`.
    """
    v = _VERDICTS
    due = bindparam("due_at", due_at, type_=UTCDateTime())
    cleanable: BindParameter[Any] = bindparam("cleanable", list(_CLEANABLE), expanding=True)
    cid = {"cid": campaign_id}
    reason = _first_reason_case("v.mask", lambda r: r.value)
    tag = _first_reason_case("v.mask", rule_tag)
    mine = f"c.campaign_id = :cid AND c.state IN :cleanable AND {_UNDIALLED.format('c')}"
    conn.execute(
        text(
            "INSERT INTO list_exclusions (campaign_id, row_number, raw_input, e164, is_mobile, "
            f"attributes, reason, rule_version, mask) SELECT c.campaign_id, c.row_number, "
            f"c.raw_input, c.e164, c.is_mobile, c.attributes, {reason}, {tag}, v.mask "
            f"FROM contacts c JOIN {v} v ON v.row_number = c.row_number "
            f"WHERE {mine} AND v.mask <> 0 ORDER BY c.row_number"
        ).bindparams(cleanable),
        cid,
    )
    conn.execute(
        text(
            f"DELETE FROM contacts WHERE id IN (SELECT c.id FROM contacts c JOIN {v} v "
            f"ON v.row_number = c.row_number WHERE {mine} AND v.mask <> 0)"
        ).bindparams(cleanable),
        cid,
    )
    conn.execute(
        text(
            "INSERT INTO contacts (campaign_id, row_number, raw_input, e164, is_mobile, "
            "attributes, state, is_trial, attempts, disposition_streak, next_attempt_at) "
            "SELECT e.campaign_id, e.row_number, e.raw_input, e.e164, e.is_mobile, e.attributes, "
            f"'{ContactState.READY.value}', false, 0, 0, :due_at FROM list_exclusions e "
            f"JOIN {v} v ON v.row_number = e.row_number WHERE e.campaign_id = :cid "
            "AND v.mask = 0 ORDER BY e.row_number"
        ).bindparams(due),
        cid,
    )
    conn.execute(
        text(
            "DELETE FROM list_exclusions WHERE campaign_id = :cid AND row_number IN "
            f"(SELECT row_number FROM {v} WHERE mask = 0)"
        ),
        cid,
    )
    conn.execute(
        text(
            f"UPDATE list_exclusions SET mask = v.mask, reason = {reason}, rule_version = {tag} "
            f"FROM {v} v WHERE list_exclusions.campaign_id = :cid "
            "AND v.row_number = list_exclusions.row_number AND v.mask <> 0 "
            f"AND (list_exclusions.mask <> v.mask OR list_exclusions.rule_version <> {tag})"
        ),
        cid,
    )
    conn.execute(
        text(
            f"UPDATE contacts SET state = '{ContactState.READY.value}', next_attempt_at = :due_at "
            f"WHERE campaign_id = :cid AND state IN :cleanable AND {_UNDIALLED.format('contacts')}"
        ).bindparams(due, cleanable),
        cid,
    )
    counts = {
        int(m): int(n)
        for m, n in conn.execute(text(f"SELECT mask, COUNT(*) FROM {v} GROUP BY mask"))
    }
    conn.execute(text(f"DROP TABLE IF EXISTS {v}"))
    return counts


def preview_set_based(
    conn: Connection, campaign_id: int, policy: CleaningPolicy, now: datetime
) -> CleaningTally:
    """What cleaning would exclude, and why, computed in SQL without writing anything."""
    return tally_set_based(conn, campaign_id, policy, now, due_at=None)


class SqlAlchemySetCleaner:
    """The `SetCleaner` port over the unit of work's session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def tally(
        self, campaign_id: int, policy: CleaningPolicy, now: datetime, *, due_at: datetime | None
    ) -> CleaningTally:
        """Evaluate every rule in SQL; with `due_at` also move each row to its verdict's table."""
        return tally_set_based(self.session.connection(), campaign_id, policy, now, due_at=due_at)

    def apply(
        self, campaign_id: int, masks: Sequence[tuple[int, int]], *, due_at: datetime
    ) -> None:
        """Write verdicts the batch path computed: (row number, mask) for every list row."""
        apply_masks(self.session.connection(), campaign_id, masks, due_at=due_at)
