"""Cleaning in one set-based pass: every exclusion rule of `evaluate_contact`, computed in SQL.

`clean_set_based` gives each contact of a campaign a bit mask with one bit per matching rule
(bit i is `RULE_ORDER[i]`; rules the policy switches off are left out, MANDATORY ones never
are), keeps the masks in a temporary table, writes every verdict with one UPDATE, and builds
the ledger from the handful of distinct masks. No row travels to Python and no query runs per
row, so the cost is a few hash joins whatever the list size.

`load_and_clean` does `fastload.load_list` and `clean_set_based` for a new list in one go:
the file is copied into an unindexed temporary table and every contact is inserted once,
verdict included, instead of being inserted PENDING and then updated.

It gives the same verdicts as `campaigns.services._verdict_batches` over the snapshot tables
(`SqlAlchemySnapshotSource`): tests/integration/test_setclean.py checks that, rule by rule,
on both PostgreSQL and SQLite. A CRM `SubscriberSource` cannot be joined in SQL; campaigns
cleaned against a CRM keep the batch path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, TextClause

from campaigns.intake import ListFile
from campaigns.ledger import ACTIVE_STATES, CleaningTally, ledger
from campaigns.model import (
    CleaningPolicy,
    ContactState,
    Disposition,
    ExclusionReason,
)
from campaigns.rules import MANDATORY, RULE_ORDER, rule_tag
from campaigns.storage import orm
from campaigns.storage.fastload import copy_list
from campaigns.storage.orm import UTCDateTime

_BIT = {reason: 1 << i for i, reason in enumerate(RULE_ORDER)}
_TEMP = "setclean_verdicts"


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


def _rule_sql(
    camp: _Campaign, policy: CleaningPolicy, *, dup_column: bool = False
) -> dict[ExclusionReason, str]:
    """Each rule as a SQL condition over the joined row (c, f, d and the look-ups).

    With `dup_column` the list carries its own duplicate flag (the loader saw every number
    in file order), so no aggregate over the list is needed.
    """
    mobile = " OR (c.e164 IS NOT NULL AND NOT c.is_mobile)" if camp.requires_mobile else ""
    return {
        # A row without a number keeps intake's reason in exclusion_reason (see
        # SqlAlchemyContactRepository.batch_for_cleaning); it decides the first three rules.
        ExclusionReason.INVALID_NUMBER: "c.e164 IS NULL AND (c.exclusion_reason IS NULL "
        "OR c.exclusion_reason = 'INVALID_NUMBER')",
        ExclusionReason.SHORT_CODE: "c.e164 IS NULL AND c.exclusion_reason = 'SHORT_CODE'",
        ExclusionReason.NOT_MOBILE: "(c.e164 IS NULL AND c.exclusion_reason = 'NOT_MOBILE')"
        + mobile,
        ExclusionReason.DUPLICATE: "c.dup" if dup_column else "c.row_number > d.first_row",
        ExclusionReason.UNKNOWN_SUBSCRIBER: "f.msisdn IS NULL AND c.e164 IS NOT NULL",
        ExclusionReason.SUBSCRIBER_INACTIVE: "f.status <> 'ACTIVE'",
        # Branch codes are unique, so comparing ids is comparing codes.
        ExclusionReason.OUT_OF_REGION: "f.branch_id IS NOT NULL AND f.branch_id <> :branch_id",
        ExclusionReason.SEGMENT_FILTER: (
            "f.msisdn IS NOT NULL AND (f.segment IS NULL OR f.segment NOT IN :segments)"
            if policy.segments
            else ""
        ),
        ExclusionReason.HOLDS_OFFER: "f.services LIKE :offer_like",
        ExclusionReason.HOLDS_EXCLUSIVE: " OR ".join(
            f"f.services LIKE :exclusive_like_{i}" for i in range(len(camp.exclusive_ids))
        ),
        ExclusionReason.DO_NOT_CALL: "dnc.e164 IS NOT NULL",
        ExclusionReason.REFUSED_BEFORE: "ref.e164 IS NOT NULL",
        ExclusionReason.IN_OTHER_CAMPAIGN: "oth.e164 IS NOT NULL",
        # The operator's history only counts for numbers in the snapshot, as its source reads
        # it; subscriber_facts holds subscribers only.
        ExclusionReason.RECENT_CONTACT: "f.last_contact > :contact_since OR ours.e164 IS NOT NULL",
        ExclusionReason.PRIOR_FOLLOW_UP: "f.follow_up",
    }


def _active(reason: ExclusionReason, policy: CleaningPolicy) -> bool:
    return reason in MANDATORY or policy.enabled(reason)


def _mask_select(
    camp: _Campaign,
    policy: CleaningPolicy,
    source: str = "contacts",
    columns: str = "c.id AS id",
    *,
    dup_column: bool = False,
) -> str:
    """SELECT `columns`, mask for every contact of the campaign held in `source`."""
    rules = _rule_sql(camp, policy, dup_column=dup_column)
    terms = [
        f"CASE WHEN {cond} THEN {_BIT[reason]} ELSE 0 END"
        for reason in RULE_ORDER
        if (cond := rules[reason]) and _active(reason, policy)
    ]
    wanted = {r for r in RULE_ORDER if rules[r] and _active(r, policy)}
    joins = ["LEFT JOIN subscriber_facts f ON f.msisdn = c.e164"]
    lookups = {
        ExclusionReason.DUPLICATE: ""
        if dup_column
        else "LEFT JOIN (SELECT e164, MIN(row_number) AS first_row "
        f"FROM {source} WHERE campaign_id = :cid AND e164 IS NOT NULL GROUP BY e164) d "
        "ON d.e164 = c.e164",
        ExclusionReason.DO_NOT_CALL: "LEFT JOIN (SELECT DISTINCT e164 FROM dnc_entries "
        "WHERE (campaign_id IS NULL OR campaign_id = :cid) "
        "AND (expires_at IS NULL OR expires_at > :now)) dnc ON dnc.e164 = c.e164",
        ExclusionReason.REFUSED_BEFORE: "LEFT JOIN (SELECT DISTINCT a.e164 FROM call_attempts a "
        "JOIN campaigns k ON k.id = a.campaign_id "
        "JOIN campaign_requests q ON q.id = k.request_id "
        "WHERE q.offer_id = :offer_id AND a.campaign_id <> :cid AND a.disposition = :refused "
        "AND a.dialed_at > :refusal_since) ref ON ref.e164 = c.e164",
        ExclusionReason.IN_OTHER_CAMPAIGN: "LEFT JOIN (SELECT DISTINCT o.e164 FROM contacts o "
        "JOIN campaigns k ON k.id = o.campaign_id "
        "WHERE o.campaign_id <> :cid AND o.e164 IS NOT NULL AND o.state NOT IN :idle "
        "AND k.state IN :active_states) oth ON oth.e164 = c.e164",
        ExclusionReason.RECENT_CONTACT: "LEFT JOIN (SELECT DISTINCT e164 FROM call_attempts "
        "WHERE campaign_id <> :cid AND dialed_at > :contact_since) ours ON ours.e164 = c.e164",
    }
    joins += [sql for reason, sql in lookups.items() if reason in wanted and sql]
    mask = " + ".join(terms) if terms else "0"
    return (
        f"SELECT {columns}, {mask} AS mask FROM {source} c {' '.join(joins)} "
        "WHERE c.campaign_id = :cid"
    )


def _bind(stmt: str, camp: _Campaign, policy: CleaningPolicy, now: datetime) -> TextClause:
    """The statement with every parameter it names bound, typed for both backends."""
    values: dict[str, Any] = {
        "cid": camp.id,
        "branch_id": camp.branch_id,
        "offer_id": camp.offer_id,
        "refused": Disposition.REFUSED.value,
    }
    # Held services are stored as ",3,7,"; see campaigns.storage.facts.
    values["offer_like"] = f"%,{camp.offer_id},%"
    for i, service_id in enumerate(camp.exclusive_ids):
        values[f"exclusive_like_{i}"] = f"%,{service_id},%"
    expanding: dict[str, list[Any]] = {
        "segments": list(policy.segments),
        "idle": [ContactState.EXCLUDED.value, ContactState.PENDING.value],
        "active_states": [s.value for s in ACTIVE_STATES],
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


#: Settings for the cleaning statements only. The list was usually loaded in this very
#: transaction, so its statistics say "empty" and the planner would pick nested loops over
#: a million rows; every join here is a bulk hash join. Hash tables over the snapshot need
#: more than the default 4MB to stay in memory.
_PG_SETTINGS = {"enable_nestloop": "off", "work_mem": "256MB"}


def _set_local(conn: Connection, settings: Mapping[str, str]) -> dict[str, str]:
    """Set each setting for the rest of the transaction; returns the values they had."""
    before = {}
    for name, value in settings.items():
        before[name] = str(conn.scalar(text("SELECT current_setting(:n)"), {"n": name}))
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    return before


def _tally(masks: Mapping[int, int]) -> CleaningTally:
    """First reasons and each rule alone, from the count of contacts per mask."""
    tally = CleaningTally()
    for mask, n in masks.items():
        reasons = [r for r in RULE_ORDER if mask & _BIT[r]]
        if not reasons:
            tally.kept += n
            continue
        first = reasons[0].value
        tally.first[first] = tally.first.get(first, 0) + n
        for r in reasons:
            tally.alone[r.value] = tally.alone.get(r.value, 0) + n
    return tally


def _first_reason_case(label: Callable[[ExclusionReason], str]) -> str:
    """A CASE over v.mask giving the label of its first reason (its lowest set bit)."""
    whens = " ".join(f"WHEN v.mask & {_BIT[r]} <> 0 THEN '{label(r)}'" for r in RULE_ORDER)
    return f"CASE {whens} END"


#: The verdict columns as written from a row `v` carrying its mask.
_VERDICT = {
    "state": f"CASE WHEN v.mask = 0 THEN '{ContactState.READY.value}' "
    f"ELSE '{ContactState.EXCLUDED.value}' END",
    "exclusion_reason": _first_reason_case(lambda r: r.value),
    "rule_version": _first_reason_case(rule_tag),
    "next_attempt_at": "CASE WHEN v.mask = 0 THEN :due_at END",
}


def tally_set_based(
    conn: Connection,
    campaign_id: int,
    policy: CleaningPolicy,
    now: datetime,
    *,
    due_at: datetime | None,
) -> CleaningTally:
    """Run every exclusion rule in SQL; with `due_at`, write each verdict, else only count."""
    camp = _campaign(conn, campaign_id)
    select_masks = _mask_select(camp, policy)
    postgres = conn.dialect.name == "postgresql"
    if due_at is None:
        rows = conn.execute(
            _bind(f"SELECT mask, COUNT(*) FROM ({select_masks}) m GROUP BY mask", camp, policy, now)
        )
        return _tally({int(m): int(n) for m, n in rows})
    saved: dict[str, str] = {}
    if postgres:
        saved = _set_local(conn, _PG_SETTINGS)
    conn.execute(text(f"DROP TABLE IF EXISTS {_TEMP}"))
    conn.execute(
        text(
            f"CREATE TEMPORARY TABLE {_TEMP} (id BIGINT PRIMARY KEY, mask INTEGER NOT NULL)"
            + (" ON COMMIT DROP" if postgres else "")
        )
    )
    conn.execute(_bind(f"INSERT INTO {_TEMP} (id, mask) {select_masks}", camp, policy, now))
    if postgres:
        conn.execute(text(f"ANALYZE {_TEMP}"))
    assignments = ", ".join(f"{name} = {value}" for name, value in _VERDICT.items())
    due = bindparam("due_at", due_at, type_=UTCDateTime())
    statement = f"UPDATE contacts AS c SET {assignments} FROM {_TEMP} AS v WHERE c.id = v.id"
    conn.execute(text(statement).bindparams(due))
    masks = {
        int(m): int(n)
        for m, n in conn.execute(text(f"SELECT mask, COUNT(*) FROM {_TEMP} GROUP BY mask"))
    }
    conn.execute(text(f"DROP TABLE IF EXISTS {_TEMP}"))
    if saved:
        _set_local(conn, saved)
    return _tally(masks)


def clean_set_based(
    conn: Connection,
    campaign_id: int,
    policy: CleaningPolicy,
    now: datetime,
    *,
    due_at: datetime,
) -> dict[str, Any]:
    """Clean a campaign's list in SQL, write every verdict, and return its ledger."""
    return ledger(tally_set_based(conn, campaign_id, policy, now, due_at=due_at), policy, now)


def preview_set_based(
    conn: Connection, campaign_id: int, policy: CleaningPolicy, now: datetime
) -> CleaningTally:
    """What cleaning would exclude, and why, computed in SQL without writing anything."""
    return tally_set_based(conn, campaign_id, policy, now, due_at=None)


def record_ledger(
    conn: Connection,
    campaign_id: int,
    summary: dict[str, Any],
    policy: CleaningPolicy,
    now: datetime,
) -> None:
    """Store the ledger on the campaign as `services.clean` does (summary, policy, ledger)."""
    kept = summary["kept"]
    first: dict[str, int] = summary["first"]
    conn.execute(
        update(orm.Campaign)
        .where(orm.Campaign.id == campaign_id)
        .values(
            cleaning_summary={"kept": kept, **dict(sorted(first.items()))},
            cleaning_policy=policy.to_dict(),
            cleaning_ledger=summary,
            updated_at=now,
        )
    )


class SqlAlchemySetCleaner:
    """The `SetCleaner` port over the unit of work's session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def tally(
        self, campaign_id: int, policy: CleaningPolicy, now: datetime, *, due_at: datetime | None
    ) -> CleaningTally:
        """Evaluate every rule in SQL; with `due_at` also write each contact's verdict."""
        return tally_set_based(self.session.connection(), campaign_id, policy, now, due_at=due_at)


_STAGE = "setclean_staging"
#: The contacts columns a fused load writes as they were staged (the verdict ones aside).
_STAGED = (
    "id",
    "campaign_id",
    "row_number",
    "raw_input",
    "e164",
    "is_mobile",
    "attributes",
    "is_trial",
    "attempts",
    "last_disposition",
    "disposition_streak",
)
#: The staged list is analysed before the masks are computed, so the planner knows its size
#: and picks hash joins itself. Its hash tables (a million numbers, the snapshot's sets) need
#: more than the default 4MB to stay in memory. JIT-compiling the mask expressions costs
#: about a second and saves less than that on a million rows.
_FUSED_SETTINGS = {"work_mem": "256MB", "jit": "off"}


def load_and_clean(
    conn: Connection,
    campaign_id: int,
    path: Path,
    policy: CleaningPolicy,
    now: datetime,
    *,
    due_at: datetime,
    region: str = "CN",
    workers: int = 0,
    list_file: ListFile | None = None,
) -> tuple[dict[str, int], dict[str, Any]]:
    """`load_list` then `clean_set_based` for a campaign without contacts, in one INSERT.

    The file is copied into an unindexed temporary table, the masks are computed from it, and
    each contact is inserted once with its verdict: contacts' four indexes are written once
    and no row version is left behind by an UPDATE. Returns load_list's counts and the ledger;
    the rows written are those the two steps would write (tests/integration/test_setclean.py).
    """
    if conn.dialect.name != "postgresql":
        raise ValueError("load_and_clean needs PostgreSQL's COPY; use load_list's alternatives")
    if conn.scalar(
        text("SELECT EXISTS (SELECT 1 FROM contacts WHERE campaign_id = :cid)"),
        {"cid": campaign_id},
    ):
        # Duplicates would have to be found across both lists; the two steps handle that.
        raise ValueError("the campaign already has contacts; use load_list and clean_set_based")
    camp = _campaign(conn, campaign_id)
    saved = _set_local(conn, _FUSED_SETTINGS)
    conn.execute(text(f"DROP TABLE IF EXISTS {_STAGE}"))
    # LIKE keeps contacts' types, NOT NULLs and id default (its sequence), none of its indexes.
    conn.execute(
        text(f"CREATE TEMPORARY TABLE {_STAGE} (LIKE contacts INCLUDING DEFAULTS) ON COMMIT DROP")
    )
    conn.execute(text(f"ALTER TABLE {_STAGE} ADD COLUMN dup BOOLEAN NOT NULL DEFAULT false"))
    counts = copy_list(
        conn,
        _STAGE,
        campaign_id,
        path,
        region,
        workers=workers,
        list_file=list_file,
        mark_duplicates=True,
    )
    conn.execute(text(f"ANALYZE {_STAGE}"))
    staged = ", ".join(_STAGED)
    written = ", ".join(f"v.{c}" for c in _STAGED)
    select_masks = _mask_select(camp, policy, source=_STAGE, columns="c.*", dup_column=True)
    statement = (
        f"WITH v AS MATERIALIZED ({select_masks}), "
        f"written AS (INSERT INTO contacts ({staged}, {', '.join(_VERDICT)}) "
        # The joins return rows in the snapshot's order; inserted in id (file) order instead,
        # the primary key and (campaign_id, row_number) grow at their right edge.
        f"SELECT {written}, {', '.join(_VERDICT.values())} FROM v ORDER BY v.id) "
        "SELECT mask, COUNT(*) FROM v GROUP BY mask"
    )
    stmt = _bind(statement, camp, policy, now).bindparams(
        bindparam("due_at", due_at, type_=UTCDateTime())
    )
    masks = {int(m): int(n) for m, n in conn.execute(stmt)}
    conn.execute(text(f"DROP TABLE IF EXISTS {_STAGE}"))
    _set_local(conn, saved)
    return counts, ledger(_tally(masks), policy, now)
