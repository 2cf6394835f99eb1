"""`subscriber_facts`: the snapshot folded into one row per subscriber, for set-based cleaning.

Cleaning asks five things of a number: is it a subscriber (status, segment, branch), which
services it holds, when the operator last contacted it, and whether it has a follow-up
record. Answered from the snapshot tables that is a join of 5M subscribers plus a GROUP BY
over millions of held services for every list; answered from this table it is one join.

The table is derived: every writer of the snapshot (`snapshot.import_snapshot`,
`bulk.load_operator`) calls `refresh_facts` in its own transaction, so cleaning never sees
facts older than the snapshot it was given. tests/integration/test_setclean.py checks the
set-based verdicts against `SqlAlchemySnapshotSource`, which reads the snapshot tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Connection, cast, func, text
from sqlalchemy.sql.elements import ColumnElement

_SERVICES = {
    # ",3,7,": each id fenced by commas, so LIKE '%,3,%' never matches 13 or 31.
    "postgresql": "',' || string_agg(service_id::text, ',' ORDER BY service_id) || ','",
    "sqlite": "',' || group_concat(service_id, ',') || ','",
}


def number_key(e164: str) -> str:
    """SQL for the integer key of an E.164 number held in the column `e164` ('+8613…')."""
    return f"CAST(substr({e164}, 2) AS BIGINT)"


def number_of(e164: Any) -> ColumnElement[int]:
    """`number_key` as an expression: subscriber_facts.num for an E.164 column."""
    return cast(func.substr(e164, 2), BigInteger)


def refresh_facts(conn: Connection) -> int:
    """Rebuild subscriber_facts from the snapshot tables; returns the rows written."""
    postgres = conn.dialect.name == "postgresql"
    services = _SERVICES["postgresql" if postgres else "sqlite"]
    if postgres:
        # TRUNCATE is transactional in PostgreSQL and leaves no dead rows behind.
        conn.execute(text("TRUNCATE subscriber_facts"))
    else:
        conn.execute(text("DELETE FROM subscriber_facts"))
    result = conn.execute(
        text(
            "INSERT INTO subscriber_facts "
            "(num, msisdn, status, segment, branch_id, services, last_contact, follow_up) "
            f"SELECT {number_key('s.msisdn')}, s.msisdn, s.status, s.segment, s.branch_id, "
            "sv.services, h.last_contact, "
            "CASE WHEN fu.msisdn IS NULL THEN :no ELSE :yes END "
            "FROM subscribers s "
            f"LEFT JOIN (SELECT subscriber_id, {services} AS services "
            "FROM subscriber_services GROUP BY subscriber_id) sv ON sv.subscriber_id = s.id "
            "LEFT JOIN (SELECT msisdn, MAX(contacted_at) AS last_contact FROM contact_history "
            "GROUP BY msisdn) h ON h.msisdn = s.msisdn "
            "LEFT JOIN (SELECT DISTINCT msisdn FROM follow_ups) fu ON fu.msisdn = s.msisdn "
            # In key order the primary key is built at its right edge, not by random inserts.
            "ORDER BY 1"
        ),
        {"no": False, "yes": True},
    )
    if postgres:
        # The importers also load do-not-call entries; without statistics the dialing
        # round's last DNC lookup is planned as a scan of the whole list.
        conn.execute(text("ANALYZE subscriber_facts, dnc_entries"))
    return int(result.rowcount or 0)
