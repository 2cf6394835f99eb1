"""Set-based loading of reference data (operator snapshot, catalogue, agents)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from campaigns.storage import orm
from campaigns.storage.facts import refresh_facts
from campaigns.synthetic import SERVICES, Operator


def _copy_or_insert(
    conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """COPY on PostgreSQL (fast for large row counts), executemany elsewhere.

    Text values must already be safe for COPY's text format (no tab, newline or
    backslash); callers with free text escape it first (see `snapshot._copy_escape`).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        buf.seek(0)
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur: Any = raw.cursor()
        try:
            cur.copy_expert(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)", buf
            )
        finally:
            cur.close()
        return
    conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


def load_catalogue(conn: Connection) -> dict[str, int]:
    """Insert the service catalogue; returns code -> id."""
    conn.execute(
        insert(orm.Service),
        [
            {"code": c, "name": n, "monthly_price": p, "exclusion_group": g, "requires_mobile": m}
            for c, n, p, g, m in SERVICES
        ],
    )
    return {c: i for c, i in conn.execute(select(orm.Service.code, orm.Service.id))}


def load_operator(conn: Connection, op: Operator, *, now: datetime) -> None:
    """Load subscribers, held services, contact history, follow-ups and DNC in bulk."""
    services = {c: i for c, i in conn.execute(select(orm.Service.code, orm.Service.id))}
    branches = {c: i for c, i in conn.execute(select(orm.Branch.code, orm.Branch.id))}
    _copy_or_insert(
        conn,
        orm.Subscriber.__table__,
        ("msisdn", "status", "segment", "branch_id"),
        [(s.msisdn, s.status.value, s.segment, branches.get(s.branch)) for s in op.subscribers],
    )
    ids = {m: i for m, i in conn.execute(select(orm.Subscriber.msisdn, orm.Subscriber.id))}
    _copy_or_insert(
        conn,
        orm.SubscriberService.__table__,
        ("subscriber_id", "service_id"),
        [(ids[s.msisdn], services[code]) for s in op.subscribers for code in s.services],
    )
    iso = conn.dialect.name == "postgresql"

    def ts(t: datetime) -> Any:
        return t.isoformat() if iso else t

    if iso:
        _copy_or_insert(
            conn,
            orm.ContactHistory.__table__,
            ("msisdn", "contacted_at", "source"),
            [(m, ts(t), "operator") for m, t in op.history],
        )
        _copy_or_insert(
            conn,
            orm.FollowUp.__table__,
            ("msisdn", "recorded_at"),
            [(m, ts(t)) for m, t in op.follow_ups],
        )
        _copy_or_insert(
            conn,
            orm.DncEntry.__table__,
            ("e164", "reason", "created_at"),
            [(m, "operator list", ts(now)) for m in op.dnc],
        )
    else:
        # Through the ORM types, so SQLite stores timestamps the way UTCDateTime reads them.
        if op.history:
            conn.execute(
                insert(orm.ContactHistory),
                [{"msisdn": m, "contacted_at": t, "source": "operator"} for m, t in op.history],
            )
        if op.follow_ups:
            conn.execute(
                insert(orm.FollowUp), [{"msisdn": m, "recorded_at": t} for m, t in op.follow_ups]
            )
        if op.dnc:
            conn.execute(
                insert(orm.DncEntry),
                [{"e164": m, "reason": "operator list", "created_at": now} for m in op.dnc],
            )
    refresh_facts(conn)


def load_reference(
    conn: Connection,
    *,
    now: datetime,
    agents: int = 20,
    webhooks: dict[str, str] | None = None,
    quota: int | None = 50_000,
) -> None:
    """Branches, the catalogue, a published script per demo offer, and agents."""
    from campaigns.synthetic import BRANCHES, OFFERS_WITH_SCRIPTS, script_sections

    hooks = webhooks or {}
    conn.execute(
        insert(orm.Branch),
        [
            {
                "code": c,
                "name": n,
                "timezone": "Asia/Shanghai",
                "region": "CN",
                "webhook_url": hooks.get(c),
                "monthly_quota": quota,
            }
            for c, n in BRANCHES
        ],
    )
    ids = load_catalogue(conn)
    by_code = {c: (n, p) for c, n, p, _, _ in SERVICES}
    conn.execute(
        insert(orm.Script),
        [
            {
                "offer_id": ids[code],
                "version": 1,
                "title": f"{by_code[code][0]} v1",
                "sections": script_sections(*by_code[code]),
                "published": True,
                "created_at": now,
            }
            for code in OFFERS_WITH_SCRIPTS
        ],
    )
    conn.execute(
        insert(orm.Agent),
        [
            {"work_id": f"A{i:03d}", "name": f"坐席 Agent {i}", "outbound_enabled": True}
            for i in range(1, agents + 1)
        ],
    )
